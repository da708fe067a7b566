// The volume_attachments table: which volumes are attached to which instances, at which device.
import type { NewRow, Row } from '../../../../store/schema.js';
import { insertJob } from '../../../../store/jobs.js';
import { deleteTagsOfAll } from '../../tags/store.js';
import type { Tx } from '../../../../store/db.js';
import { type VolumeRow, moveVolumeState } from './volumes.js';

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

/**
 * The attachments of these volumes (a few, by the attachment key alone: they are the account's
 * already), or without ids those of all the account's volumes in the region (one join).
 */
export async function attachmentsOfVolumes(db: Tx, accountId: string, region: string, volumeIds?: string[]): Promise<AttachmentRow[]> {
  if (volumeIds)
    return db
      .selectFrom('volume_attachments')
      .selectAll()
      .where('volume_id', 'in', volumeIds.length ? volumeIds : [''])
      .execute();
  return db
    .selectFrom('volume_attachments')
    .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
    .selectAll('volume_attachments')
    .where('volumes.account_id', '=', accountId)
    .where('volumes.region', '=', region)
    .execute();
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

export type AttachmentRow = Row<'volume_attachments'>;

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
  const res = await db.deleteFrom('volume_attachments').where('volume_id', '=', volumeId).where('instance_id', '=', instanceId).where('state', '=', state).executeTakeFirst();
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
    await moveVolumeState(
      db,
      kept.filter((id) => !still.has(id)),
      'in-use',
      'available',
    );
    const rows = await db.selectFrom('volumes').select(['id', 'account_id', 'region']).where('id', 'in', kept).execute();
    for (const v of rows) await insertJob(db, { kind: 'volume.detach', resourceId: v.id, accountId: v.account_id, region: v.region, payload: { instanceId, released: true } });
  }
}

/** The devices the instance's volumes are attached at. */
export async function attachmentDevicesOf(db: Tx, instanceId: string): Promise<{ device: string }[]> {
  return db.selectFrom('volume_attachments').select('device').where('instance_id', '=', instanceId).execute();
}
