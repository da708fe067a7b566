// Samples of each running instance's counters, taken on its host (src/host/compute/runc/metrics.ts)
// every CUMULO_METRICS_INTERVAL_MS and kept for CUMULO_METRICS_RETENTION_MS: enough to answer
// CloudWatch-like queries (rates between samples) and to drive scaling later. Counters are doubles:
// exact to 2^53 on SQLite and PostgreSQL alike (PostgreSQL's integer would overflow at 2 GiB).
import type { Kysely } from 'kysely';

export const counterColumns = [
  'cpu_us',
  'memory_bytes',
  'memory_rss_bytes',
  'memory_limit_bytes',
  'oom_kills',
  'pids',
  'disk_read_bytes',
  'disk_write_bytes',
  'disk_read_ops',
  'disk_write_ops',
  'net_in_bytes',
  'net_out_bytes',
  'net_in_packets',
  'net_out_packets',
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  let t = db.schema
    .createTable('instance_metrics')
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull());
  for (const name of counterColumns) t = t.addColumn(name, 'double precision', (c) => c.notNull().defaultTo(0));
  await t.addPrimaryKeyConstraint('instance_metrics_pk', ['instance_id', 'at']).execute();
  // The retention sweep deletes by time across instances.
  await db.schema.createIndex('instance_metrics_at_idx').on('instance_metrics').column('at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('instance_metrics').execute();
}
