// Each instance's range of host uids and gids: its root is the first uid of its range, never the
// host's root, and no two instances ever share a range (the primary key and the unique instance).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('uid_ranges')
    .addColumn('slot', 'integer', (c) => c.primaryKey()) // range = [base + slot × size, … + size)
    .addColumn('instance_id', 'text', (c) => c.notNull().unique())
    .addColumn('allocated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('uid_ranges').execute();
}
