// DescribeVolumes. Volumes are made by RunInstances for now; CreateVolume and friends come later.
import type { DescribeVolumesRequest, DescribeVolumesResult } from '@aws-sdk/client-ec2';
import { Errors } from '../../../api/errors.js';
import { idPattern } from '../../../lib/ids.js';
import type { Ctx, HandlerMap } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { byKey, paginate } from '../common/pagination.js';
import { tagsOf } from '../tags/store.js';
import { volumeFilters } from './filters.js';
import { toVolume, type AttachmentRow } from './store.js';

const VOLUME_ID = idPattern('vol');

export function volumesNotFound(ids: string[]) {
  return Errors.notFound('InvalidVolume.NotFound', ids.length === 1 ? `The volume '${ids[0]}' does not exist.` : `The volumes '${ids.join(', ')}' do not exist.`);
}

async function describeVolumes(ctx: Ctx, input: DescribeVolumesRequest): Promise<DescribeVolumesResult> {
  const ids = input.VolumeIds?.length ? [...new Set(input.VolumeIds)] : undefined;
  if (ids && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter volumeSet cannot be used with the parameter maxResults');
  }
  for (const id of ids ?? []) {
    if (!VOLUME_ID.test(id)) throw Errors.notFound('InvalidVolumeID.Malformed', `Invalid id: "${id}" (expecting "vol-...")`);
  }
  const tagsOfVolume = (v: { Tags?: { Key?: string; Value?: string }[] }) => v.Tags;
  validateFilters(input.Filters, volumeFilters, { tags: tagsOfVolume });
  let q = ctx.db.selectFrom('volumes').selectAll().where('account_id', '=', ctx.accountId).where('region', '=', ctx.region).where('state', '!=', 'deleted');
  if (ids) q = q.where('id', 'in', ids);
  const rows = await q.execute();
  if (ids) {
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw volumesNotFound(missing);
  }
  const few = rows.length <= 500 ? rows.map((r) => r.id) : undefined;
  // A few volumes: by the attachment key alone (they are the caller's already); many: one join.
  const aq = few
    ? ctx.db.selectFrom('volume_attachments').selectAll().where('volume_id', 'in', few.length ? few : [''])
    : ctx.db
        .selectFrom('volume_attachments')
        .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
        .selectAll('volume_attachments')
        .where('volumes.account_id', '=', ctx.accountId)
        .where('volumes.region', '=', ctx.region);
  const [attachments, tags] = await Promise.all([aq.execute(), tagsOf(ctx.db, ctx.accountId, ctx.region, 'volume', few)]);
  const byVolume = new Map<string, AttachmentRow[]>();
  for (const a of attachments) {
    let list = byVolume.get(a.volume_id);
    if (!list) byVolume.set(a.volume_id, (list = []));
    list.push(a);
  }
  const volumes = rows.map((r) => {
    const v = toVolume(r, byVolume.get(r.id) ?? [], tags.get(r.id));
    if (!v.Tags?.length) delete v.Tags;
    return v;
  });
  const matched = applyFilters(volumes, input.Filters, volumeFilters, { tags: tagsOfVolume }).sort(byKey((v) => v.VolumeId!));
  const page = paginate(matched, (v) => v.VolumeId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { Volumes: page.items, NextToken: page.nextToken };
}

export const handlers = {
  DescribeVolumes: describeVolumes,
} satisfies HandlerMap;
