import { describe, expect, test } from 'vitest';
import { parseTtl, TokenSigner } from './token.js';

describe('TokenSigner', () => {
  const t0 = Date.parse('2024-05-06T07:08:09Z');
  const signer = new TokenSigner(Buffer.alloc(32, 7));

  test('a token is valid for its instance until it expires, with the seconds left', () => {
    const tok = signer.issue('i-0123456789abcdef0', 60, t0);
    expect(signer.remaining(tok, 'i-0123456789abcdef0', t0)).toBe(60);
    expect(signer.remaining(tok, 'i-0123456789abcdef0', t0 + 59_000)).toBe(1);
    expect(signer.remaining(tok, 'i-0123456789abcdef0', t0 + 60_000)).toBeUndefined();
  });

  test('it is bound to the instance and to the secret', () => {
    const tok = signer.issue('i-0123456789abcdef0', 60, t0);
    expect(signer.remaining(tok, 'i-0123456789abcdef1', t0)).toBeUndefined();
    expect(new TokenSigner(Buffer.alloc(32, 8)).remaining(tok, 'i-0123456789abcdef0', t0)).toBeUndefined();
    expect(new TokenSigner(Buffer.alloc(32, 7)).remaining(tok, 'i-0123456789abcdef0', t0)).toBe(60);
  });

  const forged: [string, (tok: string) => string][] = [
    [
      'a longer expiry',
      (tok) => {
        const raw = Buffer.from(tok, 'base64');
        raw.writeUInt32BE(raw.readUInt32BE(1) + 3600, 1);
        return raw.toString('base64');
      },
    ],
    [
      'a flipped MAC bit',
      (tok) => {
        const raw = Buffer.from(tok, 'base64');
        raw[20]! ^= 1;
        return raw.toString('base64');
      },
    ],
    [
      'another version',
      (tok) => {
        const raw = Buffer.from(tok, 'base64');
        raw[0] = 2;
        return raw.toString('base64');
      },
    ],
    ['truncated', (tok) => tok.slice(0, 20)],
    ['empty', () => ''],
    ['not base64', () => 'AQAEA!!!'],
    ['very long', (tok) => tok.repeat(10)],
  ];
  test.each(forged)('refuses %s', (_, f) => {
    expect(signer.remaining(f(signer.issue('i-0123456789abcdef0', 60, t0)), 'i-0123456789abcdef0', t0)).toBeUndefined();
  });
});

describe('parseTtl', () => {
  const cases: [string | string[] | undefined, number | undefined][] = [
    ['21600', 21600],
    ['1', 1],
    [' 60 ', 60],
    ['0', undefined],
    ['21601', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['abc', undefined],
    ['', undefined],
    [undefined, undefined],
    [['60', '60'], undefined],
  ];
  test.each(cases)('%j → %j', (h, want) => expect(parseTtl(h)).toBe(want));
});
