// CreateTags, DeleteTags, DescribeTags.
import type { CreateTagsRequest, DeleteTagsRequest, DescribeTagsRequest, DescribeTagsResult, TagDescription } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, type FilterMap } from '../common/filters.js';
import { byKey, paginate } from '../common/pagination.js';
import { kindOf, ownsResource } from '../common/resources.js';
import { allTagsOf, deleteTag, deleteTagsOf, putTags, validateTags } from './store.js';

/** The resource must exist and belong to the caller. */
async function resolveResource(ctx: Ctx, id: string): Promise<string> {
  const kind = kindOf(id);
  if (!kind) throw new ApiError('InvalidID', `The ID '${id}' is not valid`);
  if (!kind.table) throw Errors.notFound(kind.notFound, `The ${kind.label} '${id}' does not exist`);
  if (!(await ownsResource(ctx.db, { ...kind, table: kind.table }, ctx.accountId, ctx.region, id)))
    throw Errors.notFound(kind.notFound, `The ${kind.label} '${id}' does not exist`);
  return kind.type;
}

async function createTags(ctx: Ctx, input: CreateTagsRequest): Promise<Record<string, never>> {
  const resources = input.Resources ?? [];
  if (!resources.length) throw Errors.missingParameter('ResourceId');
  if (!input.Tags?.length) throw Errors.missingParameter('Tag');
  validateTags(input.Tags);
  for (const id of resources) {
    const type = await resolveResource(ctx, id);
    await putTags(ctx, type, id, input.Tags);
  }
  return {};
}

async function deleteTags(ctx: Ctx, input: DeleteTagsRequest): Promise<Record<string, never>> {
  const resources = input.Resources ?? [];
  if (!resources.length) throw Errors.missingParameter('ResourceId');
  validateTags(input.Tags, true);
  for (const id of resources) {
    await resolveResource(ctx, id);
    if (!input.Tags?.length) {
      await deleteTagsOf(ctx.db, id);
      continue;
    }
    for (const t of input.Tags) {
      // A tag given with a value is deleted only if the value matches; without one, whatever it is.
      await deleteTag(ctx.db, id, t.Key!, t.Value);
    }
  }
  return {};
}

const filters: FilterMap<TagDescription> = {
  key: (t) => t.Key,
  value: (t) => t.Value,
  'resource-id': (t) => t.ResourceId,
  'resource-type': (t) => t.ResourceType,
};

async function describeTags(ctx: Ctx, input: DescribeTagsRequest): Promise<DescribeTagsResult> {
  const rows = await allTagsOf(ctx.db, ctx.accountId, ctx.region);
  const all: TagDescription[] = rows.map((r) => ({ ResourceId: r.resource_id, ResourceType: r.resource_type as TagDescription['ResourceType'], Key: r.key, Value: r.value }));
  const key = (t: TagDescription) => `${t.ResourceId}\u0000${t.Key}`;
  const matched = applyFilters(all, input.Filters, filters).sort(byKey(key));
  const page = paginate(matched, key, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { Tags: page.items, NextToken: page.nextToken };
}

export const handlers = {
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeTags: describeTags,
} satisfies Ec2Handlers;
