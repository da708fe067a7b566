// EBS snapshots (issue 5): CreateSnapshot, CreateSnapshots, DescribeSnapshots, DeleteSnapshot,
// Modify/Describe/ResetSnapshotAttribute, CopySnapshot. Rows are written here; the host work
// (taking, copying, deleting the data in the region's block store) is done by the controllers in
// src/controllers/snapshots.ts from the jobs queued with the rows.
import type {
  CopySnapshotRequest,
  CopySnapshotResult,
  CreateSnapshotRequest,
  CreateSnapshotsRequest,
  CreateSnapshotsResult,
  CreateVolumePermission,
  DeleteSnapshotRequest,
  DescribeSnapshotAttributeRequest,
  DescribeSnapshotAttributeResult,
  DescribeSnapshotsRequest,
  DescribeSnapshotsResult,
  ModifySnapshotAttributeRequest,
  ResetSnapshotAttributeRequest,
  Snapshot,
  SnapshotInfo,
  Tag,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { idPattern, newId } from '../../../lib/ids.js';
import type { Row } from '../../../store/schema.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { byKey, paginate } from '../common/pagination.js';
import { findOwned } from '../common/resources.js';
import { checkSnapshotLocation, memberUnsupported } from '../common/unsupported.js';
import { putTags, tagsForType, tagsOf } from '../tags/store.js';
import { snapshotFilters } from './filters.js';
import { removeSnapshot } from './remove.js';
import {
  captureBeforeCommit,
  checkSnapshotId,
  COPY_VOLUME_ID,
  findOwnSnapshot,
  findVisibleSnapshot,
  imageUsing,
  pendingSnapshot,
  snapshotsNotFound,
  toSnapshot,
  visibleSnapshots,
  type SnapshotRow,
  addSnapshotPermissions,
  insertSnapshots,
  removeSnapshotPermissions,
  snapshotGrantees,
} from './store.js';
import { attachedVolumesByDevice } from '../volumes/store.js';

const VOLUME_ID = idPattern('vol');
const INSTANCE_ID = idPattern('i');
const ACCOUNT_ID = /^\d{12}$/;

function checkDescription(d: string | undefined): string {
  if (d === undefined) return '';
  if (d.length > 255) throw Errors.invalidParameterValue(`Value (${d}) for parameter description is invalid. Length exceeds maximum of 255.`);
  return d;
}

function volumeNotFound(id: string): ApiError {
  return Errors.notFound('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
}

function checkVolumeId(id: string | undefined): string {
  if (id === undefined || id === '') throw Errors.missingParameter('VolumeId');
  if (!VOLUME_ID.test(id)) throw Errors.notFound('InvalidVolumeID.Malformed', `Invalid id: "${id}" (expecting "vol-...")`);
  return id;
}

/** A pending snapshot row of the volume (the caller queues the job that takes it). */
async function insertSnapshot(ctx: Ctx, volume: Row<'volumes'>, description: string, tags: Tag[]): Promise<SnapshotRow> {
  const row = await pendingSnapshot(ctx, volume, description);
  await insertSnapshots(ctx.db, [row]);
  await putTags(ctx, 'snapshot', row.id, tags);
  return row;
}

function snapshotsAble(volume: Row<'volumes'>): void {
  if (volume.state !== 'available' && volume.state !== 'in-use') {
    throw Errors.incorrectState(`The volume '${volume.id}' is not in the 'available' or 'in-use' state.`);
  }
}

async function createSnapshot(ctx: Ctx, input: CreateSnapshotRequest): Promise<Snapshot> {
  const volumeId = checkVolumeId(input.VolumeId);
  const description = checkDescription(input.Description);
  const tags = tagsForType(input.TagSpecifications, ['snapshot'], 'snapshot');
  if (input.OutpostArn) throw Errors.invalidParameterValue('Outposts are not supported.');
  checkSnapshotLocation(input.Location, 'Location');
  const volume = await findOwned(ctx, 'volumes', volumeId);
  if (!volume || volume.state === 'deleted') throw volumeNotFound(volumeId);
  snapshotsAble(volume);
  const row = await insertSnapshot(ctx, volume, description, tags);
  await ctx.enqueue('snapshot.create', row.id, {});
  captureBeforeCommit(ctx, [row]);
  const out = toSnapshot(row, tags);
  out.Progress = '';
  delete out.FullSnapshotSizeInBytes;
  return out;
}

async function createSnapshots(ctx: Ctx, input: CreateSnapshotsRequest): Promise<CreateSnapshotsResult> {
  const spec = input.InstanceSpecification;
  const instanceId = spec?.InstanceId;
  if (!instanceId) throw Errors.missingParameter('InstanceSpecification.InstanceId');
  if (!INSTANCE_ID.test(instanceId)) throw Errors.notFound('InvalidInstanceID.Malformed', `Invalid id: "${instanceId}" (expecting "i-...")`);
  const excluded = new Set(spec.ExcludeDataVolumeIds ?? []);
  for (const id of excluded) checkVolumeId(id);
  const description = checkDescription(input.Description);
  const tags = tagsForType(input.TagSpecifications, ['snapshot'], 'snapshot');
  const copyTags = input.CopyTagsFromSource;
  if (copyTags !== undefined && copyTags !== 'volume') {
    throw Errors.invalidParameterValue(`Value (${copyTags}) for parameter CopyTagsFromSource is invalid. Expected: 'volume'.`);
  }
  if (input.OutpostArn) throw Errors.invalidParameterValue('Outposts are not supported.');
  checkSnapshotLocation(input.Location, 'Location');
  const instance = await findOwned(ctx, 'instances', instanceId);
  if (!instance || instance.state === 'terminated') {
    throw Errors.notFound('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
  }
  const attachments = await attachedVolumesByDevice(ctx.db, instanceId);
  const rootKey = instance.root_device_name.replace(/^\/dev\//, '');
  const isRoot = (device: string) => device.replace(/^\/dev\//, '') === rootKey;
  for (const id of excluded) {
    const a = attachments.find((v) => v.id === id);
    if (!a) throw Errors.invalidParameterValue(`The volume '${id}' is not attached to instance '${instanceId}'.`);
    if (isRoot(a.device)) throw Errors.invalidParameterValue(`The root volume '${id}' cannot be excluded with ExcludeDataVolumeIds; use ExcludeBootVolume.`);
  }
  const chosen = attachments.filter((v) => !excluded.has(v.id) && !(spec.ExcludeBootVolume && isRoot(v.device)));
  const volumeTags = copyTags
    ? await tagsOf(
        ctx.db,
        ctx.accountId,
        ctx.region,
        'volume',
        chosen.map((v) => v.id),
      )
    : new Map<string, Tag[]>();
  const out: SnapshotInfo[] = [];
  const ids: string[] = [];
  const rows: SnapshotRow[] = [];
  for (const { device: _device, ...volume } of chosen) {
    snapshotsAble(volume);
    // The request's tags win over the volume's for the same key.
    const merged = new Map<string, Tag>();
    for (const t of volumeTags.get(volume.id) ?? []) if (!t.Key!.startsWith('aws:')) merged.set(t.Key!, t);
    for (const t of tags) merged.set(t.Key!, t);
    const snapTags = [...merged.values()];
    const row = await insertSnapshot(ctx, volume, description, snapTags);
    ids.push(row.id);
    rows.push(row);
    const info: SnapshotInfo = {
      Description: row.description,
      Encrypted: row.encrypted === 1,
      OwnerId: row.account_id,
      Progress: '',
      SnapshotId: row.id,
      StartTime: new Date(row.start_time),
      State: 'pending',
      VolumeId: row.volume_id,
      VolumeSize: row.volume_size,
    };
    if (snapTags.length) info.Tags = snapTags;
    out.push(info);
  }
  // One job for the set: the host takes the volumes one right after the other.
  if (ids.length) await ctx.enqueue('snapshot.create-set', ids[0]!, { snapshotIds: ids });
  captureBeforeCommit(ctx, rows);
  return { Snapshots: out };
}

/** 'self' is the caller; an account id must look like one. */
function resolveUser(ctx: Ctx, u: string): string {
  return u === 'self' ? ctx.accountId : u;
}

async function describeSnapshots(ctx: Ctx, input: DescribeSnapshotsRequest): Promise<DescribeSnapshotsResult> {
  const ids = input.SnapshotIds?.length ? [...new Set(input.SnapshotIds)] : undefined;
  for (const id of ids ?? []) checkSnapshotId(id);
  if (ids && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter snapshotSet cannot be used with the parameter maxResults');
  }
  const tagsOfSnapshot = (s: Snapshot) => s.Tags;
  validateFilters(input.Filters, snapshotFilters, { tags: tagsOfSnapshot });
  const { rows, grants } = await visibleSnapshots(ctx, ctx.region, ids);
  if (ids) {
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw snapshotsNotFound(missing);
  }
  let selected = rows;
  const owners = input.OwnerIds ?? [];
  if (owners.length) {
    const set = new Set<string>();
    for (const o of owners) {
      if (o === 'self') set.add(ctx.accountId);
      else if (ACCOUNT_ID.test(o) || o === 'amazon' || o === 'aws-marketplace' || o === 'aws-backup-vault') set.add(o);
      else throw Errors.invalidParameterValue(`Invalid owner: '${o}'`);
    }
    // Snapshots have no owner alias here: 'amazon' matches none.
    selected = selected.filter((r) => set.has(r.account_id));
  }
  const restorable = input.RestorableByUserIds ?? [];
  if (restorable.length) {
    const tests: ((r: SnapshotRow) => boolean)[] = [];
    for (const raw of restorable) {
      const u = resolveUser(ctx, raw);
      if (u === 'all') tests.push((r) => (grants.get(r.id) ?? []).includes('all'));
      else if (u === ctx.accountId) tests.push((r) => r.account_id === ctx.accountId || (grants.get(r.id) ?? []).includes(u));
      else if (ACCOUNT_ID.test(u)) tests.push((r) => r.account_id === ctx.accountId && (grants.get(r.id) ?? []).includes(u));
      else throw Errors.invalidParameterValue(`Invalid user id: '${raw}'`);
    }
    selected = selected.filter((r) => tests.some((t) => t(r)));
  }
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'snapshot', selected.length <= 500 ? selected.map((r) => r.id) : undefined);
  const snapshots = selected.map((r) => toSnapshot(r, tags.get(r.id)));
  const matched = applyFilters(snapshots, input.Filters, snapshotFilters, { tags: tagsOfSnapshot }).sort(byKey((s) => s.SnapshotId!));
  const page = paginate(matched, (s) => s.SnapshotId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { Snapshots: page.items, NextToken: page.nextToken };
}

async function deleteSnapshot(ctx: Ctx, input: DeleteSnapshotRequest): Promise<Record<string, never>> {
  const id = checkSnapshotId(input.SnapshotId);
  const row = await findOwnSnapshot(ctx, id);
  const ami = await imageUsing(ctx.db, ctx.region, id);
  if (ami) throw new ApiError('InvalidSnapshot.InUse', `The snapshot ${id} is currently in use by ${ami}`);
  await removeSnapshot(ctx, row);
  return {};
}

interface PermissionChange {
  add: string[];
  remove: string[];
}

function grantees(list: CreateVolumePermission[] | undefined): string[] {
  const out: string[] = [];
  for (const p of list ?? []) {
    if (p.Group !== undefined && p.UserId !== undefined) throw Errors.invalidParameterCombination('Specify either a user id or a group, not both.');
    if (p.Group !== undefined) out.push(checkGroup(p.Group));
    else if (p.UserId !== undefined) out.push(checkUserId(p.UserId));
    else throw Errors.missingParameter('CreateVolumePermission.UserId');
  }
  return out;
}

function checkGroup(g: string): string {
  if (g !== 'all') throw Errors.invalidParameterValue(`Value (${g}) for parameter group is invalid. Expected: 'all'.`);
  return g;
}

function checkUserId(u: string): string {
  if (!ACCOUNT_ID.test(u)) throw new ApiError('InvalidUserID.Malformed', `User ID '${u}' is not valid`);
  return u;
}

function checkAttribute(a: string | undefined, allowed: string[]): string {
  if (a === undefined || a === '') throw Errors.missingParameter('Attribute');
  if (!allowed.includes(a)) throw Errors.invalidParameterValue(`Value (${a}) for parameter attribute is invalid. Expected: '${allowed.join("', '")}'.`);
  return a;
}

async function modifySnapshotAttribute(ctx: Ctx, input: ModifySnapshotAttributeRequest): Promise<Record<string, never>> {
  const id = checkSnapshotId(input.SnapshotId);
  const change: PermissionChange = { add: [], remove: [] };
  const structured = input.CreateVolumePermission;
  const flat = (input.UserIds?.length ?? 0) + (input.GroupNames?.length ?? 0) > 0;
  if (input.Attribute !== undefined) checkAttribute(input.Attribute, ['createVolumePermission', 'productCodes']);
  if (input.Attribute === 'productCodes') throw Errors.invalidParameterValue('The attribute productCodes cannot be modified.');
  if (structured && flat) {
    throw Errors.invalidParameterCombination('The parameters createVolumePermission and userId/userGroup cannot be used together.');
  }
  if (structured) {
    change.add = grantees(structured.Add);
    change.remove = grantees(structured.Remove);
  } else if (flat) {
    if (!input.OperationType) throw Errors.missingParameter('OperationType');
    if (input.OperationType !== 'add' && input.OperationType !== 'remove') {
      throw Errors.invalidParameterValue(`Value (${input.OperationType}) for parameter operationType is invalid. Expected: 'add', 'remove'.`);
    }
    const list = [...(input.UserIds ?? []).map(checkUserId), ...(input.GroupNames ?? []).map(checkGroup)];
    change[input.OperationType] = list;
  } else if (input.Attribute === undefined) {
    throw Errors.missingParameter('Attribute');
  } else {
    throw Errors.missingParameter('CreateVolumePermission');
  }
  const row = await findOwnSnapshot(ctx, id);
  if (row.encrypted === 1 && change.add.includes('all')) {
    throw new ApiError('UnsupportedOperation', "Encrypted snapshots can't be shared publicly. Specify another snapshot.");
  }
  // Every encrypted snapshot here is under its account's default key (there is no KMS to grant
  // another account a key): EC2 does not share those with other accounts either.
  if (row.encrypted === 1 && change.add.some((g) => g !== ctx.accountId)) {
    throw new ApiError('UnsupportedOperation', 'Snapshots encrypted with your default KMS key cannot be shared with other accounts.');
  }
  await addSnapshotPermissions(ctx.db, id, [...new Set(change.add)]);
  if (change.remove.length) await removeSnapshotPermissions(ctx.db, id, [...new Set(change.remove)]);
  return {};
}

async function describeSnapshotAttribute(ctx: Ctx, input: DescribeSnapshotAttributeRequest): Promise<DescribeSnapshotAttributeResult> {
  const attribute = checkAttribute(input.Attribute, ['createVolumePermission', 'productCodes']);
  const id = checkSnapshotId(input.SnapshotId);
  await findOwnSnapshot(ctx, id);
  if (attribute === 'productCodes') return { SnapshotId: id, ProductCodes: [] };
  const grantees = await snapshotGrantees(ctx.db, id);
  return {
    SnapshotId: id,
    CreateVolumePermissions: grantees.map((g) => (g === 'all' ? { Group: 'all' } : { UserId: g })),
  };
}

async function resetSnapshotAttribute(ctx: Ctx, input: ResetSnapshotAttributeRequest): Promise<Record<string, never>> {
  const attribute = checkAttribute(input.Attribute, ['createVolumePermission', 'productCodes']);
  const id = checkSnapshotId(input.SnapshotId);
  await findOwnSnapshot(ctx, id);
  if (attribute === 'productCodes') throw Errors.invalidParameterValue('The attribute productCodes cannot be reset.');
  await removeSnapshotPermissions(ctx.db, id);
  return {};
}

async function copySnapshot(ctx: Ctx, input: CopySnapshotRequest): Promise<CopySnapshotResult> {
  if (!input.SourceRegion) throw Errors.missingParameter('SourceRegion');
  const sourceId = checkSnapshotId(input.SourceSnapshotId, 'SourceSnapshotId');
  const known = (r: string) => ctx.config.regions.some((x) => x.name === r);
  if (!known(input.SourceRegion)) throw Errors.invalidParameterValue(`Invalid value '${input.SourceRegion}' for SourceRegion: the region does not exist.`);
  if (input.DestinationRegion !== undefined && input.DestinationRegion !== ctx.region) {
    if (!known(input.DestinationRegion)) throw Errors.invalidParameterValue(`Invalid value '${input.DestinationRegion}' for DestinationRegion: the region does not exist.`);
    throw Errors.invalidParameterValue(`DestinationRegion ${input.DestinationRegion} must be the region the request is sent to (${ctx.region}).`);
  }
  if (input.KmsKeyId !== undefined && !input.Encrypted) {
    throw Errors.invalidParameterCombination('The parameter KmsKeyId requires the parameter Encrypted to be set.');
  }
  if (input.DestinationOutpostArn || input.CompletionDurationMinutes !== undefined) {
    throw Errors.invalidParameterValue('Outposts and time-based copies are not supported.');
  }
  if (input.DestinationAvailabilityZone !== undefined) throw memberUnsupported('DestinationAvailabilityZone', 'it names a Local Zone, and cumulo has none');
  const description = input.Description !== undefined ? checkDescription(input.Description) : `[Copied ${sourceId} from ${input.SourceRegion}]`;
  const tags = tagsForType(input.TagSpecifications, ['snapshot'], 'snapshot');
  const source = await findVisibleSnapshot(ctx, input.SourceRegion, sourceId);
  if (source.state !== 'completed') {
    throw Errors.incorrectState(`Snapshot '${sourceId}' is not in the 'completed' state; it cannot be copied yet.`);
  }
  // Encrypting an unencrypted snapshot while copying it would re-encrypt every chunk on the host;
  // the block store copies chunks as they are.
  if (input.Encrypted === true && source.encrypted !== 1) {
    throw new ApiError('Unsupported', 'Encrypting a snapshot while copying it is not supported by cumulo yet: create an encrypted volume from it and snapshot that.');
  }
  const encrypted = source.encrypted === 1;
  const now = ctx.now.toISOString();
  const id = newId('snap');
  await insertSnapshots(ctx.db, [
    {
      id,
      account_id: ctx.accountId,
      region: ctx.region,
      volume_id: COPY_VOLUME_ID,
      volume_size: source.volume_size,
      state: 'pending',
      progress: 0,
      description,
      encrypted: encrypted ? 1 : 0,
      kms_key_id: encrypted ? (input.KmsKeyId ?? source.kms_key_id ?? null) : null,
      state_message: null,
      start_time: now,
      completion_time: null,
      parent_snapshot_id: null,
      source_region: input.SourceRegion,
      source_snapshot_id: sourceId,
      created_at: now,
    },
  ]);
  await putTags(ctx, 'snapshot', id, tags);
  await ctx.enqueue('snapshot.copy', id, {});
  const out: CopySnapshotResult = { SnapshotId: id };
  if (tags.length) out.Tags = tags;
  return out;
}

export const handlers = {
  CreateSnapshot: createSnapshot,
  CreateSnapshots: createSnapshots,
  DescribeSnapshots: describeSnapshots,
  DeleteSnapshot: deleteSnapshot,
  ModifySnapshotAttribute: modifySnapshotAttribute,
  DescribeSnapshotAttribute: describeSnapshotAttribute,
  ResetSnapshotAttribute: resetSnapshotAttribute,
  CopySnapshot: copySnapshot,
} satisfies Ec2Handlers;
