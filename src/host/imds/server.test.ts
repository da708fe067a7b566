// The metadata service over HTTP on loopback, with a lookup that maps 127.0.0.1 to a fixture instance.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { fixtureMetadata } from './fixture.js';
import type { InstanceMetadata, RoleCredentials } from './metadata.js';
import { ImdsServer, sourceAddress } from './server.js';

let instance: InstanceMetadata;
let now = Date.parse('2024-05-06T07:08:09Z');
const asked: string[] = [];
/** Lookups that asked for the role's credentials (which may issue a session). */
let credentialLookups = 0;
const credentials: RoleCredentials = {
  code: 'Success',
  roleName: 'web-role',
  lastUpdated: new Date('2024-05-06T07:00:00Z'),
  accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
  secretAccessKey: 'secret',
  sessionToken: 'token',
  expiration: new Date('2024-05-06T13:00:00Z'),
};
const server = new ImdsServer({
  lookup: async (ip, local, withCredentials) => {
    asked.push(`${ip} → ${local}`);
    if (ip !== '127.0.0.1' || local !== '127.0.0.1') return undefined;
    if (!withCredentials || !instance.iamInstanceProfile) return instance;
    credentialLookups++;
    return { ...instance, iamInstanceProfile: { ...instance.iamInstanceProfile, role: credentials } };
  },
  now: () => now,
});
let base = '';

beforeAll(async () => {
  const port = await server.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => server.close());
beforeEach(() => {
  instance = fixtureMetadata();
  now = Date.parse('2024-05-06T07:08:09Z');
});

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(base + path, init);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

const token = async (ttl = '21600') => (await call('/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': ttl } })).body;

describe('IMDSv1', () => {
  test("answers GETs with the instance's values, as text/plain from EC2ws", async () => {
    const r = await call('/latest/meta-data/instance-id');
    expect(r).toMatchObject({ status: 200, body: 'i-0123456789abcdef0' });
    expect(r.headers.get('content-type')).toBe('text/plain');
    expect(r.headers.get('server')).toBe('EC2ws');
    expect(asked.at(-1)).toBe('127.0.0.1 → 127.0.0.1');
  });

  test("404 with EC2's page", async () => {
    const r = await call('/latest/meta-data/nope');
    expect(r.status).toBe(404);
    expect(r.body).toContain('<title>404 - Not Found</title>');
    expect(r.headers.get('content-type')).toBe('text/html');
  });

  test('user data comes back byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0x1f, 0x8b]);
    instance = fixtureMetadata({ userData: bytes });
    const res = await fetch(`${base}/latest/user-data`);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  test('HEAD has the headers and no body', async () => {
    const r = await call('/latest/meta-data/instance-id', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
    expect(r.headers.get('content-length')).toBe('19');
  });

  test('other methods are not allowed', async () => {
    expect((await call('/latest/meta-data/instance-id', { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await call('/latest/meta-data/instance-id', { method: 'PUT' })).status).toBe(405);
  });
});

describe('IMDSv2', () => {
  test('PUT a token, then use it; the TTL comes back in a header', async () => {
    const put = await call('/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' } });
    expect(put.status).toBe(200);
    expect(put.headers.get('x-aws-ec2-metadata-token-ttl-seconds')).toBe('300');
    const r = await call('/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': put.body } });
    expect(r).toMatchObject({ status: 200, body: 'i-0123456789abcdef0' });
    expect(r.headers.get('x-aws-ec2-metadata-token-ttl-seconds')).toBe('300');
  });

  const badTtl: [string, Record<string, string>][] = [
    ['missing', {}],
    ['zero', { 'X-aws-ec2-metadata-token-ttl-seconds': '0' }],
    ['above 21600', { 'X-aws-ec2-metadata-token-ttl-seconds': '21601' }],
    ['not a number', { 'X-aws-ec2-metadata-token-ttl-seconds': 'soon' }],
  ];
  test.each(badTtl)('a token PUT with the TTL %s is a 400', async (_, headers) => {
    const r = await call('/latest/api/token', { method: 'PUT', headers });
    expect(r.status).toBe(400);
    expect(r.body).toContain('400 - Bad Request');
  });

  test('a token PUT through a proxy (X-Forwarded-For) is refused', async () => {
    const r = await call('/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '10.0.0.9' } });
    expect(r.status).toBe(403);
  });

  test('GET of the token path is not allowed; OPTIONS says PUT', async () => {
    expect((await call('/latest/api/token', { headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })).status).toBe(405);
    const o = await call('/latest/api/token', { method: 'OPTIONS' });
    expect(o.status).toBe(200);
    expect(o.headers.get('allow')).toBe('OPTIONS, PUT');
  });

  test('an invalid token is a 401 even when tokens are optional', async () => {
    const r = await call('/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': 'AQAEAnotreal' } });
    expect(r.status).toBe(401);
    expect(r.body).toContain('401 - Unauthorized');
  });

  test('an expired token is a 401', async () => {
    const tok = await token('2');
    now += 2_000;
    expect((await call('/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': tok } })).status).toBe(401);
  });

  test("another instance's token is a 401", async () => {
    const tok = await token();
    instance = fixtureMetadata({ instanceId: 'i-0fedcba9876543210' });
    expect((await call('/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': tok } })).status).toBe(401);
  });

  test('HttpTokens=required: no token is a 401, a token works', async () => {
    instance = fixtureMetadata({ options: { httpTokens: 'required', httpEndpoint: 'enabled', hopLimit: 1 } });
    expect((await call('/latest/meta-data/instance-id')).status).toBe(401);
    const tok = await token();
    expect(await call('/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': tok } })).toMatchObject({ status: 200, body: 'i-0123456789abcdef0' });
  });

  test('HttpEndpoint=disabled: everything is a 403', async () => {
    instance = fixtureMetadata({ options: { httpTokens: 'optional', httpEndpoint: 'disabled', hopLimit: 1 } });
    expect((await call('/latest/meta-data/instance-id')).status).toBe(403);
    expect((await call('/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })).status).toBe(403);
  });

  test('tokens survive a restart when the secret is kept', async () => {
    const secret = Buffer.alloc(32, 3);
    const a = new ImdsServer({ lookup: async () => instance, secret });
    const b = new ImdsServer({ lookup: async () => instance, secret });
    const pa = await a.listen(0, '127.0.0.1');
    const pb = await b.listen(0, '127.0.0.1');
    try {
      const tok = await (await fetch(`http://127.0.0.1:${pa}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
      const r = await fetch(`http://127.0.0.1:${pb}/latest/meta-data/instance-id`, { headers: { 'X-aws-ec2-metadata-token': tok } });
      expect(r.status).toBe(200);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('role credentials', () => {
  const profile = { arn: 'arn:aws:iam::123456789012:instance-profile/web', id: 'AIPAEXAMPLE', lastUpdated: new Date('2024-05-06T07:00:00Z') };

  test('served under iam/security-credentials/ with an IMDSv2 token; other paths never read them', async () => {
    instance = fixtureMetadata({ iamInstanceProfile: profile, options: { httpTokens: 'required', httpEndpoint: 'enabled', hopLimit: 1 } });
    credentialLookups = 0;
    const t = await token();
    expect((await call('/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': t } })).body).toBe('i-0123456789abcdef0');
    expect(credentialLookups).toBe(0);
    const list = await call('/latest/meta-data/iam/security-credentials/', { headers: { 'X-aws-ec2-metadata-token': t } });
    expect(list).toMatchObject({ status: 200, body: 'web-role' });
    const doc = await call('/latest/meta-data/iam/security-credentials/web-role', { headers: { 'X-aws-ec2-metadata-token': t } });
    expect(JSON.parse(doc.body)).toMatchObject({ Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: 'ASIAEXAMPLEEXAMPLE01', Expiration: '2024-05-06T13:00:00Z' });
    expect(credentialLookups).toBe(2);
  });

  test('a request the IMDSv2 rules refuse reads no credentials (none are issued for it)', async () => {
    instance = fixtureMetadata({ iamInstanceProfile: profile, options: { httpTokens: 'required', httpEndpoint: 'enabled', hopLimit: 1 } });
    credentialLookups = 0;
    expect((await call('/latest/meta-data/iam/security-credentials/web-role')).status).toBe(401);
    expect((await call('/latest/meta-data/iam/security-credentials/web-role', { headers: { 'X-aws-ec2-metadata-token': 'forged' } })).status).toBe(401);
    expect(credentialLookups).toBe(0);
  });

  test('without an instance profile there is no iam/', async () => {
    credentialLookups = 0;
    expect((await call('/latest/meta-data/iam/security-credentials/')).status).toBe(404);
    expect(credentialLookups).toBe(0);
  });
});

describe('who is asking', () => {
  test('a caller that is no instance gets a 403', async () => {
    const other = new ImdsServer({ lookup: async () => undefined });
    const port = await other.listen(0, '127.0.0.1');
    try {
      expect((await fetch(`http://127.0.0.1:${port}/latest/meta-data/instance-id`)).status).toBe(403);
    } finally {
      await other.close();
    }
  });

  test("headers cannot choose the instance: only the connection's addresses are asked", async () => {
    asked.length = 0;
    await call('/latest/meta-data/instance-id', { headers: { 'X-Forwarded-For': '172.31.0.12', 'X-Real-IP': '172.31.0.12', Host: '169.254.169.254' } });
    expect(asked).toEqual(['127.0.0.1 → 127.0.0.1']);
  });

  test('the local address is the one the connection reached', async () => {
    const other = new ImdsServer({ lookup: async (ip, local) => (asked.push(`${ip} → ${local}`), undefined) });
    const port = await other.listen(0, '0.0.0.0');
    try {
      asked.length = 0;
      await fetch(`http://127.0.0.2:${port}/latest/meta-data/`);
      expect(asked).toEqual(['127.0.0.1 → 127.0.0.2']);
    } finally {
      await other.close();
    }
  });

  test('a lookup that fails is a 500, not a crash', async () => {
    const broken = new ImdsServer({
      lookup: async () => {
        throw new Error('store is down');
      },
    });
    const port = await broken.listen(0, '127.0.0.1');
    try {
      expect((await fetch(`http://127.0.0.1:${port}/latest/meta-data/`)).status).toBe(500);
    } finally {
      await broken.close();
    }
  });

  test('IPv4-mapped addresses are IPv4', () => {
    expect(sourceAddress('::ffff:172.31.0.11')).toBe('172.31.0.11');
    expect(sourceAddress('172.31.0.11')).toBe('172.31.0.11');
    expect(sourceAddress('::1')).toBe('::1');
  });
});
