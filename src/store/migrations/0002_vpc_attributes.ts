// VPC and subnet attributes that 0001 had no columns for: what ModifyVpcAttribute and
// ModifySubnetAttribute can set beyond DNS support/hostnames and public IPs.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('vpcs')
    .addColumn('enable_network_address_usage_metrics', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('subnets')
    .addColumn('enable_dns64', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // EC2's PrivateDnsNameOptionsOnLaunch as JSON: {HostnameType, EnableResourceNameDnsARecord, EnableResourceNameDnsAAAARecord}
  await db.schema
    .alterTable('subnets')
    .addColumn('private_dns_name_options', 'text', (c) =>
      c.notNull().defaultTo('{"HostnameType":"ip-name","EnableResourceNameDnsARecord":false,"EnableResourceNameDnsAAAARecord":false}'),
    )
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subnets').dropColumn('private_dns_name_options').execute();
  await db.schema.alterTable('subnets').dropColumn('enable_dns64').execute();
  await db.schema.alterTable('vpcs').dropColumn('enable_network_address_usage_metrics').execute();
}
