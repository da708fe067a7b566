// Tags of IAM entities (users, roles, instance profiles, policies): IAM's checks and the iam_tags
// queries. IAM tag keys are unique per entity without regard to case; a new value replaces the old.
import type { Tag } from '@aws-sdk/client-iam';
import type { Tx } from '../../../store/db.js';
import { IamErrors } from '../errors.js';
import { paginate, type Page, type PageInput } from './paging.js';

export const MAX_TAGS = 50;
const KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Tags as a request gives them, checked as IAM checks them. */
export function checkTags(tags: readonly Tag[] | undefined): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  const seen = new Set<string>();
  for (const [i, t] of (tags ?? []).entries()) {
    const key = t.Key ?? '';
    const value = t.Value ?? '';
    if (key.length < 1 || key.length > 128 || !KEY.test(key)) {
      throw IamErrors.validationError(
        `1 validation error detected: Value '${key}' at 'tags.${i + 1}.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+`,
      );
    }
    if (value.length > 256 || !VALUE.test(value)) {
      throw IamErrors.validationError(
        `1 validation error detected: Value '${value}' at 'tags.${i + 1}.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`,
      );
    }
    if (seen.has(key.toLowerCase())) throw IamErrors.invalidInput('Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    seen.add(key.toLowerCase());
    out.push({ key, value });
  }
  if (out.length > MAX_TAGS) throw IamErrors.limitExceeded('The number of tags has reached the maximum limit.');
  return out;
}

export function checkTagKeys(keys: readonly string[] | undefined): string[] {
  const list = [...(keys ?? [])];
  if (list.length > MAX_TAGS) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '[${list.join(', ')}]' at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50`,
    );
  }
  return list;
}

/** Adds or replaces tags (keys compared without regard to case); at most 50 per entity. */
export async function putEntityTags(db: Tx, accountId: string, entityId: string, tags: readonly Tag[] | undefined): Promise<void> {
  const checked = checkTags(tags);
  if (!checked.length) return;
  const existing = await db.selectFrom('iam_tags').select('key').where('entity_id', '=', entityId).execute();
  const replaced = new Set(checked.map((t) => t.key.toLowerCase()));
  const kept = existing.filter((r) => !replaced.has(r.key.toLowerCase()));
  if (kept.length + checked.length > MAX_TAGS) throw IamErrors.limitExceeded('The number of tags has reached the maximum limit.');
  const stale = existing.filter((r) => replaced.has(r.key.toLowerCase())).map((r) => r.key);
  if (stale.length) await db.deleteFrom('iam_tags').where('entity_id', '=', entityId).where('key', 'in', stale).execute();
  await db
    .insertInto('iam_tags')
    .values(checked.map((t) => ({ account_id: accountId, entity_id: entityId, key: t.key, value: t.value })))
    .execute();
}

export async function removeEntityTags(db: Tx, entityId: string, keys: readonly string[] | undefined): Promise<void> {
  const wanted = new Set(checkTagKeys(keys).map((k) => k.toLowerCase()));
  if (!wanted.size) return;
  const existing = await db.selectFrom('iam_tags').select('key').where('entity_id', '=', entityId).execute();
  const gone = existing.filter((r) => wanted.has(r.key.toLowerCase())).map((r) => r.key);
  if (gone.length) await db.deleteFrom('iam_tags').where('entity_id', '=', entityId).where('key', 'in', gone).execute();
}

export async function deleteAllEntityTags(db: Tx, entityId: string): Promise<void> {
  await db.deleteFrom('iam_tags').where('entity_id', '=', entityId).execute();
}

/** An entity's tags as IAM lists them (undefined when it has none, as IAM omits an empty list). */
export async function tagList(db: Tx, entityId: string): Promise<Tag[] | undefined> {
  const rows = await db.selectFrom('iam_tags').select(['key', 'value']).where('entity_id', '=', entityId).orderBy('key').execute();
  return rows.length ? rows.map((r) => ({ Key: r.key, Value: r.value })) : undefined;
}

/** List*Tags: one page of an entity's tags. */
export async function tagPage(db: Tx, entityId: string, input: PageInput): Promise<{ Tags: Tag[]; IsTruncated: boolean; Marker?: string }> {
  const rows = await db.selectFrom('iam_tags').select(['key', 'value']).where('entity_id', '=', entityId).orderBy('key').execute();
  const page: Page<{ key: string; value: string }> = paginate(rows, (r) => r.key, input);
  return { Tags: page.items.map((r) => ({ Key: r.key, Value: r.value })), IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}
