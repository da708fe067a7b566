// Resource identifiers in EC2's shape: a prefix and 17 lower-case hex digits (i-0123456789abcdef0).
import { randomBytes } from 'node:crypto';

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/** 8 hex digits, for the older short ids EC2 still uses in a few places (r- reservations use 17). */
export function shortHex(n: number): string {
  return randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);
}

export function requestId(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16]!, 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** 16 upper-case base32 characters after a prefix, the shape of IAM's key and entity ids. */
function iamId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let s = prefix;
  for (const b of randomBytes(16)) s += alphabet[b & 31];
  return s;
}

/** AWS-style access key id: AKIA + 16 upper-case base32 characters. */
export function newAccessKeyId(): string {
  return iamId('AKIA');
}

/** A temporary (STS) access key id: ASIA + 16 characters. */
export function newTemporaryAccessKeyId(): string {
  return iamId('ASIA');
}

/**
 * An IAM entity's unique id, by the prefix IAM gives its kind: AIDA (user), AGPA (group), AROA
 * (role), ANPA (managed policy), AIPA (instance profile).
 */
export function newIamId(prefix: 'AIDA' | 'AGPA' | 'AROA' | 'ANPA' | 'AIPA'): string {
  return iamId(prefix);
}

export function newSecretAccessKey(): string {
  return randomBytes(30)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'A')
    .slice(0, 40);
}

export function newAccountId(): string {
  // 12 digits, not starting with 0 (so it never collides with the reserved ids below 1e11).
  let s = String(1 + (randomBytes(1)[0]! % 9));
  for (const b of randomBytes(11)) s += String(b % 10);
  return s;
}

export const idPattern = (prefix: string) => new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`);
