// Key pairs through @aws-sdk/client-ec2 against a started server. Fingerprints are recomputed here
// with node:crypto from what the server handed out, following EC2's published recipes.
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CreateKeyPairCommand, DeleteKeyPairCommand, DescribeKeyPairsCommand, EC2Client, ImportKeyPairCommand } from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer, errorOf } from './harness.js';

let s: TestServer;
let ec2: EC2Client;

beforeAll(async () => {
  s = await startTestServer();
  ec2 = s.ec2();
});
afterAll(async () => {
  await s?.stop();
});

const colonHex = (b: Buffer) => b.toString('hex').match(/../g)!.join(':');

/** An OpenSSH "ssh-rsa AAAA… comment" line and the SPKI DER of a fresh RSA key. */
function rsaPublicKey(comment = 'me@laptop'): { line: string; spki: Buffer } {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const mpint = (b64u: string) => {
    let b = Buffer.from(b64u, 'base64url');
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return str(b);
  };
  const blob = Buffer.concat([str(Buffer.from('ssh-rsa')), mpint(jwk.e!), mpint(jwk.n!)]);
  return { line: `ssh-rsa ${blob.toString('base64')} ${comment}`, spki: publicKey.export({ format: 'der', type: 'spki' }) };
}

describe('CreateKeyPair', () => {
  test('an RSA key: PKCS#1 PEM once, then described with the same fingerprint', async () => {
    const out = await ec2.send(new CreateKeyPairCommand({ KeyName: 'rsa-key' }));
    expect(out.KeyName).toBe('rsa-key');
    expect(out.KeyPairId).toMatch(/^key-[0-9a-f]{17}$/);
    expect(out.KeyMaterial).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    // EC2: SHA-1 of the DER PKCS#8 private key.
    const der = createPrivateKey(out.KeyMaterial!).export({ format: 'der', type: 'pkcs8' });
    expect(out.KeyFingerprint).toBe(colonHex(createHash('sha1').update(der).digest()));

    const d = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['rsa-key'] }));
    expect(d.KeyPairs).toHaveLength(1);
    const k = d.KeyPairs![0]!;
    expect(k).toMatchObject({ KeyPairId: out.KeyPairId, KeyName: 'rsa-key', KeyFingerprint: out.KeyFingerprint, KeyType: 'rsa', Tags: [] });
    expect(k.CreateTime).toBeInstanceOf(Date);
    expect(k.PublicKey).toBeUndefined();
    expect(JSON.stringify(d)).not.toContain('PRIVATE');
  });

  test('an ED25519 key in PuTTY format, with tags and the public key on request', async () => {
    const out = await ec2.send(
      new CreateKeyPairCommand({
        KeyName: 'ed-key',
        KeyType: 'ed25519',
        KeyFormat: 'ppk',
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'owner', Value: 'ops' }] }],
      }),
    );
    expect(out.KeyMaterial).toMatch(/^PuTTY-User-Key-File-2: ssh-ed25519\n/);
    expect(out.Tags).toEqual([{ Key: 'owner', Value: 'ops' }]);
    const d = await ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: [out.KeyPairId!], IncludePublicKey: true }));
    const k = d.KeyPairs![0]!;
    expect(k.KeyType).toBe('ed25519');
    expect(k.Tags).toEqual([{ Key: 'owner', Value: 'ops' }]);
    expect(k.PublicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ ed-key$/);
    // ED25519: base64 SHA-256 of the SSH public key blob.
    const blob = Buffer.from(k.PublicKey!.split(' ')[1]!, 'base64');
    expect(k.KeyFingerprint).toBe(createHash('sha256').update(blob).digest('base64'));
    expect(out.KeyFingerprint).toBe(k.KeyFingerprint);
  });

  test('names are unique per account and region', async () => {
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'dup', KeyType: 'ed25519' }));
    const e = await errorOf(ec2.send(new CreateKeyPairCommand({ KeyName: 'dup' })));
    expect(e.name).toBe('InvalidKeyPair.Duplicate');
    expect(e.message).toBe("The keypair 'dup' already exists.");
    // Another region is another namespace.
    await s.ec2({ region: 'eu-west-1' }).send(new CreateKeyPairCommand({ KeyName: 'dup', KeyType: 'ed25519' }));
  });

  test.each([
    [{ KeyName: 'x'.repeat(256) }, 'InvalidParameterValue'],
    [{ KeyName: 'caf\u00e9' }, 'InvalidParameterValue'],
    [{ KeyName: '' }, 'MissingParameter'],
    [{ KeyName: 'k', KeyType: 'dsa' as never }, 'InvalidParameterValue'],
    [{ KeyName: 'k', KeyFormat: 'der' as never }, 'InvalidParameterValue'],
    [{ KeyName: 'k', TagSpecifications: [{ ResourceType: 'volume' as const, Tags: [{ Key: 'a', Value: 'b' }] }] }, 'InvalidParameterValue'],
  ])('refuses %j', async (input, code) => {
    expect((await errorOf(ec2.send(new CreateKeyPairCommand(input)))).name).toBe(code);
  });

  test('DryRun answers DryRunOperation and makes nothing', async () => {
    expect((await errorOf(ec2.send(new CreateKeyPairCommand({ KeyName: 'dry', DryRun: true })))).name).toBe('DryRunOperation');
    expect((await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['dry'] })))).name).toBe('InvalidKeyPair.NotFound');
  });
});

describe('ImportKeyPair', () => {
  test('an RSA OpenSSH public key gets the MD5 of its SubjectPublicKeyInfo as fingerprint', async () => {
    const { line, spki } = rsaPublicKey();
    const out = await ec2.send(new ImportKeyPairCommand({ KeyName: 'imported', PublicKeyMaterial: Buffer.from(line) }));
    const md5 = colonHex(createHash('md5').update(spki).digest());
    expect(out).toMatchObject({ KeyName: 'imported', KeyFingerprint: md5 });
    expect(out.KeyPairId).toMatch(/^key-/);
    const d = await ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'fingerprint', Values: [md5] }], IncludePublicKey: true }));
    expect(d.KeyPairs!.map((k) => [k.KeyName, k.KeyType, k.PublicKey])).toEqual([['imported', 'rsa', line]]);
  });

  test('an ED25519 key from ssh-keygen style text', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
    const out = await ec2.send(new ImportKeyPairCommand({ KeyName: 'imported-ed', PublicKeyMaterial: Buffer.from(`ssh-ed25519 ${blob.toString('base64')}\n`) }));
    expect(out.KeyFingerprint).toBe(createHash('sha256').update(blob).digest('base64'));
  });

  test('garbage and duplicates are refused', async () => {
    const bad = await errorOf(ec2.send(new ImportKeyPairCommand({ KeyName: 'bad', PublicKeyMaterial: Buffer.from('ssh-rsa not-a-key') })));
    expect(bad.name).toBe('InvalidKey.Format');
    const { line } = rsaPublicKey();
    await ec2.send(new ImportKeyPairCommand({ KeyName: 'imp-dup', PublicKeyMaterial: Buffer.from(line) }));
    const dup = await errorOf(ec2.send(new ImportKeyPairCommand({ KeyName: 'imp-dup', PublicKeyMaterial: Buffer.from(line) })));
    expect(dup.name).toBe('InvalidKeyPair.Duplicate');
  });
});

describe('DescribeKeyPairs', () => {
  beforeAll(async () => {
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'filter-a', KeyType: 'ed25519', TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'env', Value: 'prod' }] }] }));
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'filter-b', KeyType: 'ed25519' }));
  });

  const names = async (filters: { Name: string; Values: string[] }[]) => (await ec2.send(new DescribeKeyPairsCommand({ Filters: filters }))).KeyPairs!.map((k) => k.KeyName).sort();

  test('filters', async () => {
    expect(await names([{ Name: 'key-name', Values: ['filter-?'] }])).toEqual(['filter-a', 'filter-b']);
    expect(await names([{ Name: 'tag:env', Values: ['prod'] }])).toEqual(['filter-a']);
    expect(await names([{ Name: 'tag-key', Values: ['env'] }])).toEqual(['filter-a']);
    expect(
      await names([
        { Name: 'key-name', Values: ['filter-*'] },
        { Name: 'key-type', Values: ['rsa'] },
      ]),
    ).toEqual([]);
    const a = (await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['filter-a'] }))).KeyPairs![0]!;
    expect(await names([{ Name: 'key-pair-id', Values: [a.KeyPairId!] }])).toEqual(['filter-a']);
    expect((await errorOf(ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'owner-id', Values: ['x'] }] })))).name).toBe('InvalidParameterValue');
  });

  test('a named key that does not exist is an error, even beside one that does', async () => {
    const e = await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['filter-a', 'missing'] })));
    expect(e.name).toBe('InvalidKeyPair.NotFound');
    expect(e.message).toBe("The key pair 'missing' does not exist");
    const i = await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: ['key-0000000000000000f'] })));
    expect(i.name).toBe('InvalidKeyPair.NotFound');
    expect(i.message).toBe("The key pair ID 'key-0000000000000000f' does not exist");
  });
});

describe('DeleteKeyPair', () => {
  test('by name and by id; a missing key is no error', async () => {
    const a = await ec2.send(new CreateKeyPairCommand({ KeyName: 'del-a', KeyType: 'ed25519' }));
    const b = await ec2.send(new CreateKeyPairCommand({ KeyName: 'del-b', KeyType: 'ed25519' }));
    const outA = await ec2.send(new DeleteKeyPairCommand({ KeyName: 'del-a' }));
    expect(outA).toMatchObject({ Return: true, KeyPairId: a.KeyPairId });
    await ec2.send(new DeleteKeyPairCommand({ KeyPairId: b.KeyPairId }));
    expect((await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['del-a'] })))).name).toBe('InvalidKeyPair.NotFound');
    expect((await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: [b.KeyPairId!] })))).name).toBe('InvalidKeyPair.NotFound');
    expect((await ec2.send(new DeleteKeyPairCommand({ KeyName: 'del-a' }))).Return).toBe(true);
    // The name is free again.
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'del-a', KeyType: 'ed25519' }));
  });
});

describe('accounts are isolated', () => {
  test("another account neither sees nor deletes this account's keys", async () => {
    const mine = await ec2.send(new CreateKeyPairCommand({ KeyName: 'private-key', KeyType: 'ed25519' }));
    const creds = await s.app.accounts.create('kp-other');
    const other = s.ec2({ credentials: creds });
    expect((await other.send(new DescribeKeyPairsCommand({}))).KeyPairs).toEqual([]);
    expect((await errorOf(other.send(new DescribeKeyPairsCommand({ KeyNames: ['private-key'] })))).name).toBe('InvalidKeyPair.NotFound');
    await other.send(new DeleteKeyPairCommand({ KeyPairId: mine.KeyPairId }));
    await other.send(new DeleteKeyPairCommand({ KeyName: 'private-key' }));
    // The same name is free in the other account, and ours is untouched.
    await other.send(new CreateKeyPairCommand({ KeyName: 'private-key', KeyType: 'ed25519' }));
    const still = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['private-key'] }));
    expect(still.KeyPairs![0]!.KeyPairId).toBe(mine.KeyPairId);
  });
});
