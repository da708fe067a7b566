// Network interface rows: private address allocation in a subnet, MAC addresses, and the two EC2
// shapes an interface has (NetworkInterface for DescribeNetworkInterfaces, InstanceNetworkInterface
// inside an Instance).
import { randomBytes } from 'node:crypto';
import type { GroupIdentifier, InstanceNetworkInterface, InstanceNetworkInterfaceAssociation, NetworkInterface, NetworkInterfaceAssociation, Tag } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { zoneId } from '../../../config.js';
import { formatIp, ipInCidr, parseCidr, parseIp, size, type Cidr } from '../../../lib/cidr.js';
import { privateDnsName } from '../../../lib/ec2-names.js';
import { idPattern, shortHex } from '../../../lib/ids.js';
import type { Tx } from '../../../store/db.js';
import type { NewRow, Row, RowUpdate } from '../../../store/schema.js';
import { jsonColumn } from '../../../store/json-column.js';
import { releasePublicIpsOfInterfaces } from '../addresses/store.js';
import { deleteTagsOfAll } from '../tags/store.js';
import type { Ctx } from '../../context.js';
import { findOwned } from '../common/resources.js';

// For the handlers.

/** The interface at device index 0 of an instance. */
export async function primaryInterfaceOf(db: Tx, instanceId: string): Promise<EniRow | undefined> {
  return db.selectFrom('network_interfaces').selectAll().where('instance_id', '=', instanceId).where('device_index', '=', 0).executeTakeFirst();
}

/** Whether more than one interface is attached to the instance. */
export async function hasSeveralInterfaces(db: Tx, instanceId: string): Promise<boolean> {
  return (await db.selectFrom('network_interfaces').select('id').where('instance_id', '=', instanceId).limit(2).execute()).length > 1;
}

export async function updatePrimaryInterface(db: Tx, instanceId: string, set: RowUpdate<'network_interfaces'>): Promise<void> {
  await db.updateTable('network_interfaces').set(set).where('instance_id', '=', instanceId).where('device_index', '=', 0).execute();
}

/** An interface by id, whoever owns it. */
export async function interfaceRow(db: Tx, id: string): Promise<EniRow | undefined> {
  return db.selectFrom('network_interfaces').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The interfaces attached to an instance, by device index. */
export async function interfacesAttachedTo(db: Tx, instanceId: string): Promise<EniRow[]> {
  return db.selectFrom('network_interfaces').selectAll().where('instance_id', '=', instanceId).orderBy('device_index').execute();
}

/** Whether the interface is in a default VPC. */
export async function isInDefaultVpc(db: Tx, eniId: string): Promise<boolean> {
  const row = await db
    .selectFrom('network_interfaces')
    .innerJoin('vpcs', 'vpcs.id', 'network_interfaces.vpc_id')
    .select('vpcs.is_default')
    .where('network_interfaces.id', '=', eniId)
    .executeTakeFirst();
  return row?.is_default === 1;
}

/** The security_groups JSON of the account's interfaces whose groups may include this one (a coarse match: check each). */
export async function interfaceGroupsMentioning(db: Tx, accountId: string, region: string, groupId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('network_interfaces')
    .select('security_groups')
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('security_groups', 'like', `%${groupId}%`)
    .execute();
  return rows.map((r) => r.security_groups);
}

export async function interfaceExists(db: Tx, id: string): Promise<boolean> {
  return Boolean(await db.selectFrom('network_interfaces').select('id').where('id', '=', id).executeTakeFirst());
}

/** The account's interfaces in the region (all, or those with these ids) with their instance's state and boots. */
export async function describedInterfacesOf(
  db: Tx,
  accountId: string,
  region: string,
  ids?: string[],
): Promise<(EniRow & { instance_state: string | null; instance_boots: number | null })[]> {
  let q = db
    .selectFrom('network_interfaces')
    .leftJoin('instances', 'instances.id', 'network_interfaces.instance_id')
    .selectAll('network_interfaces')
    .select(['instances.state as instance_state', 'instances.boots as instance_boots'])
    .where('network_interfaces.account_id', '=', accountId)
    .where('network_interfaces.region', '=', region);
  if (ids) q = q.where('network_interfaces.id', 'in', ids);
  return q.execute();
}

export async function insertInterface(db: Tx, row: NewRow<'network_interfaces'>): Promise<void> {
  await db.insertInto('network_interfaces').values(row).execute();
}

export async function updateInterface(db: Tx, id: string, set: RowUpdate<'network_interfaces'>): Promise<void> {
  await db.updateTable('network_interfaces').set(set).where('id', '=', id).execute();
}

export async function deleteInterfaceRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('network_interfaces').where('id', '=', id).execute();
}

/** The subnet's interfaces whose secondary addresses may include this one (a coarse match: check each). */
export async function interfacesMentioningIp(db: Tx, subnetId: string, ip: string): Promise<EniRow[]> {
  return db.selectFrom('network_interfaces').selectAll().where('subnet_id', '=', subnetId).where('secondary_private_ips', 'like', `%"${ip}"%`).execute();
}

/** The interfaces of these instances, with what an ephemeral public address needs. */
export async function interfacesForPublicIps(
  db: Tx,
  instanceIds: string[],
): Promise<Pick<EniRow, 'id' | 'account_id' | 'region' | 'instance_id' | 'private_ip' | 'auto_public_ip'>[]> {
  return db
    .selectFrom('network_interfaces')
    .select(['id', 'account_id', 'region', 'instance_id', 'private_ip', 'auto_public_ip'])
    .where('instance_id', 'in', instanceIds)
    .execute();
}

/** The interfaces attached to an instance and whether each goes with it. */
export async function interfacesOfInstance(db: Tx, instanceId: string): Promise<Pick<EniRow, 'id' | 'delete_on_termination'>[]> {
  return db.selectFrom('network_interfaces').select(['id', 'delete_on_termination']).where('instance_id', '=', instanceId).execute();
}

/** An interface's primary address and attachment. */
export async function interfacePrimary(db: Tx, id: string): Promise<Pick<EniRow, 'id' | 'private_ip' | 'instance_id' | 'device_index'> | undefined> {
  return db.selectFrom('network_interfaces').select(['id', 'private_ip', 'instance_id', 'device_index']).where('id', '=', id).executeTakeFirst();
}

export async function setInterfacePublicIp(db: Tx, id: string, ip: string | null): Promise<void> {
  await db.updateTable('network_interfaces').set({ public_ip: ip }).where('id', '=', id).execute();
}

/** The interfaces attached to these instances: id, instance and device index. */
export async function interfacesOfInstances(db: Tx, instanceIds: string[]): Promise<Pick<EniRow, 'id' | 'instance_id' | 'device_index'>[]> {
  const out: Pick<EniRow, 'id' | 'instance_id' | 'device_index'>[] = [];
  for (let i = 0; i < instanceIds.length; i += 500) {
    out.push(
      ...(await db
        .selectFrom('network_interfaces')
        .select(['id', 'instance_id', 'device_index'])
        .where('instance_id', 'in', instanceIds.slice(i, i + 500))
        .execute()),
    );
  }
  return out;
}

/** Each of the account's interfaces with these ids: the instance it is attached to and that instance's state. */
export async function interfaceInstanceStates(db: Tx, accountId: string, ids: string[]): Promise<{ id: string; instance_id: string | null; state: string | null }[]> {
  const out: { id: string; instance_id: string | null; state: string | null }[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    out.push(
      ...(await db
        .selectFrom('network_interfaces')
        .leftJoin('instances', 'instances.id', 'network_interfaces.instance_id')
        .select(['network_interfaces.id', 'network_interfaces.instance_id', 'instances.state'])
        .where('network_interfaces.id', 'in', ids.slice(i, i + 500))
        .where('network_interfaces.account_id', '=', accountId)
        .execute()),
    );
  }
  return out;
}

/** The ids of the interfaces attached to an instance. */
export async function interfaceIdsOfInstance(db: Tx, instanceId: string): Promise<string[]> {
  return (await db.selectFrom('network_interfaces').select('id').where('instance_id', '=', instanceId).execute()).map((r) => r.id);
}

/** The account's interface with this id and its VPC, or undefined. */
export async function findInterfaceVpc(db: Tx, accountId: string, region: string, id: string): Promise<Pick<EniRow, 'id' | 'vpc_id'> | undefined> {
  return db.selectFrom('network_interfaces').select(['id', 'vpc_id']).where('id', '=', id).where('account_id', '=', accountId).where('region', '=', region).executeTakeFirst();
}

/** Whether any interface is in this VPC or subnet. */
export async function hasInterfaceIn(db: Tx, where: { vpcId: string } | { subnetId: string }): Promise<boolean> {
  const q = db.selectFrom('network_interfaces').select('id');
  return Boolean(await ('vpcId' in where ? q.where('vpc_id', '=', where.vpcId) : q.where('subnet_id', '=', where.subnetId)).executeTakeFirst());
}

/** EC2 keeps the first four addresses of a subnet (network, router, DNS, future) and the last. */
export const RESERVED_AT_START = 4n;

function subnetBlock(cidr: string): Cidr {
  const c = parseCidr(cidr);
  if (!c || c.family !== 4) throw new Error(`not an IPv4 subnet block: ${cidr}`);
  return c;
}

/** Why an address cannot be asked for in this subnet, or undefined when it can. */
export function reservedOrOutside(cidr: string, ip: string): ApiError | undefined {
  const block = subnetBlock(cidr);
  const parsed = parseIp(ip);
  if (!parsed || parsed.family !== 4) return Errors.invalidParameterValue(`Invalid value '${ip}' for PrivateIpAddress.`);
  if (!ipInCidr(ip, block)) return Errors.invalidParameterValue(`Address ${ip} does not fall within the subnet's address range`);
  const offset = parsed.value - block.network;
  if (offset < RESERVED_AT_START || offset === size(block) - 1n) {
    return Errors.invalidParameterValue(`Address ${ip} is in subnet's reserved address range`);
  }
  return undefined;
}

/** The `count` lowest addresses of the subnet that are neither reserved nor in `used` (fewer if it is full). */
export function lowestFree(cidr: string, used: ReadonlySet<string>, count: number): string[] {
  const block = subnetBlock(cidr);
  const last = size(block) - 2n; // the broadcast address is reserved
  const out: string[] = [];
  for (let i = RESERVED_AT_START; i <= last && out.length < count; i++) {
    const ip = formatIp(4, block.network + i);
    if (!used.has(ip)) out.push(ip);
  }
  return out;
}

/** Every private address taken in a subnet: interfaces (primary and secondary) and live instances. */
export async function usedAddresses(db: Tx, subnetId: string): Promise<Set<string>> {
  const used = new Set<string>();
  const enis = await db.selectFrom('network_interfaces').select(['private_ip', 'secondary_private_ips']).where('subnet_id', '=', subnetId).execute();
  for (const e of enis) {
    used.add(e.private_ip);
    for (const ip of parseList(e.secondary_private_ips)) used.add(ip);
  }
  const instances = await db.selectFrom('instances').select('private_ip').where('subnet_id', '=', subnetId).where('state', '!=', 'terminated').execute();
  for (const i of instances) used.add(i.private_ip);
  return used;
}

/** A locally administered unicast MAC address, as EC2 gives its interfaces (02:…). */
export function newMacAddress(): string {
  const b = randomBytes(5);
  return ['02', ...[...b].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

export function newAttachmentId(): string {
  return `eni-attach-${shortHex(17)}`;
}

/** The secondary private addresses of an interface, in the order they were assigned. */
export function secondaryIpsOf(row: Pick<EniRow, 'secondary_private_ips'>): string[] {
  return parseList(row.secondary_private_ips);
}

function parseList(s: string | null | undefined): string[] {
  if (!s) return [];
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? (v as string[]) : [];
  } catch {
    return [];
  }
}

const groupCache = new Map<string, GroupIdentifier[]>();

/** Parsed once per distinct text (interfaces of a reservation share their groups); do not mutate. */
export function groupsOf(json: string): GroupIdentifier[] {
  const hit = groupCache.get(json);
  if (hit) return hit;
  if (groupCache.size > 5000) groupCache.clear();
  const v = parseGroups(json);
  groupCache.set(json, v);
  return v;
}

function parseGroups(json: string): GroupIdentifier[] {
  try {
    return (JSON.parse(json) as GroupIdentifier[]) ?? [];
  } catch {
    return [];
  }
}

export type EniRow = Row<'network_interfaces'>;

const ENI_ID = idPattern('eni');
const ATTACHMENT_ID = idPattern('eni-attach');

export function checkEniId(id: string): void {
  if (!ENI_ID.test(id)) throw Errors.notFound('InvalidNetworkInterfaceId.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
}

export function enisNotFound(ids: string[]): ApiError {
  return Errors.notFound(
    'InvalidNetworkInterfaceID.NotFound',
    `The networkInterface ID${ids.length > 1 ? 's' : ''} '${ids.join(', ')}' ${ids.length > 1 ? 'do' : 'does'} not exist`,
  );
}

/** The caller's interface, or EC2's Malformed / NotFound error. */
export async function getNetworkInterface(ctx: Ctx, id: string | undefined): Promise<EniRow> {
  if (!id) throw Errors.missingParameter('NetworkInterfaceId');
  checkEniId(id);
  const row = await findOwned(ctx, 'network_interfaces', id);
  if (!row) throw enisNotFound([id]);
  return row;
}

/** The caller's interface holding this attachment, or EC2's Malformed / NotFound error. */
export async function getByAttachment(ctx: Ctx, attachmentId: string | undefined, param = 'AttachmentId'): Promise<EniRow> {
  if (!attachmentId) throw Errors.missingParameter(param);
  if (!ATTACHMENT_ID.test(attachmentId)) {
    throw Errors.notFound('InvalidNetworkInterfaceAttachmentId.Malformed', `Invalid id: "${attachmentId}" (expecting "eni-attach-...")`);
  }
  const row = await ctx.db
    .selectFrom('network_interfaces')
    .selectAll()
    .where('attachment_id', '=', attachmentId)
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .executeTakeFirst();
  if (!row) throw attachmentNotFound(attachmentId);
  return row;
}

export const attachmentNotFound = (id: string) => Errors.notFound('InvalidAttachmentID.NotFound', `The attachment ID '${id}' does not exist`);

/**
 * An interface's public addresses as EC2 shows them, by private address (see
 * associationsOfInterfaces in ../common/public-ips.ts).
 */
export type Associations = ReadonlyMap<string, NetworkInterfaceAssociation>;

/** Attachment status follows the instance: attaching while it launches, attached once it ran. */
export type AttachmentStatus = 'attaching' | 'attached' | 'detaching' | 'detached';

function privateAddresses<A>(row: EniRow, associationOf: (ip: string) => A | undefined, dns = privateDnsName(row.private_ip, row.region)) {
  const primary = { Association: associationOf(row.private_ip), Primary: true, PrivateDnsName: dns, PrivateIpAddress: row.private_ip };
  const secondary = parseList(row.secondary_private_ips).map((ip) => ({
    Association: associationOf(ip),
    Primary: false,
    PrivateDnsName: privateDnsName(ip, row.region),
    PrivateIpAddress: ip,
  }));
  return [primary, ...secondary];
}

/**
 * The association of each private address. Without the ledger's view (a caller that did not load
 * it), the public_ip column still names the primary's address.
 */
function associations(row: EniRow, assoc: Associations | undefined): (ip: string) => NetworkInterfaceAssociation | undefined {
  if (assoc) return (ip) => assoc.get(ip);
  const fallback = row.public_ip ? { PublicIp: row.public_ip, PublicDnsName: '' } : undefined;
  return (ip) => (ip === row.private_ip ? fallback : undefined);
}

/** Inside an Instance an association has no allocation or association id. */
function forInstance(a: NetworkInterfaceAssociation | undefined): InstanceNetworkInterfaceAssociation | undefined {
  return a && { IpOwnerId: a.IpOwnerId, PublicDnsName: a.PublicDnsName, PublicIp: a.PublicIp };
}

/** The interface as DescribeNetworkInterfaces shows it. */
export function toNetworkInterface(row: EniRow, tags: Tag[] | undefined, attachmentStatus: AttachmentStatus = 'attached', assoc?: Associations): NetworkInterface {
  const associationOf = associations(row, assoc);
  const out: NetworkInterface = {
    Association: associationOf(row.private_ip),
    AvailabilityZone: row.availability_zone,
    AvailabilityZoneId: zoneId(row.availability_zone),
    Description: row.description,
    Groups: groupsOf(row.security_groups),
    InterfaceType: row.interface_type as NetworkInterface['InterfaceType'],
    Ipv6Addresses: [],
    MacAddress: row.mac_address,
    NetworkInterfaceId: row.id,
    OwnerId: row.account_id,
    PrivateDnsName: privateDnsName(row.private_ip, row.region),
    PrivateIpAddress: row.private_ip,
    PrivateIpAddresses: privateAddresses(row, associationOf),
    RequesterManaged: false,
    SourceDestCheck: row.source_dest_check === 1,
    Status: row.status as NetworkInterface['Status'],
    SubnetId: row.subnet_id,
    TagSet: tags ?? [],
    VpcId: row.vpc_id,
  };
  if (row.instance_id) {
    out.Attachment = {
      AttachTime: row.attach_time ? new Date(row.attach_time) : undefined,
      AttachmentId: row.attachment_id ?? undefined,
      DeleteOnTermination: row.delete_on_termination === 1,
      DeviceIndex: row.device_index ?? 0,
      NetworkCardIndex: 0,
      InstanceId: row.instance_id,
      InstanceOwnerId: row.account_id,
      Status: attachmentStatus,
    };
  }
  return out;
}

/** The interface as it appears inside an Instance. */
export function toInstanceNetworkInterface(row: EniRow, attachmentStatus: AttachmentStatus, assoc?: Associations): InstanceNetworkInterface {
  const dns = privateDnsName(row.private_ip, row.region);
  const inner = associations(row, assoc);
  const associationOf = (ip: string) => forInstance(inner(ip));
  return {
    Association: associationOf(row.private_ip),
    Attachment: {
      AttachTime: row.attach_time ? new Date(row.attach_time) : undefined,
      AttachmentId: row.attachment_id ?? undefined,
      DeleteOnTermination: row.delete_on_termination === 1,
      DeviceIndex: row.device_index ?? 0,
      Status: attachmentStatus,
      NetworkCardIndex: 0,
    },
    Description: row.description,
    Groups: groupsOf(row.security_groups),
    Ipv6Addresses: [],
    MacAddress: row.mac_address,
    NetworkInterfaceId: row.id,
    OwnerId: row.account_id,
    PrivateDnsName: dns,
    PrivateIpAddress: row.private_ip,
    PrivateIpAddresses: privateAddresses(row, associationOf, dns),
    SourceDestCheck: row.source_dest_check === 1,
    Status: row.status as InstanceNetworkInterface['Status'],
    SubnetId: row.subnet_id,
    VpcId: row.vpc_id,
    InterfaceType: row.interface_type,
  };
}

/** How an instance's state shows on its attachments (interfaces and volumes alike). */
export function attachmentStatusFor(instanceState: string, hasRun: boolean): AttachmentStatus {
  switch (instanceState) {
    case 'pending':
      return hasRun ? 'attached' : 'attaching';
    case 'shutting-down':
      return 'detaching';
    case 'terminated':
      return 'detached';
    default:
      return 'attached';
  }
}

// For the controllers and the host.

/** network_interfaces.security_groups. */
export const securityGroupsColumn = jsonColumn<GroupIdentifier[]>({ value: [] });

/** The ids of the groups in a security_groups column (none when it is unreadable). */
export function groupIdsIn(json: string): string[] {
  const v = securityGroupsColumn.decode(json) as unknown;
  return Array.isArray(v) ? (v as (GroupIdentifier | null)[]).map((g) => g?.GroupId).filter((g): g is string => !!g) : [];
}

const INTERFACE_SPEC_COLUMNS = [
  'id',
  'instance_id',
  'device_index',
  'subnet_id',
  'mac_address',
  'private_ip',
  'secondary_private_ips',
  'security_groups',
  'source_dest_check',
] as const satisfies readonly (keyof EniRow)[];

/** The interfaces attached to the instance, as its spec needs them, device index 0 first. */
export async function interfaceSpecsOfInstance(db: Tx, instanceId: string): Promise<Pick<EniRow, (typeof INTERFACE_SPEC_COLUMNS)[number]>[]> {
  const enis = await db.selectFrom('network_interfaces').select(INTERFACE_SPEC_COLUMNS).where('instance_id', '=', instanceId).execute();
  return enis.sort((a, b) => (a.device_index ?? 0) - (b.device_index ?? 0));
}

/** The VPCs the instance has interfaces in. */
export async function vpcIdsOfInterfacesOf(db: Tx, instanceId: string): Promise<string[]> {
  return (await db.selectFrom('network_interfaces').select('vpc_id').where('instance_id', '=', instanceId).execute()).map((e) => e.vpc_id);
}

/**
 * The VPC's interfaces attached to instances in `states`, as the data plane needs them, their
 * instances (metadata options, state) and the ids of the groups they are in.
 */
export async function interfacesUpInVpc(db: Tx, vpcId: string, states: string[]) {
  const attached = await db
    .selectFrom('network_interfaces')
    .innerJoin('instances', 'instances.id', 'network_interfaces.instance_id')
    .select([...INTERFACE_SPEC_COLUMNS.map((c) => `network_interfaces.${c}` as const), 'instances.metadata_options', 'instances.state'])
    .where('network_interfaces.vpc_id', '=', vpcId)
    .where('instances.state', 'in', states)
    .execute();
  const interfaces = attached.map(({ metadata_options: _m, state: _s, ...eni }) => eni);
  const instances = [...new Map(attached.map((a) => [a.instance_id!, { id: a.instance_id!, metadata_options: a.metadata_options, state: a.state }])).values()];
  const groupIds = [...new Set(attached.flatMap((a) => groupIdsIn(a.security_groups)))];
  return { interfaces, instances, groupIds };
}

/** VPCs with an interface of an instance in `states`. */
export async function vpcsWithInstancesIn(db: Tx, states: string[]): Promise<{ vpcId: string; accountId: string; region: string }[]> {
  const rows = await db
    .selectFrom('network_interfaces')
    .innerJoin('instances', 'instances.id', 'network_interfaces.instance_id')
    .select(['network_interfaces.vpc_id', 'network_interfaces.account_id', 'network_interfaces.region'])
    .where('instances.state', 'in', states)
    .distinct()
    .execute();
  return rows.map((r) => ({ vpcId: r.vpc_id, accountId: r.account_id, region: r.region }));
}

/**
 * An instance lets go of its interfaces: those marked DeleteOnTermination go (their public
 * addresses released: ephemeral ones freed, elastic ones disassociated), the others are detached.
 */
export async function releaseInterfacesOf(db: Tx, instanceId: string): Promise<void> {
  const enis = await db.selectFrom('network_interfaces').select(['id', 'delete_on_termination']).where('instance_id', '=', instanceId).execute();
  const gone = enis.filter((e) => e.delete_on_termination === 1).map((e) => e.id);
  if (gone.length) {
    // An elastic IP on an interface that goes is disassociated (it stays allocated); an
    // interface that stays keeps its elastic IP, as on EC2.
    await releasePublicIpsOfInterfaces(db, gone);
    await deleteTagsOfAll(db, gone);
    await db.deleteFrom('network_interfaces').where('id', 'in', gone).execute();
  }
  await db
    .updateTable('network_interfaces')
    .set({ instance_id: null, device_index: null, attachment_id: null, attach_time: null, status: 'available' })
    .where('instance_id', '=', instanceId)
    .execute();
}

/** network_interfaces.secondary_private_ips. */
export const secondaryIpsColumn = jsonColumn<string[]>({ value: [] });

/** An interface row with its JSON columns decoded. */
export type DecodedInterface = Omit<EniRow, 'secondary_private_ips' | 'security_groups'> & { secondary_private_ips: string[]; security_groups: GroupIdentifier[] };

export async function decodedInterfacesOf(db: Tx, instanceId: string): Promise<DecodedInterface[]> {
  const rows = await db.selectFrom('network_interfaces').selectAll().where('instance_id', '=', instanceId).execute();
  return rows.map((e) => ({ ...e, secondary_private_ips: secondaryIpsColumn.decode(e.secondary_private_ips), security_groups: securityGroupsColumn.decode(e.security_groups) }));
}

/**
 * The instance whose interface in this VPC holds this private address (primary or secondary).
 * The VPC's namespace drops packets from an interface with a source that is not its own, so the
 * address is the asker's.
 */
export async function instanceHoldingAddress(db: Tx, vpcId: string, ip: string): Promise<string | undefined> {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return undefined;
  const rows = await db
    .selectFrom('network_interfaces')
    .select(['instance_id', 'private_ip', 'secondary_private_ips'])
    .where('vpc_id', '=', vpcId)
    .where('instance_id', 'is not', null)
    .where((eb) => eb.or([eb('private_ip', '=', ip), eb('secondary_private_ips', 'like', `%"${ip}"%`)]))
    .execute();
  const row = rows.find((r) => r.private_ip === ip) ?? rows.find((r) => secondaryIpsColumn.decode(r.secondary_private_ips).includes(ip));
  return row?.instance_id ?? undefined;
}

/** Whether an interface of the VPC has this private IP (primary or secondary). */
export async function vpcHasPrivateIp(db: Tx, vpcId: string, ip: string): Promise<boolean> {
  const primary = await db.selectFrom('network_interfaces').select('id').where('vpc_id', '=', vpcId).where('private_ip', '=', ip).limit(1).executeTakeFirst();
  if (primary) return true;
  // secondary_private_ips is a JSON array of strings; the quotes make the match exact
  // (an address has no LIKE wildcards in it).
  const secondary = await db
    .selectFrom('network_interfaces')
    .select('id')
    .where('vpc_id', '=', vpcId)
    .where('secondary_private_ips', 'like', `%"${ip}"%`)
    .limit(1)
    .executeTakeFirst();
  return secondary !== undefined;
}
