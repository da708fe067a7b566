// EBS volumes: CreateVolume, DeleteVolume, AttachVolume, DetachVolume, ModifyVolume and their
// Describe calls. A change is written here with its job (src/controllers/volumes.ts does the host part):
//
//   CreateVolume   creating  → volume.create → available
//   DeleteVolume   deleting  → volume.delete → row gone
//   AttachVolume   attachment attaching (volume in-use) → volume.attach → attached
//   DetachVolume   attachment detaching → volume.detach → row gone (volume available when it was the last)
//   ModifyVolume   modification modifying → volume.modify → optimizing → completed
import type {
  AttachVolumeRequest,
  CreateVolumeRequest,
  DeleteVolumeRequest,
  DescribeVolumeAttributeRequest,
  DescribeVolumeAttributeResult,
  DescribeVolumeStatusRequest,
  DescribeVolumeStatusResult,
  DescribeVolumesModificationsRequest,
  DescribeVolumesModificationsResult,
  DescribeVolumesRequest,
  DescribeVolumesResult,
  DetachVolumeRequest,
  ModifyVolumeAttributeRequest,
  ModifyVolumeRequest,
  ModifyVolumeResult,
  Volume,
  VolumeAttachment,
  VolumeStatusItem,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { checkEbsCardIndex, initializationRateUnsupported, operatorUnsupported } from '../common/unsupported.js';
import { resolveZone } from '../common/zones.js';
import { idPattern, newId } from '../../../lib/ids.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { priorAnswer, rememberAnswer } from '../common/client-tokens.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { byKey, paginate } from '../common/pagination.js';
import { findInstanceType } from '../instance-types/catalog.js';
import { admitVolume } from '../quotas/check.js';
import { MAX_TAGS, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { volumeFilters, volumeModificationFilters, volumeStatusFilters } from './filters.js';
import { defaultEbsKmsKeyId, kmsKeyArn } from './keys.js';
import {
  attachPointKey,
  checkVolumeShape,
  iopsRange,
  shapeOf,
  toVolume,
  toVolumeAttachment,
  toVolumeModification,
  validAttachDevice,
  type AttachmentRow,
  type VolumeRow,
  type VolumeShape,
  activeModificationState,
  attachedDevices,
  attachmentsOfVolume,
  attachmentsOfVolumes,
  findVolume,
  insertAttachment,
  insertModification,
  insertVolume,
  liveVolumesOf,
  modificationsOf,
  setAttachmentState,
  setVolumeState,
  volumeExists,
  volumeIdsOf,
  volumeRow,
  volumesOf,
  volumeStatusChecks,
} from './store.js';
import { findInstanceForAttach, instanceRootDevice } from '../instances/store.js';
import { findSnapshotInRegion, snapshotSharedWith } from '../snapshots/store.js';

const VOLUME_ID = idPattern('vol');

export function volumesNotFound(ids: string[]) {
  return Errors.notFound('InvalidVolume.NotFound', ids.length === 1 ? `The volume '${ids[0]}' does not exist.` : `The volumes '${ids.join(', ')}' do not exist.`);
}

async function describeVolumes(ctx: Ctx, input: DescribeVolumesRequest): Promise<DescribeVolumesResult> {
  // IncludeManagedResources changes nothing here: no service manages resources in cumulo (Operator.Managed is always false).
  const ids = input.VolumeIds?.length ? [...new Set(input.VolumeIds)] : undefined;
  if (ids && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter volumeSet cannot be used with the parameter maxResults');
  }
  for (const id of ids ?? []) {
    if (!VOLUME_ID.test(id)) throw Errors.notFound('InvalidVolumeID.Malformed', `Invalid id: "${id}" (expecting "vol-...")`);
  }
  const tagsOfVolume = (v: { Tags?: { Key?: string; Value?: string }[] }) => v.Tags;
  validateFilters(input.Filters, volumeFilters, { tags: tagsOfVolume });
  const rows = await volumesOf(ctx.db, ctx.accountId, ctx.region, ids);
  if (ids) {
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw volumesNotFound(missing);
  }
  const few = rows.length <= 500 ? rows.map((r) => r.id) : undefined;
  // A few volumes: by the attachment key alone (they are the caller's already); many: one join.
  const [attachments, tags] = await Promise.all([attachmentsOfVolumes(ctx.db, ctx.accountId, ctx.region, few), tagsOf(ctx.db, ctx.accountId, ctx.region, 'volume', few)]);
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

// ---------------------------------------------------------------------------------------------
// Lookups

const INSTANCE_ID = idPattern('i');
/** EC2 allows Multi-Attach of one io1/io2 volume to up to 16 Nitro instances. */
const MAX_MULTI_ATTACH = 16;

function checkVolumeId(id: string | undefined, param = 'VolumeId'): string {
  if (!id) throw Errors.missingParameter(param);
  if (!VOLUME_ID.test(id)) throw Errors.notFound('InvalidVolumeID.Malformed', `Invalid id: "${id}" (expecting "vol-...")`);
  return id;
}

/** The caller's volume (deleted ones are gone). */
async function ownVolume(ctx: Ctx, id: string | undefined): Promise<VolumeRow> {
  const volumeId = checkVolumeId(id);
  const row = await findVolume(ctx.db, ctx.accountId, ctx.region, volumeId);
  if (!row) throw volumesNotFound([volumeId]);
  return row;
}

async function ownInstance(ctx: Ctx, id: string | undefined) {
  if (!id) throw Errors.missingParameter('InstanceId');
  if (!INSTANCE_ID.test(id)) throw Errors.notFound('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  const row = await findInstanceForAttach(ctx.db, ctx.accountId, ctx.region, id);
  if (!row || row.state === 'terminated') throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  return row;
}

async function attachmentsOf(ctx: Ctx, volumeId: string): Promise<AttachmentRow[]> {
  return attachmentsOfVolume(ctx.db, volumeId);
}

async function describeOne(ctx: Ctx, id: string): Promise<Volume> {
  const row = await volumeRow(ctx.db, id);
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'volume', [id]);
  return toVolume(row, await attachmentsOf(ctx, id), tags.get(id));
}

/** A completed snapshot of this region that the caller owns or that is shared with it (or public). */
async function usableSnapshot(ctx: Ctx, id: string) {
  if (!idPattern('snap').test(id)) throw Errors.notFound('InvalidSnapshotID.Malformed', `Invalid id: "${id}" (expecting "snap-...")`);
  const row = await findSnapshotInRegion(ctx.db, ctx.region, id);
  let visible = row?.account_id === ctx.accountId;
  if (row && !visible) visible = await snapshotSharedWith(ctx.db, id, ctx.accountId);
  if (!row || !visible) throw new ApiError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
  if (row.state !== 'completed') throw Errors.incorrectState(`Snapshot '${id}' is not 'completed'.`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// CreateVolume, DeleteVolume

async function createVolume(ctx: Ctx, input: CreateVolumeRequest): Promise<Volume> {
  const { token, prior } = await priorAnswer<{ VolumeId: string }>(ctx, 'CreateVolume', input);
  if (prior) {
    if (await volumeExists(ctx.db, prior.VolumeId)) return describeOne(ctx, prior.VolumeId);
  }
  const zone = resolveZone(ctx, { name: input.AvailabilityZone, id: input.AvailabilityZoneId });
  if (!zone) throw Errors.missingParameter('AvailabilityZone');
  if (input.VolumeInitializationRate !== undefined) throw initializationRateUnsupported();
  if (input.Operator) throw operatorUnsupported();
  const tags = tagsForType(input.TagSpecifications, ['volume'], 'volume');
  if (new Set(tags.map((t) => t.Key)).size > MAX_TAGS) throw new ApiError('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');

  const snapshot = input.SnapshotId ? await usableSnapshot(ctx, input.SnapshotId) : undefined;
  if (input.Size === undefined && !snapshot) throw Errors.missingParameter('size or snapshotId');
  const size = input.Size ?? snapshot!.volume_size;
  if (snapshot && size < snapshot.volume_size) {
    throw Errors.invalidParameterValue(`Volume of size ${size}GB is smaller than snapshot '${snapshot.id}', expect size >= ${snapshot.volume_size}GB`);
  }
  const type = input.VolumeType ?? 'gp2';
  checkVolumeShape(type, size, input.Iops, input.Throughput);
  if (input.MultiAttachEnabled && type !== 'io1' && type !== 'io2') {
    throw Errors.invalidParameterCombination(`Multi-Attach is supported only for io1 and io2 volumes, not ${type}.`);
  }
  // A volume from an encrypted snapshot is encrypted; an unencrypted one may be encrypted on the way.
  if (snapshot?.encrypted === 1 && input.Encrypted === false) {
    throw Errors.invalidParameterValue(`Snapshot '${snapshot.id}' is encrypted: a volume created from it must be encrypted.`);
  }
  const encrypted = input.Encrypted === true || snapshot?.encrypted === 1;
  if (input.KmsKeyId !== undefined && !input.Encrypted) {
    throw new ApiError('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
  }
  let kms: string | null = null;
  if (encrypted) {
    if (input.KmsKeyId !== undefined) {
      const arn = kmsKeyArn(input.KmsKeyId, ctx.accountId, ctx.region);
      if (!arn) throw Errors.invalidParameterValue(`Invalid KMS key id: ${input.KmsKeyId}`);
      kms = arn;
    } else {
      kms = snapshot?.kms_key_id ?? defaultEbsKmsKeyId(ctx.accountId, ctx.region);
    }
  }
  const iops = input.Iops ?? (type === 'gp3' ? 3000 : type === 'gp2' ? Math.min(16000, Math.max(100, 3 * size)) : null);
  await admitVolume(ctx, { volumeType: type, sizeGiB: size, iops });
  const id = newId('vol');
  await insertVolume(ctx.db, {
    id,
    account_id: ctx.accountId,
    region: ctx.region,
    availability_zone: zone,
    size_gib: size,
    volume_type: type,
    iops,
    throughput: type === 'gp3' ? (input.Throughput ?? 125) : null,
    snapshot_id: snapshot?.id ?? null,
    encrypted: encrypted ? 1 : 0,
    kms_key_id: kms,
    multi_attach_enabled: input.MultiAttachEnabled ? 1 : 0,
    state: 'creating',
    created_at: ctx.now.toISOString(),
  });
  await putTags(ctx, 'volume', id, tags);
  await ctx.enqueue('volume.create', id);
  await rememberAnswer(ctx, 'CreateVolume', token, { VolumeId: id });
  return describeOne(ctx, id);
}

async function deleteVolume(ctx: Ctx, input: DeleteVolumeRequest): Promise<Record<string, never>> {
  const row = await ownVolume(ctx, input.VolumeId);
  const attached = await attachmentsOf(ctx, row.id);
  if (attached.length || row.state === 'in-use') {
    throw new ApiError('VolumeInUse', `Volume ${row.id} is currently attached to ${attached[0]?.instance_id ?? 'an instance'}`);
  }
  if (row.state === 'deleting') return {};
  if (row.state !== 'available' && row.state !== 'error') throw Errors.incorrectState(`The volume '${row.id}' is '${row.state}'.`);
  await setVolumeState(ctx.db, row.id, 'deleting');
  await ctx.enqueue('volume.delete', row.id);
  return {};
}

// ---------------------------------------------------------------------------------------------
// AttachVolume, DetachVolume

async function attachVolume(ctx: Ctx, input: AttachVolumeRequest): Promise<VolumeAttachment> {
  const device = input.Device;
  if (!device) throw Errors.missingParameter('Device');
  checkEbsCardIndex(input.EbsCardIndex);
  const volume = await ownVolume(ctx, input.VolumeId);
  const instance = await ownInstance(ctx, input.InstanceId);
  if (!validAttachDevice(device)) throw Errors.invalidParameterValue(`Value (${device}) for parameter device is invalid. ${device} is not a valid EBS device name.`);
  if (volume.availability_zone !== instance.availability_zone) {
    throw new ApiError('InvalidVolume.ZoneMismatch', `The volume '${volume.id}' is not in the same availability zone as instance '${instance.id}'`);
  }
  if (instance.state !== 'running' && instance.state !== 'stopped') throw Errors.incorrectState(`Instance '${instance.id}' is not 'running'.`);
  const attached = await attachmentsOf(ctx, volume.id);
  if (volume.state === 'in-use' || attached.length) {
    const multi = volume.multi_attach_enabled === 1 && (volume.volume_type === 'io1' || volume.volume_type === 'io2');
    if (!multi || attached.some((a) => a.instance_id === instance.id)) throw new ApiError('VolumeInUse', `${volume.id} is already attached to an instance`);
    if (attached.length >= MAX_MULTI_ATTACH) {
      throw new ApiError('VolumeInUse', `${volume.id} is already attached to ${MAX_MULTI_ATTACH} instances, the most a Multi-Attach volume can be`);
    }
    if (findInstanceType(instance.instance_type)?.Hypervisor !== 'nitro') {
      throw Errors.invalidParameterCombination(`Multi-Attach volumes can only be attached to instances built on the Nitro System; ${instance.instance_type} is not.`);
    }
  } else if (volume.state !== 'available') {
    throw Errors.incorrectState(`${volume.id} is not 'available'.`);
  }
  const onInstance = await attachedDevices(ctx.db, instance.id);
  const taken = [...onInstance, instance.root_device_name].some((d) => attachPointKey(d) === attachPointKey(device));
  if (taken) throw Errors.invalidParameterValue(`Attachment point ${device} is already in use`);
  const row: AttachmentRow = {
    volume_id: volume.id,
    instance_id: instance.id,
    device,
    state: 'attaching',
    delete_on_termination: 0,
    attach_time: ctx.now.toISOString(),
  };
  await insertAttachment(ctx.db, row);
  await setVolumeState(ctx.db, volume.id, 'in-use');
  await ctx.enqueue('volume.attach', volume.id, { instanceId: instance.id });
  return toVolumeAttachment(row);
}

async function detachVolume(ctx: Ctx, input: DetachVolumeRequest): Promise<VolumeAttachment> {
  const volume = await ownVolume(ctx, input.VolumeId);
  const attached = await attachmentsOf(ctx, volume.id);
  if (!attached.length) throw Errors.incorrectState(`Volume '${volume.id}' is in the '${volume.state}' state.`);
  if (input.InstanceId !== undefined && !INSTANCE_ID.test(input.InstanceId)) throw Errors.notFound('InvalidInstanceID.Malformed', `Invalid id: "${input.InstanceId}"`);
  let a: AttachmentRow | undefined;
  if (input.InstanceId !== undefined) {
    a = attached.find((x) => x.instance_id === input.InstanceId);
    if (!a) throw new ApiError('InvalidAttachment.NotFound', `The volume '${volume.id}' is not attached to instance '${input.InstanceId}'`);
  } else {
    if (attached.length > 1) throw Errors.missingParameter('InstanceId');
    a = attached[0]!;
  }
  if (input.Device !== undefined && attachPointKey(input.Device) !== attachPointKey(a.device)) {
    throw new ApiError('InvalidAttachment.NotFound', `The volume '${volume.id}' is not attached at ${input.Device} of instance '${a.instance_id}'`);
  }
  if (a.state === 'detaching') throw Errors.incorrectState(`Volume '${volume.id}' is already detaching from instance '${a.instance_id}'.`);
  const instance = await instanceRootDevice(ctx.db, a.instance_id);
  // A root volume leaves only a stopped instance (Force does not change that).
  if (instance && attachPointKey(instance.root_device_name) === attachPointKey(a.device) && instance.state !== 'stopped') {
    throw Errors.incorrectState(`Unable to detach root volume '${volume.id}' from instance '${a.instance_id}'`);
  }
  await setAttachmentState(ctx.db, volume.id, a.instance_id, 'detaching');
  await ctx.enqueue('volume.detach', volume.id, { instanceId: a.instance_id, force: Boolean(input.Force) });
  return toVolumeAttachment({ ...a, state: 'detaching' });
}

// ---------------------------------------------------------------------------------------------
// ModifyVolume and the modifications

async function modifyVolume(ctx: Ctx, input: ModifyVolumeRequest): Promise<ModifyVolumeResult> {
  const volume = await ownVolume(ctx, input.VolumeId);
  if (volume.state !== 'available' && volume.state !== 'in-use') throw Errors.incorrectState(`The volume '${volume.id}' is '${volume.state}'.`);
  const busy = await activeModificationState(ctx.db, volume.id);
  if (busy) throw new ApiError('IncorrectModificationState', `Cannot modify volume ${volume.id}: a modification is in the '${busy}' state.`);
  if (volume.volume_type === 'standard') throw Errors.invalidParameterValue(`Volume ${volume.id} is a magnetic (standard) volume: it cannot be modified.`);

  const original = shapeOf(volume);
  const type = input.VolumeType ?? volume.volume_type;
  const size = input.Size ?? volume.size_gib;
  if (size < volume.size_gib) throw Errors.invalidParameterValue('New size cannot be smaller than existing size');
  if (type === 'standard') throw Errors.invalidParameterValue('Volumes cannot be modified to the standard (magnetic) type.');
  const typeChanged = type !== volume.volume_type;
  // IOPS: kept for the same type, 3,000 by default when becoming io1, io2 or gp3; gp2 follows its size.
  let iops: number | undefined;
  if (iopsRange(type)) iops = input.Iops ?? (typeChanged ? 3000 : (volume.iops ?? 3000));
  else if (input.Iops !== undefined) throw Errors.invalidParameterCombination(`The parameter iops is not supported for ${type} volumes.`);
  let throughput: number | undefined;
  if (type === 'gp3') throughput = input.Throughput ?? (typeChanged ? 125 : (volume.throughput ?? 125));
  else if (input.Throughput !== undefined) throw Errors.invalidParameterCombination(`The parameter throughput is not supported for ${type} volumes.`);
  checkVolumeShape(type, size, iops, throughput);
  const multi = input.MultiAttachEnabled ?? volume.multi_attach_enabled === 1;
  if (multi && type !== 'io1' && type !== 'io2') throw Errors.invalidParameterCombination(`Multi-Attach is supported only for io1 and io2 volumes, not ${type}.`);
  if (input.MultiAttachEnabled === false && volume.multi_attach_enabled === 1) {
    const n = (await attachmentsOf(ctx, volume.id)).length;
    if (n > 1) throw Errors.incorrectState(`Multi-Attach cannot be disabled while ${volume.id} is attached to ${n} instances.`);
  }
  const target: VolumeShape = { Size: size, VolumeType: type, MultiAttachEnabled: multi };
  if (type === 'gp2') target.Iops = Math.min(16000, Math.max(100, 3 * size));
  else if (iops !== undefined) target.Iops = iops;
  if (throughput !== undefined) target.Throughput = throughput;
  const same =
    target.Size === original.Size &&
    target.VolumeType === original.VolumeType &&
    target.Iops === original.Iops &&
    target.Throughput === original.Throughput &&
    target.MultiAttachEnabled === original.MultiAttachEnabled;
  if (same) throw Errors.invalidParameterValue(`The modification request for ${volume.id} does not change any of its attributes.`);
  // The quotas count the volume as the modification will leave it.
  await admitVolume(ctx, { volumeType: type, sizeGiB: size, iops: target.Iops ?? null }, volume.id);
  const start = ctx.now.toISOString();
  const row = {
    volume_id: volume.id,
    start_time: start,
    state: 'modifying',
    progress: 0,
    status_message: null,
    original: JSON.stringify(original),
    target: JSON.stringify(target),
    end_time: null,
  };
  await insertModification(ctx.db, row);
  await ctx.enqueue('volume.modify', volume.id, { startTime: start });
  return { VolumeModification: toVolumeModification(row) };
}

async function describeVolumesModifications(ctx: Ctx, input: DescribeVolumesModificationsRequest): Promise<DescribeVolumesModificationsResult> {
  // IncludeManagedResources changes nothing here: no service manages resources in cumulo (Operator.Managed is always false).
  const ids = input.VolumeIds?.length ? [...new Set(input.VolumeIds)] : undefined;
  for (const id of ids ?? []) checkVolumeId(id);
  validateFilters(input.Filters, volumeModificationFilters);
  const volumes = await volumeIdsOf(ctx.db, ctx.accountId, ctx.region, ids);
  if (ids) {
    const found = new Set(volumes);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw volumesNotFound(missing);
  }
  const rows = await modificationsOf(ctx.db, volumes);
  // The latest modification of each volume, as EC2 reports it.
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    const have = latest.get(r.volume_id);
    if (!have || have.start_time < r.start_time) latest.set(r.volume_id, r);
  }
  const all = [...latest.values()].map(toVolumeModification);
  const matched = applyFilters(all, input.Filters, volumeModificationFilters).sort(byKey((m) => m.VolumeId!));
  const page = paginate(matched, (m) => m.VolumeId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 500 });
  return { VolumesModifications: page.items, NextToken: page.nextToken };
}

/**
 * A volume's status: a volume whose creation failed (error) or whose backing the host found broken
 * is impaired with io-enabled failed (an ImpairedSince event for the latter); creating, or not
 * checked yet (or too long ago), is insufficient-data; a backing found whole is ok.
 */
export function volumeStatusOf(
  r: { id: string; availability_zone: string; state: string },
  check: { status: string; failed_since: string | null; checked_at: string } | undefined,
  now = Date.now(),
): VolumeStatusItem {
  const item = (status: 'ok' | 'impaired' | 'insufficient-data', io: 'passed' | 'failed' | 'insufficient-data', events: VolumeStatusItem['Events'] = []): VolumeStatusItem => ({
    VolumeId: r.id,
    AvailabilityZone: r.availability_zone,
    VolumeStatus: {
      Status: status,
      Details: [
        { Name: 'io-enabled', Status: io },
        { Name: 'io-performance', Status: 'not-applicable' },
      ],
    },
    Actions: [],
    Events: events,
  });
  if (r.state === 'error') return item('impaired', 'failed');
  if (r.state === 'creating' || !check || now - Date.parse(check.checked_at) > volumeCheckStaleMs()) return item('insufficient-data', 'insufficient-data');
  if (check.status === 'failed') {
    const since = check.failed_since ? new Date(check.failed_since) : undefined;
    return item('impaired', 'failed', [
      {
        EventType: 'potential-data-inconsistency',
        Description: "The volume's data on its host is missing or no longer served: I/O to it fails.",
        NotBefore: since,
        EventId: `evol-${r.id.slice(4)}`,
      },
    ]);
  }
  return item(check.status === 'passed' ? 'ok' : 'insufficient-data', check.status === 'passed' ? 'passed' : 'insufficient-data');
}

/** A check older than ten polls (5 minutes by default) says nothing of the volume now. */
function volumeCheckStaleMs(): number {
  return 10 * (Number(process.env.CUMULO_INSTANCE_POLL_MS) || 30_000);
}

async function describeVolumeStatus(ctx: Ctx, input: DescribeVolumeStatusRequest): Promise<DescribeVolumeStatusResult> {
  // IncludeManagedResources changes nothing here: no service manages resources in cumulo (Operator.Managed is always false).
  const ids = input.VolumeIds?.length ? [...new Set(input.VolumeIds)] : undefined;
  for (const id of ids ?? []) checkVolumeId(id);
  validateFilters(input.Filters, volumeStatusFilters);
  const rows = await liveVolumesOf(ctx.db, ctx.accountId, ctx.region, ids);
  if (ids) {
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw volumesNotFound(missing);
  }
  // The hosts' last check of each volume's backing (controllers/status-checks.ts), never the host itself.
  const live = rows.filter((r) => r.state === 'available' || r.state === 'in-use').map((r) => r.id);
  const checks = await volumeStatusChecks(ctx.db, live);
  const items: VolumeStatusItem[] = rows.map((r) => volumeStatusOf(r, checks.get(r.id)));
  const matched = applyFilters(items, input.Filters, volumeStatusFilters).sort(byKey((v) => v.VolumeId!));
  const page = paginate(matched, (v) => v.VolumeId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { VolumeStatuses: page.items, NextToken: page.nextToken };
}

// ---------------------------------------------------------------------------------------------
// Attributes

async function describeVolumeAttribute(ctx: Ctx, input: DescribeVolumeAttributeRequest): Promise<DescribeVolumeAttributeResult> {
  if (!input.Attribute) throw Errors.missingParameter('Attribute');
  const volume = await ownVolume(ctx, input.VolumeId);
  if (input.Attribute === 'autoEnableIO') return { VolumeId: volume.id, AutoEnableIO: { Value: false } };
  if (input.Attribute === 'productCodes') return { VolumeId: volume.id, ProductCodes: [] };
  throw Errors.invalidParameterValue(`Value (${input.Attribute}) for parameter attribute is invalid. Expected: 'autoEnableIO', 'productCodes'.`);
}

/**
 * AutoEnableIO matters only for a volume whose I/O was disabled after a failed consistency check,
 * which never happens here: I/O is always enabled, so the attribute stays false (not stored).
 */
async function modifyVolumeAttribute(ctx: Ctx, input: ModifyVolumeAttributeRequest): Promise<Record<string, never>> {
  await ownVolume(ctx, input.VolumeId);
  if (input.AutoEnableIO?.Value === undefined) throw Errors.missingParameter('AutoEnableIO');
  return {};
}

export const handlers = {
  DescribeVolumes: describeVolumes,
  CreateVolume: createVolume,
  DeleteVolume: deleteVolume,
  AttachVolume: attachVolume,
  DetachVolume: detachVolume,
  ModifyVolume: modifyVolume,
  DescribeVolumesModifications: describeVolumesModifications,
  DescribeVolumeStatus: describeVolumeStatus,
  DescribeVolumeAttribute: describeVolumeAttribute,
  ModifyVolumeAttribute: modifyVolumeAttribute,
} satisfies Ec2Handlers;
