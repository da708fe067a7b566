// Encryption: per-account key in, two subkeys out, so the address of a chunk (an HMAC) says
// nothing about the key that encrypts it and identical data of two accounts never shares a chunk.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

const NONCE = 12;
const TAG = 16;
/** What AES-256-GCM adds to an encrypted chunk: its nonce and its tag. */
export const ENCRYPTION_OVERHEAD = NONCE + TAG;

export interface Keys {
  id: string;
  mac: Buffer;
  enc: Buffer;
}

export function deriveKeys(key: Buffer): Keys {
  if (key.length !== 32) throw new Error(`a snapshot key is 32 bytes, got ${key.length}`);
  const sub = (label: string) => createHmac('sha256', key).update(`cumulo-blocks/${label}`).digest();
  return { id: sub('key-id').subarray(0, 16).toString('hex'), mac: sub('address'), enc: sub('encrypt') };
}

export function address(data: Buffer, keys: Keys | undefined): Buffer {
  return keys ? createHmac('sha256', keys.mac).update(data).digest() : createHash('sha256').update(data).digest();
}

/** nonce ‖ ciphertext ‖ tag; the chunk's address is the associated data (a chunk file moved under another name fails). */
export function encrypt(data: Buffer, hash: Buffer, keys: Keys): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', keys.enc, nonce);
  c.setAAD(hash);
  return Buffer.concat([nonce, c.update(data), c.final(), c.getAuthTag()]);
}

export function decrypt(buf: Buffer, hash: Buffer, keys: Keys): Buffer {
  if (buf.length < ENCRYPTION_OVERHEAD) throw new Error('encrypted chunk too short');
  const d = createDecipheriv('aes-256-gcm', keys.enc, buf.subarray(0, NONCE));
  d.setAAD(hash);
  d.setAuthTag(buf.subarray(buf.length - TAG));
  return Buffer.concat([d.update(buf.subarray(NONCE, buf.length - TAG)), d.final()]);
}
