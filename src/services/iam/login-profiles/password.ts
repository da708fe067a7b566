// Console passwords: scrypt hashes in the form migration 0018 names,
// 'scrypt:<N>:<r>:<p>:<salt b64>:<hash b64>', and IAM's default password policy.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { IamErrors } from '../errors.js';

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scrypt(password: string, salt: Buffer, keylen: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, o, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEYLEN, { N, r: R, p: P });
  return `scrypt:${N}:${R}:${P}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

/** Whether the password matches the stored hash; compares in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split(':');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (!expected.length) return false;
  const actual = await scrypt(password, salt, expected.length, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  return timingSafeEqual(actual, expected);
}

/** A hash no password matches, to spend the same time on a user that has no login profile. */
export const UNMATCHABLE_HASH = `scrypt:${N}:${R}:${P}:${Buffer.alloc(16).toString('base64')}:${Buffer.alloc(KEYLEN).toString('base64')}`;

const SYMBOLS = "!@#$%^&*()_+-=[]{}|'";

/**
 * IAM's default password policy (an account with no custom policy): 8 to 128 characters, at least
 * three of upper case, lower case, digits and IAM's symbols, and not the user's name.
 */
export function checkPassword(password: string | undefined, member: string, userName: string): string {
  const pw = password ?? '';
  if (pw.length < 1 || pw.length > 128) {
    throw IamErrors.validationError(`1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length between 1 and 128`);
  }
  if (!/^[\u0009\u000A\u000D\u0020-\u00FF]+$/.test(pw)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+`,
    );
  }
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/].filter((re) => re.test(pw)).length + ([...pw].some((c) => SYMBOLS.includes(c)) ? 1 : 0);
  if (pw.length < 8 || kinds < 3 || pw.toLowerCase() === userName.toLowerCase()) {
    throw IamErrors.passwordPolicyViolation('Password does not conform to the account password policy.');
  }
  return pw;
}
