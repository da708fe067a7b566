// Secrets at rest. What the store keeps secret (access-key secrets, EBS data keys) it keeps wrapped
// with AES-256-GCM under a key derived from the host's master key (src/lib/master-key.ts), so a
// copy of the database alone gives none of them away:
//
//   v1:<base64 of nonce (12 random bytes) ‖ ciphertext ‖ GCM tag (16 bytes)>
//
// The additional authenticated data is the format version, the value's purpose and its row (the
// access key id, the account id): a wrapped value moved to another row, or read as another kind
// of secret, fails to unwrap instead of handing out a secret that belongs elsewhere.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const WRAP_PREFIX = 'v1:';
export const MASTER_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** What a wrapped value is; part of its authenticated data. */
export type SecretPurpose = 'access-key-secret' | 'sts-session-secret' | 'ebs-data-key' | 'master-key-check' | 'authorization-message';

export class UnwrapError extends Error {}

/** Is this stored value wrapped (as opposed to a plaintext value from before wrapping)? */
export function isWrapped(value: string): boolean {
  return value.startsWith(WRAP_PREFIX);
}

function aad(purpose: SecretPurpose, rowId: string): Buffer {
  return Buffer.from(`cumulo\0${WRAP_PREFIX}\0${purpose}\0${rowId}`, 'utf8');
}

/** Wraps and unwraps values under one master key. */
export class SecretBox {
  private readonly key: Buffer;
  /** 16 hex digits naming the master key (safe to show and store: derived one-way, never the key). */
  readonly fingerprint: string;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== MASTER_KEY_BYTES) throw new Error(`a master key is ${MASTER_KEY_BYTES} bytes, not ${masterKey.length}`);
    // Separate keys for separate uses, so the master key itself never meets AES-GCM.
    this.key = Buffer.from(hkdfSync('sha256', masterKey, 'cumulo', 'secrets at rest v1: aes-256-gcm', 32));
    this.fingerprint = Buffer.from(hkdfSync('sha256', masterKey, 'cumulo', 'master key fingerprint', 8)).toString('hex');
  }

  wrap(plaintext: Buffer | string, purpose: SecretPurpose, rowId: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(purpose, rowId));
    const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
    return WRAP_PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
  }

  /** The plaintext, or UnwrapError: not wrapped, damaged, another master key, or another row's value. */
  unwrap(wrapped: string, purpose: SecretPurpose, rowId: string): Buffer {
    if (!isWrapped(wrapped)) throw new UnwrapError(`the stored ${purpose} of ${rowId} is not wrapped (no ${WRAP_PREFIX} prefix)`);
    const raw = Buffer.from(wrapped.slice(WRAP_PREFIX.length), 'base64');
    if (raw.length < NONCE_BYTES + TAG_BYTES) throw new UnwrapError(`the stored ${purpose} of ${rowId} is too short to be a wrapped value`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(purpose, rowId));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new UnwrapError(`the stored ${purpose} of ${rowId} does not unwrap: another master key wrapped it, it belongs to another row, or it is damaged`);
    }
  }

  unwrapString(wrapped: string, purpose: SecretPurpose, rowId: string): string {
    return this.unwrap(wrapped, purpose, rowId).toString('utf8');
  }
}
