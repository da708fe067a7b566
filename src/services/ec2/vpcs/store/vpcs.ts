// The VPCs' and subnets' repository, and the region's record of its default VPC.
import type { Tx } from '../../../../store/db.js';
import type { Row, RowUpdate } from '../../../../store/schema.js';

// For the handlers.

/** Every VPC of the account in the region. */
export async function vpcsOf(db: Tx, accountId: string, region: string): Promise<Row<'vpcs'>[]> {
  return db.selectFrom('vpcs').selectAll().where('account_id', '=', accountId).where('region', '=', region).execute();
}

export async function updateVpc(db: Tx, id: string, set: RowUpdate<'vpcs'>): Promise<void> {
  await db.updateTable('vpcs').set(set).where('id', '=', id).execute();
}

export async function deleteVpcRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('vpcs').where('id', '=', id).execute();
}

/** Whether region setup ran for the account in the region. */
export async function regionSetupDone(db: Tx, accountId: string, region: string): Promise<boolean> {
  return Boolean(await db.selectFrom('region_setup').select('account_id').where('account_id', '=', accountId).where('region', '=', region).executeTakeFirst());
}

/** Claims region setup: a concurrent setup of the same pair fails on the primary key. */
export async function claimRegionSetup(db: Tx, accountId: string, region: string, now: Date): Promise<void> {
  await db.insertInto('region_setup').values({ account_id: accountId, region, default_vpc_id: null, created_at: now.toISOString() }).execute();
}

/** Records the region's default VPC, whether or not setup ran before. */
export async function recordDefaultVpc(db: Tx, accountId: string, region: string, vpcId: string, now: Date): Promise<void> {
  await db
    .insertInto('region_setup')
    .values({ account_id: accountId, region, default_vpc_id: vpcId, created_at: now.toISOString() })
    .onConflict((oc) => oc.columns(['account_id', 'region']).doUpdateSet({ default_vpc_id: vpcId }))
    .execute();
}

/** Records the default VPC of a region whose setup was claimed. */
export async function setDefaultVpc(db: Tx, accountId: string, region: string, vpcId: string): Promise<void> {
  await db.updateTable('region_setup').set({ default_vpc_id: vpcId }).where('account_id', '=', accountId).where('region', '=', region).execute();
}

/** Forgets the region's default VPC if it is this one. */
export async function clearDefaultVpc(db: Tx, accountId: string, region: string, vpcId: string): Promise<void> {
  await db
    .updateTable('region_setup')
    .set({ default_vpc_id: null })
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('default_vpc_id', '=', vpcId)
    .execute();
}

/** Every subnet of the account in the region. */
export async function subnetsOf(db: Tx, accountId: string, region: string): Promise<Row<'subnets'>[]> {
  return db.selectFrom('subnets').selectAll().where('account_id', '=', accountId).where('region', '=', region).execute();
}

export async function subnetsOfVpc(db: Tx, vpcId: string): Promise<Row<'subnets'>[]> {
  return db.selectFrom('subnets').selectAll().where('vpc_id', '=', vpcId).execute();
}

export async function hasSubnet(db: Tx, vpcId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('subnets').select('id').where('vpc_id', '=', vpcId).executeTakeFirst());
}

export async function updateSubnet(db: Tx, id: string, set: RowUpdate<'subnets'>): Promise<void> {
  await db.updateTable('subnets').set(set).where('id', '=', id).execute();
}

/** A subnet and its route table and network ACL associations. */
export async function deleteSubnetRecords(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('route_table_associations').where('subnet_id', '=', id).execute();
  await db.deleteFrom('network_acl_associations').where('subnet_id', '=', id).execute();
  await db.deleteFrom('subnets').where('id', '=', id).execute();
}

/** The account's VPC with this id: its id and IPv6 blocks. */
export async function findVpcIpv6(db: Tx, accountId: string, region: string, id: string): Promise<Pick<Row<'vpcs'>, 'id' | 'ipv6_cidr_associations'> | undefined> {
  return db.selectFrom('vpcs').select(['id', 'ipv6_cidr_associations']).where('id', '=', id).where('account_id', '=', accountId).where('region', '=', region).executeTakeFirst();
}

/** The region's default VPC as region setup recorded it: null when it was deleted, undefined before setup. */
export async function recordedDefaultVpc(db: Tx, accountId: string, region: string): Promise<string | null | undefined> {
  const row = await db.selectFrom('region_setup').select('default_vpc_id').where('account_id', '=', accountId).where('region', '=', region).executeTakeFirst();
  return row ? row.default_vpc_id : undefined;
}
