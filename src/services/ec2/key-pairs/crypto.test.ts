// CreateKeyPair's key material: RSA and Ed25519 in PEM and PuTTY's ppk, checked against the formats'
// specifications, known-answer vectors and ssh-keygen/openssl (ImportKeyPair is in
// crypto-import.test.ts).
import { createHash, createHmac, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requires } from '../../../../test/requires.js';
import { ed25519PrivateKeyFromSeed, encodePpkV2, encodePrivateKey, generateKeyPair } from './crypto.js';
import { SHA256_B64, blobOf, colonHex, opensslDigest, sh, sshEd25519LineOf, sshRsaLineOf, str } from '../../../../test/ssh-wire.js';

const sshKeygen = requires({ commands: ['ssh-keygen'] });
const openssl = requires({ commands: ['openssl'] });

const tmp = mkdtempSync(join(tmpdir(), 'cumulo-keypairs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
function tmpFile(contents: string | Buffer): string {
  const p = join(tmp, `f${fileNo++}`);
  writeFileSync(p, contents, { mode: 0o600 });
  return p;
}
/** Minimal SSH wire reader for checking what we wrote. */
class Reader {
  off = 0;
  constructor(readonly buf: Buffer) {}
  u32() {
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  bytes(n: number) {
    const v = this.buf.subarray(this.off, this.off + n);
    if (v.length !== n) throw new Error('truncated');
    this.off += n;
    return v;
  }
  str() {
    return this.bytes(this.u32());
  }
  mp() {
    const v = this.str();
    expect(v.length === 0 || (v[0]! & 0x80) === 0).toBe(true);
    let i = 0;
    while (i < v.length && v[i] === 0) i++;
    return v.subarray(i);
  }
  get rest() {
    return this.buf.length - this.off;
  }
}

const SHA1_COLON = /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/;
interface ParsedPpk {
  algorithm: string;
  encryption: string;
  comment: string;
  publicBlob: Buffer;
  privateBlob: Buffer;
  mac: string;
}
function parsePpk(text: string): ParsedPpk {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  let i = 0;
  const header = (name: string) => {
    const line = lines[i++]!;
    expect(line.startsWith(`${name}: `), `line ${i}: ${line}`).toBe(true);
    return line.slice(name.length + 2);
  };
  const algorithm = header('PuTTY-User-Key-File-2');
  const encryption = header('Encryption');
  const comment = header('Comment');
  const readBlock = (name: string) => {
    const n = Number(header(name));
    const block = lines.slice(i, i + n);
    i += n;
    block.forEach((l, j) => (j < n - 1 ? expect(l).toHaveLength(64) : expect(l.length).toBeLessThanOrEqual(64)));
    return Buffer.from(block.join(''), 'base64');
  };
  const publicBlob = readBlock('Public-Lines');
  const privateBlob = readBlock('Private-Lines');
  const mac = header('Private-MAC');
  expect(i).toBe(lines.length);
  return { algorithm, encryption, comment, publicBlob, privateBlob, mac };
}
function expectedPpkMac(p: ParsedPpk): string {
  const key = createHash('sha1').update('putty-private-key-file-mac-key').digest();
  return createHmac('sha1', key)
    .update(Buffer.concat([str(p.algorithm), str(p.encryption), str(p.comment), str(p.publicBlob), str(p.privateBlob)]))
    .digest('hex');
}

const bigOf = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
const bufOf = (n: bigint) => {
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  return Buffer.from(h, 'hex');
};

// puttygen-written PPK v2 files, each complete: an Ed25519 key (picky-test-data PUTTY_KEY_ED25519_V2,
// CRLF there, LF here as PuTTY itself writes) and a 2048-bit RSA key with e = 37.
const PUTTY_ED25519_V2 = [
  'PuTTY-User-Key-File-2: ssh-ed25519',
  'Encryption: none',
  'Comment: ed25519-key-20240418',
  'Public-Lines: 2',
  'AAAAC3NzaC1lZDI1NTE5AAAAILMyy5tkHvvUqRtQYHzOzkyR4PYwj1P284HBQXHv',
  'rKeh',
  'Private-Lines: 1',
  'AAAAIBwepG2OCCnYICCmTXNuDk6Hl/xdjPbNGY3CQlTLGBo4',
  'Private-MAC: 53075221be556e89770351391573dbb7dba661d2',
  '',
].join('\n');

const PUTTY_RSA_V2 = [
  'PuTTY-User-Key-File-2: ssh-rsa',
  'Encryption: none',
  'Comment: rsa-key-20141021',
  'Public-Lines: 6',
  'AAAAB3NzaC1yc2EAAAABJQAAAQEAkr6tlPb0QODfJJRhwsSsN88TSB6pgk/6x1KM',
  'yVuDE6SeKz5sB4iaQfPleLSaWxuQEKkoa4sLAROy18lSk0PMioQHM6tgXbOcpTbS',
  'Yf6uf1wtAMeFTO7vP0ZuIXbYmBmsK4DK1GWQq3Db5+Q/xbDp20dlCvCPMdokhYFr',
  'N2B9G0C4AKgXRMS+loEXwOeQiupfYcUXfZiCOoviArCcLgRsUNZTeTbP03skLBDr',
  '2xMdpaGx8QgSylz+yGeXRNjXaxE2mnwwVkBnNYsInZhw4/OdxddyilDealpcwp7x',
  'enAwWsoLd9NlpskNCEQsznPMAe66/PKvRGl22+8tpNBzDbnZsw==',
  'Private-Lines: 14',
  'AAABABPUk/9fpHd4VYF71dwMvVOmXI00k3J5gsD9UUuklSwrAJ4PWrTo8kBDjbZd',
  'mFGAQ+aTZlO41/k6A2lEuCG9Dc2HdphHl2abuzjru5CztrdDzrrqh6Kc1Dj7rgSF',
  'rpEYOdxdgzF1gkCuYuf8P/ge035/RQF6dDcrUQsfU62JlF2gwQpVbQZ97DC9uGtt',
  'ktYY0pSVU36xty4uQ148mOC8TXWFOxaGPOFq14sxmBUFVhHsmHnytQULIkibRCze',
  'bfkpJNAizNKTNCfupd3aub205kzG48blZ3eWxYtK3mreiSDvhdWNWiyVhTajkXGQ',
  'r3a+AqE/8e5Qks7ekzbpKk388a0AAACBAOftyBzFLENp3ccimF7ctlS44H2hfas4',
  '2PQVbDpCKrY1u0XC+vn/GqgAVq/hcHeK6DrkaEK23Q30phNN7+8BDzR1VxO27TLg',
  'UdwFE0z/0jnTuwkJcusO7bCb3dGGUX4ENSyRpNJVyu4X4iKuz03+ccPD3utkTIMI',
  'zCskK5VQT0MBAAAAgQCh+ZsG6SfakMD76b3zF3xaw8bJmPe+q/YumlDDbM6sG9q+',
  '3Fp5trBBJbGjXhTCyUkOuWiUh8cmVBFYRHrtz9GLVCOXVd6yYOzHlTKSNRnu7Slt',
  'jdX1s0QphmPlQ6/uyUIAhrIrOkVFKNrV10Kex/7jwwdfL8i1cecng+dxfE4AswAA',
  'AIEAiWClSrfWJTIKa3CZtIxlbHFHNLAVEuDjGeyKIMZ96qDEM7jDQ4vUzAagw60D',
  'qUsJQMyx9RFfSLDYE3TZaXGrGdSXcFBz9f9xLcWLe/2LH7NUmjpUf5GnlMSs7+Br',
  'ET2wiPd6NDf1kka+4+zMOgFqJF44xgDuNLnM3ty4EFlfzlY=',
  'Private-MAC: 6e0ff7c94a3253c5e45b3e06951e04d2b06e6262',
  '',
].join('\n');

function gcd(a: bigint, b: bigint): bigint {
  return b === 0n ? a : gcd(b, a % b);
}

describe('generateKeyPair rsa pem', () => {
  const key = generateKeyPair('rsa', 'pem', 'my-key');

  it('returns a PKCS#1 PEM private key of 2048 bits', () => {
    expect(key.keyMaterial).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END RSA PRIVATE KEY-----\n$/);
    const priv = createPrivateKey(key.keyMaterial);
    expect(priv.asymmetricKeyType).toBe('rsa');
    expect(priv.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(priv.asymmetricKeyDetails?.publicExponent).toBe(65537n);
  });

  it('publishes the matching OpenSSH public key with the comment', () => {
    const pub = createPublicKey(createPrivateKey(key.keyMaterial));
    expect(key.publicKeyOpenSsh).toBe(sshRsaLineOf(pub, 'my-key'));
  });

  it('fingerprints as SHA-1 of the DER PKCS#8 private key, colon hex', () => {
    const der = createPrivateKey(key.keyMaterial).export({ format: 'der', type: 'pkcs8' });
    expect(key.fingerprint).toMatch(SHA1_COLON);
    expect(key.fingerprint).toBe(colonHex(createHash('sha1').update(der).digest()));
  });

  openssl.test('matches the User Guide openssl recipe (pkcs8 -topk8 | sha1 -c)', () => {
    const f = tmpFile(key.keyMaterial);
    const out = sh(`openssl pkcs8 -in '${f}' -inform PEM -outform DER -topk8 -nocrypt | openssl sha1 -c`);
    expect(opensslDigest(out)).toBe(key.fingerprint);
  });

  sshKeygen.test('is loadable by ssh-keygen, which derives the same public key', () => {
    const f = tmpFile(key.keyMaterial);
    const out = sh(`ssh-keygen -y -f '${f}'`).trim().split(' ');
    expect(`${out[0]} ${out[1]}`).toBe(key.publicKeyOpenSsh.split(' ').slice(0, 2).join(' '));
  });

  it('makes a different key every time', () => {
    const other = generateKeyPair('rsa', 'pem');
    expect(other.fingerprint).not.toBe(key.fingerprint);
    expect(other.publicKeyOpenSsh.split(' ')).toHaveLength(2);
  });
});

describe('generateKeyPair ed25519 pem (openssh-key-v1)', () => {
  const key = generateKeyPair('ed25519', 'pem', 'my-ed-key');

  it('writes an OPENSSH PRIVATE KEY wrapped at 70 columns', () => {
    expect(key.keyMaterial.startsWith('-----BEGIN OPENSSH PRIVATE KEY-----\n')).toBe(true);
    expect(key.keyMaterial.endsWith('\n-----END OPENSSH PRIVATE KEY-----\n')).toBe(true);
    const body = key.keyMaterial.split('\n').slice(1, -2);
    body.forEach((l, i) => (i < body.length - 1 ? expect(l).toHaveLength(70) : expect(l.length).toBeLessThanOrEqual(70)));
  });

  it('follows PROTOCOL.key: none/none, one key, check ints, seed||public, comment, 1,2,3… padding', () => {
    const body = key.keyMaterial.split('\n').slice(1, -2).join('');
    const r = new Reader(Buffer.from(body, 'base64'));
    expect(r.bytes(15).toString('latin1')).toBe('openssh-key-v1\0');
    expect(r.str().toString()).toBe('none');
    expect(r.str().toString()).toBe('none');
    expect(r.str()).toHaveLength(0);
    expect(r.u32()).toBe(1);
    const publicBlob = r.str();
    expect(publicBlob.equals(blobOf(key.publicKeyOpenSsh))).toBe(true);
    const inner = new Reader(r.str());
    expect(r.rest).toBe(0);
    expect(inner.buf.length % 8).toBe(0);
    expect(inner.u32()).toBe(inner.u32());
    expect(inner.str().toString()).toBe('ssh-ed25519');
    const pub = inner.str();
    const both = inner.str();
    expect(both).toHaveLength(64);
    expect(both.subarray(32).equals(pub)).toBe(true);
    expect(inner.str().toString()).toBe('my-ed-key');
    const pad = inner.bytes(inner.rest);
    expect([...pad]).toEqual(pad.length ? Array.from({ length: pad.length }, (_, i) => i + 1) : []);
    // The seed really is the private half of the published public key.
    const derived = createPublicKey(ed25519PrivateKeyFromSeed(both.subarray(0, 32)));
    expect(sshEd25519LineOf(derived)).toBe(key.publicKeyOpenSsh.split(' ').slice(0, 2).join(' '));
  });

  it('fingerprints as padded base64 SHA-256 of the public key blob', () => {
    expect(key.fingerprint).toMatch(SHA256_B64);
    expect(key.fingerprint).toBe(createHash('sha256').update(blobOf(key.publicKeyOpenSsh)).digest('base64'));
  });

  it('publishes ssh-ed25519 with the comment', () => {
    expect(key.publicKeyOpenSsh).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} my-ed-key$/);
  });

  sshKeygen.test('ssh-keygen -y reads it back to the same public key', () => {
    const f = tmpFile(key.keyMaterial);
    const out = sh(`ssh-keygen -y -f '${f}'`).trim();
    expect(out.split(' ').slice(0, 2).join(' ')).toBe(key.publicKeyOpenSsh.split(' ').slice(0, 2).join(' '));
  });

  sshKeygen.test('ssh-keygen -l shows the same SHA256 fingerprint (less the padding)', () => {
    const f = tmpFile(`${key.publicKeyOpenSsh}\n`);
    const out = sh(`ssh-keygen -l -E sha256 -f '${f}'`);
    expect(`${out.split(' ')[1]}=`).toBe(`SHA256:${key.fingerprint}`);
  });

  sshKeygen.test('round-trips with and without a comment, many times (padding lengths vary)', () => {
    for (const comment of ['', 'a', 'ab', 'abc', 'abcd', 'abcdefg', 'user@host.example']) {
      const k = generateKeyPair('ed25519', 'pem', comment);
      const out = sh(`ssh-keygen -y -f '${tmpFile(k.keyMaterial)}'`).trim();
      expect(out.split(' ').slice(0, 2).join(' ')).toBe(k.publicKeyOpenSsh.split(' ').slice(0, 2).join(' '));
    }
  });
});

describe('generateKeyPair ppk (PuTTY-User-Key-File-2)', () => {
  it('reproduces a puttygen Ed25519 file byte for byte from its seed', () => {
    const p = parsePpk(PUTTY_ED25519_V2);
    const seed = new Reader(p.privateBlob).str();
    const out = encodePrivateKey(ed25519PrivateKeyFromSeed(seed), 'ppk', 'ed25519-key-20240418');
    expect(out.keyMaterial).toBe(PUTTY_ED25519_V2);
    expect(blobOf(out.publicKeyOpenSsh).equals(p.publicBlob)).toBe(true);
  });

  it('reproduces a puttygen RSA file byte for byte from its components', () => {
    const p = parsePpk(PUTTY_RSA_V2);
    const pubR = new Reader(p.publicBlob);
    expect(pubR.str().toString()).toBe('ssh-rsa');
    const e = pubR.mp();
    const n = pubR.mp();
    const privR = new Reader(p.privateBlob);
    const [d, pp, q, iqmp] = [privR.mp(), privR.mp(), privR.mp(), privR.mp()] as [Buffer, Buffer, Buffer, Buffer];
    const D = bigOf(d);
    const key = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'RSA',
        n: n.toString('base64url'),
        e: e.toString('base64url'),
        d: d.toString('base64url'),
        p: pp.toString('base64url'),
        q: q.toString('base64url'),
        dp: bufOf(D % (bigOf(pp) - 1n)).toString('base64url'),
        dq: bufOf(D % (bigOf(q) - 1n)).toString('base64url'),
        qi: iqmp.toString('base64url'),
      },
    });
    const out = encodePrivateKey(key, 'ppk', 'rsa-key-20141021');
    expect(out.keyMaterial).toBe(PUTTY_RSA_V2);
  });

  it('computes the MAC exactly as the known-answer vectors do', () => {
    for (const text of [PUTTY_ED25519_V2, PUTTY_RSA_V2]) {
      const p = parsePpk(text);
      expect(expectedPpkMac(p)).toBe(p.mac);
      expect(encodePpkV2(p.algorithm, p.comment, p.publicBlob, p.privateBlob)).toBe(text);
    }
  });

  it('writes a consistent RSA ppk with d, p, q, iqmp and an EC2 SHA-1 fingerprint', () => {
    const k = generateKeyPair('rsa', 'ppk', 'my-putty-key');
    const p = parsePpk(k.keyMaterial);
    expect(p.algorithm).toBe('ssh-rsa');
    expect(p.encryption).toBe('none');
    expect(p.comment).toBe('my-putty-key');
    expect(p.mac).toBe(expectedPpkMac(p));
    expect(p.publicBlob.equals(blobOf(k.publicKeyOpenSsh))).toBe(true);
    const pubR = new Reader(p.publicBlob);
    pubR.str();
    const e = bigOf(pubR.mp());
    const n = bigOf(pubR.mp());
    const r = new Reader(p.privateBlob);
    const [d, pp, q, iqmp] = [r.mp(), r.mp(), r.mp(), r.mp()].map(bigOf) as [bigint, bigint, bigint, bigint];
    expect(r.rest).toBe(0);
    expect(pp * q).toBe(n);
    expect((q * iqmp) % pp).toBe(1n);
    const lambda = (pp - 1n) * (q - 1n);
    expect((e * d) % lambda === 1n || (e * d) % (lambda / gcd(pp - 1n, q - 1n)) === 1n).toBe(true);
    expect(e).toBe(65537n);
    expect(k.fingerprint).toMatch(SHA1_COLON);
    // The fingerprint is of the key, whatever the file format: rebuild it and hash its PKCS#8.
    const rebuilt = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'RSA',
        n: bufOf(n).toString('base64url'),
        e: bufOf(e).toString('base64url'),
        d: bufOf(d).toString('base64url'),
        p: bufOf(pp).toString('base64url'),
        q: bufOf(q).toString('base64url'),
        dp: bufOf(d % (pp - 1n)).toString('base64url'),
        dq: bufOf(d % (q - 1n)).toString('base64url'),
        qi: bufOf(iqmp).toString('base64url'),
      },
    });
    const der = rebuilt.export({ format: 'der', type: 'pkcs8' });
    expect(k.fingerprint).toBe(colonHex(createHash('sha1').update(der).digest()));
  });

  it('writes a consistent Ed25519 ppk whose private blob is the seed', () => {
    for (let i = 0; i < 20; i++) {
      const k = generateKeyPair('ed25519', 'ppk');
      const p = parsePpk(k.keyMaterial);
      expect(p.algorithm).toBe('ssh-ed25519');
      expect(p.comment).toBe('');
      expect(p.mac).toBe(expectedPpkMac(p));
      expect(p.publicBlob.equals(blobOf(k.publicKeyOpenSsh))).toBe(true);
      const r = new Reader(p.privateBlob);
      const seedLe = r.str();
      expect(r.rest).toBe(0);
      expect(seedLe.length).toBeLessThanOrEqual(32);
      const seed = Buffer.concat([seedLe, Buffer.alloc(32 - seedLe.length)]);
      expect(sshEd25519LineOf(createPublicKey(ed25519PrivateKeyFromSeed(seed)))).toBe(k.publicKeyOpenSsh);
      expect(k.fingerprint).toBe(createHash('sha256').update(p.publicBlob).digest('base64'));
    }
  });

  it('drops high-order zero bytes of the Ed25519 seed as PuTTY does', () => {
    const seed = Buffer.alloc(32, 0x11);
    seed[30] = 0;
    seed[31] = 0;
    const p = parsePpk(encodePrivateKey(ed25519PrivateKeyFromSeed(seed), 'ppk').keyMaterial);
    expect(new Reader(p.privateBlob).str().equals(seed.subarray(0, 30))).toBe(true);
  });

  it('rejects a comment with a line break', () => {
    expect(() => generateKeyPair('ed25519', 'ppk', 'a\nb')).toThrow();
  });
});
