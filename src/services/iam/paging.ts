// IAM's paging: MaxItems (1–1000, 100 by default) and an opaque Marker; IsTruncated says whether
// there is more. Lists are read whole and cut (an account's IAM entities number in the thousands at most).
import { IamErrors } from './errors.js';

export interface Page<T> {
  readonly items: T[];
  readonly IsTruncated: boolean;
  readonly Marker?: string;
}

export function checkMaxItems(maxItems: number | undefined): number {
  if (maxItems === undefined) return 100;
  if (!Number.isInteger(maxItems) || maxItems < 1) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${maxItems}' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1`,
    );
  }
  if (maxItems > 1000) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${maxItems}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000`,
    );
  }
  return maxItems;
}

function offsetOf(marker: string | undefined): number {
  if (marker === undefined) return 0;
  const m = /^o(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
  if (!m) throw IamErrors.validationError('Invalid Marker.');
  return Number(m[1]);
}

/** The page of `all` that Marker and MaxItems ask for. */
export function pageOf<T>(all: readonly T[], marker: string | undefined, maxItems: number | undefined): Page<T> {
  const max = checkMaxItems(maxItems);
  const from = offsetOf(marker);
  const items = all.slice(from, from + max);
  const more = from + max < all.length;
  return more ? { items, IsTruncated: true, Marker: Buffer.from(`o${from + max}`).toString('base64url') } : { items, IsTruncated: false };
}

/** PathPrefix: '/' alone, or '/' … '/' (IAM's pattern), matched against an entity's path. */
export function checkPathPrefix(prefix: string | undefined): string {
  const p = prefix ?? '/';
  if (p.length > 512 || !/^\u002F[\u0021-\u007F]*$/.test(p)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${p}' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*`,
    );
  }
  return p;
}
