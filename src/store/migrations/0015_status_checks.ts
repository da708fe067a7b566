// Status checks as the hosts observed them (issue 10: no more always-ok answers):
//
//   instance_status_checks  one row per instance: the last system and instance check of its
//                           current boot (a row of an earlier boot means "initializing"), and
//                           since when each has failed
//   volume_status_checks    one row per volume: the last check of its backing on the host
//   instance_metrics        + StatusCheckFailed, _System, _Instance (0 or 1; null: no check known),
//                           taken with each sample, for CloudWatch and Auto Scaling
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('instance_status_checks')
    .addColumn('instance_id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('boot', 'integer', (c) => c.notNull())
    .addColumn('system_status', 'text', (c) => c.notNull()) // passed | failed | insufficient-data
    .addColumn('system_failed_since', 'text')
    .addColumn('instance_status', 'text', (c) => c.notNull())
    .addColumn('instance_failed_since', 'text')
    .addColumn('checked_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('volume_status_checks')
    .addColumn('volume_id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull()) // passed | failed | insufficient-data
    .addColumn('failed_since', 'text')
    .addColumn('checked_at', 'text', (c) => c.notNull())
    .execute();
  for (const col of ['status_check_failed', 'status_check_failed_system', 'status_check_failed_instance']) {
    await db.schema.alterTable('instance_metrics').addColumn(col, 'double precision').execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const col of ['status_check_failed', 'status_check_failed_system', 'status_check_failed_instance']) {
    await db.schema.alterTable('instance_metrics').dropColumn(col).execute();
  }
  await db.schema.dropTable('volume_status_checks').execute();
  await db.schema.dropTable('instance_status_checks').execute();
}
