// The volumes table (and the accounts' EBS data keys), and the Volume shape DescribeVolumes answers with.
import type { Tag, Volume, VolumeAttachment } from '@aws-sdk/client-ec2';
import { zoneId } from '../../../../config.js';
import type { NewRow, Row } from '../../../../store/schema.js';
import { deleteTagsOfAll } from '../../tags/store.js';
import type { Tx } from '../../../../store/db.js';
import type { AttachmentRow } from './attachments.js';

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

/** The account's volume with this id unless it is deleted. */
export async function findVolume(db: Tx, accountId: string, region: string, id: string): Promise<VolumeRow | undefined> {
  return db
    .selectFrom('volumes')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('state', '!=', 'deleted')
    .executeTakeFirst();
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
