// Elastic IP rows (public_ips with kind 'elastic') and the EC2 Address shape. An address's instance
// is whatever instance its interface is attached to, so it is read through the interface.
import type { Address, Tag } from '@aws-sdk/client-ec2';
import { ApiError } from '../../errors.js';
import { parseIp } from '../../../lib/cidr.js';
import type { Tx } from '../../../store/db.js';
import type { Row } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';

export type PublicIpRow = Row<'public_ips'>;

/** An elastic IP with what its association points at. */
export interface AddressRow extends PublicIpRow {
  eni_account_id: string | null;
  instance_id: string | null;
}

export const addressErrors = {
  allocation: (ids: string[]) =>
    ids.length === 1
      ? new ApiError('InvalidAllocationID.NotFound', `The allocation ID '${ids[0]}' does not exist`)
      : new ApiError('InvalidAllocationID.NotFound', `The allocation IDs '${ids.join(', ')}' do not exist`),
  address: (ips: string[]) => new ApiError('InvalidAddress.NotFound', `Address '${ips.join(', ')}' not found.`),
  association: (id: string) => new ApiError('InvalidAssociationID.NotFound', `The association ID '${id}' does not exist`),
};

/** The caller's elastic IPs (all, or those matching one column), with their interface's instance. */
export async function loadAddresses(ctx: Ctx, where?: { column: 'allocation_id' | 'public_ip' | 'association_id'; value: string }): Promise<AddressRow[]> {
  let q = ctx.db
    .selectFrom('public_ips')
    .leftJoin('network_interfaces', 'network_interfaces.id', 'public_ips.network_interface_id')
    .selectAll('public_ips')
    .select(['network_interfaces.account_id as eni_account_id', 'network_interfaces.instance_id'])
    .where('public_ips.kind', '=', 'elastic')
    .where('public_ips.account_id', '=', ctx.accountId)
    .where('public_ips.region', '=', ctx.region);
  if (where) q = q.where(`public_ips.${where.column}`, '=', where.value);
  return q.execute();
}

export async function findAddress(ctx: Ctx, column: 'allocation_id' | 'public_ip' | 'association_id', value: string): Promise<AddressRow | undefined> {
  return (await loadAddresses(ctx, { column, value }))[0];
}

/** The Address as DescribeAddresses shows it. */
export function toAddress(row: AddressRow, tags: Tag[] | undefined): Address {
  const out: Address = {
    AllocationId: row.allocation_id ?? undefined,
    Domain: 'vpc',
    PublicIp: row.public_ip,
    PublicIpv4Pool: row.public_ipv4_pool,
    NetworkBorderGroup: row.network_border_group,
    Tags: tags?.length ? tags : undefined,
  };
  if (row.network_interface_id) {
    out.AssociationId = row.association_id ?? undefined;
    out.NetworkInterfaceId = row.network_interface_id;
    out.NetworkInterfaceOwnerId = row.eni_account_id ?? row.account_id;
    out.PrivateIpAddress = row.private_ip ?? undefined;
    if (row.instance_id) out.InstanceId = row.instance_id;
  }
  return out;
}

/** Addresses sort as numbers, as people read them. */
export function addressKey(ip: string): string {
  const v = parseIp(ip);
  return v ? v.value.toString(16).padStart(8, '0') : ip;
}

// For the controllers and the host.

/** Interfaces that go: their ephemeral addresses are freed, their elastic ones disassociated (still allocated). */
export async function releasePublicIpsOfInterfaces(db: Tx, eniIds: string[]): Promise<void> {
  if (!eniIds.length) return;
  await db.deleteFrom('public_ips').where('kind', '=', 'ephemeral').where('network_interface_id', 'in', eniIds).execute();
  await db.updateTable('public_ips').set({ network_interface_id: null, private_ip: null, association_id: null }).where('network_interface_id', 'in', eniIds).execute();
}

/** A public IP mapped to an interface, with what its DNS name needs (the interface's VPC and its DNS hostnames attribute). */
export async function publicAddressForDns(db: Tx, ip: string): Promise<{ region: string; vpcId: string; privateIp: string; dnsHostnames: boolean } | undefined> {
  const r = await db
    .selectFrom('public_ips as p')
    .innerJoin('network_interfaces as n', 'n.id', 'p.network_interface_id')
    .innerJoin('vpcs as v', 'v.id', 'n.vpc_id')
    .select(['p.region', 'p.private_ip', 'n.private_ip as eni_ip', 'n.vpc_id', 'v.enable_dns_hostnames'])
    .where('p.public_ip', '=', ip)
    .executeTakeFirst();
  return r && { region: r.region, vpcId: r.vpc_id, privateIp: r.private_ip ?? r.eni_ip, dnsHostnames: r.enable_dns_hostnames === 1 };
}
