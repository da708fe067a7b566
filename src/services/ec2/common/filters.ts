// EC2's Describe filters, declaratively: each family gives a map from filter name to a getter over
// its output objects; matching, wildcards ('*', '?') and tag filters are done once, here.
import type { Filter, Tag } from '@aws-sdk/client-ec2';
import { Errors } from '../../errors.js';

export type FilterValue = string | number | boolean | null | undefined | readonly (string | number | boolean | null | undefined)[];
export type FilterMap<T> = Record<string, (item: T) => FilterValue>;

const patternCache = new Map<string, RegExp>();

/** EC2 wildcard: '*' any run, '?' one character, '\' escapes. Case-sensitive. */
export function wildcard(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (re) return re;
  let src = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) src += escapeRe(pattern[++i]!);
    else if (c === '*') src += '[\\s\\S]*';
    else if (c === '?') src += '[\\s\\S]';
    else src += escapeRe(c);
  }
  re = new RegExp(src + '$');
  if (patternCache.size > 10_000) patternCache.clear();
  patternCache.set(pattern, re);
  return re;
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function asStrings(v: FilterValue): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.filter((x) => x !== undefined && x !== null).map(String);
  return [String(v)];
}

export interface FilterOptions<T> {
  /** The item's tags, for tag:<key>, tag-key and tag-value. */
  tags?: (item: T) => Tag[] | undefined;
}

/** Check filter names up front, so an invalid filter fails even when there is nothing to filter. */
export function validateFilters<T>(filters: Filter[] | undefined, map: FilterMap<T>, opts: FilterOptions<T> = {}): void {
  for (const f of filters ?? []) {
    const name = f.Name;
    if (!name) throw Errors.missingParameter('Filter.Name');
    if (map[name]) continue;
    if (opts.tags && (name.startsWith('tag:') || name === 'tag-key' || name === 'tag-value')) continue;
    throw Errors.invalidParameterValue(`The filter '${name}' is invalid`);
  }
}

export function applyFilters<T>(items: T[], filters: Filter[] | undefined, map: FilterMap<T>, opts: FilterOptions<T> = {}): T[] {
  validateFilters(filters, map, opts);
  if (!filters?.length) return items;
  const tests = filters.map((f) => {
    const name = f.Name!;
    const res = (f.Values ?? []).map(wildcard);
    let get: (item: T) => FilterValue;
    if (map[name]) get = map[name]!;
    else if (name.startsWith('tag:')) {
      const key = name.slice(4);
      get = (item) => (opts.tags!(item) ?? []).filter((t) => t.Key === key).map((t) => t.Value ?? '');
    } else if (name === 'tag-key') get = (item) => (opts.tags!(item) ?? []).map((t) => t.Key ?? '');
    else get = (item) => (opts.tags!(item) ?? []).map((t) => t.Value ?? '');
    return (item: T) => {
      const values = asStrings(get(item));
      return values.some((v) => res.some((re) => re.test(v)));
    };
  });
  return items.filter((item) => tests.every((t) => t(item)));
}
