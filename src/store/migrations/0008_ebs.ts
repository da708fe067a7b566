// EBS beyond the root volume: snapshots (content-addressed and incremental on the host, see
// src/host/storage/blocks/), who may create volumes from them, volume modifications
// (ModifyVolume's history), and each account's data key for encrypted volumes and snapshots.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('snapshots')
    .addColumn('id', 'text', (c) => c.primaryKey()) // snap-…
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('volume_id', 'text', (c) => c.notNull()) // vol-ffffffff for copies, as EC2 shows
    .addColumn('volume_size', 'integer', (c) => c.notNull()) // GiB
    .addColumn('state', 'text', (c) => c.notNull()) // pending | completed | error
    .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0)) // 0..100
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('encrypted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('kms_key_id', 'text')
    .addColumn('state_message', 'text')
    .addColumn('start_time', 'text', (c) => c.notNull())
    .addColumn('completion_time', 'text')
    // The host's accounting (BlockStore): the volume's data and what this snapshot added.
    .addColumn('data_bytes', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('added_bytes', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('parent_snapshot_id', 'text') // the previous snapshot of the same volume it builds on
    .addColumn('source_region', 'text') // CopySnapshot
    .addColumn('source_snapshot_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('snapshots_account_idx').on('snapshots').columns(['account_id', 'region']).execute();
  await db.schema.createIndex('snapshots_volume_idx').on('snapshots').column('volume_id').execute();
  await db.schema
    .createTable('snapshot_permissions')
    .addColumn('snapshot_id', 'text', (c) => c.notNull())
    .addColumn('grantee', 'text', (c) => c.notNull()) // an account id, or 'all' (public)
    .addPrimaryKeyConstraint('snapshot_permissions_pk', ['snapshot_id', 'grantee'])
    .execute();
  await db.schema
    .createTable('volume_modifications')
    .addColumn('volume_id', 'text', (c) => c.notNull())
    .addColumn('start_time', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull()) // modifying | optimizing | completed | failed
    .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status_message', 'text')
    .addColumn('original', 'text', (c) => c.notNull()) // JSON {Size, VolumeType, Iops, Throughput, MultiAttachEnabled}
    .addColumn('target', 'text', (c) => c.notNull()) // the same shape
    .addColumn('end_time', 'text')
    .addPrimaryKeyConstraint('volume_modifications_pk', ['volume_id', 'start_time'])
    .execute();
  await db.schema
    .createTable('ebs_keys')
    .addColumn('account_id', 'text', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull()) // base64 of 32 random bytes: the account's data key on this host
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['ebs_keys', 'volume_modifications', 'snapshot_permissions', 'snapshots']) await db.schema.dropTable(t).execute();
}
