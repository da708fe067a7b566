// VPC-family rows ↔ EC2 shapes, lookups other families use (getVpc, getSubnet, defaultSubnetFor),
// and the records every new VPC gets: its main route table, default network ACL and default group.
import { createHash } from 'node:crypto';
import type {
  DhcpOptions,
  InternetGateway,
  InternetGatewayAttachment,
  NetworkAclEntry,
  PrivateDnsNameOptionsOnLaunch,
  Route,
  Subnet,
  SubnetIpv6CidrBlockAssociation,
  Tag,
  Vpc,
  VpcCidrBlockAssociation,
  VpcIpv6CidrBlockAssociation,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { zoneId, zonesOf } from '../../../config.js';
import { formatCidr, parseCidr, size } from '../../../lib/cidr.js';
import { idPattern, newId } from '../../../lib/ids.js';
import type { Tx } from '../../../store/db.js';
import { jsonColumn } from '../../../store/json-column.js';
import type { NewRow, Row } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';
import { createDefaultSecurityGroup } from '../security-groups/store.js';
import { deleteAllTags } from '../tags/store.js';
import { findOwned } from '../common/resources.js';

export type VpcRow = Row<'vpcs'>;
export type SubnetRow = Row<'subnets'>;

// ---------------------------------------------------------------------------------------------
// Errors, with EC2's codes and wording

interface IdKind {
  prefix: string;
  label: string;
  notFound: string;
  malformed: string;
}

const idKinds = {
  vpc: { prefix: 'vpc', label: 'vpc', notFound: 'InvalidVpcID.NotFound', malformed: 'InvalidVpcID.Malformed' },
  subnet: { prefix: 'subnet', label: 'subnet', notFound: 'InvalidSubnetID.NotFound', malformed: 'InvalidSubnetID.Malformed' },
  igw: { prefix: 'igw', label: 'internetGateway', notFound: 'InvalidInternetGatewayID.NotFound', malformed: 'InvalidInternetGatewayId.Malformed' },
  routeTable: { prefix: 'rtb', label: 'routeTable', notFound: 'InvalidRouteTableID.NotFound', malformed: 'InvalidRouteTableId.Malformed' },
  networkAcl: { prefix: 'acl', label: 'networkAcl', notFound: 'InvalidNetworkAclID.NotFound', malformed: 'InvalidNetworkAclId.Malformed' },
  dhcpOptions: { prefix: 'dopt', label: 'dhcpOption', notFound: 'InvalidDhcpOptionID.NotFound', malformed: 'InvalidDhcpOptionsId.Malformed' },
} satisfies Record<string, IdKind>;

export type IdKindName = keyof typeof idKinds;

const malformedError = (k: IdKind, id: string) => new ApiError(k.malformed, `Invalid id: "${id}" (expecting "${k.prefix}-...")`);

/** EC2 tells an id of the wrong shape (…Malformed) from one that is not there (…NotFound). */
export function missingIds(kind: IdKindName, ids: string[]): ApiError {
  const k: IdKind = idKinds[kind];
  const bad = ids.find((id) => !idPattern(k.prefix).test(id));
  if (bad !== undefined) return malformedError(k, bad);
  return ids.length === 1
    ? new ApiError(k.notFound, `The ${k.label} ID '${ids[0]}' does not exist`)
    : new ApiError(k.notFound, `The ${k.label} IDs '${ids.join(', ')}' do not exist`);
}

export const notFound = {
  vpc: (id: string) => missingIds('vpc', [id]),
  subnet: (id: string) => missingIds('subnet', [id]),
  igw: (id: string) => missingIds('igw', [id]),
  routeTable: (id: string) => missingIds('routeTable', [id]),
  networkAcl: (id: string) => missingIds('networkAcl', [id]),
  association: (id: string) => new ApiError('InvalidAssociationID.NotFound', `The association ID '${id}' does not exist`),
};

export function dependencies(label: string, id: string): ApiError {
  return Errors.dependencyViolation(`The ${label} '${id}' has dependencies and cannot be deleted.`);
}

// ---------------------------------------------------------------------------------------------
// JSON columns

/**
 * vpcs.cidr_associations holds every IPv4 association, the primary block's first: EC2 lists the
 * primary in CidrBlockAssociationSet with its own association id, which must stay stable.
 */
export interface CidrAssociation {
  AssociationId: string;
  CidrBlock: string;
  CidrBlockState: { State: string };
}

export function parseJson<T>(s: string | null | undefined, fallback: T): T {
  if (!s) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

export const cidrAssociationsOf = (row: VpcRow) => parseJson<CidrAssociation[]>(row.cidr_associations, []);
export const vpcIpv6AssociationsOf = (row: VpcRow) => parseJson<VpcIpv6CidrBlockAssociation[]>(row.ipv6_cidr_associations, []);
export const subnetIpv6AssociationsOf = (row: SubnetRow) => parseJson<SubnetIpv6CidrBlockAssociation[]>(row.ipv6_cidr_associations, []);

/** The VPC's associated IPv4 blocks (primary first). */
export function vpcIpv4Blocks(row: VpcRow): string[] {
  const blocks = cidrAssociationsOf(row)
    .filter((a) => a.CidrBlockState.State === 'associated')
    .map((a) => a.CidrBlock);
  return blocks.length ? blocks : [row.cidr_block];
}

export function vpcIpv6Blocks(row: VpcRow): string[] {
  return vpcIpv6AssociationsOf(row)
    .filter((a) => a.Ipv6CidrBlockState?.State === 'associated')
    .map((a) => a.Ipv6CidrBlock!)
    .filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// Shapes

const bool = (n: number | null | undefined) => n === 1;

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

export function subnetArn(row: SubnetRow): string {
  return `arn:aws:ec2:${row.region}:${row.account_id}:subnet/${row.id}`;
}

/** Addresses EC2 keeps in every subnet: network, router, DNS, reserved, broadcast. */
export const RESERVED_PER_SUBNET = 5;

export function toSubnet(row: SubnetRow, tags: Tag[] | undefined, usedAddresses: number): Subnet {
  const cidr = parseCidr(row.cidr_block);
  const total = cidr ? Number(size(cidr)) : 0;
  return {
    AvailabilityZoneId: row.availability_zone_id,
    MapCustomerOwnedIpOnLaunch: false,
    OwnerId: row.account_id,
    AssignIpv6AddressOnCreation: bool(row.assign_ipv6_on_creation),
    Ipv6CidrBlockAssociationSet: subnetIpv6AssociationsOf(row),
    Tags: tags ?? [],
    SubnetArn: subnetArn(row),
    EnableDns64: bool(row.enable_dns64),
    Ipv6Native: false,
    PrivateDnsNameOptionsOnLaunch: privateDnsOptionsOf(row),
    BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
    SubnetId: row.id,
    State: row.state as Subnet['State'],
    VpcId: row.vpc_id,
    CidrBlock: row.cidr_block,
    AvailableIpAddressCount: Math.max(0, total - RESERVED_PER_SUBNET - usedAddresses),
    AvailabilityZone: row.availability_zone,
    DefaultForAz: bool(row.default_for_az),
    MapPublicIpOnLaunch: bool(row.map_public_ip_on_launch),
  };
}

export function privateDnsOptionsOf(row: SubnetRow): PrivateDnsNameOptionsOnLaunch {
  return parseJson<PrivateDnsNameOptionsOnLaunch>(row.private_dns_name_options, {
    HostnameType: 'ip-name',
    EnableResourceNameDnsARecord: false,
    EnableResourceNameDnsAAAARecord: false,
  });
}

export function toInternetGateway(row: Row<'internet_gateways'>, tags: Tag[] | undefined): InternetGateway {
  return {
    // EC2 reports an attached internet gateway's attachment as "available", not "attached".
    // The model's AttachmentStatus enum lacks 'available'; the wire value is a plain string.
    Attachments: row.vpc_id ? [{ State: 'available' as InternetGatewayAttachment['State'], VpcId: row.vpc_id }] : [],
    InternetGatewayId: row.id,
    OwnerId: row.account_id,
    Tags: tags ?? [],
  };
}

// ---------------------------------------------------------------------------------------------
// DHCP options: one default set per (account, region), shared by every VPC, as on EC2

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

// ---------------------------------------------------------------------------------------------
// Lookups (always scoped to the caller's account and region)

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

/** The subnet, or InvalidSubnetID.NotFound. */
export async function getSubnet(ctx: Ctx, subnetId: string): Promise<SubnetRow> {
  if (!subnetId) throw Errors.missingParameter('SubnetId');
  const row = await findOwned(ctx, 'subnets', subnetId);
  if (!row) throw notFound.subnet(subnetId);
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

/**
 * The default subnet of the default VPC in `zone`, or in the first zone that has one: where
 * RunInstances puts an instance when no subnet is given.
 */
export async function defaultSubnetFor(ctx: Ctx, zone?: string): Promise<SubnetRow> {
  const vpc = await getDefaultVpc(ctx);
  if (!vpc) throw new ApiError('VPCIdNotSpecified', 'No default VPC for this user');
  const zones = zonesOf(ctx.config, ctx.region);
  if (zone !== undefined && !zones.includes(zone)) {
    throw Errors.invalidParameterValue(`Invalid availability zone: [${zone}]`);
  }
  const subnets = await ctx.db
    .selectFrom('subnets')
    .selectAll()
    .where('vpc_id', '=', vpc.id)
    .where('default_for_az', '=', 1)
    .execute();
  if (zone !== undefined) {
    const s = subnets.find((x) => x.availability_zone === zone);
    if (!s) throw new ApiError('InvalidParameterValue', `No default subnet for availability zone: '${zone}'.`);
    return s;
  }
  subnets.sort((a, b) => zoneOrder(zones, a.availability_zone) - zoneOrder(zones, b.availability_zone) || (a.id < b.id ? -1 : 1));
  if (!subnets.length) throw new ApiError('MissingInput', `No subnets found for the default VPC '${vpc.id}'. Please specify a subnet.`);
  return subnets[0]!;
}

function zoneOrder(zones: string[], z: string): number {
  const i = zones.indexOf(z);
  return i < 0 ? zones.length : i;
}

export async function getInternetGateway(ctx: Ctx, id: string): Promise<Row<'internet_gateways'>> {
  if (!id) throw Errors.missingParameter('InternetGatewayId');
  const row = await findOwned(ctx, 'internet_gateways', id);
  if (!row) throw notFound.igw(id);
  return row;
}

export async function getRouteTable(ctx: Ctx, id: string): Promise<Row<'route_tables'>> {
  if (!id) throw Errors.missingParameter('RouteTableId');
  const row = await findOwned(ctx, 'route_tables', id);
  if (!row) throw notFound.routeTable(id);
  return row;
}

export async function getNetworkAcl(ctx: Ctx, id: string): Promise<Row<'network_acls'>> {
  if (!id) throw Errors.missingParameter('NetworkAclId');
  const row = await findOwned(ctx, 'network_acls', id);
  if (!row) throw notFound.networkAcl(id);
  return row;
}

/**
 * Addresses taken in each subnet: the primary and secondary addresses of its network interfaces,
 * and the address of every live instance in it (whether or not its interface row exists yet).
 */
export async function usedAddressCounts(db: Tx, subnetIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!subnetIds.length) return out;
  const sets = new Map<string, Set<string>>();
  const add = (subnet: string, ip: string | null) => {
    if (!ip) return;
    let s = sets.get(subnet);
    if (!s) sets.set(subnet, (s = new Set()));
    s.add(ip);
  };
  for (const chunk of chunks(subnetIds, 500)) {
    const enis = await db.selectFrom('network_interfaces').select(['subnet_id', 'private_ip', 'secondary_private_ips']).where('subnet_id', 'in', chunk).execute();
    for (const e of enis) {
      add(e.subnet_id, e.private_ip);
      for (const ip of parseJson<string[]>(e.secondary_private_ips, [])) add(e.subnet_id, ip);
    }
    const instances = await db
      .selectFrom('instances')
      .select(['subnet_id', 'private_ip'])
      .where('subnet_id', 'in', chunk)
      .where('state', '!=', 'terminated')
      .execute();
    for (const i of instances) add(i.subnet_id, i.private_ip);
  }
  for (const [k, v] of sets) out.set(k, v.size);
  return out;
}

export function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

// ---------------------------------------------------------------------------------------------
// IPv6: a deterministic per-account pool of ULA /56s

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

// ---------------------------------------------------------------------------------------------
// Creating a VPC with its companions

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

/** A route table with the VPC's local routes; the main one also gets the VPC's main association. */
export async function createRouteTableRecords(ctx: Ctx, vpc: VpcRow, main: boolean): Promise<string> {
  const id = newId('rtb');
  await ctx.db.insertInto('route_tables').values({ id, account_id: ctx.accountId, region: ctx.region, vpc_id: vpc.id, created_at: ctx.now.toISOString() }).execute();
  const locals = [...vpcIpv4Blocks(vpc), ...vpcIpv6Blocks(vpc)];
  if (locals.length) {
    await ctx.db
      .insertInto('routes')
      .values(locals.map((d) => ({ route_table_id: id, destination: d, target_type: 'local', target_id: 'local', origin: 'CreateRouteTable', state: 'active' })))
      .execute();
  }
  if (main) {
    await ctx.db.insertInto('route_table_associations').values({ id: newId('rtbassoc'), route_table_id: id, subnet_id: null, gateway_id: null, main: 1 }).execute();
  }
  return id;
}

/**
 * A network ACL. The default ACL allows everything (rule 100; 101 for IPv6); every ACL ends with
 * the unchangeable deny-all rule (32767; 32768 for IPv6), in both directions.
 */
export async function createNetworkAclRecords(ctx: Ctx, vpcId: string, opts: { isDefault: boolean; ipv6: boolean }): Promise<string> {
  const id = newId('acl');
  await ctx.db
    .insertInto('network_acls')
    .values({ id, account_id: ctx.accountId, region: ctx.region, vpc_id: vpcId, is_default: opts.isDefault ? 1 : 0, created_at: ctx.now.toISOString() })
    .execute();
  const entries: NewRow<'network_acl_entries'>[] = [];
  for (const egress of [0, 1]) {
    const base = { network_acl_id: id, egress, protocol: '-1', icmp_type: null, icmp_code: null, port_from: null, port_to: null };
    if (opts.isDefault) {
      entries.push({ ...base, rule_number: 100, rule_action: 'allow', cidr_block: '0.0.0.0/0', ipv6_cidr_block: null });
      if (opts.ipv6) entries.push({ ...base, rule_number: 101, rule_action: 'allow', cidr_block: null, ipv6_cidr_block: '::/0' });
    }
    entries.push({ ...base, rule_number: 32767, rule_action: 'deny', cidr_block: '0.0.0.0/0', ipv6_cidr_block: null });
    if (opts.ipv6) entries.push({ ...base, rule_number: 32768, rule_action: 'deny', cidr_block: null, ipv6_cidr_block: '::/0' });
  }
  await ctx.db.insertInto('network_acl_entries').values(entries).execute();
  return id;
}

/** IPv6 entries the VPC's ACLs gain when the VPC gains its first IPv6 block. */
export async function addIpv6AclEntries(ctx: Ctx, vpcId: string): Promise<void> {
  const acls = await ctx.db.selectFrom('network_acls').select(['id', 'is_default']).where('vpc_id', '=', vpcId).execute();
  for (const acl of acls) {
    for (const egress of [0, 1]) {
      const base = { network_acl_id: acl.id, egress, protocol: '-1', icmp_type: null, icmp_code: null, port_from: null, port_to: null, cidr_block: null, ipv6_cidr_block: '::/0' };
      const rows: NewRow<'network_acl_entries'>[] = [{ ...base, rule_number: 32768, rule_action: 'deny' }];
      if (acl.is_default) rows.push({ ...base, rule_number: 101, rule_action: 'allow' });
      for (const r of rows) {
        await ctx.db.insertInto('network_acl_entries').values(r).onConflict((oc) => oc.doNothing()).execute();
      }
    }
  }
}

export async function defaultNetworkAclOf(ctx: Ctx, vpcId: string): Promise<Row<'network_acls'> | undefined> {
  return ctx.db.selectFrom('network_acls').selectAll().where('vpc_id', '=', vpcId).where('is_default', '=', 1).executeTakeFirst();
}

export interface NewSubnet {
  vpcId: string;
  cidr: string;
  zone: string;
  defaultForAz?: boolean;
  mapPublicIp?: boolean;
  ipv6Block?: string;
}

/** A subnet row, associated with its VPC's default network ACL (and implicitly the main route table). */
export async function createSubnetRecords(ctx: Ctx, spec: NewSubnet): Promise<SubnetRow> {
  const id = newId('subnet');
  const ipv6: SubnetIpv6CidrBlockAssociation[] = spec.ipv6Block
    ? [{ AssociationId: newId('subnet-cidr-assoc'), Ipv6CidrBlock: spec.ipv6Block, Ipv6CidrBlockState: { State: 'associated' }, Ipv6AddressAttribute: 'public', IpSource: 'amazon' }]
    : [];
  await ctx.db
    .insertInto('subnets')
    .values({
      id,
      account_id: ctx.accountId,
      region: ctx.region,
      vpc_id: spec.vpcId,
      cidr_block: spec.cidr,
      ipv6_cidr_associations: JSON.stringify(ipv6),
      availability_zone: spec.zone,
      availability_zone_id: zoneId(spec.zone),
      default_for_az: spec.defaultForAz ? 1 : 0,
      map_public_ip_on_launch: spec.mapPublicIp ? 1 : 0,
      assign_ipv6_on_creation: 0,
      state: 'available',
      created_at: ctx.now.toISOString(),
    })
    .execute();
  const acl = await defaultNetworkAclOf(ctx, spec.vpcId);
  if (acl) await ctx.db.insertInto('network_acl_associations').values({ id: newId('aclassoc'), network_acl_id: acl.id, subnet_id: id }).execute();
  return getSubnet(ctx, id);
}

// ---------------------------------------------------------------------------------------------
// Deleting

export async function deleteRouteTableRecords(ctx: Ctx, id: string): Promise<void> {
  await ctx.db.deleteFrom('routes').where('route_table_id', '=', id).execute();
  await ctx.db.deleteFrom('route_table_associations').where('route_table_id', '=', id).execute();
  await ctx.db.deleteFrom('route_tables').where('id', '=', id).execute();
  await deleteAllTags(ctx, id);
}

export async function deleteNetworkAclRecords(ctx: Ctx, id: string): Promise<void> {
  await ctx.db.deleteFrom('network_acl_entries').where('network_acl_id', '=', id).execute();
  await ctx.db.deleteFrom('network_acl_associations').where('network_acl_id', '=', id).execute();
  await ctx.db.deleteFrom('network_acls').where('id', '=', id).execute();
  await deleteAllTags(ctx, id);
}

// ---------------------------------------------------------------------------------------------
// Route and ACL entry shapes

/** Which Route field names a target, by the target_type stored in the routes table. */
export const routeTargetFields: Record<string, keyof Route> = {
  local: 'GatewayId',
  gateway: 'GatewayId',
  'vpc-endpoint': 'GatewayId',
  instance: 'InstanceId',
  'network-interface': 'NetworkInterfaceId',
  'nat-gateway': 'NatGatewayId',
  'vpc-peering-connection': 'VpcPeeringConnectionId',
  'egress-only-internet-gateway': 'EgressOnlyInternetGatewayId',
  'transit-gateway': 'TransitGatewayId',
  'local-gateway': 'LocalGatewayId',
  'carrier-gateway': 'CarrierGatewayId',
  'core-network': 'CoreNetworkArn',
};

export function routeDestination(destination: string): Pick<Route, 'DestinationCidrBlock' | 'DestinationIpv6CidrBlock' | 'DestinationPrefixListId'> {
  if (destination.startsWith('pl-')) return { DestinationPrefixListId: destination };
  if (destination.includes(':')) return { DestinationIpv6CidrBlock: destination };
  return { DestinationCidrBlock: destination };
}

export function toAclEntry(e: Row<'network_acl_entries'>): NetworkAclEntry {
  const out: NetworkAclEntry = {
    RuleNumber: e.rule_number,
    Protocol: e.protocol,
    RuleAction: e.rule_action as NetworkAclEntry['RuleAction'],
    Egress: e.egress === 1,
  };
  if (e.cidr_block) out.CidrBlock = e.cidr_block;
  if (e.ipv6_cidr_block) out.Ipv6CidrBlock = e.ipv6_cidr_block;
  if (e.icmp_type !== null || e.icmp_code !== null) out.IcmpTypeCode = { Type: e.icmp_type ?? undefined, Code: e.icmp_code ?? undefined };
  if (e.port_from !== null || e.port_to !== null) out.PortRange = { From: e.port_from ?? undefined, To: e.port_to ?? undefined };
  return out;
}

/** EC2 lists a network ACL's egress entries first, each direction by rule number. */
export function sortAclEntries(entries: NetworkAclEntry[]): NetworkAclEntry[] {
  return entries.sort((a, b) => Number(b.Egress) - Number(a.Egress) || a.RuleNumber! - b.RuleNumber!);
}

// For the controllers and the host.

export async function vpcById(db: Tx, id: string): Promise<VpcRow | undefined> {
  return db.selectFrom('vpcs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function vpcCidrOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('vpcs').select('cidr_block').where('id', '=', id).executeTakeFirst())?.cidr_block;
}

export async function subnetCidrOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('subnets').select('cidr_block').where('id', '=', id).executeTakeFirst())?.cidr_block;
}

/** The primary IPv4 CIDRs of these subnets, by id. */
export async function subnetCidrs(db: Tx, ids: string[]): Promise<Map<string, string>> {
  const rows = ids.length ? await db.selectFrom('subnets').select(['id', 'cidr_block']).where('id', 'in', ids).execute() : [];
  return new Map(rows.map((s) => [s.id, s.cidr_block]));
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

/** vpcs.cidr_associations. */
export const cidrAssociationsColumn = jsonColumn<CidrAssociation[]>({ value: [] });

export async function subnetsByIds(db: Tx, ids: string[]): Promise<Map<string, Pick<SubnetRow, 'id' | 'cidr_block' | 'vpc_id'>>> {
  const rows = ids.length ? await db.selectFrom('subnets').select(['id', 'cidr_block', 'vpc_id']).where('id', 'in', ids).execute() : [];
  return new Map(rows.map((s) => [s.id, s]));
}

/** These VPCs' primary CIDR and CIDR associations, by id. */
export async function vpcCidrsByIds(db: Tx, ids: string[]): Promise<Map<string, { id: string; cidr_block: string; cidr_associations: CidrAssociation[] }>> {
  const rows = ids.length ? await db.selectFrom('vpcs').select(['id', 'cidr_block', 'cidr_associations']).where('id', 'in', ids).execute() : [];
  return new Map(rows.map((v) => [v.id, { ...v, cidr_associations: cidrAssociationsColumn.decode(v.cidr_associations) }]));
}

/** What the VPC's resolver needs of the VPC: its region and DNS attributes. */
export async function vpcDnsSettings(db: Tx, id: string): Promise<{ region: string; dnsSupport: boolean; dnsHostnames: boolean } | undefined> {
  const r = await db.selectFrom('vpcs').select(['region', 'enable_dns_support', 'enable_dns_hostnames']).where('id', '=', id).executeTakeFirst();
  return r && { region: r.region, dnsSupport: r.enable_dns_support === 1, dnsHostnames: r.enable_dns_hostnames === 1 };
}
