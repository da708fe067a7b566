import { describe, expect, test } from 'vitest';
import { jsonColumn } from './json-column.js';

describe('jsonColumn', () => {
  const groups = jsonColumn<{ GroupId: string }[]>({ value: [] });

  test('encodes and decodes a value', () => {
    const v = [{ GroupId: 'sg-0000000000000000a' }];
    expect(groups.encode(v)).toBe('[{"GroupId":"sg-0000000000000000a"}]');
    expect(groups.decode(groups.encode(v))).toEqual(v);
  });

  test.each([null, undefined, '', 'null', '{', 'not json'])('with a fallback, %j decodes to it', (text) => {
    expect(groups.decode(text)).toEqual([]);
  });

  test('without a fallback, unreadable text throws', () => {
    const strict = jsonColumn<{ Size: number }>();
    expect(strict.decode('{"Size":8}')).toEqual({ Size: 8 });
    expect(() => strict.decode('{')).toThrow(SyntaxError);
    expect(() => strict.decode(null)).toThrow(SyntaxError);
  });
});
