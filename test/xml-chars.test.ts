// A character XML 1.0 forbids must never break another account's answers: account A's attempts to
// put one in a public AMI's description are refused at parse time, and a value that is in the store
// anyway (written before the parser refused it) still comes out as well-formed XML to account B,
// through the SDK, a strict parser and the AWS CLI.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DescribeImageAttributeCommand, DescribeImagesCommand, ModifyImageAttributeCommand, RegisterImageCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { errorOf, startTestServer, type TestServer } from './harness.js';
import { expatProblems, xmlProblem } from './xml-strict.js';
import type { Credentials } from '../src/services/accounts.js';

let s: TestServer;
let a: EC2Client;
let b: EC2Client;
let bCreds: Credentials;

const CLEAN = 'ami-0c0c0c0c0c0c0c0c1';
const DIRTY = 'ami-0c0c0c0c0c0c0c0c2';
/** What an older store may hold: a C0 control, a noncharacter and a lone surrogate. */
const STORED = 'before\u0001\uFFFF\uD800after';

function image(id: string, owner: string, description: string) {
  return {
    id,
    region: 'us-east-1',
    owner_id: owner,
    owner_alias: null,
    name: `public-${id}`,
    description,
    architecture: 'x86_64',
    platform_details: 'Linux/UNIX',
    root_device_name: '/dev/xvda',
    root_device_type: 'ebs',
    virtualization_type: 'hvm',
    hypervisor: 'xen',
    ena_support: 1,
    boot_mode: null,
    state: 'available',
    is_public: 1,
    image_type: 'machine',
    block_device_mappings: JSON.stringify([
      { DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0', VolumeSize: 2, VolumeType: 'gp3', DeleteOnTermination: true, Encrypted: false } },
    ]),
    source: JSON.stringify({ snapshots: ['snap-0123456789abcdef0'] }),
    creation_date: '2026-01-01T00:00:00.000Z',
    deprecation_time: null,
  };
}

beforeAll(async () => {
  s = await startTestServer();
  a = s.ec2();
  bCreds = await s.app.accounts.create('reader');
  b = s.ec2({ credentials: bCreds });
  await s.app.db
    .insertInto('images')
    .values([image(CLEAN, s.admin.accountId, 'clean'), image(DIRTY, s.admin.accountId, STORED)])
    .execute();
});
afterAll(async () => {
  await s?.stop();
});

/** A signed DescribeImages as account B, its answer as the bytes on the wire. */
async function describeImagesRaw(creds: Credentials, imageId: string): Promise<{ status: number; bytes: Buffer }> {
  const u = new URL(s.url);
  const body = `Action=DescribeImages&Version=2016-11-15&ImageId.1=${imageId}`;
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'ec2', sha256: Hash.bind(null, 'sha256'), uriEscapePath: true, applyChecksum: false });
  const req = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: '/',
      headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    }),
  );
  const res = await fetch(s.url, { method: 'POST', headers: req.headers as Record<string, string>, body });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('a control character in a public AMI description, across two accounts', () => {
  test('account A cannot put \\x01 in a description: RegisterImage and ModifyImageAttribute answer InvalidParameterValue', async () => {
    const reg = await errorOf(
      a.send(
        new RegisterImageCommand({
          Name: 'evil',
          Description: 'evil\u0001',
          RootDeviceName: '/dev/xvda',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }],
        }),
      ),
    );
    expect(reg.name).toBe('InvalidParameterValue');
    expect(reg.message).not.toContain('\u0001');
    expect(reg.message).toContain('U+0001');
    const mod = await errorOf(a.send(new ModifyImageAttributeCommand({ ImageId: CLEAN, Description: { Value: 'now\u0001evil' } })));
    expect(mod.name).toBe('InvalidParameterValue');
    expect(mod.message).toBe('Value for parameter Description.Value is invalid: it contains the character U+0001, which XML 1.0 does not allow.');
    // Nothing was written.
    const attr = await a.send(new DescribeImageAttributeCommand({ ImageId: CLEAN, Attribute: 'description' }));
    expect(attr.Description?.Value).toBe('clean');
    // The same request without the character goes through: the refusal was the character's.
    await a.send(new ModifyImageAttributeCommand({ ImageId: CLEAN, Description: { Value: 'now fine' } }));
    expect((await a.send(new DescribeImageAttributeCommand({ ImageId: CLEAN, Attribute: 'description' }))).Description?.Value).toBe('now fine');
  });

  test('account B reads the public images, one with forbidden characters in the store, as well-formed XML', async () => {
    const raw = await describeImagesRaw(bCreds, DIRTY);
    expect(raw.status).toBe(200);
    expect(xmlProblem(raw.bytes)).toBeUndefined();
    expect(await expatProblems([raw.bytes])).toEqual([null]);
    // SQLite's UTF-8 turns the lone surrogate into bytes that read back as U+FFFDs of their own,
    // so the count of replacement characters is the store's business; the rest is not.
    expect(raw.bytes.toString('utf8')).toMatch(/<description>before\uFFFD+after<\/description>/);

    const out = await b.send(new DescribeImagesCommand({ ExecutableUsers: ['all'], Owners: [s.admin.accountId] }));
    const byId = new Map(out.Images!.map((i) => [i.ImageId, i]));
    expect(byId.get(DIRTY)?.Description).toMatch(/^before\uFFFD{3,}after$/);
    expect(byId.get(CLEAN)?.Description).toBe('now fine');
  });

  test('the AWS CLI (Python expat, strict) reads account B’s DescribeImages', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
    Object.assign(env, {
      AWS_ACCESS_KEY_ID: bCreds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: bCreds.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(s.app.config.home, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(s.app.config.home, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
      AWS_PAGER: '',
    });
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('aws', ['ec2', 'describe-images', '--endpoint-url', s.url, '--owners', s.admin.accountId, '--output', 'json'], { env, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }),
      );
    });
    expect(r.code, r.stderr).toBe(0);
    const images = (JSON.parse(r.stdout) as { Images: { ImageId: string; Description: string }[] }).Images;
    expect(images.find((i) => i.ImageId === DIRTY)?.Description).toMatch(/^before\uFFFD{3,}after$/);
  });
});
