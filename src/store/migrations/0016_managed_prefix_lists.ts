// Customer-managed prefix lists (IPv4): named sets of CIDRs that security group rules and routes
// reference. Entries keep their history by version (added in, removed in), so
// GetManagedPrefixListEntries answers for any version the list has had.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('managed_prefix_lists')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('address_family', 'text', (c) => c.notNull())
    .addColumn('max_entries', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('managed_prefix_lists_owner').on('managed_prefix_lists').columns(['account_id', 'region']).execute();
  await db.schema
    .createTable('managed_prefix_list_entries')
    .addColumn('prefix_list_id', 'text', (c) => c.notNull())
    .addColumn('cidr', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('added_version', 'integer', (c) => c.notNull())
    // The version that removed it (null: still in the list).
    .addColumn('removed_version', 'integer')
    .execute();
  await db.schema.createIndex('managed_prefix_list_entries_list').on('managed_prefix_list_entries').columns(['prefix_list_id', 'cidr']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('managed_prefix_list_entries').execute();
  await db.schema.dropTable('managed_prefix_lists').execute();
}
