// Key material for CreateKeyPair and ImportKeyPair, with EC2's fingerprint conventions.
//
// Fingerprints (API_KeyPairInfo, keyFingerprint; User Guide "Verify the fingerprint of your key pair"):
//   CreateKeyPair, RSA     : SHA-1 of the DER PKCS#8 private key, colon-separated lower-case hex.
//   ImportKeyPair, RSA     : MD5 of the DER SubjectPublicKeyInfo, colon-separated lower-case hex
//                            (the API reference cites RFC 4716 section 4, which would hash the SSH
//                            blob, but the User Guide's openssl recipe and live EC2 hash the SPKI DER).
//   ED25519 (either)       : SHA-256 of the SSH public key blob, base64 with its '=' padding kept.
//
// Private key formats written here:
//   RSA pem     : PKCS#1 "BEGIN RSA PRIVATE KEY", as EC2 returns it.
//   ED25519 pem : openssh-key-v1 ("BEGIN OPENSSH PRIVATE KEY"), unencrypted; node cannot write it.
//   ppk         : PuTTY-User-Key-File-2, unencrypted, with the HMAC-SHA1 Private-MAC.

import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { ApiError } from '../../errors.js';

export type KeyType = 'rsa' | 'ed25519';
export type KeyFormat = 'pem' | 'ppk';

export interface GeneratedKey {
  /** The private key file contents, as CreateKeyPair's KeyMaterial. */
  keyMaterial: string;
  /** `ssh-rsa AAAA…` / `ssh-ed25519 AAAA…`, followed by ` comment` when a comment was given. */
  publicKeyOpenSsh: string;
  fingerprint: string;
}

export interface ImportedKey {
  /** Normalised `type base64` line, without comment. */
  publicKeyOpenSsh: string;
  type: KeyType;
  fingerprint: string;
  /** The comment carried by the input (OpenSSH trailing text or RFC 4716 Comment header), if any. */
  comment?: string;
}

/** RSA modulus sizes accepted by ImportKeyPair (see the note on isAcceptedRsaSize). */
export const RSA_IMPORT_MIN_BITS = 1024;
export const RSA_IMPORT_MAX_BITS = 16384;
/** CreateKeyPair makes 2048-bit RSA keys. */
export const RSA_GENERATED_BITS = 2048;

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PPK_MAC_KEY_LABEL = 'putty-private-key-file-mac-key';

// ---------------------------------------------------------------------------------------------
// SSH wire encoding (RFC 4251 section 5)

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([u32(b.length), b]);
}

/** mpint from an unsigned big-endian magnitude: minimal length, 0x00 prefix when the top bit is set. */
function sshMpint(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  let body = magnitude.subarray(i);
  if (body.length > 0 && (body[0]! & 0x80) !== 0) body = Buffer.concat([Buffer.from([0]), body]);
  return sshString(body);
}

class SshReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.off === this.buf.length;
  }
  uint32(): number {
    if (this.off + 4 > this.buf.length) throw new Error('truncated');
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  string(): Buffer {
    const len = this.uint32();
    if (len > this.buf.length - this.off) throw new Error('truncated');
    const v = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    return v;
  }
  /** A non-negative mpint, returned as its unsigned big-endian magnitude without leading zeros. */
  mpint(): Buffer {
    const v = this.string();
    if (v.length > 0 && (v[0]! & 0x80) !== 0) throw new Error('negative mpint');
    let i = 0;
    while (i < v.length && v[i] === 0) i++;
    return v.subarray(i);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const b64u = (s: string | undefined): Buffer => {
  if (s === undefined) throw new Error('missing JWK member');
  return Buffer.from(s, 'base64url');
};

function colonHex(digest: Buffer): string {
  return digest.toString('hex').match(/../g)!.join(':');
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
  return lines.join('\n');
}

function bitLength(magnitude: Buffer): number {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  if (i === magnitude.length) return 0;
  return (magnitude.length - i - 1) * 8 + (32 - Math.clz32(magnitude[i]!));
}

function rsaPublicBlob(e: Buffer, n: Buffer): Buffer {
  return Buffer.concat([sshString('ssh-rsa'), sshMpint(e), sshMpint(n)]);
}

function ed25519PublicBlob(pub: Buffer): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
}

function ed25519Fingerprint(blob: Buffer): string {
  return createHash('sha256').update(blob).digest('base64');
}

function rsaSpkiMd5Fingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return colonHex(createHash('md5').update(der).digest());
}

function rsaPkcs8Sha1Fingerprint(privateKey: KeyObject): string {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return colonHex(createHash('sha1').update(der).digest());
}

function ed25519Raw(privateKey: KeyObject): { seed: Buffer; pub: Buffer } {
  const jwk = privateKey.export({ format: 'jwk' });
  return { seed: b64u(jwk.d), pub: b64u(jwk.x) };
}

// ---------------------------------------------------------------------------------------------
// Private key encodings

/** openssh-key-v1, unencrypted (PROTOCOL.key in OpenSSH). */
function openSshPrivateKey(keyType: string, publicBlob: Buffer, privateFields: Buffer, comment: string): string {
  const check = randomBytes(4);
  let inner = Buffer.concat([check, check, sshString(keyType), privateFields, sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (inner.length + pad.length) % 8 !== 0; i++) pad.push(i & 0xff);
  inner = Buffer.concat([inner, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(Buffer.alloc(0)),
    u32(1),
    sshString(publicBlob),
    sshString(inner),
  ]);
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${wrap(body.toString('base64'), 70)}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/**
 * PuTTY-User-Key-File-2, unencrypted. The MAC is HMAC-SHA1 keyed with SHA-1 of
 * "putty-private-key-file-mac-key" (plus the empty passphrase) over the SSH strings
 * algorithm, encryption, comment, public blob, private blob. Unencrypted files carry no padding.
 */
export function encodePpkV2(algorithm: string, comment: string, publicBlob: Buffer, privateBlob: Buffer): string {
  if (/[\r\n]/.test(comment)) throw new Error('PPK comment cannot contain line breaks');
  const encryption = 'none';
  const macKey = createHash('sha1').update(PPK_MAC_KEY_LABEL).digest();
  const mac = createHmac('sha1', macKey)
    .update(Buffer.concat([sshString(algorithm), sshString(encryption), sshString(comment), sshString(publicBlob), sshString(privateBlob)]))
    .digest('hex');
  const pub = wrap(publicBlob.toString('base64'), 64);
  const priv = wrap(privateBlob.toString('base64'), 64);
  return (
    `PuTTY-User-Key-File-2: ${algorithm}\n` +
    `Encryption: ${encryption}\n` +
    `Comment: ${comment}\n` +
    `Public-Lines: ${pub.split('\n').length}\n${pub}\n` +
    `Private-Lines: ${priv.split('\n').length}\n${priv}\n` +
    `Private-MAC: ${mac}\n`
  );
}

/**
 * Encodes an existing private key as EC2 would hand it out. Exposed so that known-answer tests
 * can feed fixed keys; generateKeyPair is the normal entry point.
 */
export function encodePrivateKey(privateKey: KeyObject, format: KeyFormat, comment = ''): GeneratedKey {
  const suffix = comment ? ` ${comment}` : '';
  if (privateKey.asymmetricKeyType === 'rsa') {
    const jwk = privateKey.export({ format: 'jwk' });
    const [n, e, d, p, q, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.qi].map(b64u) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
    const publicBlob = rsaPublicBlob(e, n);
    const keyMaterial =
      format === 'pem'
        ? (privateKey.export({ format: 'pem', type: 'pkcs1' }) as string)
        : // PuTTY's RSA private blob: d, p, q, iqmp (q^-1 mod p, which is JWK's qi).
          encodePpkV2('ssh-rsa', comment, publicBlob, Buffer.concat([sshMpint(d), sshMpint(p), sshMpint(q), sshMpint(qi)]));
    return {
      keyMaterial,
      publicKeyOpenSsh: `ssh-rsa ${publicBlob.toString('base64')}${suffix}`,
      fingerprint: rsaPkcs8Sha1Fingerprint(privateKey),
    };
  }
  if (privateKey.asymmetricKeyType === 'ed25519') {
    const { seed, pub } = ed25519Raw(privateKey);
    const publicBlob = ed25519PublicBlob(pub);
    let keyMaterial: string;
    if (format === 'pem') {
      const fields = Buffer.concat([sshString(pub), sshString(Buffer.concat([seed, pub]))]);
      keyMaterial = openSshPrivateKey('ssh-ed25519', publicBlob, fields, comment);
    } else {
      // PuTTY stores the 32-byte seed as a little-endian integer written with put_mp_le_unsigned:
      // the seed bytes as they are, minus any high-order (trailing) zero bytes.
      let end = seed.length;
      while (end > 0 && seed[end - 1] === 0) end--;
      keyMaterial = encodePpkV2('ssh-ed25519', comment, publicBlob, sshString(seed.subarray(0, end)));
    }
    return {
      keyMaterial,
      publicKeyOpenSsh: `ssh-ed25519 ${publicBlob.toString('base64')}${suffix}`,
      fingerprint: ed25519Fingerprint(publicBlob),
    };
  }
  throw new Error(`unsupported key type ${privateKey.asymmetricKeyType}`);
}

/** CreateKeyPair: a fresh key, its private key file, OpenSSH public key and EC2 fingerprint. */
export function generateKeyPair(type: KeyType, format: KeyFormat, comment?: string): GeneratedKey {
  const { privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: RSA_GENERATED_BITS, publicExponent: 0x10001 }) : generateKeyPairSync('ed25519');
  return encodePrivateKey(privateKey, format, comment ?? '');
}

/** Builds an Ed25519 private KeyObject from a 32-byte seed (for tests and fixtures). */
export function ed25519PrivateKeyFromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new Error('Ed25519 seed must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

// ---------------------------------------------------------------------------------------------
// ImportKeyPair

const invalidFormat = () => new ApiError('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');

class Reject extends Error {}

/**
 * The User Guide lists "Supported lengths: 1024, 2048, and 4096", but EC2 is known to accept
 * other sizes (ssh-keygen's 3072-bit default, 8192-bit keys); we accept any modulus from 1024
 * up to OpenSSH's own 16384-bit ceiling and reject anything smaller.
 */
function isAcceptedRsaSize(bits: number): boolean {
  return bits >= RSA_IMPORT_MIN_BITS && bits <= RSA_IMPORT_MAX_BITS;
}

function rsaFromComponents(e: Buffer, n: Buffer): ImportedKey {
  const bits = bitLength(n);
  if (!isAcceptedRsaSize(bits)) throw new Reject('RSA size');
  if (e.length === 0 || (e[e.length - 1]! & 1) === 0 || (e.length === 1 && e[0] === 1)) throw new Reject('RSA exponent');
  if (e.length > 8) throw new Reject('RSA exponent');
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') },
      format: 'jwk',
    });
  } catch {
    throw new Reject('RSA key');
  }
  return {
    publicKeyOpenSsh: `ssh-rsa ${rsaPublicBlob(e, n).toString('base64')}`,
    type: 'rsa',
    fingerprint: rsaSpkiMd5Fingerprint(key),
  };
}

function ed25519FromRaw(pub: Buffer): ImportedKey {
  if (pub.length !== 32) throw new Reject('Ed25519 length');
  try {
    createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
  } catch {
    throw new Reject('Ed25519 key');
  }
  const blob = ed25519PublicBlob(pub);
  return { publicKeyOpenSsh: `ssh-ed25519 ${blob.toString('base64')}`, type: 'ed25519', fingerprint: ed25519Fingerprint(blob) };
}

/** Parses an SSH public key blob; `expectedType` is the algorithm named beside it, if any. */
function fromSshBlob(blob: Buffer, expectedType?: string): ImportedKey {
  const r = new SshReader(blob);
  const type = r.string().toString('latin1');
  if (expectedType !== undefined && type !== expectedType) throw new Reject('type mismatch');
  let key: ImportedKey;
  if (type === 'ssh-rsa') {
    const e = r.mpint();
    const n = r.mpint();
    key = rsaFromComponents(e, n);
  } else if (type === 'ssh-ed25519') {
    key = ed25519FromRaw(r.string());
  } else {
    throw new Reject(`unsupported type ${type}`); // ssh-dss, ecdsa-*, sk-*, certificates
  }
  if (!r.done) throw new Reject('trailing data');
  return key;
}

function fromKeyObject(key: KeyObject): ImportedKey {
  if (key.type !== 'public') throw new Reject('not a public key');
  // The User Guide allows the DER and RFC 4716 forms for RSA only; ED25519 must come as OpenSSH.
  if (key.asymmetricKeyType !== 'rsa') throw new Reject('non-RSA DER key');
  const jwk = key.export({ format: 'jwk' });
  return rsaFromComponents(b64u(jwk.e), b64u(jwk.n));
}

function fromDer(der: Buffer): ImportedKey {
  for (const type of ['spki', 'pkcs1'] as const) {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: der, format: 'der', type });
    } catch {
      continue;
    }
    return fromKeyObject(key);
  }
  throw new Reject('not DER');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function strictBase64(s: string): Buffer {
  if (s.length === 0 || !BASE64.test(s)) throw new Reject('bad base64');
  return Buffer.from(s, 'base64');
}

function fromRfc4716(text: string): ImportedKey {
  const lines = text.split(/\r\n|\r|\n/).map((l) => l.trim());
  if (lines[0] !== '---- BEGIN SSH2 PUBLIC KEY ----' || lines[lines.length - 1] !== '---- END SSH2 PUBLIC KEY ----') {
    throw new Reject('RFC 4716 markers');
  }
  const inner = lines.slice(1, -1);
  let comment: string | undefined;
  let i = 0;
  // Headers: "Tag: value", continued onto the next line by a trailing backslash.
  while (i < inner.length && inner[i]!.includes(':')) {
    let header = inner[i++]!;
    while (header.endsWith('\\')) {
      if (i >= inner.length) throw new Reject('RFC 4716 header');
      header = header.slice(0, -1) + inner[i++]!;
    }
    const colon = header.indexOf(':');
    const tag = header.slice(0, colon);
    let value = header.slice(colon + 1).trim();
    if (!/^[\x21-\x39\x3b-\x7e]{1,64}$/.test(tag)) throw new Reject('RFC 4716 header tag');
    if (tag.toLowerCase() === 'comment') {
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      comment = value;
    }
  }
  const body = inner.slice(i).join('');
  const key = fromSshBlob(strictBase64(body));
  if (key.type !== 'rsa') throw new Reject('RFC 4716 is RSA only');
  return comment ? { ...key, comment } : key;
}

function fromPem(text: string): ImportedKey {
  const m = /^-----BEGIN (RSA )?PUBLIC KEY-----\r?\n([\s\S]*?)\r?\n?-----END \1PUBLIC KEY-----$/.exec(text);
  if (!m) throw new Reject('PEM label');
  return fromDer(strictBase64(m[2]!.replace(/\s+/g, '')));
}

function fromOpenSshLine(text: string): ImportedKey {
  if (/[\r\n]/.test(text)) throw new Reject('multiple lines');
  const m = /^(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(text);
  if (!m) throw new Reject('OpenSSH line');
  const key = fromSshBlob(strictBase64(m[2]!), m[1]!);
  const comment = m[3]?.trim();
  return comment ? { ...key, comment } : key;
}

function fromText(raw: string, depth: number): ImportedKey {
  const text = raw.replace(/^\uFEFF/, '').trim();
  if (text.length === 0) throw new Reject('empty');
  if (text.startsWith('-----BEGIN ')) return fromPem(text);
  if (text.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')) return fromRfc4716(text);
  if (/^(ssh-|ecdsa-|sk-)\S*[ \t]/.test(text)) return fromOpenSshLine(text);
  // Base64 of DER ("Base64 encoded DER format"), or base64 of one of the text forms above.
  if (depth === 0) {
    const decoded = strictBase64(text.replace(/\s+/g, ''));
    if (decoded[0] === 0x30) return fromDer(decoded);
    return fromText(decoded.toString('utf8'), depth + 1);
  }
  throw new Reject('unrecognised');
}

/**
 * ImportKeyPair: accepts an OpenSSH public key line, RFC 4716 (RSA), PEM "PUBLIC KEY" /
 * "RSA PUBLIC KEY" (RSA), base64 DER (RSA), raw DER bytes (RSA), or base64 of any text form.
 * Throws ApiError InvalidKey.Format otherwise, including for DSA/ECDSA keys and RSA keys
 * outside the accepted sizes.
 */
export function importPublicKey(material: Buffer | string): ImportedKey {
  try {
    if (Buffer.isBuffer(material) && material[0] === 0x30) {
      try {
        return fromDer(material);
      } catch {
        // Not DER after all; try it as text below.
      }
    }
    const text = Buffer.isBuffer(material) ? material.toString('utf8') : material;
    return fromText(text, 0);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw invalidFormat();
  }
}
