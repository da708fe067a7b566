// The Smithy RPC v2 CBOR protocol (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html):
//   POST /service/GraniteServiceVersion20100801/operation/PutMetricData HTTP/1.1
//   smithy-protocol: rpc-v2-cbor
//   Content-Type: application/cbor
//   <CBOR map: {"Namespace": "app", "MetricData": [{"Timestamp": 1(1733212800.5), …}]}>
// Timestamps are tag 1 (epoch seconds, integer or float), blobs byte strings; every answer, errors
// included, carries smithy-protocol: rpc-v2-cbor (clients refuse one without it). Errors are a
// map with __type and message, at the error's HTTP status.
// The codec is the SDK's own (@smithy/core/cbor), so what the SDK writes this reads, and back.
import { cbor, tag } from '@smithy/core/cbor';
import type { ApiError } from '../../services/errors.js';
import { Errors } from '../../services/errors.js';
import type { Shape } from '../../models/index.js';
import { DocumentReader, DocumentWriter, queryErrorHeader, type DocumentProtocol, type ScalarCodec, type WireReply } from './document.js';

export const CBOR_CONTENT_TYPE = 'application/cbor';
const HEADERS = { 'content-type': CBOR_CONTENT_TYPE, 'smithy-protocol': 'rpc-v2-cbor' };

const isTag = (v: unknown): v is { tag: number | bigint; value: unknown } => typeof v === 'object' && v !== null && 'tag' in v && 'value' in v;

export const cborScalars: ScalarCodec = {
  readTimestamp(v) {
    if (!isTag(v) || Number(v.tag) !== 1) return undefined;
    const s = typeof v.value === 'bigint' ? Number(v.value) : v.value;
    return typeof s === 'number' && Number.isFinite(s) ? new Date(Math.round(s * 1000)) : undefined;
  },
  writeTimestamp: (d) => tag({ tag: 1, value: d.getTime() / 1000 }),
  readBlob: (v) => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : undefined),
  writeBlob: (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
  readDouble: (v) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined),
  writeDouble: (n) => n,
  readInteger: (v) => (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)) ? v : undefined),
};

export class CborProtocol implements DocumentProtocol {
  private reader = new DocumentReader(cborScalars);
  private writer = new DocumentWriter(cborScalars);

  decode(body: Buffer): unknown {
    if (body.length === 0) return {};
    try {
      return cbor.deserialize(body);
    } catch {
      throw Errors.serialization('The request body is not valid CBOR.');
    }
  }

  input(shape: Shape | undefined, body: Buffer): Record<string, unknown> {
    return this.reader.input(shape, this.decode(body));
  }

  reply(shape: Shape | undefined, output: unknown): WireReply {
    return { headers: { ...HEADERS }, body: encode(this.writer.output(shape, output)) };
  }

  error(err: ApiError, queryCompatible: boolean): WireReply {
    const headers: Record<string, string> = { ...HEADERS };
    if (queryCompatible) headers['x-amzn-query-error'] = queryErrorHeader(err);
    return { headers, body: encode({ __type: err.code, message: err.message }) };
  }
}

function encode(doc: Record<string, unknown>): Buffer {
  // serialize() returns a fresh copy out of its shared encoding buffer: wrap it, no second copy.
  const u8 = cbor.serialize(doc);
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
