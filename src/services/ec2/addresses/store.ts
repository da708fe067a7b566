// Elastic IP rows (public_ips with kind 'elastic') and the EC2 Address shape. An address's instance
// is whatever instance its interface is attached to, so it is read through the interface.
import type { Address, Tag } from '@aws-sdk/client-ec2';
import { ApiError } from '../../errors.js';
import { parseIp } from '../../../lib/cidr.js';
import type { NewRow, Row } from '../../../store/schema.js';
import type { Tx } from '../../../store/db.js';
import type { Ctx } from '../../context.js';

// For the handlers.

/** Frees one private address of an interface: its ephemeral address is released, an elastic one unmapped. */
export async function clearPrivateIpMapping(db: Tx, eniId: string, privateIp: string): Promise<void> {
  await db.deleteFrom('public_ips').where('network_interface_id', '=', eniId).where('private_ip', '=', privateIp).where('kind', '=', 'ephemeral').execute();
  await db
    .updateTable('public_ips')
    .set({ network_interface_id: null, private_ip: null, association_id: null })
    .where('network_interface_id', '=', eniId)
    .where('private_ip', '=', privateIp)
    .where('kind', '=', 'elastic')
    .execute();
}

/** Maps an address to a private address of an interface under this association id. */
export async function mapPublicIp(db: Tx, ip: string, target: { eniId: string; privateIp: string; associationId: string }): Promise<void> {
  await db
    .updateTable('public_ips')
    .set({ network_interface_id: target.eniId, private_ip: target.privateIp, association_id: target.associationId })
    .where('public_ip', '=', ip)
    .execute();
}

/** The addresses mapped to an interface. */
export async function publicIpsOfInterface(db: Tx, eniId: string): Promise<PublicIpRow[]> {
  return db.selectFrom('public_ips').selectAll().where('network_interface_id', '=', eniId).execute();
}

/** Every address of the ledger, whoever holds it. */
export async function allPublicIps(db: Tx): Promise<string[]> {
  return (await db.selectFrom('public_ips').select('public_ip').execute()).map((r) => r.public_ip);
}

export async function isPublicIpTaken(db: Tx, ip: string): Promise<boolean> {
  return Boolean(await db.selectFrom('public_ips').select('public_ip').where('public_ip', '=', ip).executeTakeFirst());
}

export async function insertPublicIp(db: Tx, row: NewRow<'public_ips'>): Promise<void> {
  await db.insertInto('public_ips').values(row).execute();
}

/** The pool's allocation cursor, if it has one. */
export async function poolCursor(db: Tx, pool: string): Promise<string | undefined> {
  return (await db.selectFrom('public_ip_pools').select('next_address').where('pool', '=', pool).executeTakeFirst())?.next_address;
}

export async function setPoolCursor(db: Tx, pool: string, next: string): Promise<void> {
  await db
    .insertInto('public_ip_pools')
    .values({ pool, next_address: next })
    .onConflict((oc) => oc.column('pool').doUpdateSet({ next_address: next }))
    .execute();
}

/** Which private addresses of these interfaces have a public address mapped. */
export async function mappedPrivateIps(db: Tx, eniIds: string[]): Promise<Pick<PublicIpRow, 'network_interface_id' | 'private_ip'>[]> {
  return db.selectFrom('public_ips').select(['network_interface_id', 'private_ip']).where('network_interface_id', 'in', eniIds).execute();
}

/** The public addresses of these interfaces with their private address, by address. */
export async function publicIpRowsOfInterfaces(db: Tx, eniIds: string[]): Promise<Pick<PublicIpRow, 'public_ip' | 'private_ip' | 'network_interface_id'>[]> {
  return db.selectFrom('public_ips').select(['public_ip', 'private_ip', 'network_interface_id']).where('network_interface_id', 'in', eniIds).orderBy('public_ip').execute();
}

/** The public addresses mapped to one private address of an interface, and their kind. */
export async function publicIpsMappedTo(db: Tx, eniId: string, privateIp: string): Promise<Pick<PublicIpRow, 'public_ip' | 'kind'>[]> {
  return db.selectFrom('public_ips').select(['public_ip', 'kind']).where('network_interface_id', '=', eniId).where('private_ip', '=', privateIp).execute();
}

/** The addresses mapped to these interfaces, with what EC2's Association shows of them. */
export async function associationRowsOf(
  db: Tx,
  eniIds: string[],
): Promise<
  (Pick<PublicIpRow, 'public_ip' | 'private_ip' | 'kind' | 'account_id' | 'region' | 'allocation_id' | 'association_id' | 'network_interface_id'> & {
    enable_dns_hostnames: number;
  })[]
> {
  return db
    .selectFrom('public_ips')
    .innerJoin('network_interfaces', 'network_interfaces.id', 'public_ips.network_interface_id')
    .innerJoin('vpcs', 'vpcs.id', 'network_interfaces.vpc_id')
    .select([
      'public_ips.public_ip',
      'public_ips.private_ip',
      'public_ips.kind',
      'public_ips.account_id',
      'public_ips.region',
      'public_ips.allocation_id',
      'public_ips.association_id',
      'public_ips.network_interface_id',
      'vpcs.enable_dns_hostnames',
    ])
    .where('public_ips.network_interface_id', 'in', eniIds)
    .execute();
}

/** Releases the ephemeral addresses of these interfaces. */
export async function deleteEphemeralIpsOf(db: Tx, eniIds: string[]): Promise<void> {
  if (eniIds.length) await db.deleteFrom('public_ips').where('kind', '=', 'ephemeral').where('network_interface_id', 'in', eniIds).execute();
}

/** Unmaps the elastic addresses of these interfaces (they stay allocated). */
export async function unmapElasticIpsOf(db: Tx, eniIds: string[]): Promise<void> {
  await db
    .updateTable('public_ips')
    .set({ network_interface_id: null, private_ip: null, association_id: null })
    .where('kind', '=', 'elastic')
    .where('network_interface_id', 'in', eniIds)
    .execute();
}

/**
 * The account's mapped addresses whose interface is gone, and its ephemeral ones whose interface
 * is detached: what a terminate leaves behind.
 */
export async function strayPublicIps(
  db: Tx,
  accountId: string,
  region: string,
): Promise<{ public_ip: string; kind: string; network_interface_id: string | null; eni_id: string | null; instance_id: string | null }[]> {
  return db
    .selectFrom('public_ips')
    .leftJoin('network_interfaces', 'network_interfaces.id', 'public_ips.network_interface_id')
    .select(['public_ips.public_ip', 'public_ips.kind', 'public_ips.network_interface_id', 'network_interfaces.id as eni_id', 'network_interfaces.instance_id'])
    .where('public_ips.account_id', '=', accountId)
    .where('public_ips.region', '=', region)
    .where('public_ips.network_interface_id', 'is not', null)
    .where((eb) => eb.or([eb('network_interfaces.id', 'is', null), eb.and([eb('public_ips.kind', '=', 'ephemeral'), eb('network_interfaces.instance_id', 'is', null)])]))
    .execute();
}

export async function deletePublicIp(db: Tx, ip: string): Promise<void> {
  await db.deleteFrom('public_ips').where('public_ip', '=', ip).execute();
}

/** Unmaps an address from its interface (it stays allocated). */
export async function unmapPublicIp(db: Tx, ip: string): Promise<void> {
  await db.updateTable('public_ips').set({ network_interface_id: null, private_ip: null, association_id: null }).where('public_ip', '=', ip).execute();
}

/** Whether any public address (ephemeral or elastic) is mapped to an interface of the VPC. */
export async function hasMappedAddressIn(db: Tx, vpcId: string): Promise<boolean> {
  const row = await db
    .selectFrom('public_ips')
    .innerJoin('network_interfaces', 'network_interfaces.id', 'public_ips.network_interface_id')
    .select('public_ips.public_ip')
    .where('network_interfaces.vpc_id', '=', vpcId)
    .executeTakeFirst();
  return Boolean(row);
}

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
