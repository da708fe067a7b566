import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWrapped, SecretBox, UnwrapError, WRAP_PREFIX } from './secrets.js';

const box = new SecretBox(randomBytes(32));

describe('SecretBox', () => {
  it('wraps to v1:<base64> and unwraps back, with a fresh nonce each time', () => {
    const a = box.wrap('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'access-key-secret', 'AKIAEXAMPLE');
    const b = box.wrap('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'access-key-secret', 'AKIAEXAMPLE');
    expect(a).toMatch(/^v1:[A-Za-z0-9+/]+=*$/);
    expect(a.startsWith(WRAP_PREFIX) && isWrapped(a)).toBe(true);
    expect(a).not.toBe(b); // random 96-bit nonce per value
    expect(Buffer.from(a.slice(3), 'base64')).toHaveLength(12 + 40 + 16);
    expect(box.unwrapString(a, 'access-key-secret', 'AKIAEXAMPLE')).toBe('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    const key = randomBytes(32);
    expect(box.unwrap(box.wrap(key, 'ebs-data-key', '123456789012'), 'ebs-data-key', '123456789012').equals(key)).toBe(true);
  });

  it('does not unwrap under another master key', () => {
    const w = box.wrap('secret', 'access-key-secret', 'AKIA1');
    const other = new SecretBox(randomBytes(32));
    expect(() => other.unwrap(w, 'access-key-secret', 'AKIA1')).toThrow(UnwrapError);
    expect(other.fingerprint).not.toBe(box.fingerprint);
    expect(box.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('binds a value to its row and purpose: moved elsewhere, it does not unwrap', () => {
    const w = box.wrap(randomBytes(32), 'ebs-data-key', '111111111111');
    expect(() => box.unwrap(w, 'ebs-data-key', '222222222222')).toThrow(/does not unwrap/);
    expect(() => box.unwrap(w, 'access-key-secret', '111111111111')).toThrow(UnwrapError);
  });

  it('refuses plaintext, truncated and tampered values', () => {
    expect(() => box.unwrap('plaintext-secret', 'access-key-secret', 'AKIA1')).toThrow(/not wrapped/);
    expect(() => box.unwrap('v1:AAAA', 'access-key-secret', 'AKIA1')).toThrow(/too short/);
    const raw = Buffer.from(box.wrap('secret', 'access-key-secret', 'AKIA1').slice(3), 'base64');
    raw[14] ^= 1;
    expect(() => box.unwrap('v1:' + raw.toString('base64'), 'access-key-secret', 'AKIA1')).toThrow(UnwrapError);
  });

  it('takes only a 32-byte master key, and gives the same fingerprint for the same key', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
    const k = randomBytes(32);
    expect(new SecretBox(k).fingerprint).toBe(new SecretBox(Buffer.from(k)).fingerprint);
  });
});
