// The VPCs' repository (and subnets' row updates), the region's record of its default VPC, VPC
// shapes, the default DHCP options, the per-account IPv6 pool, and the records every new VPC gets:
// its main route table, default network ACL and default group.
import type { Tx } from '../../../../store/db.js';
import type { Row, RowUpdate, NewRow } from '../../../../store/schema.js';
import { createHash } from 'node:crypto';
import type { DhcpOptions, Tag, Vpc, VpcCidrBlockAssociation, VpcIpv6CidrBlockAssociation } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../../errors.js';
import { formatCidr } from '../../../../lib/cidr.js';
import { newId } from '../../../../lib/ids.js';
import type { Ctx } from '../../../context.js';
import { createDefaultSecurityGroup } from '../../security-groups/store.js';
import { findOwned } from '../../common/resources.js';
import { type CidrAssociation, cidrAssociationsColumn, cidrAssociationsOf, parseJson, vpcIpv6AssociationsOf } from './columns.js';
import { createNetworkAclRecords } from './network-acls.js';
import { createRouteTableRecords } from './route-tables.js';
import { bool, notFound } from './shared.js';

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
  await db.updateTable('region_setup').set({ default_vpc_id: null }).where('account_id', '=', accountId).where('region', '=', region).where('default_vpc_id', '=', vpcId).execute();
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

export type VpcRow = Row<'vpcs'>;

export function toVpc(row: VpcRow, tags: Tag[] | undefined): Vpc {
  return {
    OwnerId: row.account_id,
    InstanceTenancy: row.instance_tenancy as Vpc['InstanceTenancy'],
    Ipv6CidrBlockAssociationSet: vpcIpv6AssociationsOf(row),
    CidrBlockAssociationSet: cidrAssociationsOf(row) as VpcCidrBlockAssociation[],
    IsDefault: bool(row.is_default),
    Tags: tags ?? [],
    BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
    VpcId: row.id,
    State: row.state as Vpc['State'],
    CidrBlock: row.cidr_block,
    DhcpOptionsId: row.dhcp_options_id,
  };
}

export function dhcpOptionsIdFor(accountId: string, region: string): string {
  return 'dopt-' + createHash('sha256').update(`${accountId}\u0000${region}\u0000dhcp-options`).digest('hex').slice(0, 17);
}

export function defaultDhcpOptions(accountId: string, region: string): DhcpOptions {
  return {
    DhcpConfigurations: [
      { Key: 'domain-name', Values: [{ Value: region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal` }] },
      { Key: 'domain-name-servers', Values: [{ Value: 'AmazonProvidedDNS' }] },
    ],
    DhcpOptionsId: dhcpOptionsIdFor(accountId, region),
    OwnerId: accountId,
    Tags: [],
  };
}

export async function findVpc(ctx: Ctx, vpcId: string): Promise<VpcRow | undefined> {
  return findOwned(ctx, 'vpcs', vpcId);
}

/** The VPC, or InvalidVpcID.NotFound. */
export async function getVpc(ctx: Ctx, vpcId: string): Promise<VpcRow> {
  if (!vpcId) throw Errors.missingParameter('VpcId');
  const row = await findVpc(ctx, vpcId);
  if (!row) throw notFound.vpc(vpcId);
  return row;
}

export async function getDefaultVpc(ctx: Ctx): Promise<VpcRow | undefined> {
  return ctx.db
    .selectFrom('vpcs')
    .selectAll()
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .where('is_default', '=', 1)
    .orderBy('created_at')
    .executeTakeFirst();
}

/** The account's /48 in fd00::/8, from a hash of its id (RFC 4193's "global ID", made stable). */
export function ipv6PoolOf(accountId: string): bigint {
  const h = createHash('sha256').update(`cumulo-ipv6\u0000${accountId}`).digest();
  let global = 0n;
  for (let i = 0; i < 5; i++) global = (global << 8n) | BigInt(h[i]!);
  return ((0xfdn << 40n) | global) << 80n;
}

/** The index-th /56 of the account's pool ('fdxx:xxxx:xxxx:ii00::/56'). */
export function ipv6BlockAt(accountId: string, index: number): string {
  return formatCidr({ family: 6, network: ipv6PoolOf(accountId) | (BigInt(index) << 72n), prefix: 56 });
}

/** The first /56 of the account's pool that no VPC of the account (in any region) holds. */
export async function allocateIpv6Block(ctx: Ctx): Promise<string> {
  const rows = await ctx.db.selectFrom('vpcs').select('ipv6_cidr_associations').where('account_id', '=', ctx.accountId).execute();
  const used = new Set<string>();
  for (const r of rows) for (const a of parseJson<VpcIpv6CidrBlockAssociation[]>(r.ipv6_cidr_associations, [])) if (a.Ipv6CidrBlock) used.add(a.Ipv6CidrBlock);
  for (let i = 0; i < 256; i++) {
    const block = ipv6BlockAt(ctx.accountId, i);
    if (!used.has(block)) return block;
  }
  throw new ApiError('InsufficientCidrBlocks', 'There are not enough free IPv6 CIDR blocks in the address pool to satisfy the request.');
}

export function vpcIpv6Association(ctx: Ctx, block: string): VpcIpv6CidrBlockAssociation {
  return {
    AssociationId: newId('vpc-cidr-assoc'),
    Ipv6CidrBlock: block,
    Ipv6CidrBlockState: { State: 'associated' },
    NetworkBorderGroup: ctx.region,
    Ipv6Pool: 'Amazon',
    Ipv6AddressAttribute: 'public',
    IpSource: 'amazon',
  };
}

export interface NewVpc {
  cidr: string;
  tenancy?: string;
  isDefault?: boolean;
  ipv6Block?: string;
  /** The default VPC has DNS hostnames on; other VPCs start with them off. */
  dnsHostnames?: boolean;
}

export interface CreatedVpc {
  vpc: VpcRow;
  mainRouteTableId: string;
  defaultNetworkAclId: string;
  defaultSecurityGroupId: string;
}

export async function createVpcRecords(ctx: Ctx, spec: NewVpc): Promise<CreatedVpc> {
  const now = ctx.now.toISOString();
  const id = newId('vpc');
  const ipv6 = spec.ipv6Block ? [vpcIpv6Association(ctx, spec.ipv6Block)] : [];
  const row: NewRow<'vpcs'> = {
    id,
    account_id: ctx.accountId,
    region: ctx.region,
    cidr_block: spec.cidr,
    state: 'available',
    is_default: spec.isDefault ? 1 : 0,
    instance_tenancy: spec.tenancy ?? 'default',
    dhcp_options_id: dhcpOptionsIdFor(ctx.accountId, ctx.region),
    enable_dns_support: 1,
    enable_dns_hostnames: spec.dnsHostnames ? 1 : 0,
    cidr_associations: JSON.stringify([{ AssociationId: newId('vpc-cidr-assoc'), CidrBlock: spec.cidr, CidrBlockState: { State: 'associated' } }] satisfies CidrAssociation[]),
    ipv6_cidr_associations: JSON.stringify(ipv6),
    created_at: now,
    enable_network_address_usage_metrics: 0,
  };
  await ctx.db.insertInto('vpcs').values(row).execute();
  const vpc = (await findVpc(ctx, id))!;

  const mainRouteTableId = await createRouteTableRecords(ctx, vpc, true);
  const defaultNetworkAclId = await createNetworkAclRecords(ctx, id, { isDefault: true, ipv6: ipv6.length > 0 });
  const defaultSecurityGroupId = await createDefaultSecurityGroup(ctx, id, { ipv6: ipv6.length > 0 });
  return { vpc, mainRouteTableId, defaultNetworkAclId, defaultSecurityGroupId };
}

export async function vpcById(db: Tx, id: string): Promise<VpcRow | undefined> {
  return db.selectFrom('vpcs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function vpcCidrOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('vpcs').select('cidr_block').where('id', '=', id).executeTakeFirst())?.cidr_block;
}

/** The VPC's own tables that its data plane is built from: subnets, gateways, routes, ACLs. */
export async function vpcDataPlaneRows(db: Tx, vpcId: string) {
  const tablesOfVpc = db.selectFrom('route_tables').select('id').where('vpc_id', '=', vpcId);
  const aclsOfVpc = db.selectFrom('network_acls').select('id').where('vpc_id', '=', vpcId);
  const [subnets, internetGateways, routeTables, routes, routeTableAssociations, networkAcls, networkAclEntries, networkAclAssociations] = await Promise.all([
    db.selectFrom('subnets').selectAll().where('vpc_id', '=', vpcId).execute(),
    db.selectFrom('internet_gateways').select(['id', 'vpc_id']).where('vpc_id', '=', vpcId).execute(),
    db.selectFrom('route_tables').select(['id', 'vpc_id']).where('vpc_id', '=', vpcId).execute(),
    db.selectFrom('routes').selectAll().where('route_table_id', 'in', tablesOfVpc).execute(),
    db.selectFrom('route_table_associations').selectAll().where('route_table_id', 'in', tablesOfVpc).execute(),
    db.selectFrom('network_acls').select(['id', 'vpc_id', 'is_default']).where('vpc_id', '=', vpcId).execute(),
    db.selectFrom('network_acl_entries').selectAll().where('network_acl_id', 'in', aclsOfVpc).execute(),
    db.selectFrom('network_acl_associations').selectAll().where('network_acl_id', 'in', aclsOfVpc).execute(),
  ]);
  return { subnets, internetGateways, routeTables, routes, routeTableAssociations, networkAcls, networkAclEntries, networkAclAssociations };
}

/** These VPCs' primary CIDR and CIDR associations, by id. */
export async function vpcCidrsByIds(db: Tx, ids: string[]): Promise<Map<string, { id: string; cidr_block: string; cidr_associations: CidrAssociation[] }>> {
  const rows = ids.length ? await db.selectFrom('vpcs').select(['id', 'cidr_block', 'cidr_associations']).where('id', 'in', ids).execute() : [];
  return new Map(rows.map((v) => [v.id, { ...v, cidr_associations: cidrAssociationsColumn.decode(v.cidr_associations) }]));
}

/** What the VPC's resolver needs of the VPC: its region, primary CIDR (its own address is base+2) and DNS attributes. */
export async function vpcDnsSettings(db: Tx, id: string): Promise<{ region: string; cidr: string; dnsSupport: boolean; dnsHostnames: boolean } | undefined> {
  const r = await db.selectFrom('vpcs').select(['region', 'cidr_block', 'enable_dns_support', 'enable_dns_hostnames']).where('id', '=', id).executeTakeFirst();
  return r && { region: r.region, cidr: r.cidr_block, dnsSupport: r.enable_dns_support === 1, dnsHostnames: r.enable_dns_hostnames === 1 };
}
