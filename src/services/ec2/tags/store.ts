// Tags live in one table for every resource type, keyed by resource id.
import type { Tag, TagSpecification } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import type { Tx } from '../../../store/db.js';
import type { Ctx } from '../../context.js';
import { taggableTypes } from '../common/resources.js';

// For the handlers.

/** Every tag of the account in the region. */
export async function allTagsOf(db: Tx, accountId: string, region: string): Promise<{ resource_id: string; resource_type: string; key: string; value: string }[]> {
  return db.selectFrom('tags').select(['resource_id', 'resource_type', 'key', 'value']).where('account_id', '=', accountId).where('region', '=', region).execute();
}

/** Deletes a resource's tag with this key (only if its value is `value`, when given). */
export async function deleteTag(db: Tx, resourceId: string, key: string, value?: string): Promise<void> {
  let q = db.deleteFrom('tags').where('resource_id', '=', resourceId).where('key', '=', key);
  if (value !== undefined) q = q.where('value', '=', value);
  await q.execute();
}

/** Deletes every tag of a resource. */
export async function deleteTagsOf(db: Tx, resourceId: string): Promise<void> {
  await db.deleteFrom('tags').where('resource_id', '=', resourceId).execute();
}

export const MAX_TAGS = 50;

export function validateTags(tags: Tag[] | undefined, forDelete = false): void {
  for (const t of tags ?? []) {
    const key = t.Key;
    if (key === undefined || key === '') throw Errors.invalidParameterValue('Tag key cannot be empty');
    if (key.length > 128) throw Errors.invalidParameterValue(`Tag key exceeds the maximum length of 128 characters`);
    if (!forDelete && (t.Value ?? '').length > 256) throw Errors.invalidParameterValue(`Tag value exceeds the maximum length of 256 characters`);
    if (key.toLowerCase().startsWith('aws:')) {
      throw Errors.invalidParameterValue(`Tag keys starting with 'aws:' are reserved for internal use`);
    }
  }
}

/** A resource's tags as key and value, if the account holds them (IAM's ResourceTag keys see only the owner's tags). */
export async function tagPairsOwnedBy(db: Tx, accountId: string, resourceId: string): Promise<{ key: string; value: string }[]> {
  return db.selectFrom('tags').select(['key', 'value']).where('resource_id', '=', resourceId).where('account_id', '=', accountId).orderBy('key').execute();
}

/** Tags of many resources at once, as EC2 Tag[] per resource id. */
export async function tagsOf(db: Tx, accountId: string, region: string, resourceType: string, ids?: string[]): Promise<Map<string, Tag[]>> {
  let q = db.selectFrom('tags').select(['resource_id', 'key', 'value']).where('account_id', '=', accountId).where('region', '=', region).where('resource_type', '=', resourceType);
  if (ids && ids.length <= 500) q = q.where('resource_id', 'in', ids.length ? ids : ['']);
  const rows = await q.orderBy('key').execute();
  const out = new Map<string, Tag[]>();
  for (const r of rows) {
    let list = out.get(r.resource_id);
    if (!list) out.set(r.resource_id, (list = []));
    list.push({ Key: r.key, Value: r.value });
  }
  return out;
}

export async function putTags(ctx: Ctx, resourceType: string, resourceId: string, tags: Tag[]): Promise<void> {
  if (!tags.length) return;
  validateTags(tags);
  for (const t of tags) {
    await ctx.db
      .insertInto('tags')
      .values({ resource_id: resourceId, key: t.Key!, value: t.Value ?? '', account_id: ctx.accountId, region: ctx.region, resource_type: resourceType })
      .onConflict((oc) => oc.columns(['resource_id', 'key']).doUpdateSet({ value: t.Value ?? '' }))
      .execute();
  }
  const count = await ctx.db
    .selectFrom('tags')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('resource_id', '=', resourceId)
    .executeTakeFirstOrThrow();
  if (Number(count.n) > MAX_TAGS) {
    throw new ApiError('TagLimitExceeded', `The maximum number of Tags for a resource has been reached.`);
  }
}

export async function deleteAllTags(ctx: Ctx, resourceId: string): Promise<void> {
  await ctx.db.deleteFrom('tags').where('resource_id', '=', resourceId).execute();
}

/** Validate TagSpecification[] for the resource types this call creates, and pick the tags for one type. */
export function tagsForType(specs: TagSpecification[] | undefined, allowed: string[], type: string): Tag[] {
  const out: Tag[] = [];
  for (const s of specs ?? []) {
    const rt = s.ResourceType;
    if (!rt) throw Errors.missingParameter('TagSpecification.ResourceType');
    if (!taggableTypes.has(rt) && !allowed.includes(rt)) {
      throw Errors.invalidParameterValue(`'${rt}' is not a valid taggable resource type.`);
    }
    if (!allowed.includes(rt)) {
      throw Errors.invalidParameterValue(`'${rt}' is not a valid taggable resource type for this operation.`);
    }
    validateTags(s.Tags);
    if (rt === type) out.push(...(s.Tags ?? []));
  }
  return out;
}

// For the controllers and the host.

/** Every tag of these resources goes with them. */
export async function deleteTagsOfAll(db: Tx, resourceIds: string[]): Promise<void> {
  if (resourceIds.length) await db.deleteFrom('tags').where('resource_id', 'in', resourceIds).execute();
}

/** The resource's tags as key and value. */
export async function tagPairsOf(db: Tx, resourceId: string): Promise<{ key: string; value: string }[]> {
  return db.selectFrom('tags').select(['key', 'value']).where('resource_id', '=', resourceId).execute();
}
