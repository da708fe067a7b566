// The awsJson1_0 and awsJson1_1 protocols (https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html):
//   POST / HTTP/1.1
//   X-Amz-Target: GraniteServiceVersion20100801.PutMetricData
//   Content-Type: application/x-amz-json-1.0
//   {"Namespace":"app","MetricData":[{"MetricName":"m","Timestamp":1733212800.5,"Value":1.5}]}
// Timestamps are epoch seconds unless the member's timestampFormat says otherwise, blobs base64,
// NaN and the infinities the strings "NaN", "Infinity", "-Infinity". Errors:
//   HTTP/1.1 400   {"__type":"InvalidParameterValue","message":"…"}
// 1.0 and 1.1 differ on the wire only in the Content-Type's version.
import type { ApiError } from '../../services/errors.js';
import { Errors } from '../../services/errors.js';
import type { Shape } from '../../models/index.js';
import { DocumentReader, DocumentWriter, queryErrorHeader, type DocumentProtocol, type ScalarCodec, type WireReply } from './document.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

export const jsonScalars: ScalarCodec = {
  readTimestamp(v, format) {
    if (typeof v === 'number' && Number.isFinite(v)) return new Date(Math.round(v * 1000));
    // iso8601 and rfc822 members travel as strings; Date parses both.
    if (typeof v === 'string' && (format === 'iso8601' || format === 'rfc822')) return new Date(v);
    return undefined;
  },
  writeTimestamp(d, format) {
    if (format === 'iso8601') return d.toISOString();
    if (format === 'rfc822') return d.toUTCString();
    return d.getTime() / 1000;
  },
  readBlob(v) {
    if (typeof v !== 'string' || !BASE64.test(v) || v.length % 4 === 1) return undefined;
    return Buffer.from(v, 'base64');
  },
  writeBlob: (b) => b.toString('base64'),
  readDouble(v) {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v in SPECIAL) return SPECIAL[v];
    return undefined;
  },
  writeDouble: (n) => (Number.isFinite(n) ? n : String(n)),
  readInteger: (v) => (typeof v === 'number' && Number.isInteger(v) ? v : undefined),
};

export class JsonProtocol implements DocumentProtocol {
  readonly contentType: string;
  private reader = new DocumentReader(jsonScalars);
  private writer = new DocumentWriter(jsonScalars);

  constructor(readonly version: '1.0' | '1.1') {
    this.contentType = `application/x-amz-json-${version}`;
  }

  decode(body: Buffer): unknown {
    const text = body.toString('utf8').trim();
    if (!text) return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw Errors.serialization('The request body is not valid JSON.');
    }
  }

  input(shape: Shape | undefined, body: Buffer): Record<string, unknown> {
    return this.reader.input(shape, this.decode(body));
  }

  reply(shape: Shape | undefined, output: unknown): WireReply {
    return { headers: { 'content-type': this.contentType }, body: Buffer.from(JSON.stringify(this.writer.output(shape, output))) };
  }

  error(err: ApiError, queryCompatible: boolean): WireReply {
    const headers: Record<string, string> = { 'content-type': this.contentType };
    if (queryCompatible) headers['x-amzn-query-error'] = queryErrorHeader(err);
    return { headers, body: Buffer.from(JSON.stringify({ __type: err.code, message: err.message })) };
  }
}
