// Rendering typed output and errors as the XML that EC2 and the awsQuery services answer with.
// The element names come from the model; fast-xml-parser renders (and escapes) the tree.
//
// EC2:       <DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
//              <requestId>…</requestId><regionInfo><item><regionName>…</regionName></item></regionInfo>
//            </DescribeRegionsResponse>
// awsQuery:  <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
//              <GetCallerIdentityResult><Account>…</Account></GetCallerIdentityResult>
//              <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
//            </GetCallerIdentityResponse>
import { XMLBuilder } from 'fast-xml-parser';
import type { ApiError } from '../errors.js';
import type { Operation, ServiceModel, Shape } from '../../models/index.js';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });
const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

type XmlTree = Record<string, unknown>;

function scalar(shape: Shape, v: unknown): string {
  switch (shape.type) {
    case 'timestamp': {
      const d = v instanceof Date ? v : new Date(v as string | number);
      return d.toISOString();
    }
    case 'boolean':
      return v ? 'true' : 'false';
    case 'blob':
      return Buffer.from(v as Uint8Array | string).toString('base64');
    default:
      return String(v);
  }
}

function render(shape: Shape, v: unknown, dialect: 'ec2' | 'query'): unknown {
  switch (shape.type) {
    case 'structure': {
      const out: XmlTree = {};
      const obj = v as Record<string, unknown>;
      for (const m of Object.values(shape.members!)) {
        const val = obj[m.name];
        if (val === undefined || val === null) continue;
        const name = m.locationName ?? m.name;
        if (m.shape.type === 'list' && (m.flattened || m.shape.flattened)) {
          // Flattened lists repeat the member element itself, no wrapper.
          out[m.shape.member!.locationName ?? name] = (val as unknown[]).map((x) => render(m.shape.member!.shape, x, dialect));
        } else {
          out[name] = render(m.shape, val, dialect);
        }
      }
      return out;
    }
    case 'list': {
      const items = (v as unknown[]).map((x) => render(shape.member!.shape, x, dialect));
      if (items.length === 0) return '';
      return { [shape.member!.locationName ?? (dialect === 'ec2' ? 'item' : 'member')]: items };
    }
    case 'map': {
      const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => ({
        [shape.key!.locationName ?? 'key']: k,
        [shape.value!.locationName ?? 'value']: render(shape.value!.shape, x, dialect),
      }));
      if (entries.length === 0) return '';
      return shape.flattened ? entries : { entry: entries };
    }
    default:
      return scalar(shape, v);
  }
}

export function renderResponse(model: ServiceModel, op: Operation, output: unknown, requestId: string): string {
  const body = op.output && output ? (render(op.output, output, model.protocol) as XmlTree) : {};
  const root = `${op.name}Response`;
  if (model.protocol === 'ec2') {
    return DECL + builder.build({ [root]: { '@_xmlns': model.xmlNamespace, requestId, ...body } });
  }
  const inner: XmlTree = {};
  if (op.resultWrapper) inner[op.resultWrapper] = body;
  inner.ResponseMetadata = { RequestId: requestId };
  return DECL + builder.build({ [root]: { '@_xmlns': model.xmlNamespace, ...inner } });
}

export function renderError(dialect: 'ec2' | 'query', err: ApiError, requestId: string, xmlNamespace?: string): string {
  if (dialect === 'ec2') {
    return DECL + builder.build({ Response: { Errors: { Error: { Code: err.code, Message: err.message } }, RequestID: requestId } });
  }
  const type = err.status >= 500 ? 'Receiver' : 'Sender';
  return (
    DECL +
    builder.build({
      ErrorResponse: {
        ...(xmlNamespace ? { '@_xmlns': xmlNamespace } : {}),
        Error: { Type: type, Code: err.code, Message: err.message },
        RequestId: requestId,
      },
    })
  );
}
