// AWS Signature Version 4 verification.
//
// We never re-implement the canonical-request algorithm: the signature of an incoming request is
// re-computed by @smithy/signature-v4 (the signer the AWS SDK for JavaScript v3 uses) from the parts
// the client says it signed, then compared with the client's signature in constant time.
//
// Two things the signer does on its own have to be kept out of the way:
//  - `sign()` deletes `authorization`, `date` and `x-amz-date` and then writes `x-amz-date` itself
//    (from `signingDate`); with `applyChecksum` (on by default) it also adds `x-amz-content-sha256`.
//    So `applyChecksum` is off, and `sign()` is used only when the client signed `x-amz-date` and not
//    `date` — which is what every current SDK and the CLI do.
//  - `presign()` deletes the same headers, hoists every `x-amz-*` header into the query, and rewrites
//    X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders from its arguments. Signed `x-amz-*` headers
//    are therefore declared unhoistable, and `presign()` is used only when those rewritten values are
//    byte-for-byte what the client sent.
// A request outside those shapes (e.g. one signed with a `Date` header, which botocore does when the
// request carries one) goes through `Recomputer.signAsIs`, which runs the same signer's canonicalisation
// steps over the request exactly as received.

import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { ALGORITHM_IDENTIFIER, SignatureV4, createScope, getCanonicalHeaders, getPayloadHash } from '@smithy/signature-v4';
import { Errors } from '../services/errors.js';

export interface IncomingRequest {
  method: string; // 'GET' | 'POST' ...
  path: string; // raw path without query, e.g. '/'
  query: string; // raw query string without '?', may be ''
  /**
   * Node's IncomingMessage.headers (lower-case names). Array values are trimmed and joined with ','
   * as SigV4 canonicalises repeated headers; pass `req.headersDistinct` to get that right for headers
   * a client sent more than once (node's `req.headers` has already joined those with ', ').
   */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface VerifiedIdentity {
  accessKeyId: string;
  region: string; // from the credential scope
  service: string; // from the credential scope, e.g. 'ec2', 'sts'
  signedAt: Date;
}

export type SecretLookup = (accessKeyId: string) => string | undefined | Promise<string | undefined>;

export interface ParsedAuthorization {
  accessKeyId: string;
  date: Date;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  presigned: boolean;
  expiresSeconds?: number;
}

const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGNED_EXPIRES = 7 * 24 * 60 * 60; // the signer's MAX_PRESIGNED_TTL
const QUERY_AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature'];

type QueryBag = Record<string, string | string[]>;

interface Parsed extends ParsedAuthorization {
  /** The date exactly as the client sent it (for messages). */
  rawDate: string;
  /** The request's query, percent-decoded, repeated keys as arrays. */
  queryBag: QueryBag;
  /** Presigned mode: X-Amz-Expires / X-Amz-SignedHeaders exactly as sent. */
  rawExpires?: string;
  rawSignedHeaders?: string;
}

/** Parse the SigV4 parts (Authorization header, or X-Amz-* query parameters of a presigned URL) without checking the signature. Throws MissingAuthenticationToken when there is no signature at all, IncompleteSignature when parts are missing/malformed. */
export function parseAuthorization(req: IncomingRequest): ParsedAuthorization {
  const { accessKeyId, date, region, service, signedHeaders, signature, presigned, expiresSeconds } = parse(req);
  return presigned
    ? { accessKeyId, date, region, service, signedHeaders, signature, presigned, expiresSeconds }
    : { accessKeyId, date, region, service, signedHeaders, signature, presigned };
}

/** Verify. Unknown key → AuthFailure; bad signature → SignatureDoesNotMatch; signing date more than 15 minutes from now (header mode), or presigned URL past X-Amz-Expires (or date in the future by >15 min) → RequestExpired. */
export async function verifySigV4(req: IncomingRequest, lookup: SecretLookup, now: Date = new Date()): Promise<VerifiedIdentity> {
  const p = parse(req);

  const signedAt = p.date.getTime();
  const nowMs = now.getTime();
  const expired = p.presigned ? nowMs > signedAt + (p.expiresSeconds ?? 0) * 1000 || signedAt - nowMs > MAX_SKEW_MS : Math.abs(nowMs - signedAt) > MAX_SKEW_MS;
  if (expired) throw Errors.requestExpired(`Request has expired. Timestamp date is ${p.rawDate}`);

  const secretAccessKey = await lookup(p.accessKeyId);
  if (secretAccessKey === undefined) throw Errors.authFailure();

  const signed = new Set(p.signedHeaders);
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = headerValue(req, name);
    if (value !== undefined) headers[name] = value;
  }

  // The signer trusts a signed x-amz-content-sha256 as the payload hash; make sure it is the body's.
  const declaredHash = headers['x-amz-content-sha256'];
  if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(req.body).digest('hex')) {
    throw Errors.signatureDoesNotMatch();
  }

  const query: QueryBag = { ...p.queryBag };
  delete query['X-Amz-Signature'];
  const request = new HttpRequest({
    method: req.method.toUpperCase(),
    protocol: 'https:',
    ...splitHost(headerValue(req, 'host') ?? headerValue(req, ':authority') ?? ''),
    path: req.path,
    query,
    headers,
    body: req.body,
  });
  const signer = new Recomputer({
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey },
    region: p.region,
    service: p.service,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
    applyChecksum: false,
  });
  const scope = { signingDate: p.date, signingRegion: p.region, signingService: p.service };
  const generated = signed.has('date') || signed.has('authorization');

  let expected: string | undefined;
  try {
    if (p.presigned) {
      const publicPresignFits = !generated && !signed.has('x-amz-date') && p.rawExpires === String(p.expiresSeconds) && p.rawSignedHeaders === [...signed].sort().join(';');
      if (publicPresignFits) {
        const out = await signer.presign(request, {
          ...scope,
          expiresIn: p.expiresSeconds,
          signableHeaders: signed,
          unhoistableHeaders: signed,
        });
        expected = single(out.query?.['X-Amz-Signature']);
      } else {
        expected = await signer.signAsIs(request, { ...scope, signableHeaders: signed });
      }
    } else if (signed.has('x-amz-date') && !generated) {
      const out = await signer.sign(request, { ...scope, signableHeaders: signed });
      expected = /Signature=([0-9a-f]+)/.exec(single(out.headers['authorization']) ?? '')?.[1];
    } else {
      expected = await signer.signAsIs(request, { ...scope, signableHeaders: signed });
    }
  } catch {
    // e.g. a lone surrogate the signer cannot URI-encode: nothing a valid signature could cover.
    throw Errors.signatureDoesNotMatch();
  }

  if (expected === undefined || !equalHex(expected, p.signature)) throw Errors.signatureDoesNotMatch();
  return { accessKeyId: p.accessKeyId, region: p.region, service: p.service, signedAt: p.date };
}

/** The signer, plus one entry point that signs a request exactly as given (no header added, removed or hoisted). */
class Recomputer extends SignatureV4 {
  async signAsIs(request: HttpRequest, opts: { signingDate: Date; signingRegion: string; signingService: string; signableHeaders: Set<string> }): Promise<string> {
    const { longDate, shortDate } = this.formatDate(opts.signingDate);
    const scope = createScope(shortDate, opts.signingRegion, opts.signingService);
    const canonicalHeaders = getCanonicalHeaders(request, undefined, opts.signableHeaders);
    const payloadHash = await getPayloadHash(request, this.sha256);
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
    const stringToSign = await this.createStringToSign(longDate, scope, canonicalRequest, ALGORITHM_IDENTIFIER);
    return this.sign(stringToSign, opts);
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

function parse(req: IncomingRequest): Parsed {
  const queryBag = parseQuery(req.query);
  const authorization = headerValue(req, 'authorization');
  const inQuery = QUERY_AUTH_PARAMS.some((k) => k in queryBag);

  if (authorization !== undefined && inQuery) {
    throw Errors.incompleteSignature('Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified');
  }
  if (inQuery) return parseQueryAuth(queryBag);
  if (authorization !== undefined && authorization.trim() !== '') return parseHeaderAuth(req, authorization, queryBag);
  if ('Signature' in queryBag && 'AWSAccessKeyId' in queryBag) {
    throw Errors.incompleteSignature('Signature Version 2 is not supported; sign requests with Signature Version 4');
  }
  throw Errors.missingAuthenticationToken();
}

function parseHeaderAuth(req: IncomingRequest, authorization: string, queryBag: QueryBag): Parsed {
  const m = /^(\S+)\s+(.*)$/s.exec(authorization.trim());
  if (!m) throw Errors.incompleteSignature(`Authorization header is malformed: '${authorization}'`);
  const [, algorithm, rest] = m;
  if (algorithm !== ALGORITHM_IDENTIFIER) {
    throw Errors.incompleteSignature(`Unsupported AWS 'algorithm': '${algorithm}'; expected '${ALGORITHM_IDENTIFIER}'`);
  }

  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw Errors.incompleteSignature(`Authorization header is malformed: '${authorization}'`);
    fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }

  const rawDate = headerValue(req, 'x-amz-date') ?? headerValue(req, 'date');
  const missing: string[] = [];
  for (const f of ['Credential', 'Signature', 'SignedHeaders']) {
    if (!fields.get(f)) missing.push(`Authorization header requires '${f}' parameter.`);
  }
  if (!rawDate) missing.push(`Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`);
  if (missing.length > 0) throw Errors.incompleteSignature(`${missing.join(' ')} Authorization=${authorization}`);

  const date = headerValue(req, 'x-amz-date') !== undefined ? parseAmzDate(rawDate!) : parseHttpDate(rawDate!);
  if (!date) throw Errors.incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${rawDate}'.`);

  return {
    ...parseParts(fields.get('Credential')!, fields.get('SignedHeaders')!, fields.get('Signature')!, date, rawDate!),
    presigned: false,
    rawDate: rawDate!,
    queryBag,
  };
}

function parseQueryAuth(q: QueryBag): Parsed {
  const names = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'];
  const values = new Map<string, string>();
  for (const name of names) {
    const v = q[name];
    if (Array.isArray(v)) throw Errors.incompleteSignature(`The query parameter ${name} must appear only once.`);
    if (v) values.set(name, v);
  }
  if (values.size !== names.length) {
    throw Errors.incompleteSignature(`AWS query-string parameters must include ${names.map((n) => `'${n}'`).join(', ')}. Re-examine the query-string parameters.`);
  }
  const algorithm = values.get('X-Amz-Algorithm')!;
  if (algorithm !== ALGORITHM_IDENTIFIER) {
    throw Errors.incompleteSignature(`Unsupported AWS 'algorithm': '${algorithm}'; expected '${ALGORITHM_IDENTIFIER}'`);
  }
  const rawDate = values.get('X-Amz-Date')!;
  const date = parseAmzDate(rawDate);
  if (!date) throw Errors.incompleteSignature(`X-Amz-Date must be in ISO-8601 'basic format'. Got '${rawDate}'.`);

  const rawExpires = values.get('X-Amz-Expires')!;
  const expiresSeconds = /^\d{1,7}$/.test(rawExpires) ? Number(rawExpires) : NaN;
  if (!(expiresSeconds >= 0 && expiresSeconds <= MAX_PRESIGNED_EXPIRES)) {
    throw Errors.incompleteSignature(`X-Amz-Expires must be a number of seconds from 0 to ${MAX_PRESIGNED_EXPIRES} (one week). Got '${rawExpires}'.`);
  }
  const rawSignedHeaders = values.get('X-Amz-SignedHeaders')!;
  return {
    ...parseParts(values.get('X-Amz-Credential')!, rawSignedHeaders, values.get('X-Amz-Signature')!, date, rawDate),
    presigned: true,
    expiresSeconds,
    rawDate,
    queryBag: q,
    rawExpires,
    rawSignedHeaders,
  };
}

function parseParts(credential: string, signedHeadersRaw: string, signatureRaw: string, date: Date, rawDate: string) {
  const parts = credential.split('/');
  const [accessKeyId, scopeDate, region, service, terminator] = parts;
  if (parts.length !== 5 || !accessKeyId || !/^\d{8}$/.test(scopeDate) || !region || !service || terminator !== 'aws4_request') {
    throw Errors.incompleteSignature(`Credential should have the form '<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request'. Got '${credential}'.`);
  }
  const shortDate = amzDate(date).slice(0, 8);
  if (scopeDate !== shortDate) {
    throw Errors.incompleteSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${shortDate}', from '${rawDate}'.`,
    );
  }

  const signedHeaders = signedHeadersRaw.split(';').map((h) => h.trim().toLowerCase());
  if (signedHeaders.some((h) => h === '')) {
    throw Errors.incompleteSignature(`SignedHeaders is malformed: '${signedHeadersRaw}'.`);
  }
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority')) {
    throw Errors.incompleteSignature(`'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`);
  }
  if (!/^[0-9a-fA-F]{64}$/.test(signatureRaw)) {
    throw Errors.incompleteSignature(`Signature must be 64 hexadecimal characters. Got '${signatureRaw}'.`);
  }
  return { accessKeyId, date, region, service, signedHeaders, signature: signatureRaw.toLowerCase() };
}

/** Percent-decoded query ('+' is a space, as in every AWS client's encoding), repeated keys as arrays, order kept. */
function parseQuery(raw: string): QueryBag {
  const bag: QueryBag = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const prev = Object.prototype.hasOwnProperty.call(bag, key) ? bag[key] : undefined;
    const next = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    Object.defineProperty(bag, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return bag;
}

function headerValue(req: IncomingRequest, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.map((s) => s.trim()).join(',') : v;
}

function splitHost(host: string): { hostname: string; port?: number } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return { hostname: host };
  return m[2] === undefined ? { hostname: m[1] } : { hostname: m[1], port: Number(m[2]) };
}

/** 'YYYYMMDDTHHMMSSZ' */
function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return amzDate(d) === s ? d : undefined; // rejects 20241332T256161Z and friends
}

/** The Date header: RFC 1123 (what HTTP clients send) or ISO-8601 basic. */
function parseHttpDate(s: string): Date | undefined {
  const basic = parseAmzDate(s);
  if (basic) return basic;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : new Date(Math.floor(ms / 1000) * 1000);
}

function single(v: string | string[] | null | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'utf8');
  const y = Buffer.from(b.toLowerCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
