import { describe, expect, test } from 'vitest';
import { checkPassword, hashPassword, UNMATCHABLE_HASH, verifyPassword } from './password.js';

describe('hashPassword / verifyPassword', () => {
  test('a hash verifies its password only, and two hashes of one password differ (salted)', async () => {
    const a = await hashPassword('Open-Sesame-42');
    const b = await hashPassword('Open-Sesame-42');
    expect(a).toMatch(/^scrypt:16384:8:1:[A-Za-z0-9+/]{22}==:[A-Za-z0-9+/]{43}=$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('Open-Sesame-42', a)).toBe(true);
    expect(await verifyPassword('Open-Sesame-43', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  test('nothing matches the placeholder hash or a malformed one', async () => {
    expect(await verifyPassword('', UNMATCHABLE_HASH)).toBe(false);
    expect(await verifyPassword('x', 'bcrypt:whatever')).toBe(false);
    expect(await verifyPassword('x', 'scrypt:16384:8:1:AAAA:')).toBe(false);
  });
});

describe("checkPassword (IAM's default policy)", () => {
  test.each([
    ['Abcdefg1', true], // upper, lower, digit
    ['abcdefg!1', true], // lower, symbol, digit
    ['ABCDEFG!', false], // two kinds
    ['Abc!1', false], // too short
    ['abcdefghij', false],
    ['Alice-Smith1', true],
    ['a'.repeat(129), false],
  ])('%s → %s', (pw, ok) => {
    const run = () => checkPassword(pw, 'password', 'bob');
    if (ok) expect(run()).toBe(pw);
    else expect(run).toThrow();
  });

  test('a password equal to the user name is refused as a policy violation', () => {
    expect(() => checkPassword('Alice-Smith1', 'password', 'alice-smith1')).toThrow(expect.objectContaining({ code: 'PasswordPolicyViolation' }));
    expect(() => checkPassword('short', 'password', 'bob')).toThrow(expect.objectContaining({ code: 'PasswordPolicyViolation' }));
    expect(() => checkPassword('', 'password', 'bob')).toThrow(expect.objectContaining({ code: 'ValidationError' }));
  });
});
