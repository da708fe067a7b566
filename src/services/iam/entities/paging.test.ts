import { describe, expect, test } from 'vitest';
import { checkPathPrefix, paginate } from './paging.js';

const items = ['a', 'b', 'c', 'd', 'e'];
const key = (s: string) => s;

describe('paginate', () => {
  test('walks every item once, page by page, and ends untruncated without a marker', () => {
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = paginate(items, key, { MaxItems: 2, Marker: marker });
      seen.push(...page.items);
      if (!page.IsTruncated) {
        expect(page.Marker).toBeUndefined();
        break;
      }
      marker = page.Marker;
    }
    expect(seen).toEqual(items);
  });

  test('a marker still lands right when the item it names was deleted in between', () => {
    const first = paginate(items, key, { MaxItems: 2 });
    expect(first.items).toEqual(['a', 'b']);
    const next = paginate(['a', 'b', 'd', 'e'], key, { MaxItems: 2, Marker: first.Marker });
    expect(next.items).toEqual(['d', 'e']);
  });

  test('MaxItems 1–1000 (default 100); a marker that is not ours is InvalidInput', () => {
    expect(paginate(items, key, {}).items).toHaveLength(5);
    expect(() => paginate(items, key, { MaxItems: 0 })).toThrow(expect.objectContaining({ code: 'ValidationError' }));
    expect(() => paginate(items, key, { MaxItems: 1001 })).toThrow(expect.objectContaining({ code: 'ValidationError' }));
    expect(() => paginate(items, key, { Marker: '!!not base64url!!' })).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
  });
});

describe('checkPathPrefix', () => {
  test('defaults to /, takes /a/b, refuses one without the leading slash', () => {
    expect(checkPathPrefix(undefined)).toBe('/');
    expect(checkPathPrefix('/division/')).toBe('/division/');
    expect(() => checkPathPrefix('division/')).toThrow(expect.objectContaining({ code: 'ValidationError' }));
  });
});
