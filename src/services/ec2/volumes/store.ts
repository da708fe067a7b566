// EBS volume rows: the volumes a launch creates from the image's and the request's block device
// mappings, and the Volume shape DescribeVolumes answers with.
import type { BlockDeviceMapping, EbsBlockDevice, Tag, Volume, VolumeAttachment, VolumeModification } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { zoneId } from '../../../config.js';
import type { NewRow, Row, RowUpdate } from '../../../store/schema.js';
import { insertJob } from '../../../store/jobs.js';
import { jsonColumn } from '../../../store/json-column.js';
import { deleteTagsOfAll } from '../tags/store.js';
import type { Tx } from '../../../store/db.js';

// For the handlers.

/** The volumes attached (or attaching) to an instance with their device, by device. */
export async function attachedVolumesByDevice(db: Tx, instanceId: string): Promise<(VolumeRow & { device: string })[]> {
  return db
    .selectFrom('volume_attachments')
    .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
    .selectAll('volumes')
    .select('volume_attachments.device')
    .where('volume_attachments.instance_id', '=', instanceId)
    .where('volume_attachments.state', 'in', ['attaching', 'attached'])
    .orderBy('volume_attachments.device')
    .execute();
}

/** The volumes attached to these instances, with the hosts' last check of each (when there is one). */
export async function attachedVolumeChecks(
  db: Tx,
  instanceIds: string[],
): Promise<{ instance_id: string; volume_id: string; status: Row<'volume_status_checks'>['status'] | null; failed_since: string | null; checked_at: string | null }[]> {
  return db
    .selectFrom('volume_attachments')
    .leftJoin('volume_status_checks', 'volume_status_checks.volume_id', 'volume_attachments.volume_id')
    .select(['volume_attachments.instance_id', 'volume_attachments.volume_id', 'volume_status_checks.status', 'volume_status_checks.failed_since', 'volume_status_checks.checked_at'])
    .where('volume_attachments.instance_id', 'in', instanceIds)
    .where('volume_attachments.state', '=', 'attached')
    .execute();
}

export async function attachmentsOfInstance(db: Tx, instanceId: string): Promise<AttachmentRow[]> {
  return db.selectFrom('volume_attachments').selectAll().where('instance_id', '=', instanceId).execute();
}

export async function setDeleteOnTermination(db: Tx, volumeId: string, instanceId: string, value: boolean): Promise<void> {
  await db
    .updateTable('volume_attachments')
    .set({ delete_on_termination: value ? 1 : 0 })
    .where('volume_id', '=', volumeId)
    .where('instance_id', '=', instanceId)
    .execute();
}

/** The volumes attached (or attaching) to an instance, with their device and DeleteOnTermination. */
export async function attachedVolumesOf(db: Tx, instanceId: string): Promise<(VolumeRow & Pick<AttachmentRow, 'device' | 'delete_on_termination'>)[]> {
  return db
    .selectFrom('volume_attachments')
    .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
    .selectAll('volumes')
    .select(['volume_attachments.device', 'volume_attachments.delete_on_termination'])
    .where('volume_attachments.instance_id', '=', instanceId)
    .where('volume_attachments.state', 'in', ['attaching', 'attached'])
    .execute();
}

/** The images.source of the image that launched the instance a volume is attached to, if any. */
export async function launchImageSourceOfVolume(db: Tx, volumeId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('volume_attachments')
    .innerJoin('instances', 'instances.id', 'volume_attachments.instance_id')
    .innerJoin('images', 'images.id', 'instances.image_id')
    .select('images.source')
    .where('volume_attachments.volume_id', '=', volumeId)
    .executeTakeFirst();
  return row?.source;
}

/** The snapshot a volume was created from (null when none), or undefined when there is no such volume. */
export async function volumeSourceSnapshot(db: Tx, volumeId: string): Promise<string | null | undefined> {
  const row = await db.selectFrom('volumes').select('snapshot_id').where('id', '=', volumeId).executeTakeFirst();
  return row ? row.snapshot_id : undefined;
}

/** The account's volumes in the region that are not deleted, all or those with these ids. */
export async function volumesOf(db: Tx, accountId: string, region: string, ids?: string[]): Promise<VolumeRow[]> {
  let q = db.selectFrom('volumes').selectAll().where('account_id', '=', accountId).where('region', '=', region).where('state', '!=', 'deleted');
  if (ids) q = q.where('id', 'in', ids);
  return q.execute();
}

/** The ids of the account's volumes in the region that are not deleted, all or those with these ids. */
export async function volumeIdsOf(db: Tx, accountId: string, region: string, ids?: string[]): Promise<string[]> {
  let q = db.selectFrom('volumes').select('id').where('account_id', '=', accountId).where('region', '=', region).where('state', '!=', 'deleted');
  if (ids) q = q.where('id', 'in', ids);
  return (await q.execute()).map((v) => v.id);
}

/** The account's volumes in the region that are neither deleting nor deleted: id, zone and state. */
export async function liveVolumesOf(db: Tx, accountId: string, region: string, ids?: string[]): Promise<Pick<VolumeRow, 'id' | 'availability_zone' | 'state'>[]> {
  let q = db
    .selectFrom('volumes')
    .select(['id', 'availability_zone', 'state'])
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('state', 'not in', ['deleted', 'deleting']);
  if (ids) q = q.where('id', 'in', ids);
  return q.execute();
}

/**
 * The attachments of these volumes (a few, by the attachment key alone: they are the account's
 * already), or without ids those of all the account's volumes in the region (one join).
 */
export async function attachmentsOfVolumes(db: Tx, accountId: string, region: string, volumeIds?: string[]): Promise<AttachmentRow[]> {
  if (volumeIds) return db.selectFrom('volume_attachments').selectAll().where('volume_id', 'in', volumeIds.length ? volumeIds : ['']).execute();
  return db
    .selectFrom('volume_attachments')
    .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
    .selectAll('volume_attachments')
    .where('volumes.account_id', '=', accountId)
    .where('volumes.region', '=', region)
    .execute();
}

/** The account's volume with this id unless it is deleted. */
export async function findVolume(db: Tx, accountId: string, region: string, id: string): Promise<VolumeRow | undefined> {
  return db.selectFrom('volumes').selectAll().where('id', '=', id).where('account_id', '=', accountId).where('region', '=', region).where('state', '!=', 'deleted').executeTakeFirst();
}

/** A volume known to exist. */
export async function volumeRow(db: Tx, id: string): Promise<VolumeRow> {
  return db.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export async function volumeExists(db: Tx, id: string): Promise<boolean> {
  return Boolean(await db.selectFrom('volumes').select('id').where('id', '=', id).executeTakeFirst());
}

export async function insertVolume(db: Tx, row: NewRow<'volumes'>): Promise<void> {
  await db.insertInto('volumes').values(row).execute();
}

export async function setVolumeState(db: Tx, id: string, state: string): Promise<void> {
  await db.updateTable('volumes').set({ state }).where('id', '=', id).execute();
}

export async function attachmentsOfVolume(db: Tx, volumeId: string): Promise<AttachmentRow[]> {
  return db.selectFrom('volume_attachments').selectAll().where('volume_id', '=', volumeId).execute();
}

/** The devices of the volumes attached to an instance. */
export async function attachedDevices(db: Tx, instanceId: string): Promise<string[]> {
  return (await db.selectFrom('volume_attachments').select('device').where('instance_id', '=', instanceId).execute()).map((a) => a.device);
}

export async function insertAttachment(db: Tx, row: NewRow<'volume_attachments'>): Promise<void> {
  await db.insertInto('volume_attachments').values(row).execute();
}

export async function setAttachmentState(db: Tx, volumeId: string, instanceId: string, state: string): Promise<void> {
  await db.updateTable('volume_attachments').set({ state }).where('volume_id', '=', volumeId).where('instance_id', '=', instanceId).execute();
}

/** The state of the volume's modification still under way (modifying or optimizing), if any. */
export async function activeModificationState(db: Tx, volumeId: string): Promise<string | undefined> {
  const row = await db.selectFrom('volume_modifications').select('state').where('volume_id', '=', volumeId).where('state', 'in', ['modifying', 'optimizing']).executeTakeFirst();
  return row?.state;
}

export async function insertModification(db: Tx, row: NewRow<'volume_modifications'>): Promise<void> {
  await db.insertInto('volume_modifications').values(row).execute();
}

/** Every modification of these volumes. */
export async function modificationsOf(db: Tx, volumeIds: string[]): Promise<ModificationRow[]> {
  return volumeIds.length ? db.selectFrom('volume_modifications').selectAll().where('volume_id', 'in', volumeIds).execute() : [];
}

/** The hosts' last check of each of these volumes' backing. */
export async function volumeStatusChecks(db: Tx, volumeIds: string[]): Promise<Map<string, Row<'volume_status_checks'>>> {
  const out = new Map<string, Row<'volume_status_checks'>>();
  for (let k = 0; k < volumeIds.length; k += 500) {
    for (const c of await db.selectFrom('volume_status_checks').selectAll().where('volume_id', 'in', volumeIds.slice(k, k + 500)).execute()) out.set(c.volume_id, c);
  }
  return out;
}

/** The account's wrapped EBS data key, if it has one. */
export async function ebsKeyOf(db: Tx, accountId: string): Promise<string | undefined> {
  return (await db.selectFrom('ebs_keys').select('key').where('account_id', '=', accountId).executeTakeFirst())?.key;
}

/** Stores the account's wrapped EBS data key unless another request stored one first. */
export async function insertEbsKeyIfAbsent(db: Tx, accountId: string, key: string, now: Date): Promise<void> {
  await db
    .insertInto('ebs_keys')
    .values({ account_id: accountId, key, created_at: now.toISOString() })
    .onConflict((oc) => oc.column('account_id').doNothing())
    .execute();
}

export type VolumeRow = Row<'volumes'>;
export type AttachmentRow = Row<'volume_attachments'>;

export const volumeTypes = ['standard', 'io1', 'io2', 'gp2', 'sc1', 'st1', 'gp3'] as const;

/** EC2's size bounds (GiB) per volume type. */
const sizeBounds: Record<string, [number, number]> = {
  standard: [1, 1024],
  gp2: [1, 16384],
  gp3: [1, 16384],
  io1: [4, 16384],
  io2: [4, 65536],
  st1: [125, 16384],
  sc1: [125, 16384],
};

/** Provisioned IOPS bounds for the types that take them. */
const iopsBounds: Record<string, [number, number]> = { gp3: [3000, 16000], io1: [100, 64000], io2: [100, 256000] };

/** One EBS volume a launch will create and attach. */
export interface VolumePlan {
  device: string;
  sizeGiB: number;
  volumeType: string;
  iops: number | null;
  throughput: number | null;
  snapshotId: string | null;
  encrypted: boolean;
  kmsKeyId: string | null;
  deleteOnTermination: boolean;
  root: boolean;
}

/** Instance store mappings (ephemeralN) are kept as given: they have no volume row. */
export interface BlockDevicePlan {
  volumes: VolumePlan[];
  ephemeral: { DeviceName: string; VirtualName: string }[];
}

const badMapping = (message: string) => new ApiError('InvalidBlockDeviceMapping', message);

/** '/dev/xvda' and 'xvda' name the same device. */
function deviceKey(name: string): string {
  return name.startsWith('/dev/') ? name.slice(5) : name;
}

function checkDeviceName(name: string | undefined): string {
  if (!name) throw Errors.missingParameter('BlockDeviceMapping.DeviceName');
  if (!/^(\/dev\/)?[a-z][a-z0-9]{1,15}$/.test(name)) throw badMapping(`Invalid device name ${name}`);
  return name;
}

/** Validates one EBS volume's type, size, IOPS and throughput together, as CreateVolume does. */
export function checkVolumeShape(type: string, sizeGiB: number, iops: number | undefined, throughput: number | undefined): void {
  if (!(volumeTypes as readonly string[]).includes(type)) {
    throw Errors.invalidParameterValue(`Value (${type}) for parameter volumeType is invalid. Expected: '${volumeTypes.join("', '")}'.`);
  }
  const [min, max] = sizeBounds[type]!;
  if (!Number.isInteger(sizeGiB) || sizeGiB < min) throw Errors.invalidParameterValue(`Volume of ${sizeGiB}GiB is too small; minimum is ${min}GiB.`);
  if (sizeGiB > max) throw Errors.invalidParameterValue(`Volume of ${sizeGiB}GiB is too large; maximum is ${max}GiB.`);
  const ib = iopsBounds[type];
  if (iops !== undefined) {
    if (!ib) throw Errors.invalidParameterCombination(`The parameter iops is not supported for ${type} volumes.`);
    if (iops < ib[0] || iops > ib[1]) throw Errors.invalidParameterValue(`Value (${iops}) for parameter iops is invalid. Expected a value between ${ib[0]} and ${ib[1]}.`);
  } else if (type === 'io1' || type === 'io2') {
    throw Errors.missingParameter('iops');
  }
  if (throughput !== undefined) {
    if (type !== 'gp3') throw Errors.invalidParameterCombination(`The parameter throughput is not supported for ${type} volumes.`);
    if (throughput < 125 || throughput > 1000) throw Errors.invalidParameterValue(`Value (${throughput}) for parameter throughput is invalid. Expected a value between 125 and 1000.`);
  }
}

/** gp3 defaults to 3000 IOPS and 125 MiB/s; gp2 has 3 IOPS per GiB between 100 and 16000. */
function effectiveIops(type: string, sizeGiB: number, iops: number | undefined): number | null {
  if (iops !== undefined) return iops;
  if (type === 'gp3') return 3000;
  if (type === 'gp2') return Math.min(16000, Math.max(100, 3 * sizeGiB));
  return null;
}

/**
 * The volumes and instance store devices of a launch: the image's mappings, overridden, extended
 * or suppressed (NoDevice) by the request's, root first.
 */
export function planBlockDevices(rootDeviceName: string, imageMappings: BlockDeviceMapping[], requested: BlockDeviceMapping[] | undefined): BlockDevicePlan {
  const byDevice = new Map<string, BlockDeviceMapping>();
  for (const m of imageMappings) if (m.DeviceName) byDevice.set(deviceKey(m.DeviceName), m);
  const imageSnapshots = new Map<string, number | undefined>();
  for (const m of imageMappings) if (m.Ebs?.SnapshotId) imageSnapshots.set(m.Ebs.SnapshotId, m.Ebs.VolumeSize);

  const seen = new Set<string>();
  const overrides = new Map<string, BlockDeviceMapping>();
  for (const m of requested ?? []) {
    const name = checkDeviceName(m.DeviceName);
    const key = deviceKey(name);
    if (seen.has(key)) throw badMapping(`The device '${name}' is used in more than one block-device mapping`);
    seen.add(key);
    const kinds = [m.Ebs !== undefined, m.VirtualName !== undefined, m.NoDevice !== undefined].filter(Boolean).length;
    if (kinds !== 1) throw badMapping(`Exactly one of Ebs, VirtualName or NoDevice must be given for device ${name}`);
    if (m.NoDevice !== undefined && key === deviceKey(rootDeviceName)) throw badMapping(`The root device ${name} cannot be suppressed`);
    if (m.VirtualName !== undefined && !/^ephemeral\d{1,2}$/.test(m.VirtualName)) {
      throw Errors.invalidParameterValue(`Invalid value '${m.VirtualName}' for VirtualName. Expected ephemeral0 to ephemeral23.`);
    }
    overrides.set(key, m);
  }

  const plan: BlockDevicePlan = { volumes: [], ephemeral: [] };
  const keys = [...new Set([...byDevice.keys(), ...overrides.keys()])];
  for (const key of keys) {
    const base = byDevice.get(key);
    const over = overrides.get(key);
    const m = over ?? base!;
    const device = base?.DeviceName ?? over!.DeviceName!;
    if (m.NoDevice !== undefined) continue;
    if (m.VirtualName !== undefined) {
      plan.ephemeral.push({ DeviceName: device, VirtualName: m.VirtualName });
      continue;
    }
    plan.volumes.push(volumeFor(device, key === deviceKey(rootDeviceName), base?.Ebs, over?.Ebs ?? (over ? {} : undefined), imageSnapshots));
  }
  plan.volumes.sort((a, b) => Number(b.root) - Number(a.root));
  return plan;
}

function volumeFor(
  device: string,
  root: boolean,
  base: EbsBlockDevice | undefined,
  over: EbsBlockDevice | undefined,
  imageSnapshots: Map<string, number | undefined>,
): VolumePlan {
  const e = { ...base, ...over };
  // A new device may name a snapshot; the only snapshots a launch can see are the image's own.
  const snapshotId = base?.SnapshotId ?? over?.SnapshotId;
  if (over?.SnapshotId && base?.SnapshotId && over.SnapshotId !== base.SnapshotId) {
    throw badMapping(`The snapshot of device ${device} is defined by the image and cannot be changed`);
  }
  if (snapshotId && !base?.SnapshotId && !imageSnapshots.has(snapshotId)) {
    throw new ApiError('InvalidSnapshot.NotFound', `The snapshot '${snapshotId}' does not exist.`);
  }
  const snapshotSize = snapshotId ? (base?.VolumeSize ?? imageSnapshots.get(snapshotId)) : undefined;
  const sizeGiB = over?.VolumeSize ?? base?.VolumeSize ?? snapshotSize;
  if (sizeGiB === undefined) throw badMapping(`The request must specify the volume size or a snapshot for device ${device}`);
  if (snapshotSize !== undefined && sizeGiB < snapshotSize) {
    throw badMapping(`Volume of size ${sizeGiB}GB is smaller than snapshot '${snapshotId}', expect size >= ${snapshotSize}GB`);
  }
  const volumeType = over?.VolumeType ?? base?.VolumeType ?? 'gp2';
  // An override of the type drops the image's IOPS and throughput unless given again.
  const typeChanged = over?.VolumeType !== undefined && over.VolumeType !== base?.VolumeType;
  const iops = over?.Iops ?? (typeChanged ? undefined : base?.Iops);
  const throughput = over?.Throughput ?? (typeChanged ? undefined : base?.Throughput);
  const keepIops = iopsBounds[volumeType] ? iops : undefined;
  const keepThroughput = volumeType === 'gp3' ? throughput : undefined;
  checkVolumeShape(volumeType, sizeGiB, over?.Iops ?? keepIops, over?.Throughput ?? keepThroughput);
  if (base?.Encrypted && over?.Encrypted === false) throw badMapping(`The volume of device ${device} comes from an encrypted snapshot and must be encrypted`);
  return {
    device,
    sizeGiB,
    volumeType,
    iops: effectiveIops(volumeType, sizeGiB, over?.Iops ?? keepIops),
    throughput: volumeType === 'gp3' ? (over?.Throughput ?? keepThroughput ?? 125) : null,
    snapshotId: snapshotId ?? null,
    encrypted: Boolean(e.Encrypted),
    kmsKeyId: e.Encrypted ? (e.KmsKeyId ?? null) : null,
    deleteOnTermination: e.DeleteOnTermination ?? true,
    root,
  };
}

/** The volume as DescribeVolumes shows it. */
export function toVolume(row: VolumeRow, attachments: AttachmentRow[], tags: Tag[] | undefined): Volume {
  const out: Volume = {
    Attachments: attachments.map((a) => toVolumeAttachment(a)),
    AvailabilityZone: row.availability_zone,
    AvailabilityZoneId: zoneId(row.availability_zone),
    CreateTime: new Date(row.created_at),
    Encrypted: row.encrypted === 1,
    Size: row.size_gib,
    SnapshotId: row.snapshot_id ?? '',
    State: row.state as Volume['State'],
    VolumeId: row.id,
    VolumeType: row.volume_type as Volume['VolumeType'],
    MultiAttachEnabled: row.multi_attach_enabled === 1,
    Tags: tags ?? [],
  };
  if (row.iops !== null) out.Iops = row.iops;
  if (row.throughput !== null) out.Throughput = row.throughput;
  if (row.kms_key_id) out.KmsKeyId = row.kms_key_id;
  return out;
}

export function toVolumeAttachment(a: AttachmentRow): VolumeAttachment {
  return {
    AttachTime: new Date(a.attach_time),
    Device: a.device,
    InstanceId: a.instance_id,
    State: a.state as VolumeAttachment['State'],
    VolumeId: a.volume_id,
    DeleteOnTermination: a.delete_on_termination === 1,
  };
}

/** The device names AttachVolume takes: /dev/sdf, /dev/xvdf, xvdba, /dev/sda1, … */
export function validAttachDevice(name: string): boolean {
  return /^(\/dev\/)?(sd|xvd|hd)[a-z]{1,2}[0-9]{0,2}$/.test(name);
}

/** '/dev/sdf' and 'sdf' name the same attachment point. */
export function attachPointKey(name: string): string {
  return deviceKey(name);
}

/** Volume types that take provisioned IOPS, and their bounds. */
export function iopsRange(type: string): [number, number] | undefined {
  return iopsBounds[type];
}

/** The attributes a modification starts from or goes to (volume_modifications.original / target). */
export interface VolumeShape {
  Size: number;
  VolumeType: string;
  Iops?: number;
  Throughput?: number;
  MultiAttachEnabled: boolean;
}

export function shapeOf(row: VolumeRow): VolumeShape {
  const s: VolumeShape = { Size: row.size_gib, VolumeType: row.volume_type, MultiAttachEnabled: row.multi_attach_enabled === 1 };
  if (row.iops !== null) s.Iops = row.iops;
  if (row.throughput !== null) s.Throughput = row.throughput;
  return s;
}

export type ModificationRow = Row<'volume_modifications'>;

export function toVolumeModification(m: ModificationRow): VolumeModification {
  const o = JSON.parse(m.original) as VolumeShape;
  const t = JSON.parse(m.target) as VolumeShape;
  const out: VolumeModification = {
    VolumeId: m.volume_id,
    ModificationState: m.state as VolumeModification['ModificationState'],
    TargetSize: t.Size,
    TargetVolumeType: t.VolumeType as VolumeModification['TargetVolumeType'],
    TargetMultiAttachEnabled: t.MultiAttachEnabled,
    OriginalSize: o.Size,
    OriginalVolumeType: o.VolumeType as VolumeModification['OriginalVolumeType'],
    OriginalMultiAttachEnabled: o.MultiAttachEnabled,
    Progress: m.progress,
    StartTime: new Date(m.start_time),
  };
  if (t.Iops !== undefined) out.TargetIops = t.Iops;
  if (t.Throughput !== undefined) out.TargetThroughput = t.Throughput;
  if (o.Iops !== undefined) out.OriginalIops = o.Iops;
  if (o.Throughput !== undefined) out.OriginalThroughput = o.Throughput;
  if (m.status_message) out.StatusMessage = m.status_message;
  if (m.end_time) out.EndTime = new Date(m.end_time);
  return out;
}

// For the controllers and the host.

/** volume_modifications.original and .target. */
export const volumeShapeColumn = jsonColumn<VolumeShape>();

/** A modification with its shapes decoded. */
export type Modification = Omit<ModificationRow, 'original' | 'target'> & { original: VolumeShape; target: VolumeShape };

export async function volumeById(db: Tx, id: string): Promise<VolumeRow | undefined> {
  return db.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function volumeStateOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('volumes').select('state').where('id', '=', id).executeTakeFirst())?.state;
}

/** Move these volumes from state `from` to `to` (those in another state stay). */
export async function moveVolumeState(db: Tx, ids: string | string[], from: string, to: string): Promise<void> {
  const list = typeof ids === 'string' ? [ids] : ids;
  if (!list.length) return;
  await db.updateTable('volumes').set({ state: to }).where('id', 'in', list).where('state', '=', from).execute();
}

/** The volume's row and tags go if it is still `deleting`; false when it was not. */
export async function deleteVolumeIfDeleting(db: Tx, id: string): Promise<boolean> {
  const res = await db.deleteFrom('volumes').where('id', '=', id).where('state', '=', 'deleting').executeTakeFirst();
  if (Number(res.numDeletedRows) !== 1) return false;
  await deleteTagsOfAll(db, [id]);
  return true;
}

export async function attachmentOf(db: Tx, volumeId: string, instanceId: string): Promise<AttachmentRow | undefined> {
  return db.selectFrom('volume_attachments').selectAll().where('volume_id', '=', volumeId).where('instance_id', '=', instanceId).executeTakeFirst();
}

/** Whether the volume is attached, or attaching, to the instance. */
export async function isAttachedTo(db: Tx, volumeId: string, instanceId: string): Promise<boolean> {
  const a = await db
    .selectFrom('volume_attachments')
    .select('state')
    .where('volume_id', '=', volumeId)
    .where('instance_id', '=', instanceId)
    .where('state', 'in', ['attaching', 'attached'])
    .executeTakeFirst();
  return a !== undefined;
}

export async function markAttachmentAttached(db: Tx, volumeId: string, instanceId: string): Promise<void> {
  await db
    .updateTable('volume_attachments')
    .set({ state: 'attached' })
    .where('volume_id', '=', volumeId)
    .where('instance_id', '=', instanceId)
    .where('state', '=', 'attaching')
    .execute();
}

/** The instance runs: the attachments on their way to it are attached. */
export async function markAttachmentsOfInstanceAttached(db: Tx, instanceId: string): Promise<void> {
  await db.updateTable('volume_attachments').set({ state: 'attached' }).where('instance_id', '=', instanceId).where('state', '=', 'attaching').execute();
}

/** The attachment goes if it is still in `state`; false when it was not. */
export async function deleteAttachmentIf(db: Tx, volumeId: string, instanceId: string, state: string): Promise<boolean> {
  const res = await db
    .deleteFrom('volume_attachments')
    .where('volume_id', '=', volumeId)
    .where('instance_id', '=', instanceId)
    .where('state', '=', state)
    .executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
}

/** An in-use volume no instance holds any more is available again. */
export async function freeVolumeIfUnattached(db: Tx, volumeId: string): Promise<void> {
  const left = await db.selectFrom('volume_attachments').select('instance_id').where('volume_id', '=', volumeId).executeTakeFirst();
  if (!left) await moveVolumeState(db, volumeId, 'in-use', 'available');
}

/** The volume attached at the instance's root device. */
export async function rootVolumeOf(db: Tx, instanceId: string, rootDevice: string) {
  return db
    .selectFrom('volume_attachments')
    .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
    .select(['volume_attachments.volume_id', 'volume_attachments.device', 'volumes.size_gib', 'volumes.snapshot_id'])
    .where('volume_attachments.instance_id', '=', instanceId)
    .where('volume_attachments.device', '=', rootDevice)
    .executeTakeFirst();
}

/** The data volumes attached to the instance (not those on their way out), by device. */
export async function attachedDataVolumes(db: Tx, instanceId: string, rootDevice: string) {
  return db
    .selectFrom('volume_attachments')
    .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
    .select(['volume_attachments.volume_id', 'volume_attachments.device', 'volumes.volume_type', 'volumes.size_gib', 'volumes.iops', 'volumes.throughput'])
    .where('volume_attachments.instance_id', '=', instanceId)
    .where('volume_attachments.device', '!=', rootDevice)
    .where('volume_attachments.state', 'in', ['attaching', 'attached'])
    .orderBy('volume_attachments.device')
    .execute();
}

/** Every volume attached to the instance but its root, whatever the attachment's state. */
export async function dataVolumesOf(db: Tx, instanceId: string, rootDevice: string) {
  return db
    .selectFrom('volume_attachments')
    .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
    .select(['volumes.id', 'volumes.account_id', 'volumes.region', 'volumes.size_gib', 'volumes.snapshot_id', 'volumes.encrypted'])
    .where('volume_attachments.instance_id', '=', instanceId)
    .where('volume_attachments.device', '!=', rootDevice)
    .execute();
}

/** The instances that run with the volume attached. */
export async function runningInstancesWithVolume(db: Tx, volumeId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('volume_attachments')
    .innerJoin('instances', 'instances.id', 'volume_attachments.instance_id')
    .select('instances.id')
    .where('volume_attachments.volume_id', '=', volumeId)
    .where('instances.state', '=', 'running')
    .execute();
  return rows.map((r) => r.id);
}

/**
 * An instance lets go of its volumes: its attachments go; the volumes marked DeleteOnTermination (all
 * when `allVolumes`) are deleted, their data queued to go from the host (volume.delete); the others
 * are available (unless another instance holds them) and the host's detach is queued (volume.detach
 * with `released`).
 */
export async function releaseVolumesOf(db: Tx, instanceId: string, allVolumes: boolean): Promise<void> {
  const attachments = await db.selectFrom('volume_attachments').selectAll().where('instance_id', '=', instanceId).execute();
  const doomed = attachments.filter((a) => allVolumes || a.delete_on_termination === 1).map((a) => a.volume_id);
  const kept = attachments.filter((a) => !doomed.includes(a.volume_id)).map((a) => a.volume_id);
  await db.deleteFrom('volume_attachments').where('instance_id', '=', instanceId).execute();
  if (doomed.length) {
    const rows = await db.selectFrom('volumes').select(['id', 'account_id', 'region']).where('id', 'in', doomed).execute();
    for (const v of rows) await insertJob(db, { kind: 'volume.delete', resourceId: v.id, accountId: v.account_id, region: v.region });
    await deleteTagsOfAll(db, doomed);
    await db.deleteFrom('volumes').where('id', 'in', doomed).execute();
  }
  if (kept.length) {
    // A Multi-Attach volume stays in use while another instance holds it.
    const still = new Set((await db.selectFrom('volume_attachments').select('volume_id').where('volume_id', 'in', kept).execute()).map((a) => a.volume_id));
    await moveVolumeState(db, kept.filter((id) => !still.has(id)), 'in-use', 'available');
    const rows = await db.selectFrom('volumes').select(['id', 'account_id', 'region']).where('id', 'in', kept).execute();
    for (const v of rows) await insertJob(db, { kind: 'volume.detach', resourceId: v.id, accountId: v.account_id, region: v.region, payload: { instanceId, released: true } });
  }
}

export async function modificationOf(db: Tx, volumeId: string, startTime: string): Promise<Modification | undefined> {
  const m = await db.selectFrom('volume_modifications').selectAll().where('volume_id', '=', volumeId).where('start_time', '=', startTime).executeTakeFirst();
  return m && { ...m, original: volumeShapeColumn.decode(m.original), target: volumeShapeColumn.decode(m.target) };
}

/** Move a modification on, if it is in state `from` (any state when undefined). */
export async function updateModification(
  db: Tx,
  volumeId: string,
  startTime: string,
  from: string | undefined,
  change: Pick<RowUpdate<'volume_modifications'>, 'state' | 'progress' | 'status_message' | 'end_time'>,
): Promise<void> {
  let q = db.updateTable('volume_modifications').set(change).where('volume_id', '=', volumeId).where('start_time', '=', startTime);
  if (from !== undefined) q = q.where('state', '=', from);
  await q.execute();
}

/** The volume takes the shape its modification asked for. */
export async function applyVolumeShape(db: Tx, id: string, shape: Pick<VolumeRow, 'size_gib' | 'volume_type' | 'iops' | 'throughput' | 'multi_attach_enabled'>): Promise<void> {
  await db.updateTable('volumes').set(shape).where('id', '=', id).execute();
}

/** The volumes whose data is on the host (available or in use), and the attached ones with their instance's state. */
export async function volumesToCheck(db: Tx): Promise<{ volumes: Pick<VolumeRow, 'id' | 'state'>[]; attached: { volume_id: string; state: string }[] }> {
  const volumes = await db.selectFrom('volumes').select(['id', 'state']).where('state', 'in', ['available', 'in-use']).execute();
  const attached = await db
    .selectFrom('volume_attachments')
    .innerJoin('instances', 'instances.id', 'volume_attachments.instance_id')
    .select(['volume_attachments.volume_id', 'instances.state'])
    .where('volume_attachments.state', '=', 'attached')
    .execute();
  return { volumes, attached };
}

export type VolumeStatusCheckRow = Row<'volume_status_checks'>;

export async function allVolumeStatusChecks(db: Tx): Promise<VolumeStatusCheckRow[]> {
  return db.selectFrom('volume_status_checks').selectAll().execute();
}

export async function putVolumeStatusCheck(db: Tx, row: VolumeStatusCheckRow): Promise<void> {
  const { volume_id: _id, ...values } = row;
  await db.insertInto('volume_status_checks').values(row).onConflict((oc) => oc.column('volume_id').doUpdateSet(values)).execute();
}

export async function forgetVolumeStatusChecks(db: Tx, volumeIds: string[]): Promise<void> {
  for (let k = 0; k < volumeIds.length; k += 500) await db.deleteFrom('volume_status_checks').where('volume_id', 'in', volumeIds.slice(k, k + 500)).execute();
}

/** The devices the instance's volumes are attached at. */
export async function attachmentDevicesOf(db: Tx, instanceId: string): Promise<{ device: string }[]> {
  return db.selectFrom('volume_attachments').select('device').where('instance_id', '=', instanceId).execute();
}
