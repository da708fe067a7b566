// The subnets table: Subnet shapes, lookups other families use (getSubnet, defaultSubnetFor), address
// counts, and the records a new subnet gets.
import type { PrivateDnsNameOptionsOnLaunch, Subnet, SubnetIpv6CidrBlockAssociation, Tag } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../../errors.js';
import { zoneId, zonesOf } from '../../../../config.js';
import { parseCidr, size } from '../../../../lib/cidr.js';
import { newId } from '../../../../lib/ids.js';
import type { Tx } from '../../../../store/db.js';
import type { Row } from '../../../../store/schema.js';
import type { Ctx } from '../../../context.js';
import { findOwned } from '../../common/resources.js';
import { parseJson, subnetIpv6AssociationsOf } from './columns.js';
import { defaultNetworkAclOf } from './network-acls.js';
import { bool, chunks, notFound } from './shared.js';
import { getDefaultVpc } from './vpcs.js';

export type SubnetRow = Row<'subnets'>;

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

/** The subnet, or InvalidSubnetID.NotFound. */
export async function getSubnet(ctx: Ctx, subnetId: string): Promise<SubnetRow> {
  if (!subnetId) throw Errors.missingParameter('SubnetId');
  const row = await findOwned(ctx, 'subnets', subnetId);
  if (!row) throw notFound.subnet(subnetId);
  return row;
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
  const subnets = await ctx.db.selectFrom('subnets').selectAll().where('vpc_id', '=', vpc.id).where('default_for_az', '=', 1).execute();
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
    const instances = await db.selectFrom('instances').select(['subnet_id', 'private_ip']).where('subnet_id', 'in', chunk).where('state', '!=', 'terminated').execute();
    for (const i of instances) add(i.subnet_id, i.private_ip);
  }
  for (const [k, v] of sets) out.set(k, v.size);
  return out;
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
    ? [
        {
          AssociationId: newId('subnet-cidr-assoc'),
          Ipv6CidrBlock: spec.ipv6Block,
          Ipv6CidrBlockState: { State: 'associated' },
          Ipv6AddressAttribute: 'public',
          IpSource: 'amazon',
        },
      ]
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
  if (acl)
    await ctx.db
      .insertInto('network_acl_associations')
      .values({ id: newId('aclassoc'), network_acl_id: acl.id, subnet_id: id })
      .execute();
  return getSubnet(ctx, id);
}

export async function subnetCidrOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('subnets').select('cidr_block').where('id', '=', id).executeTakeFirst())?.cidr_block;
}

/** The primary IPv4 CIDRs of these subnets, by id. */
export async function subnetCidrs(db: Tx, ids: string[]): Promise<Map<string, string>> {
  const rows = ids.length ? await db.selectFrom('subnets').select(['id', 'cidr_block']).where('id', 'in', ids).execute() : [];
  return new Map(rows.map((s) => [s.id, s.cidr_block]));
}

export async function subnetsByIds(db: Tx, ids: string[]): Promise<Map<string, Pick<SubnetRow, 'id' | 'cidr_block' | 'vpc_id'>>> {
  const rows = ids.length ? await db.selectFrom('subnets').select(['id', 'cidr_block', 'vpc_id']).where('id', 'in', ids).execute() : [];
  return new Map(rows.map((s) => [s.id, s]));
}
