// IAM's paging: MaxItems (1–1000, default 100) and an opaque Marker; a page answers IsTruncated
// and, when truncated, the Marker of the next page. The marker is the sort key of the next item,
// so a page stays right when items before it are deleted in between.
import { IamErrors } from '../errors.js';

export interface PageInput {
  Marker?: string;
  MaxItems?: number;
}

export interface Page<T> {
  items: T[];
  IsTruncated: boolean;
  Marker?: string;
}

export function checkMaxItems(maxItems: number | undefined): number {
  const n = maxItems ?? 100;
  if (!Number.isInteger(n) || n < 1) {
    throw IamErrors.validationError(`1 validation error detected: Value '${n}' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1`);
  }
  if (n > 1000) {
    throw IamErrors.validationError(`1 validation error detected: Value '${n}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000`);
  }
  return n;
}

const encode = (key: string) => Buffer.from(key, 'utf8').toString('base64url');

function decode(marker: string): string {
  const key = Buffer.from(marker, 'base64url').toString('utf8');
  if (!marker || encode(key) !== marker) throw IamErrors.invalidInput('Invalid Marker.');
  return key;
}

/** One page of items already in their listing order, each with a unique, ordered sort key. */
export function paginate<T>(items: readonly T[], keyOf: (item: T) => string, input: PageInput): Page<T> {
  const max = checkMaxItems(input.MaxItems);
  const start = input.Marker === undefined ? 0 : firstAtOrAfter(items, keyOf, decode(input.Marker));
  const page = items.slice(start, start + max);
  const next = items[start + max];
  return next === undefined ? { items: page, IsTruncated: false } : { items: page, IsTruncated: true, Marker: encode(keyOf(next)) };
}

function firstAtOrAfter<T>(items: readonly T[], keyOf: (item: T) => string, key: string): number {
  const i = items.findIndex((item) => keyOf(item) >= key);
  return i === -1 ? items.length : i;
}

/** IAM's PathPrefix: '/' … '/' or '/' alone; the listing keeps entities whose path starts with it. */
export function checkPathPrefix(prefix: string | undefined): string {
  const p = prefix ?? '/';
  if (p.length > 512 || !/^\u002F[\u0021-\u007F]*$/.test(p)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${p}' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*`,
    );
  }
  return p;
}

/** IAM lists entities by name, without regard to case. */
export const byNameKey = (a: { name_key: string }, b: { name_key: string }) => (a.name_key < b.name_key ? -1 : a.name_key > b.name_key ? 1 : 0);
