// MaxResults/NextToken for Describe calls. Tokens are opaque to clients; inside they carry the
// sort key of the last item returned, so a page boundary survives inserts and deletes.
import { ApiError, Errors } from '../../errors.js';

export interface PageOptions {
  maxResults?: number;
  nextToken?: string;
  /** EC2's bounds for this call's MaxResults (DescribeInstances: 5..1000). */
  min?: number;
  max?: number;
  /** The parameter name in errors. */
  name?: string;
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

export function encodeToken(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

export function decodeToken(token: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof v.k === 'string') return v.k;
  } catch {
    // fall through
  }
  throw new ApiError('InvalidPaginationToken', `The specified pagination token is not valid: ${token}`);
}

/** Items must already be sorted by `key`. */
export function paginate<T>(items: T[], key: (item: T) => string, opts: PageOptions): Page<T> {
  const { maxResults, nextToken, min = 5, max = 1000, name = 'MaxResults' } = opts;
  if (maxResults !== undefined && (maxResults < min || maxResults > max)) {
    throw Errors.invalidParameterValue(`Value ( ${maxResults} ) for parameter ${name} is invalid. Expecting a value between ${min} and ${max}.`);
  }
  let start = 0;
  if (nextToken) {
    const after = decodeToken(nextToken);
    start = items.findIndex((it) => key(it) > after);
    if (start < 0) start = items.length;
  }
  if (maxResults === undefined) return { items: items.slice(start) };
  const slice = items.slice(start, start + maxResults);
  const more = start + maxResults < items.length;
  return { items: slice, nextToken: more ? encodeToken(key(slice[slice.length - 1]!)) : undefined };
}

export function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}
