import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Hash } from '@smithy/hash-node';
import { HttpRequest, HttpResponse } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { beforeAll, describe, expect, test } from 'vitest';
import { probe, requires } from '../../test/requires.js';
import { ApiError } from '../services/errors.js';
import { type IncomingRequest, parseAuthorization, verifySigV4 } from './sigv4.js';

const AKID = 'AKIDCUMULOTEST000001';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const keys: Record<string, string> = { [AKID]: SECRET, AKIDEXAMPLE: SECRET };
const lookup = (id: string) => keys[id];
const asyncLookup = async (id: string) => keys[id];

// ---------------------------------------------------------------------------------------------
// helpers

type Bag = Record<string, string | string[] | null | undefined>;

/** RFC 3986 encoding, as the AWS clients write a query string. */
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function queryString(query: Bag | undefined, e: (s: string) => string = enc): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v == null) continue;
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${e(k)}=${e(one)}`);
  }
  return parts.join('&');
}

/** A signed smithy HttpRequest as node would hand it to the server. */
function toIncoming(r: { method: string; path: string; query?: Bag; headers: Record<string, string>; body?: unknown }): IncomingRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  const body = r.body == null ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body as string);
  return { method: r.method, path: r.path, query: queryString(r.query), headers, body };
}

function signer(opts: { secret?: string; sessionToken?: string; service?: string; region?: string; applyChecksum?: boolean } = {}) {
  return new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: opts.secret ?? SECRET, sessionToken: opts.sessionToken },
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'ec2',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: opts.applyChecksum,
  });
}

function ec2Post(body = 'Action=DescribeInstances&Version=2016-11-15') {
  return new HttpRequest({
    method: 'POST',
    protocol: 'http:',
    hostname: 'localhost',
    port: 4566,
    path: '/',
    headers: {
      host: 'localhost:4566',
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  });
}

function ec2Get(query: Record<string, string | string[]>) {
  return new HttpRequest({ method: 'GET', protocol: 'http:', hostname: 'localhost', port: 4566, path: '/', headers: { host: 'localhost:4566' }, query });
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected a rejection');
}

function thrown(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected a throw');
}

/** A request handler for the v3 SDK clients that keeps the signed request and answers with a canned 200. */
function capturingHandler(xml: string) {
  const captured: HttpRequest[] = [];
  return {
    captured,
    handler: {
      async handle(request: HttpRequest) {
        captured.push(request);
        return {
          response: new HttpResponse({
            statusCode: 200,
            headers: { 'content-type': 'text/xml;charset=UTF-8' },
            body: Readable.from([Buffer.from(xml)]),
          }),
        };
      },
      updateHttpClientConfig() {},
      httpHandlerConfigs() {
        return {};
      },
      destroy() {},
    },
  };
}

const DESCRIBE_REGIONS_XML =
  '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><regionInfo/></DescribeRegionsResponse>';
const GET_CALLER_IDENTITY_XML =
  '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
  '<Arn>arn:aws:iam::123456789012:user/test</Arn><UserId>AIDATEST</UserId><Account>123456789012</Account>' +
  '</GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>';

// ---------------------------------------------------------------------------------------------

describe('header-signed requests (SignatureV4.sign)', () => {
  test('valid → identity with region, service and date from the credential scope', async () => {
    const signingDate = new Date('2024-01-01T00:00:00Z');
    const signed = await signer({ region: 'eu-north-1' }).sign(ec2Post(), { signingDate });
    const id = await verifySigV4(toIncoming(signed), lookup, new Date('2024-01-01T00:01:00Z'));
    expect(id).toEqual({ accessKeyId: AKID, region: 'eu-north-1', service: 'ec2', signedAt: signingDate });
  });

  test('async secret lookup works too', async () => {
    const signed = await signer().sign(ec2Post());
    await expect(verifySigV4(toIncoming(signed), asyncLookup)).resolves.toMatchObject({ accessKeyId: AKID });
  });

  test('signed x-amz-content-sha256 (the signer adds it by default) is honoured', async () => {
    const signed = await signer({ applyChecksum: true }).sign(ec2Post());
    expect(signed.headers['authorization']).toContain('x-amz-content-sha256');
    await expect(verifySigV4(toIncoming(signed), lookup)).resolves.toMatchObject({ service: 'ec2' });
  });

  test('request without x-amz-content-sha256 (applyChecksum off) is verified from the body', async () => {
    const signed = await signer({ applyChecksum: false }).sign(ec2Post());
    expect(signed.headers['authorization']).not.toContain('x-amz-content-sha256');
    await expect(verifySigV4(toIncoming(signed), lookup)).resolves.toMatchObject({ service: 'ec2' });
  });

  test('session token header is part of the signature', async () => {
    const signed = await signer({ sessionToken: 'FQoGZXIvYXdzEXAMPLE/token+=' }).sign(ec2Post());
    expect(signed.headers['authorization']).toContain('x-amz-security-token');
    const req = toIncoming(signed);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
    req.headers['x-amz-security-token'] = 'another-token';
    expect((await rejection(verifySigV4(req, lookup))).code).toBe('SignatureDoesNotMatch');
  });

  test('user-agent, which the signer refuses by default, is honoured when the client signed it', async () => {
    const req = ec2Post();
    req.headers['user-agent'] = 'weird-client/1.0';
    const signed = await signer().sign(req, { signableHeaders: new Set(['user-agent']) });
    expect(signed.headers['authorization']).toContain('user-agent');
    await expect(verifySigV4(toIncoming(signed), lookup)).resolves.toMatchObject({ accessKeyId: AKID });
  });

  test('headers the client did not sign are ignored; changing a signed one breaks it', async () => {
    const req = toIncoming(await signer().sign(ec2Post()));
    req.headers['user-agent'] = 'changed on the way';
    req.headers['x-forwarded-for'] = '10.0.0.1';
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
    req.headers['content-type'] = 'text/plain';
    expect((await rejection(verifySigV4(req, lookup))).code).toBe('SignatureDoesNotMatch');
  });

  test('array header values are joined as SigV4 joins repeated headers', async () => {
    const req = ec2Post();
    req.headers['x-amz-meta-list'] = 'a,b';
    const incoming = toIncoming(await signer().sign(req));
    incoming.headers['x-amz-meta-list'] = ['a', ' b '];
    await expect(verifySigV4(incoming, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
  });

  test('wrong secret → SignatureDoesNotMatch', async () => {
    const signed = await signer({ secret: 'not-the-secret' }).sign(ec2Post());
    const e = await rejection(verifySigV4(toIncoming(signed), lookup));
    expect(e.code).toBe('SignatureDoesNotMatch');
    expect(e.status).toBe(403);
  });

  test('unknown access key → AuthFailure', async () => {
    const signed = await signer().sign(ec2Post());
    const e = await rejection(verifySigV4(toIncoming(signed), () => undefined));
    expect(e.code).toBe('AuthFailure');
  });

  test('tampered body → SignatureDoesNotMatch (with and without x-amz-content-sha256)', async () => {
    for (const applyChecksum of [true, false]) {
      const req = toIncoming(await signer({ applyChecksum }).sign(ec2Post('Action=DescribeInstances&Version=2016-11-15')));
      req.body = Buffer.from('Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-1');
      expect((await rejection(verifySigV4(req, lookup))).code).toBe('SignatureDoesNotMatch');
    }
  });

  test('a signed x-amz-content-sha256 that is not the body hash (e.g. UNSIGNED-PAYLOAD) is refused', async () => {
    const req = ec2Post();
    req.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const signed = await signer().sign(req);
    expect(signed.headers['authorization']).toContain('x-amz-content-sha256');
    expect((await rejection(verifySigV4(toIncoming(signed), lookup))).code).toBe('SignatureDoesNotMatch');
  });

  test('tampered method, path or query → SignatureDoesNotMatch', async () => {
    const base = toIncoming(await signer().sign(ec2Get({ Action: 'DescribeInstances', Version: '2016-11-15' })));
    for (const change of [{ method: 'POST' }, { path: '/other' }, { query: 'Action=TerminateInstances&Version=2016-11-15' }]) {
      expect((await rejection(verifySigV4({ ...base, ...change }, lookup))).code).toBe('SignatureDoesNotMatch');
    }
  });

  test('a flipped signature digit → SignatureDoesNotMatch', async () => {
    const req = toIncoming(await signer().sign(ec2Post()));
    const auth = req.headers['authorization'] as string;
    const last = auth.slice(-1);
    req.headers['authorization'] = auth.slice(0, -1) + (last === '0' ? '1' : '0');
    expect((await rejection(verifySigV4(req, lookup))).code).toBe('SignatureDoesNotMatch');
  });

  test('signing date 16 minutes old (or ahead) → RequestExpired; 14 minutes → ok', async () => {
    const now = new Date('2024-01-01T12:00:00Z');
    const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);

    const old = toIncoming(await signer().sign(ec2Post(), { signingDate: at(-16) }));
    const e = await rejection(verifySigV4(old, lookup, now));
    expect(e.code).toBe('RequestExpired');
    expect(e.message).toBe('Request has expired. Timestamp date is 20240101T114400Z');

    const ahead = toIncoming(await signer().sign(ec2Post(), { signingDate: at(16) }));
    expect((await rejection(verifySigV4(ahead, lookup, now))).code).toBe('RequestExpired');

    for (const minutes of [-14, 14]) {
      const ok = toIncoming(await signer().sign(ec2Post(), { signingDate: at(minutes) }));
      await expect(verifySigV4(ok, lookup, now)).resolves.toMatchObject({ signedAt: at(minutes) });
    }
  });

  test('the signature covers the date: moving x-amz-date into the window does not help', async () => {
    const now = new Date('2024-01-01T12:00:00Z');
    const req = toIncoming(await signer().sign(ec2Post(), { signingDate: new Date('2024-01-01T11:00:00Z') }));
    req.headers['x-amz-date'] = '20240101T115900Z';
    expect((await rejection(verifySigV4(req, lookup, now))).code).toBe('SignatureDoesNotMatch');
  });

  test('sts service and another region come out of the credential scope', async () => {
    const signed = await signer({ service: 'sts', region: 'ap-southeast-2' }).sign(ec2Post('Action=GetCallerIdentity&Version=2011-06-15'));
    await expect(verifySigV4(toIncoming(signed), lookup)).resolves.toMatchObject({ service: 'sts', region: 'ap-southeast-2' });
  });
});

describe('query strings', () => {
  const query = {
    Action: 'DescribeRegions',
    Version: '2016-11-15',
    'RegionName.1': 'a b/c+d=e&f',
    'RegionName.2': 'ünïcode ✓ 日本',
    'Filter.1.Name': "it's (weird)*!~",
    empty: '',
    repeated: ['z', 'a b', 'm'],
  };

  test('parameter order and percent-encoding variants do not break verification', async () => {
    const signed = await signer().sign(ec2Get(query));
    const req = toIncoming(signed);

    const pairs = req.query.split('&');
    const variants = [
      req.query,
      [...pairs].reverse().join('&'),
      // spaces as '+', as a form encoder writes them
      req.query.replace(/%20/g, '+'),
      // lower-case hex escapes, and characters that need no escaping left bare
      req.query.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()).replace(/%27/gi, "'").replace(/%21/gi, '!'),
      // encodeURIComponent, which leaves !'()* alone
      queryString(query, encodeURIComponent),
    ];
    for (const q of variants) {
      await expect(verifySigV4({ ...req, query: q }, lookup), q).resolves.toMatchObject({ accessKeyId: AKID });
    }
  });

  test('a changed value, or a decoded "+" that was meant as a literal plus, fails', async () => {
    const req = toIncoming(await signer().sign(ec2Get(query)));
    const changed = req.query.replace('a%20b%2Fc%2Bd', 'a%20b%2Fc%20d');
    expect(changed).not.toBe(req.query);
    expect((await rejection(verifySigV4({ ...req, query: changed }, lookup))).code).toBe('SignatureDoesNotMatch');
    const added = `${req.query}&Extra=1`;
    expect((await rejection(verifySigV4({ ...req, query: added }, lookup))).code).toBe('SignatureDoesNotMatch');
  });
});

describe('presigned URLs (SignatureV4.presign)', () => {
  const now = new Date('2024-06-01T10:00:00Z');
  const q = { Action: 'DescribeInstances', Version: '2016-11-15', 'Filter.1.Value.1': 'a b+c/ü' };

  test('valid → ok, with presigned parts parsed', async () => {
    const presigned = await signer().presign(ec2Get(q), { signingDate: now, expiresIn: 300 });
    const req = toIncoming(presigned);
    expect(req.headers['authorization']).toBeUndefined();
    expect(parseAuthorization(req)).toMatchObject({ presigned: true, expiresSeconds: 300, signedHeaders: ['host'], accessKeyId: AKID });
    await expect(verifySigV4(req, lookup, new Date(now.getTime() + 299_000))).resolves.toEqual({
      accessKeyId: AKID,
      region: 'us-east-1',
      service: 'ec2',
      signedAt: now,
    });
  });

  test('expired (past X-Amz-Expires) → RequestExpired; dated >15 min in the future → RequestExpired', async () => {
    const req = toIncoming(await signer().presign(ec2Get(q), { signingDate: now, expiresIn: 300 }));
    const e = await rejection(verifySigV4(req, lookup, new Date(now.getTime() + 301_000)));
    expect(e.code).toBe('RequestExpired');
    expect(e.message).toContain('20240601T100000Z');
    expect((await rejection(verifySigV4(req, lookup, new Date(now.getTime() - 16 * 60_000)))).code).toBe('RequestExpired');
    await expect(verifySigV4(req, lookup, new Date(now.getTime() - 14 * 60_000))).resolves.toBeTruthy();
  });

  test('session token in the query, reordered parameters', async () => {
    const presigned = await signer({ sessionToken: 'tok/en+==' }).presign(ec2Get(q), { signingDate: now });
    const req = toIncoming(presigned);
    expect(req.query).toContain('X-Amz-Security-Token');
    const shuffled = req.query.split('&').reverse().join('&');
    await expect(verifySigV4({ ...req, query: shuffled }, lookup, now)).resolves.toMatchObject({ accessKeyId: AKID });
  });

  test('tampering with a parameter, the expiry or the signature → SignatureDoesNotMatch', async () => {
    const req = toIncoming(await signer().presign(ec2Get(q), { signingDate: now, expiresIn: 300 }));
    for (const query of [
      req.query.replace('DescribeInstances', 'TerminateInstances'),
      req.query.replace('X-Amz-Expires=300', 'X-Amz-Expires=3000'),
      req.query.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`),
    ]) {
      expect(query).not.toBe(req.query);
      expect((await rejection(verifySigV4({ ...req, query }, lookup, now))).code).toBe('SignatureDoesNotMatch');
    }
  });

  test('wrong secret → SignatureDoesNotMatch, unknown key → AuthFailure', async () => {
    const bad = toIncoming(await signer({ secret: 'nope' }).presign(ec2Get(q), { signingDate: now }));
    expect((await rejection(verifySigV4(bad, lookup, now))).code).toBe('SignatureDoesNotMatch');
    expect((await rejection(verifySigV4(bad, () => undefined, now))).code).toBe('AuthFailure');
  });

  test('a presigned URL also carrying an Authorization header is refused', async () => {
    const req = toIncoming(await signer().presign(ec2Get(q), { signingDate: now }));
    req.headers['authorization'] = 'AWS4-HMAC-SHA256 Credential=x';
    expect((await rejection(verifySigV4(req, lookup, now))).code).toBe('IncompleteSignature');
  });
});

describe('parseAuthorization errors', () => {
  const base: IncomingRequest = {
    method: 'POST',
    path: '/',
    query: '',
    headers: { host: 'localhost:4566', 'x-amz-date': '20240101T000000Z' },
    body: Buffer.from('Action=DescribeRegions&Version=2016-11-15'),
  };
  const withAuth = (authorization: string, extra: Record<string, string> = {}): IncomingRequest => ({
    ...base,
    headers: { ...base.headers, authorization, ...extra },
  });
  const sig = 'a'.repeat(64);

  test('no signature at all → MissingAuthenticationToken', async () => {
    const e = thrown(() => parseAuthorization(base));
    expect(e.code).toBe('MissingAuthenticationToken');
    expect(e.status).toBe(401);
    expect((await rejection(verifySigV4({ ...base, query: 'Action=DescribeRegions' }, lookup))).code).toBe('MissingAuthenticationToken');
  });

  test('garbage Authorization → IncompleteSignature', () => {
    for (const auth of [
      'garbage',
      'AWS4-HMAC-SHA256',
      'AWS4-HMAC-SHA256 garbage',
      'Bearer abc.def',
      'AWS AKID:c2lnbmF0dXJl',
      `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-east-1/ec2/aws4_request, Signature=${sig}`,
      `AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-east-1/ec2, SignedHeaders=host;x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-east-1/ec2/aws5_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20231231/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=xyz`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-east-1/ec2/aws4_request, SignedHeaders=x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host;;x-amz-date, Signature=${sig}`,
    ]) {
      const e = thrown(() => parseAuthorization(withAuth(auth)));
      expect(e.code, auth).toBe('IncompleteSignature');
      expect(e.status).toBe(400);
    }
  });

  test('missing or malformed date → IncompleteSignature', () => {
    const auth = `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`;
    const noDate = withAuth(auth);
    delete noDate.headers['x-amz-date'];
    expect(thrown(() => parseAuthorization(noDate)).message).toContain("'X-Amz-Date' or a 'Date' header");
    expect(thrown(() => parseAuthorization(withAuth(auth, { 'x-amz-date': '2024-01-01T00:00:00Z' }))).code).toBe('IncompleteSignature');
    expect(thrown(() => parseAuthorization(withAuth(auth, { 'x-amz-date': '20241301T000000Z' }))).code).toBe('IncompleteSignature');
  });

  test('a well-formed header parses', () => {
    const auth = `AWS4-HMAC-SHA256 Credential=${AKID}/20240101/us-west-2/sts/aws4_request,SignedHeaders=Host;X-Amz-Date,Signature=${sig.toUpperCase()}`;
    expect(parseAuthorization(withAuth(auth))).toEqual({
      accessKeyId: AKID,
      date: new Date('2024-01-01T00:00:00Z'),
      region: 'us-west-2',
      service: 'sts',
      signedHeaders: ['host', 'x-amz-date'],
      signature: sig,
      presigned: false,
    });
  });

  test('presigned URLs with missing or malformed parts → IncompleteSignature', () => {
    const full: Record<string, string> = {
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${AKID}/20240101/us-east-1/ec2/aws4_request`,
      'X-Amz-Date': '20240101T000000Z',
      'X-Amz-Expires': '300',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': sig,
    };
    const req = (q: Record<string, string>) => ({ ...base, method: 'GET', headers: { host: 'localhost:4566' }, query: queryString(q) });
    expect(parseAuthorization(req(full))).toMatchObject({ presigned: true, expiresSeconds: 300 });
    for (const name of Object.keys(full)) {
      const q = { ...full };
      delete q[name];
      expect(thrown(() => parseAuthorization(req(q))).code, name).toBe('IncompleteSignature');
    }
    for (const [name, value] of [
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA1'],
      ['X-Amz-Expires', '604801'],
      ['X-Amz-Expires', '-1'],
      ['X-Amz-Expires', 'soon'],
      ['X-Amz-Date', 'yesterday'],
      ['X-Amz-Credential', 'AKID'],
    ]) {
      expect(thrown(() => parseAuthorization(req({ ...full, [name]: value }))).code, `${name}=${value}`).toBe('IncompleteSignature');
    }
    const dup = req(full);
    dup.query += '&X-Amz-Date=20240101T000000Z';
    expect(thrown(() => parseAuthorization(dup)).code).toBe('IncompleteSignature');
  });

  test('Signature Version 2 query auth is refused as IncompleteSignature, not "missing"', () => {
    const q = 'Action=DescribeRegions&AWSAccessKeyId=AKID&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2024-01-01T00%3A00%3A00Z&Signature=abc%3D';
    expect(thrown(() => parseAuthorization({ ...base, query: q })).code).toBe('IncompleteSignature');
  });
});

describe('published AWS test-suite vectors (independent of the signer)', () => {
  test('get-vanilla (2015 suite, x-amz-date)', async () => {
    const req: IncomingRequest = {
      method: 'GET',
      path: '/',
      query: '',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      },
      body: Buffer.alloc(0),
    };
    const now = new Date('2015-08-30T12:36:00Z');
    await expect(verifySigV4(req, lookup, now)).resolves.toEqual({ accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', service: 'service', signedAt: now });
  });

  test('get-vanilla-query-order-key-case (2015 suite)', async () => {
    const req: IncomingRequest = {
      method: 'GET',
      path: '/',
      query: 'Param2=value2&Param1=value1',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
      },
      body: Buffer.alloc(0),
    };
    await expect(verifySigV4(req, lookup, new Date('2015-08-30T12:36:00Z'))).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE' });
  });

  test('get-vanilla (2011 suite, signed with the Date header instead of x-amz-date)', async () => {
    const req: IncomingRequest = {
      method: 'GET',
      path: '/foo/bar/../..', // get-relative-relative: same signature as get-vanilla
      query: '',
      headers: {
        host: 'host.foo.com',
        date: 'Mon, 09 Sep 2011 23:36:00 GMT',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470',
      },
      body: Buffer.alloc(0),
    };
    const now = new Date('2011-09-09T23:40:00Z');
    await expect(verifySigV4(req, lookup, now)).resolves.toEqual({
      accessKeyId: 'AKIDEXAMPLE',
      region: 'us-east-1',
      service: 'host',
      signedAt: new Date('2011-09-09T23:36:00Z'),
    });
    const moved = { ...req, headers: { ...req.headers, date: 'Mon, 09 Sep 2011 23:37:00 GMT' } };
    expect((await rejection(verifySigV4(moved, lookup, now))).code).toBe('SignatureDoesNotMatch');
  });
});

describe('real clients: AWS SDK for JavaScript v3', () => {
  function toIncomingFromSdk(r: HttpRequest): IncomingRequest {
    return toIncoming({ method: r.method, path: r.path, query: r.query as Bag, headers: r.headers, body: r.body });
  }

  test('EC2Client DescribeRegions (with awkward parameter values)', async () => {
    const { handler, captured } = capturingHandler(DESCRIBE_REGIONS_XML);
    const client = new EC2Client({
      region: 'eu-central-1',
      endpoint: 'http://localhost:4566',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      requestHandler: handler,
    });
    const out = await client.send(new DescribeRegionsCommand({ RegionNames: ['a b/c+d=e', 'ünïcode ✓'], AllRegions: true }));
    expect(out.Regions).toEqual([]);
    expect(captured).toHaveLength(1);
    const req = toIncomingFromSdk(captured[0]);
    const parsed = parseAuthorization(req);
    expect(parsed.signedHeaders).toEqual(expect.arrayContaining(['content-type', 'host', 'x-amz-date']));
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID, region: 'eu-central-1', service: 'ec2' });

    const tampered = { ...req, body: Buffer.from(req.body.toString().replace('AllRegions=true', 'AllRegions=false')) };
    expect(tampered.body.equals(req.body)).toBe(false);
    expect((await rejection(verifySigV4(tampered, lookup))).code).toBe('SignatureDoesNotMatch');
    client.destroy();
  });

  test('EC2Client with a session token', async () => {
    const { handler, captured } = capturingHandler(DESCRIBE_REGIONS_XML);
    const client = new EC2Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:8773/',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: 'session/token+value==' },
      requestHandler: handler,
    });
    await client.send(new DescribeRegionsCommand({}));
    const req = toIncomingFromSdk(captured[0]);
    expect(req.headers['x-amz-security-token']).toBe('session/token+value==');
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
    client.destroy();
  });

  test('STSClient GetCallerIdentity', async () => {
    const { handler, captured } = capturingHandler(GET_CALLER_IDENTITY_XML);
    const client = new STSClient({
      region: 'us-west-2',
      endpoint: 'http://localhost:4566',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      requestHandler: handler,
    });
    const out = await client.send(new GetCallerIdentityCommand({}));
    expect(out.Account).toBe('123456789012');
    const req = toIncomingFromSdk(captured[0]);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID, region: 'us-west-2', service: 'sts' });
    expect((await rejection(verifySigV4(req, (id) => (id === AKID ? 'wrong' : undefined)))).code).toBe('SignatureDoesNotMatch');
    client.destroy();
  });
});

// ---------------------------------------------------------------------------------------------
// botocore (what the AWS CLI v1 and boto3 sign with), when it is installed.

const botocore = requires({ other: { 'python3 with botocore (the AWS CLI v1)': probe('python3', ['-c', 'import botocore']) } });
const hasBotocore = botocore.ok;

const BOTOCORE_SCRIPT = String.raw`
import json, sys
import botocore.session, botocore.auth, botocore.awsrequest, botocore.credentials

akid, secret = sys.argv[1], sys.argv[2]
results = {}

class Captured(Exception):
    pass

def text(v):
    return v.decode() if isinstance(v, bytes) else v

def capture_into(name):
    def handler(request, **kw):
        results[name] = {'method': request.method, 'url': request.url,
                         'headers': {k: text(v) for k, v in request.headers.items()},
                         'body': text(request.body) or ''}
        raise Captured()
    return handler

session = botocore.session.get_session()
def client(service, region, name, token=None):
    c = session.create_client(service, region_name=region, endpoint_url='http://localhost:4566',
                              aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=token)
    c.meta.events.register('before-send', capture_into(name))
    return c

try:
    client('ec2', 'eu-west-3', 'ec2').describe_regions(RegionNames=['a b/c+d=e', 'ünïcode ✓'], AllRegions=True)
except Captured:
    pass
try:
    client('ec2', 'us-east-1', 'ec2_token', token='botocore/session+token==').describe_instances(
        Filters=[{'Name': 'tag:Name', 'Values': ['x y']}])
except Captured:
    pass
try:
    client('sts', 'us-east-1', 'sts').get_caller_identity()
except Captured:
    pass

presigner = session.create_client('ec2', region_name='us-east-1', endpoint_url='http://localhost:4566',
                                  aws_access_key_id=akid, aws_secret_access_key=secret)
results['presigned'] = {'method': 'GET', 'url': presigner.generate_presigned_url(
    'describe_regions', Params={'RegionNames': ['x y+z/ü']}, ExpiresIn=300, HttpMethod='GET'), 'headers': {}, 'body': ''}
# Without HttpMethod botocore signs the URL as a POST (boto/boto3#756): it is valid only when sent as POST.
results['presigned_post'] = {'method': 'POST', 'url': presigner.generate_presigned_url(
    'describe_regions', Params={}, ExpiresIn=300), 'headers': {}, 'body': ''}

# A request carrying a Date header: botocore then signs with Date and sends no X-Amz-Date.
req = botocore.awsrequest.AWSRequest(method='POST', url='http://localhost:4566/',
    data='Action=DescribeRegions&Version=2016-11-15',
    headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', 'Date': 'Thu, 01 Jan 1970 00:00:00 GMT'})
botocore.auth.SigV4Auth(botocore.credentials.Credentials(akid, secret), 'ec2', 'us-east-1').add_auth(req)
results['date_header'] = {'method': req.method, 'url': req.url, 'headers': {k: text(v) for k, v in req.headers.items()},
                          'body': text(req.body)}

print(json.dumps(results))
`;

type BotoRequest = { method: string; url: string; headers: Record<string, string>; body: string };

function fromBotocore(r: BotoRequest): IncomingRequest {
  const url = new URL(r.url);
  const headers: Record<string, string> = { host: url.host }; // added by the HTTP layer when sent
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  return { method: r.method, path: url.pathname, query: url.search.replace(/^\?/, ''), headers, body: Buffer.from(r.body, 'utf8') };
}

describe('real clients: botocore (AWS CLI v1, boto3)', () => {
  let boto: Record<string, BotoRequest> = {};
  beforeAll(() => {
    if (!hasBotocore) return;
    const run = spawnSync('python3', ['-c', BOTOCORE_SCRIPT, AKID, SECRET], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`botocore script failed: ${run.stderr}`);
    boto = JSON.parse(run.stdout);
  });

  botocore.test('EC2 DescribeRegions (form body, content-type;host;x-amz-date)', async () => {
    const req = fromBotocore(boto.ec2);
    expect(parseAuthorization(req).signedHeaders).toEqual(['content-type', 'host', 'x-amz-date']);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID, region: 'eu-west-3', service: 'ec2' });
    const tampered = { ...req, body: Buffer.from(req.body.toString().replace('AllRegions=true', 'AllRegions=false')) };
    expect((await rejection(verifySigV4(tampered, lookup))).code).toBe('SignatureDoesNotMatch');
  });

  botocore.test('EC2 with a session token', async () => {
    const req = fromBotocore(boto.ec2_token);
    expect(parseAuthorization(req).signedHeaders).toContain('x-amz-security-token');
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
  });

  botocore.test('STS GetCallerIdentity', async () => {
    await expect(verifySigV4(fromBotocore(boto.sts), lookup)).resolves.toMatchObject({ service: 'sts', region: 'us-east-1' });
  });

  botocore.test('presigned EC2 GET (generate_presigned_url)', async () => {
    const req = fromBotocore(boto.presigned);
    expect(parseAuthorization(req)).toMatchObject({ presigned: true, expiresSeconds: 300 });
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID, service: 'ec2' });
    const signedAt = parseAuthorization(req).date.getTime();
    expect((await rejection(verifySigV4(req, lookup, new Date(signedAt + 301_000)))).code).toBe('RequestExpired');
  });

  botocore.test('presigned URL signed as POST (no HttpMethod): valid as POST only, as on AWS', async () => {
    const req = fromBotocore(boto.presigned_post);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
    expect((await rejection(verifySigV4({ ...req, method: 'GET' }, lookup))).code).toBe('SignatureDoesNotMatch');
  });

  botocore.test('signed with the Date header (no X-Amz-Date)', async () => {
    const req = fromBotocore(boto.date_header);
    expect(req.headers['x-amz-date']).toBeUndefined();
    expect(parseAuthorization(req).signedHeaders).toEqual(['content-type', 'date', 'host']);
    await expect(verifySigV4(req, lookup)).resolves.toMatchObject({ accessKeyId: AKID });
  });
});
