// The volume_status_checks table: the hosts' last check of each volume's backing.
import type { Row } from '../../../../store/schema.js';
import type { Tx } from '../../../../store/db.js';
import type { VolumeRow } from './volumes.js';

/** The volumes attached to these instances, with the hosts' last check of each (when there is one). */
export async function attachedVolumeChecks(
  db: Tx,
  instanceIds: string[],
): Promise<{ instance_id: string; volume_id: string; status: Row<'volume_status_checks'>['status'] | null; failed_since: string | null; checked_at: string | null }[]> {
  return db
    .selectFrom('volume_attachments')
    .leftJoin('volume_status_checks', 'volume_status_checks.volume_id', 'volume_attachments.volume_id')
    .select([
      'volume_attachments.instance_id',
      'volume_attachments.volume_id',
      'volume_status_checks.status',
      'volume_status_checks.failed_since',
      'volume_status_checks.checked_at',
    ])
    .where('volume_attachments.instance_id', 'in', instanceIds)
    .where('volume_attachments.state', '=', 'attached')
    .execute();
}

/** The hosts' last check of each of these volumes' backing. */
export async function volumeStatusChecks(db: Tx, volumeIds: string[]): Promise<Map<string, Row<'volume_status_checks'>>> {
  const out = new Map<string, Row<'volume_status_checks'>>();
  for (let k = 0; k < volumeIds.length; k += 500) {
    for (const c of await db
      .selectFrom('volume_status_checks')
      .selectAll()
      .where('volume_id', 'in', volumeIds.slice(k, k + 500))
      .execute())
      out.set(c.volume_id, c);
  }
  return out;
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
  await db
    .insertInto('volume_status_checks')
    .values(row)
    .onConflict((oc) => oc.column('volume_id').doUpdateSet(values))
    .execute();
}

export async function forgetVolumeStatusChecks(db: Tx, volumeIds: string[]): Promise<void> {
  for (let k = 0; k < volumeIds.length; k += 500)
    await db
      .deleteFrom('volume_status_checks')
      .where('volume_id', 'in', volumeIds.slice(k, k + 500))
      .execute();
}
