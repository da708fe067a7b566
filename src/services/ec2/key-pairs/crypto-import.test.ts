// ImportKeyPair's parsing: RSA and Ed25519 public keys in the forms EC2 accepts, their fingerprints,
// and what is refused as InvalidKey.Format.
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, test } from 'vitest';
import { requires } from '../../../../test/requires.js';
import { ApiError } from '../../errors.js';
import { generateKeyPair, importPublicKey, type ImportedKey } from './crypto.js';
import { SHA256_B64, b64u, blobOf, colonHex, mpint, opensslDigest, sh, sshEd25519LineOf, sshRsaLineOf, str } from '../../../../test/ssh-wire.js';

const sshKeygen = requires({ commands: ['ssh-keygen'] });

const tmp = mkdtempSync(join(tmpdir(), 'cumulo-keypairs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
const MD5_COLON = /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/;
const md5SpkiOf = (pub: KeyObject) =>
  colonHex(
    createHash('md5')
      .update(pub.export({ format: 'der', type: 'spki' }))
      .digest(),
  );

function expectInvalidKey(material: Buffer | string) {
  let caught: unknown;
  try {
    importPublicKey(material);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected InvalidKey.Format for ${JSON.stringify(String(material).slice(0, 80))}`).toBeInstanceOf(ApiError);
  const err = caught as ApiError;
  expect(err.code).toBe('InvalidKey.Format');
  expect(err.message).toBe('Key is not in valid OpenSSH public key format');
  expect(err.status).toBe(400);
}

// ---------------------------------------------------------------------------------------------
// ImportKeyPair

describe('importPublicKey: RSA', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const line = sshRsaLineOf(publicKey);
  const expected: ImportedKey = { publicKeyOpenSsh: line, type: 'rsa', fingerprint: md5SpkiOf(publicKey) };

  it('fingerprints as MD5 of the DER SubjectPublicKeyInfo', () => {
    const got = importPublicKey(line);
    expect(got).toEqual(expected);
    expect(got.fingerprint).toMatch(MD5_COLON);
  });

  const spkiPem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const pkcs1Pem = publicKey.export({ format: 'pem', type: 'pkcs1' }) as string;
  const spkiDer = publicKey.export({ format: 'der', type: 'spki' });
  const blob64 = line.split(' ')[1]!;
  const rfc4716 = [
    '---- BEGIN SSH2 PUBLIC KEY ----',
    'Comment: "2048-bit RSA, converted \\',
    'by me@example.com"',
    'x-command: /bin/true',
    ...blob64.match(/.{1,70}/g)!,
    '---- END SSH2 PUBLIC KEY ----',
  ].join('\n');

  test.each<[string, string | Buffer, string | undefined]>([
    ['OpenSSH line', line, undefined],
    ['OpenSSH line with comment', `${line} me@host`, 'me@host'],
    ['OpenSSH line with a comment containing spaces', `${line} my laptop key`, 'my laptop key'],
    ['OpenSSH line with trailing newline', `${line}\n`, undefined],
    ['OpenSSH line with CRLF', `${line} c\r\n`, 'c'],
    ['OpenSSH line with surrounding blanks', `  ${line}\t\n\n`, undefined],
    ['OpenSSH line separated by tabs', line.replace(' ', '\t'), undefined],
    ['OpenSSH line as a Buffer', Buffer.from(`${line} buf\n`), 'buf'],
    ['base64 of the OpenSSH line', Buffer.from(`${line} b64`).toString('base64'), 'b64'],
    ['PEM SubjectPublicKeyInfo', spkiPem, undefined],
    ['PEM PKCS#1 RSA PUBLIC KEY', pkcs1Pem, undefined],
    ['PEM with CRLF line ends', spkiPem.replace(/\n/g, '\r\n'), undefined],
    ['base64 of the PEM', Buffer.from(spkiPem).toString('base64'), undefined],
    ['base64 DER (no armour)', spkiDer.toString('base64'), undefined],
    [
      'base64 DER wrapped at 64',
      spkiDer
        .toString('base64')
        .match(/.{1,64}/g)!
        .join('\n'),
      undefined,
    ],
    ['raw DER bytes', spkiDer, undefined],
    ['RFC 4716 with continued Comment header', rfc4716, '2048-bit RSA, converted by me@example.com'],
    ['RFC 4716 with CRLF', rfc4716.replace(/\n/g, '\r\n'), '2048-bit RSA, converted by me@example.com'],
    ['RFC 4716 without headers', ['---- BEGIN SSH2 PUBLIC KEY ----', blob64, '---- END SSH2 PUBLIC KEY ----'].join('\n'), undefined],
    ['base64 of RFC 4716', Buffer.from(rfc4716).toString('base64'), '2048-bit RSA, converted by me@example.com'],
  ])('accepts %s', (_name, material, comment) => {
    const got = importPublicKey(material);
    expect(got.publicKeyOpenSsh).toBe(expected.publicKeyOpenSsh);
    expect(got.type).toBe('rsa');
    expect(got.fingerprint).toBe(expected.fingerprint);
    expect(got.comment).toBe(comment);
  });

  it('normalises a non-minimal mpint encoding', () => {
    const jwk = publicKey.export({ format: 'jwk' });
    const padded = Buffer.concat([str('ssh-rsa'), str(Buffer.concat([Buffer.alloc(3), b64u(jwk.e)])), mpint(b64u(jwk.n))]);
    expect(importPublicKey(`ssh-rsa ${padded.toString('base64')}`)).toEqual(expected);
  });

  it.each([1024, 2048, 3072, 4096])('accepts a %i-bit key', (bits) => {
    const pub = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
    const got = importPublicKey(sshRsaLineOf(pub));
    expect(got.type).toBe('rsa');
    expect(got.fingerprint).toBe(md5SpkiOf(pub));
  });

  it.each([512, 768, 1016])('rejects a %i-bit key', (bits) => {
    const pub = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
    expectInvalidKey(sshRsaLineOf(pub));
    expectInvalidKey(pub.export({ format: 'pem', type: 'spki' }) as string);
  });

  it('rejects an RSA key with an even or unit exponent', () => {
    const n = b64u(publicKey.export({ format: 'jwk' }).n);
    for (const e of [Buffer.from([2]), Buffer.from([1]), Buffer.alloc(0), Buffer.from([1, 0, 0])]) {
      expectInvalidKey(`ssh-rsa ${Buffer.concat([str('ssh-rsa'), mpint(e), mpint(n)]).toString('base64')}`);
    }
  });

  sshKeygen.and({ commands: ['openssl'] }).test('agrees with the User Guide recipe (SPKI DER | md5 -c), not with ssh-keygen -E md5 (SSH blob)', () => {
    const base = join(tmp, `rsa${fileNo++}`);
    sh(`ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C 'ci@cumulo' -f '${base}'`);
    const pubLine = sh(`cat '${base}.pub'`);
    const got = importPublicKey(pubLine);
    const ec2Style = opensslDigest(sh(`ssh-keygen -e -m PKCS8 -f '${base}.pub' | openssl pkey -pubin -outform DER | openssl md5 -c`));
    expect(got.fingerprint).toBe(ec2Style);
    // The User Guide's other recipe, from the (PEM) private key.
    const fromPrivate = opensslDigest(sh(`openssl pkey -in '${base}' -pubout -outform DER | openssl md5 -c`));
    expect(got.fingerprint).toBe(fromPrivate);
    const sshMd5 = sh(`ssh-keygen -l -E md5 -f '${base}.pub'`).split(' ')[1]!.replace(/^MD5:/, '');
    expect(sshMd5).toBe(colonHex(createHash('md5').update(blobOf(pubLine)).digest()));
    expect(got.fingerprint).not.toBe(sshMd5);
    expect(got.comment).toBe('ci@cumulo');
    expect(got.publicKeyOpenSsh).toBe(pubLine.trim().split(' ').slice(0, 2).join(' '));

    // ssh-keygen's own RFC 4716 and PKCS8 exports import to the same key.
    expect(importPublicKey(sh(`ssh-keygen -e -f '${base}.pub'`)).fingerprint).toBe(got.fingerprint);
    expect(importPublicKey(sh(`ssh-keygen -e -m PKCS8 -f '${base}.pub'`)).fingerprint).toBe(got.fingerprint);
    expect(importPublicKey(sh(`ssh-keygen -e -m PEM -f '${base}.pub'`)).fingerprint).toBe(got.fingerprint);
  });
});

describe('importPublicKey: Ed25519', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const line = sshEd25519LineOf(publicKey);
  const fp = createHash('sha256').update(blobOf(line)).digest('base64');

  it('fingerprints as padded base64 SHA-256 of the blob, as CreateKeyPair does', () => {
    expect(importPublicKey(line)).toEqual({ publicKeyOpenSsh: line, type: 'ed25519', fingerprint: fp });
    expect(fp).toMatch(SHA256_B64);
  });

  it('accepts the usual spellings', () => {
    for (const m of [`${line} me@host\n`, Buffer.from(line), Buffer.from(`${line} x`).toString('base64')]) {
      const got = importPublicKey(m);
      expect(got.publicKeyOpenSsh).toBe(line);
      expect(got.fingerprint).toBe(fp);
    }
  });

  it('gives the same fingerprint to an imported key as to the created one', () => {
    const created = generateKeyPair('ed25519', 'pem', 'x');
    expect(importPublicKey(created.publicKeyOpenSsh).fingerprint).toBe(created.fingerprint);
  });

  it('accepts only the OpenSSH form (DER and RFC 4716 are RSA-only in the User Guide)', () => {
    expectInvalidKey(publicKey.export({ format: 'pem', type: 'spki' }) as string);
    expectInvalidKey(publicKey.export({ format: 'der', type: 'spki' }).toString('base64'));
    expectInvalidKey(['---- BEGIN SSH2 PUBLIC KEY ----', line.split(' ')[1], '---- END SSH2 PUBLIC KEY ----'].join('\n'));
  });

  sshKeygen.test('agrees with ssh-keygen -l -E sha256 plus the padding', () => {
    const base = join(tmp, `ed${fileNo++}`);
    sh(`ssh-keygen -q -t ed25519 -N '' -C 'ci@cumulo' -f '${base}'`);
    const got = importPublicKey(sh(`cat '${base}.pub'`));
    const out = sh(`ssh-keygen -l -E sha256 -f '${base}.pub'`).split(' ')[1]!;
    expect(`SHA256:${got.fingerprint}`).toBe(`${out}=`);
    expect(got.type).toBe('ed25519');
  });
});

describe('importPublicKey: rejects', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const rsaLine = sshRsaLineOf(rsa);
  const rsaBlob = blobOf(rsaLine);
  const edLine = sshEd25519LineOf(generateKeyPairSync('ed25519').publicKey);
  const edBlob = blobOf(edLine);
  const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rand = (n: number) => Buffer.alloc(n, 0x5a);
  const dssBlob = Buffer.concat([str('ssh-dss'), mpint(rand(128)), mpint(rand(20)), mpint(rand(128)), mpint(rand(128))]);
  const ecPoint = ec.publicKey.export({ format: 'der', type: 'spki' }).subarray(-65);
  const ecdsaBlob = Buffer.concat([str('ecdsa-sha2-nistp256'), str('nistp256'), str(ecPoint)]);

  test.each<[string, string | Buffer]>([
    ['empty string', ''],
    ['blanks', '  \n\t '],
    ['empty buffer', Buffer.alloc(0)],
    ['type only', 'ssh-rsa'],
    ['type and blank', 'ssh-rsa '],
    ['garbage', 'hello world'],
    ['non-base64 body', 'ssh-rsa !!!!'],
    ['body of bad length', `ssh-rsa ${rsaLine.split(' ')[1]!.slice(0, -1)}`],
    ['truncated blob', `ssh-rsa ${rsaBlob.subarray(0, 100).toString('base64')}`],
    ['trailing data in blob', `ssh-rsa ${Buffer.concat([rsaBlob, Buffer.from([0, 0, 0, 0])]).toString('base64')}`],
    ['type mismatch', `ssh-ed25519 ${rsaBlob.toString('base64')}`],
    ['type mismatch the other way', `ssh-rsa ${edBlob.toString('base64')}`],
    ['unknown type', `ssh-foo ${Buffer.concat([str('ssh-foo'), str(rand(32))]).toString('base64')}`],
    ['bare blob without type', rsaBlob.toString('base64')],
    ['two keys on two lines', `${rsaLine}\n${edLine}`],
    ['authorized_keys options', `from="10.0.0.1" ${rsaLine}`],
    ['negative modulus', `ssh-rsa ${Buffer.concat([str('ssh-rsa'), mpint(Buffer.from([1, 0, 1])), str(Buffer.concat([Buffer.from([0x80]), rand(255)]))]).toString('base64')}`],
    ['ed25519 key of 31 bytes', `ssh-ed25519 ${Buffer.concat([str('ssh-ed25519'), str(rand(31))]).toString('base64')}`],
    ['ed25519 key of 33 bytes', `ssh-ed25519 ${Buffer.concat([str('ssh-ed25519'), str(rand(33))]).toString('base64')}`],
    ['DSA OpenSSH line', `ssh-dss ${dssBlob.toString('base64')} dsa@host`],
    ['DSA PEM', dsa.publicKey.export({ format: 'pem', type: 'spki' }) as string],
    ['DSA base64 DER', dsa.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')],
    ['ECDSA OpenSSH line', `ecdsa-sha2-nistp256 ${ecdsaBlob.toString('base64')}`],
    ['ECDSA PEM', ec.publicKey.export({ format: 'pem', type: 'spki' }) as string],
    ['RSA private key PEM', generateKeyPair('rsa', 'pem').keyMaterial],
    ['PKCS#8 private key PEM', createPrivateKey(generateKeyPair('rsa', 'pem').keyMaterial).export({ format: 'pem', type: 'pkcs8' }) as string],
    ['OpenSSH private key', generateKeyPair('ed25519', 'pem').keyMaterial],
    ['PuTTY private key', generateKeyPair('ed25519', 'ppk').keyMaterial],
    ['PEM with a wrong end label', (rsa.export({ format: 'pem', type: 'spki' }) as string).replace('END PUBLIC', 'END RSA PUBLIC')],
    ['PEM with a corrupt body', (rsa.export({ format: 'pem', type: 'spki' }) as string).replace(/\n[A-Za-z]/, '\n*')],
    ['RFC 4716 without end marker', `---- BEGIN SSH2 PUBLIC KEY ----\n${rsaBlob.toString('base64')}\n`],
    ['RFC 4716 with broken body', `---- BEGIN SSH2 PUBLIC KEY ----\n${rsaBlob.toString('base64').slice(3)}\n---- END SSH2 PUBLIC KEY ----`],
    ['base64 of garbage', Buffer.from('not a key at all').toString('base64')],
    ['base64 of base64 of a key', Buffer.from(Buffer.from(rsaLine).toString('base64')).toString('base64')],
    ['random binary', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x02])],
    ['DER that is not a key', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])],
  ])('%s', (_name, material) => {
    expectInvalidKey(material);
  });

  sshKeygen.test('a DSA key made by ssh-keygen', () => {
    const base = join(tmp, `dsa${fileNo++}`);
    const made = spawnSync('ssh-keygen', ['-q', '-t', 'dsa', '-N', '', '-f', base]);
    if (made.status !== 0) return; // this OpenSSH was built without DSA
    expectInvalidKey(sh(`cat '${base}.pub'`));
  });
});
