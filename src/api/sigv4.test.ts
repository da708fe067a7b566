// SigV4 verification: header-signed and presigned requests as @smithy/signature-v4 makes them, query
// string variants and malformed Authorization headers (published vectors and real clients have
// their own file, sigv4-clients.test.ts).
import { HttpRequest } from '@smithy/protocol-http';
import { describe, expect, test } from 'vitest';
import { ApiError } from '../services/errors.js';
import { type IncomingRequest, parseAuthorization, verifySigV4 } from './sigv4.js';
import { AKID, keys, lookup, queryString, rejection, signer, toIncoming } from '../../test/sigv4-requests.js';

const asyncLookup = async (id: string) => keys[id];

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

function thrown(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected a throw');
}

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
      req.query
        .replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())
        .replace(/%27/gi, "'")
        .replace(/%21/gi, '!'),
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
