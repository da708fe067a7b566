// What the SigV4 unit tests (src/api/sigv4*.test.ts) share: the test keys, and a signed smithy
// request turned into what the server sees.
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { expect } from 'vitest';
import { ApiError } from '../src/services/errors.js';
import { type IncomingRequest } from '../src/api/sigv4.js';

export const AKID = 'AKIDCUMULOTEST000001';
export const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
export const keys: Record<string, string> = { [AKID]: SECRET, AKIDEXAMPLE: SECRET };
export const lookup = (id: string) => keys[id];
export type Bag = Record<string, string | string[] | null | undefined>;

/** RFC 3986 encoding, as the AWS clients write a query string. */
export const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function queryString(query: Bag | undefined, e: (s: string) => string = enc): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v == null) continue;
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${e(k)}=${e(one)}`);
  }
  return parts.join('&');
}

/** A signed smithy HttpRequest as node would hand it to the server. */
export function toIncoming(r: { method: string; path: string; query?: Bag; headers: Record<string, string>; body?: unknown }): IncomingRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  const body = r.body == null ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body as string);
  return { method: r.method, path: r.path, query: queryString(r.query), headers, body };
}

export function signer(opts: { secret?: string; sessionToken?: string; service?: string; region?: string; applyChecksum?: boolean } = {}) {
  return new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: opts.secret ?? SECRET, sessionToken: opts.sessionToken },
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'ec2',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: opts.applyChecksum,
  });
}

export async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected a rejection');
}
