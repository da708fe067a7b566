// Per-account overrides of EC2's service quotas (src/services/ec2/quotas/catalog.ts holds the
// defaults): one row per (account, region, quota), region '*' for every region of the account.
// A region's own row wins over the '*' row; with neither, the catalog's default applies.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('account_quotas')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull()) // a region name, or '*' for all of them
    .addColumn('quota_name', 'text', (c) => c.notNull()) // the catalog's name: 'vpcs', 'gp3-storage-tib', …
    .addColumn('value', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_quotas_pk', ['account_id', 'region', 'quota_name'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('account_quotas').execute();
}
