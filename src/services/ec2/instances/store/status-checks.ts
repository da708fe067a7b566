// The instance_status_checks and instance_metrics tables: the hosts' checks and samples of each instance.
import type { Tx } from '../../../../store/db.js';
import type { Row } from '../../../../store/schema.js';

/** The hosts' last status check of each of these instances. */
export async function instanceStatusChecks(db: Tx, instanceIds: string[]): Promise<Map<string, Row<'instance_status_checks'>>> {
  const out = new Map<string, Row<'instance_status_checks'>>();
  for (let k = 0; k < instanceIds.length; k += 500) {
    for (const c of await db
      .selectFrom('instance_status_checks')
      .selectAll()
      .where('instance_id', 'in', instanceIds.slice(k, k + 500))
      .execute())
      out.set(c.instance_id, c);
  }
  return out;
}

export type StatusCheckRow = Row<'instance_status_checks'>;

export async function statusChecksOf(db: Tx, instanceId: string): Promise<StatusCheckRow | undefined> {
  return db.selectFrom('instance_status_checks').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
}

/** The last checks of these instances (bounded IN lists). */
export async function statusChecksOfInstances(db: Tx, ids: string[]): Promise<StatusCheckRow[]> {
  const rows: StatusCheckRow[] = [];
  for (let k = 0; k < ids.length; k += 500)
    rows.push(
      ...(await db
        .selectFrom('instance_status_checks')
        .selectAll()
        .where('instance_id', 'in', ids.slice(k, k + 500))
        .execute()),
    );
  return rows;
}

export async function putStatusChecks(db: Tx, row: StatusCheckRow): Promise<void> {
  const { instance_id: _id, ...values } = row;
  await db
    .insertInto('instance_status_checks')
    .values(row)
    .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
    .execute();
}

export async function forgetStatusChecksOf(db: Tx, instanceId: string): Promise<void> {
  await db.deleteFrom('instance_status_checks').where('instance_id', '=', instanceId).execute();
}

/** Samples of the instances' metrics, then those older than `keepSince` go. */
export async function recordInstanceMetrics(db: Tx, rows: Row<'instance_metrics'>[], keepSince: string): Promise<void> {
  // 22 columns a row: well under SQLite's 32766 bound parameters per statement.
  for (let k = 0; k < rows.length; k += 1000)
    await db
      .insertInto('instance_metrics')
      .values(rows.slice(k, k + 1000))
      .execute();
  await db.deleteFrom('instance_metrics').where('at', '<', keepSince).execute();
}
