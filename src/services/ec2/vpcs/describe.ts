// The shared tail of every Describe call in this family: explicit ids (each must exist), filters,
// a stable order and MaxResults/NextToken.
import type { Filter, Tag } from '@aws-sdk/client-ec2';
import type { ApiError } from '../../errors.js';
import { applyFilters, validateFilters, type FilterMap } from '../common/filters.js';
import { byKey, paginate, type Page } from '../common/pagination.js';

export interface DescribeSpec<T> {
  ids?: string[];
  idOf: (item: T) => string;
  /** The error for ids that are not there (or not the caller's). */
  missing: (ids: string[]) => ApiError;
  filters?: Filter[];
  filterMap: FilterMap<T>;
  tags: (item: T) => Tag[] | undefined;
  maxResults?: number;
  nextToken?: string;
  /** EC2's MaxResults bounds for this call. */
  min: number;
  max: number;
}

export function describe<T>(items: T[], spec: DescribeSpec<T>): Page<T> {
  validateFilters(spec.filters, spec.filterMap, { tags: spec.tags });
  let selected = items;
  if (spec.ids?.length) {
    const have = new Set(items.map(spec.idOf));
    const missing = [...new Set(spec.ids.filter((id) => !have.has(id)))];
    if (missing.length) throw spec.missing(missing);
    const wanted = new Set(spec.ids);
    selected = items.filter((it) => wanted.has(spec.idOf(it)));
  }
  const matched = applyFilters(selected, spec.filters, spec.filterMap, { tags: spec.tags }).sort(byKey(spec.idOf));
  return paginate(matched, spec.idOf, { maxResults: spec.maxResults, nextToken: spec.nextToken, min: spec.min, max: spec.max });
}
