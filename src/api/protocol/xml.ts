// Rendering typed output and errors as the XML that EC2 and the awsQuery services answer with.
// Every element name comes from the model: the renderer walks the operation's output shape beside
// the value, so no response is ever written by hand.
//
// EC2:       <DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
//              <requestId>…</requestId><regionInfo><item><regionName>…</regionName></item></regionInfo>
//            </DescribeRegionsResponse>
// awsQuery:  <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
//              <GetCallerIdentityResult><Account>…</Account></GetCallerIdentityResult>
//              <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
//            </GetCallerIdentityResponse>
//
// It writes strings straight into one buffer instead of building a tree for a generic XML library
// first: a DescribeInstances of 1,000 instances is ~3.7 MB of XML, and the tree cost ten times more
// than the writing.
import type { ApiError } from '../errors.js';
import type { Operation, ServiceModel, Shape } from '../../models/index.js';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };
const NEEDS_ESCAPE = /[&<>"'\r]/;
const ESCAPE_ALL = /[&<>"'\r]/g;

// XML parsers turn a raw CR (and CRLF) into LF before anything else (XML 1.0 §2.11), so a value
// holding '\r' must carry it as a character reference: <description>a&#13;\nb</description>.
export function escapeXml(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c]!) : s;
}

function scalar(shape: Shape, v: unknown): string {
  switch (shape.type) {
    case 'timestamp':
      return (v instanceof Date ? v : new Date(v as string | number)).toISOString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'blob':
      return Buffer.from(v as Uint8Array | string).toString('base64');
    case 'string':
      return escapeXml(String(v));
    default:
      return String(v);
  }
}

type Dialect = 'ec2' | 'query';

/** A structure member with its element names worked out once per shape, not once per value. */
interface Slot {
  key: string;
  name: string;
  shape: Shape;
  /** Set for flattened lists: the element each item repeats as. */
  flatItem?: string;
}

const slotCache = new WeakMap<Shape, Slot[]>();

function slotsOf(shape: Shape): Slot[] {
  let slots = slotCache.get(shape);
  if (!slots) {
    slots = Object.values(shape.members!).map((m) => {
      const name = m.locationName ?? m.name;
      const slot: Slot = { key: m.name, name, shape: m.shape };
      if (m.shape.type === 'list' && (m.flattened || m.shape.flattened)) slot.flatItem = m.shape.member!.locationName ?? name;
      return slot;
    });
    slotCache.set(shape, slots);
  }
  return slots;
}

class Writer {
  parts: string[] = [];
  constructor(private dialect: Dialect) {}

  /** The members of a structure, without the structure's own element. */
  members(shape: Shape, obj: Record<string, unknown>): void {
    for (const slot of slotsOf(shape)) {
      const val = obj[slot.key];
      if (val === undefined || val === null) continue;
      if (slot.flatItem !== undefined) {
        // Flattened lists repeat the member element itself, no wrapper.
        for (const x of val as unknown[]) this.element(slot.flatItem, slot.shape.member!.shape, x);
      } else {
        this.element(slot.name, slot.shape, val);
      }
    }
  }

  element(name: string, shape: Shape, v: unknown): void {
    const p = this.parts;
    switch (shape.type) {
      case 'structure':
        p.push(`<${name}>`);
        this.members(shape, v as Record<string, unknown>);
        p.push(`</${name}>`);
        return;
      case 'list': {
        const items = v as unknown[];
        if (items.length === 0) {
          p.push(`<${name}/>`);
          return;
        }
        const itemName = shape.member!.locationName ?? (this.dialect === 'ec2' ? 'item' : 'member');
        p.push(`<${name}>`);
        for (const x of items) this.element(itemName, shape.member!.shape, x);
        p.push(`</${name}>`);
        return;
      }
      case 'map': {
        const entries = Object.entries(v as Record<string, unknown>);
        const keyName = shape.key!.locationName ?? 'key';
        const valueName = shape.value!.locationName ?? 'value';
        if (!shape.flattened) p.push(entries.length ? `<${name}>` : `<${name}/>`);
        for (const [k, x] of entries) {
          p.push(shape.flattened ? `<${name}>` : '<entry>');
          this.element(keyName, shape.key!.shape, k);
          this.element(valueName, shape.value!.shape, x);
          p.push(shape.flattened ? `</${name}>` : '</entry>');
        }
        if (!shape.flattened && entries.length) p.push(`</${name}>`);
        return;
      }
      default:
        p.push(`<${name}>${scalar(shape, v)}</${name}>`);
    }
  }
}

export function renderResponse(model: ServiceModel, op: Operation, output: unknown, requestId: string): string {
  const w = new Writer(model.protocol);
  const root = `${op.name}Response`;
  w.parts.push(DECL, `<${root} xmlns="${escapeXml(model.xmlNamespace)}">`);
  if (model.protocol === 'ec2') {
    w.parts.push(`<requestId>${escapeXml(requestId)}</requestId>`);
    if (op.output && output) w.members(op.output, output as Record<string, unknown>);
  } else {
    if (op.resultWrapper) {
      if (op.output && output) w.element(op.resultWrapper, op.output, output);
      else w.parts.push(`<${op.resultWrapper}/>`);
    }
    w.parts.push(`<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>`);
  }
  w.parts.push(`</${root}>`);
  return w.parts.join('');
}

export function renderError(dialect: Dialect, err: ApiError, requestId: string, xmlNamespace?: string): string {
  const code = escapeXml(err.code);
  const message = escapeXml(err.message);
  const rid = escapeXml(requestId);
  if (dialect === 'ec2') {
    return `${DECL}<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${rid}</RequestID></Response>`;
  }
  const type = err.status >= 500 ? 'Receiver' : 'Sender';
  const ns = xmlNamespace ? ` xmlns="${escapeXml(xmlNamespace)}"` : '';
  return `${DECL}<ErrorResponse${ns}><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${rid}</RequestId></ErrorResponse>`;
}
