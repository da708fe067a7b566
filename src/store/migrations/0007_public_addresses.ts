// Public IPv4 addresses: one ledger of every address taken from the pool (CUMULO_PUBLIC_IPV4_POOL),
// elastic (AllocateAddress) or ephemeral (given to an instance at launch and start, released at
// stop). An address is unique across accounts and regions: the host routes it to one VPC.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('public_ips')
    .addColumn('public_ip', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull()) // elastic | ephemeral
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('allocation_id', 'text', (c) => c.unique()) // eipalloc-… (elastic only)
    .addColumn('association_id', 'text') // eipassoc-… (elastic, while associated)
    .addColumn('network_interface_id', 'text') // the interface it is mapped to, if any
    .addColumn('private_ip', 'text') // … and the private address on it
    .addColumn('network_border_group', 'text', (c) => c.notNull())
    .addColumn('public_ipv4_pool', 'text', (c) => c.notNull().defaultTo('amazon'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('public_ips_eni_idx').on('public_ips').column('network_interface_id').execute();
  await db.schema.createIndex('public_ips_account_idx').on('public_ips').columns(['account_id', 'region', 'kind']).execute();
  // The interface wants an ephemeral public IP whenever its instance runs (AssociatePublicIpAddress
  // or the subnet's MapPublicIpOnLaunch at launch).
  await db.schema
    .alterTable('network_interfaces')
    .addColumn('auto_public_ip', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('network_interfaces_vpc_idx').on('network_interfaces').columns(['vpc_id', 'private_ip']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('network_interfaces_vpc_idx').execute();
  await db.schema.alterTable('network_interfaces').dropColumn('auto_public_ip').execute();
  await db.schema.dropTable('public_ips').execute();
}
