// The shape-driven walk shared by the document protocols (awsJson1_0/1_1, Smithy RPC v2 CBOR): a
// decoded body (JSON value or CBOR data item) becomes typed input, typed output becomes a value the
// body encoder writes. Members are keyed by their model names in both protocols:
//   {"Namespace":"app","MetricData":[{"MetricName":"m","Value":1.5,"Timestamp":1733212800}]}
// The two differ only in how timestamps and blobs travel (JSON: epoch seconds and base64; CBOR:
// tag 1 and byte strings), which each protocol hands in as a ScalarCodec.
import { ApiError, Errors } from '../../services/errors.js';
import type { Member, Shape } from '../../models/index.js';
import { XML_FORBIDDEN } from './xml.js';

export interface ScalarCodec {
  /** A timestamp as it arrived; undefined when the value is not one. */
  readTimestamp(v: unknown, format: string | undefined): Date | undefined;
  writeTimestamp(d: Date, format: string | undefined): unknown;
  readBlob(v: unknown): Buffer | undefined;
  writeBlob(b: Buffer): unknown;
  /** A double as it arrived (JSON spells NaN and the infinities as strings); undefined when not one. */
  readDouble(v: unknown): number | undefined;
  writeDouble(n: number): unknown;
  /** An integer as it arrived (CBOR may hand a bigint); undefined when not one. */
  readInteger(v: unknown): number | bigint | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Why a body does not fit its shape: Smithy's framework error for a body it cannot deserialize. */
const mismatch = (path: string, expected: string) => Errors.serialization(`Value at '${path || '$'}' cannot be read: ${expected} is expected.`);

function checkString(s: string, path: string, what = 'Value'): string {
  const bad = XML_FORBIDDEN.exec(s);
  // A stored string comes back in some XML answer (perhaps another protocol's): refuse it as Query does.
  if (bad) {
    const cp = 'U+' + bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw Errors.invalidParameterValue(`${what} for parameter ${path} is invalid: it contains the character ${cp}, which XML 1.0 does not allow.`);
  }
  return s;
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);
const format = (m: Member | undefined, s: Shape) => m?.timestampFormat ?? s.timestampFormat;

export class DocumentReader {
  constructor(private codec: ScalarCodec) {}

  /** The input of an operation; a body for an operation without input must be empty. */
  input(shape: Shape | undefined, doc: unknown): Record<string, unknown> {
    if (!shape) {
      if (doc === undefined || doc === null || (isObject(doc) && Object.keys(doc).length === 0)) return {};
      if (isObject(doc)) throw Errors.serialization(`The member '${Object.keys(doc)[0]}' is not part of this operation's input.`);
      throw mismatch('', 'a structure');
    }
    return this.structure(shape, doc ?? {}, '');
  }

  private value(shape: Shape, m: Member | undefined, v: unknown, path: string): unknown {
    switch (shape.type) {
      case 'structure':
        return this.structure(shape, v, path);
      case 'list': {
        if (!Array.isArray(v)) throw mismatch(path, 'a list');
        return v.map((x, i) => {
          const p = `${path}[${i}]`;
          if (x === null || x === undefined) throw mismatch(p, 'a value (lists here are dense)');
          return this.value(shape.member!.shape, shape.member, x, p);
        });
      }
      case 'map': {
        if (!isObject(v)) throw mismatch(path, 'a map');
        // fromEntries defines each key as its own property: a key "__proto__" stays a key.
        return Object.fromEntries(
          Object.entries(v).map(([k, x]) => {
            checkString(k, path, 'A key');
            const p = `${path}.${k}`;
            if (x === null || x === undefined) throw mismatch(p, 'a value (maps here are dense)');
            return [k, this.value(shape.value!.shape, shape.value, x, p)];
          }),
        );
      }
      case 'string':
        if (typeof v !== 'string') throw mismatch(path, 'a string');
        return checkString(v, path);
      case 'boolean':
        if (typeof v !== 'boolean') throw mismatch(path, 'a boolean');
        return v;
      case 'integer':
      case 'long': {
        const n = this.codec.readInteger(v);
        if (n === undefined) throw mismatch(path, 'an integer');
        const num = Number(n);
        if (!Number.isSafeInteger(num) || (shape.type === 'integer' && (num > 2 ** 31 - 1 || num < -(2 ** 31)))) {
          throw Errors.invalidParameterValue(`Value (${n}) for parameter ${path} is out of range.`);
        }
        return num;
      }
      case 'float':
      case 'double': {
        const n = this.codec.readDouble(v);
        if (n === undefined) throw mismatch(path, 'a number');
        return n;
      }
      case 'timestamp': {
        const d = this.codec.readTimestamp(v, format(m, shape));
        if (!d || Number.isNaN(d.getTime())) throw mismatch(path, 'a timestamp');
        return d;
      }
      case 'blob': {
        const b = this.codec.readBlob(v);
        if (!b) throw mismatch(path, 'a blob');
        return b;
      }
      default:
        throw new ApiError('InternalError', `model: unexpected type ${shape.type as string}`, 500);
    }
  }

  private structure(shape: Shape, v: unknown, path: string): Record<string, unknown> {
    if (!isObject(v)) throw mismatch(path, 'a structure');
    const members = shape.members!;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // Own members only: "constructor" or "__proto__" name no member.
      const m = Object.hasOwn(members, k) ? members[k] : undefined;
      // Parameters are refused, never ignored: a member this model lacks would do nothing.
      if (!m) throw Errors.serialization(`The member '${join(path, k)}' is not part of the input shape.`);
      // Smithy: a null structure member is an absent one.
      if (x === null || x === undefined) continue;
      out[k] = this.value(m.shape, m, x, join(path, k));
    }
    for (const req of shape.required ?? []) {
      if (out[req] === undefined) throw Errors.missingParameter(join(path, req));
    }
    return out;
  }
}

export class DocumentWriter {
  constructor(private codec: ScalarCodec) {}

  /** The output of an operation: always a structure, empty when the operation has none. */
  output(shape: Shape | undefined, value: unknown): Record<string, unknown> {
    if (!shape || value === undefined || value === null) return {};
    return this.structure(shape, value as Record<string, unknown>);
  }

  private structure(shape: Shape, obj: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const m of Object.values(shape.members!)) {
      const v = obj[m.name];
      // An absent member is left out: the SDKs leave it undefined.
      if (v === undefined || v === null) continue;
      out[m.name] = this.value(m.shape, m, v);
    }
    return out;
  }

  private value(shape: Shape, m: Member | undefined, v: unknown): unknown {
    switch (shape.type) {
      case 'structure':
        return this.structure(shape, v as Record<string, unknown>);
      case 'list':
        return (v as unknown[]).map((x) => this.value(shape.member!.shape, shape.member, x));
      case 'map': {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = this.value(shape.value!.shape, shape.value, x);
        return out;
      }
      case 'string':
        return String(v);
      case 'boolean':
        return Boolean(v);
      case 'integer':
      case 'long':
        return Number(v);
      case 'float':
      case 'double':
        return this.codec.writeDouble(Number(v));
      case 'timestamp':
        return this.codec.writeTimestamp(v instanceof Date ? v : new Date(v as string | number), format(m, shape));
      case 'blob':
        return this.codec.writeBlob(Buffer.from(v as Uint8Array | string));
      default:
        throw new ApiError('InternalError', `model: unexpected type ${shape.type as string}`, 500);
    }
  }
}

/** What a document protocol hands the server to write: the body and its protocol's headers. */
export interface WireReply {
  headers: Record<string, string>;
  body: Buffer;
}

/** A document protocol, as the server drives it. */
export interface DocumentProtocol {
  /** The body as a decoded document; a body that is not one is a SerializationException. */
  decode(body: Buffer): unknown;
  input(shape: Shape | undefined, body: Buffer): Record<string, unknown>;
  reply(shape: Shape | undefined, output: unknown): WireReply;
  /**
   * An error in this protocol's envelope. With awsQueryCompatible, x-amzn-query-error carries the
   * Query code and fault ("InvalidParameterValue;Sender"), which clients prefer over __type.
   */
  error(err: ApiError, queryCompatible: boolean): WireReply;
}

export const queryErrorHeader = (err: ApiError) => `${err.code};${err.status >= 500 ? 'Receiver' : 'Sender'}`;
