// Where each public pool hands out its next address: allocation goes round the pool instead of
// always taking the lowest free address, so an instance that stops and starts gets a new public IP
// (as on EC2) rather than the one it just released.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('public_ip_pools')
    .addColumn('pool', 'text', (c) => c.primaryKey()) // the CIDR, as configured
    .addColumn('next_address', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('public_ip_pools').execute();
}
