// Elastic network interfaces: Create/Delete, Attach/Detach, secondary private addresses, their
// attributes, and DescribeNetworkInterfaces. A handler writes rows only; a change to an interface
// that is attached to an instance queues one vpc.sync for its VPC, and the data plane follows.
import { priorAnswer, rememberAnswer } from '../common/client-tokens.js';
import type {
  AssignPrivateIpAddressesRequest,
  AssignPrivateIpAddressesResult,
  AttachNetworkInterfaceRequest,
  AttachNetworkInterfaceResult,
  CreateNetworkInterfaceRequest,
  CreateNetworkInterfaceResult,
  DeleteNetworkInterfaceRequest,
  DescribeNetworkInterfaceAttributeRequest,
  DescribeNetworkInterfaceAttributeResult,
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesResult,
  DetachNetworkInterfaceRequest,
  ModifyNetworkInterfaceAttributeRequest,
  NetworkInterface,
  ResetNetworkInterfaceAttributeRequest,
  UnassignPrivateIpAddressesRequest,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { Tx } from '../../../store/db.js';
import type { RowUpdate } from '../../../store/schema.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { queueVpcSync } from '../common/network-sync.js';
import { byKey, paginate } from '../common/pagination.js';
import { operatorUnsupported } from '../common/unsupported.js';
import { assignEphemeralPublicIps, associationsOfInterfaces, refreshPublicIpColumns } from '../common/public-ips.js';
import { findInstanceType } from '../instance-types/catalog.js';
import { getInstanceRows } from '../instances/store.js';
import { checkGroupsPerInterface } from '../quotas/check.js';
import { resolveSecurityGroups } from '../security-groups/store.js';
import { deleteAllTags, MAX_TAGS, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { getSubnet } from '../vpcs/store.js';
import { networkInterfaceFilters } from './filters.js';
import {
  attachmentNotFound,
  attachmentStatusFor,
  checkEniId,
  enisNotFound,
  getByAttachment,
  getNetworkInterface,
  groupsOf,
  lowestFree,
  newAttachmentId,
  newMacAddress,
  reservedOrOutside,
  secondaryIpsOf,
  toNetworkInterface,
  usedAddresses,
  type EniRow,
  deleteInterfaceRow,
  describedInterfacesOf,
  insertInterface,
  interfaceExists,
  interfacesMentioningIp,
  interfacesOfInstances,
  updateInterface,
} from './store.js';
import { deletePublicIp, publicIpsOfInterface, unmapPublicIp } from '../addresses/store.js';
import { instanceTypeAndState, setInstanceSecurityGroups } from '../instances/store.js';

const tagsOfEni = (n: NetworkInterface) => n.TagSet;

/** No instance type takes more IPv4 addresses per interface than this; it bounds unattached interfaces. */
export const MAX_ADDRESSES_UNATTACHED = 50;

const unsupported = (what: string) => new ApiError('Unsupported', `${what} is not supported by cumulo yet.`);
const addressInUse = (ip: string) => Errors.invalidParameterValue(`Address ${ip} is in use.`);
const addressLimit = () => new ApiError('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');

/** The interface's attached instance's VPC gets a sync; an unattached interface is not in any data plane. */
async function syncIfAttached(ctx: Ctx, eni: Pick<EniRow, 'instance_id' | 'vpc_id' | 'account_id' | 'region'>): Promise<void> {
  if (eni.instance_id) await queueVpcSync(ctx, { vpcId: eni.vpc_id, accountId: eni.account_id, region: eni.region });
}

/**
 * Let go of the public addresses mapped to some private addresses of an interface (all of them
 * when `privateIps` is undefined): ephemeral ones go back to the pool, elastic ones stay allocated
 * but are disassociated (unless `keepElastic`), as EC2 does.
 */
async function dropPublicIps(db: Tx, eniId: string, opts: { privateIps?: string[]; keepElastic?: boolean } = {}): Promise<boolean> {
  const rows = await publicIpsOfInterface(db, eniId);
  const hit = rows.filter((r) => !opts.privateIps || (r.private_ip !== null && opts.privateIps.includes(r.private_ip)));
  let changed = false;
  for (const r of hit) {
    if (r.kind === 'ephemeral') {
      await deletePublicIp(db, r.public_ip);
      changed = true;
    } else if (!opts.keepElastic) {
      await unmapPublicIp(db, r.public_ip);
      changed = true;
    }
  }
  return changed;
}

/** The account's quota of security groups per network interface (5 by default). */
async function checkGroupCount(ctx: Ctx, groups: string[] | undefined): Promise<void> {
  if (groups?.length) await checkGroupsPerInterface(ctx, groups.length);
}

function checkDescription(d: string | undefined): void {
  if (d !== undefined && d.length > 255) throw Errors.invalidParameterValue('Description must be at most 255 characters long.');
}

function checkCount(name: string, n: number | undefined): number {
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || n < 1) throw Errors.invalidParameterValue(`Value (${n}) for parameter ${name} is invalid. It must be a positive integer.`);
  return n;
}

/** IPv4 addresses per interface for the instance an interface is attached to (or the unattached bound). */
async function addressLimitFor(ctx: Ctx, eni: EniRow): Promise<number> {
  if (!eni.instance_id) return MAX_ADDRESSES_UNATTACHED;
  const inst = await instanceTypeAndState(ctx.db, eni.instance_id);
  return (inst && findInstanceType(inst.instance_type)?.NetworkInfo?.Ipv4AddressesPerInterface) || MAX_ADDRESSES_UNATTACHED;
}

/** The interface as Describe calls show it, with its tags, attachment status and public addresses. */
async function describeOne(ctx: Ctx, id: string): Promise<NetworkInterface> {
  return (await loadInterfaces(ctx, [id]))[0]!;
}

async function loadInterfaces(ctx: Ctx, ids: string[] | undefined): Promise<NetworkInterface[]> {
  const rows = await describedInterfacesOf(ctx.db, ctx.accountId, ctx.region, ids);
  if (ids) {
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw enisNotFound(missing);
  }
  const eniIds = rows.map((r) => r.id);
  const small = rows.length <= 500;
  const [tags, associations] = await Promise.all([
    tagsOf(ctx.db, ctx.accountId, ctx.region, 'network-interface', small ? eniIds : undefined),
    associationsOfInterfaces(ctx.db, eniIds),
  ]);
  const none = new Map();
  return rows.map((r) => {
    const { instance_state, instance_boots, ...row } = r;
    const status = instance_state ? attachmentStatusFor(instance_state, (instance_boots ?? 0) > 0) : 'attached';
    return toNetworkInterface(row, tags.get(row.id), status, associations.get(row.id) ?? none);
  });
}

// ---------------------------------------------------------------------------------------------
// Describe

async function describeNetworkInterfaces(ctx: Ctx, input: DescribeNetworkInterfacesRequest): Promise<DescribeNetworkInterfacesResult> {
  // IncludeManagedResources changes nothing here: no service manages resources in cumulo (Operator.Managed is always false).
  const ids = input.NetworkInterfaceIds?.length ? [...new Set(input.NetworkInterfaceIds)] : undefined;
  if (ids && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter networkInterfaceIdSet cannot be used with the parameter maxResults');
  }
  for (const id of ids ?? []) checkEniId(id);
  validateFilters(input.Filters, networkInterfaceFilters, { tags: tagsOfEni });
  const all = await loadInterfaces(ctx, ids);
  const matched = applyFilters(all, input.Filters, networkInterfaceFilters, { tags: tagsOfEni }).sort(byKey((n) => n.NetworkInterfaceId!));
  const page = paginate(matched, (n) => n.NetworkInterfaceId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { NetworkInterfaces: page.items, NextToken: page.nextToken };
}

// ---------------------------------------------------------------------------------------------
// Create and delete

async function createNetworkInterface(ctx: Ctx, input: CreateNetworkInterfaceRequest): Promise<CreateNetworkInterfaceResult> {
  const { token, prior } = await priorAnswer<{ NetworkInterfaceId: string }>(ctx, 'CreateNetworkInterface', input);
  if (prior) {
    if (await interfaceExists(ctx.db, prior.NetworkInterfaceId)) return { NetworkInterface: await describeOne(ctx, prior.NetworkInterfaceId), ClientToken: input.ClientToken };
  }

  const more = input as CreateNetworkInterfaceRequest & Record<string, unknown>;
  if (more.Ipv6AddressCount || (more.Ipv6Addresses as unknown[] | undefined)?.length || more.EnablePrimaryIpv6) throw unsupported('IPv6 addresses');
  if (more.Ipv4PrefixCount || (more.Ipv4Prefixes as unknown[] | undefined)?.length || more.Ipv6PrefixCount || (more.Ipv6Prefixes as unknown[] | undefined)?.length) {
    throw unsupported('Prefix delegation');
  }
  if (input.InterfaceType !== undefined && (input.InterfaceType as string) !== 'interface') throw unsupported(`Interface type ${input.InterfaceType}`);
  if (input.Operator) throw operatorUnsupported();
  checkDescription(input.Description);
  await checkGroupCount(ctx, input.Groups);
  const tags = tagsForType(input.TagSpecifications, ['network-interface'], 'network-interface');
  if (new Set(tags.map((t) => t.Key)).size > MAX_TAGS) throw new ApiError('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');

  // The addresses asked for: PrivateIpAddress and/or PrivateIpAddresses (one of them primary), or a count.
  const specs = input.PrivateIpAddresses ?? [];
  for (const [i, sp] of specs.entries()) if (!sp.PrivateIpAddress) throw Errors.missingParameter(`PrivateIpAddresses.${i + 1}.PrivateIpAddress`);
  const primaries = specs.filter((sp) => sp.Primary);
  if (primaries.length > 1) throw Errors.invalidParameterValue('Only one primary private IP address can be specified.');
  const count = checkCount('SecondaryPrivateIpAddressCount', input.SecondaryPrivateIpAddressCount);
  if (count && specs.length > 1) {
    throw Errors.invalidParameterCombination('The parameter secondaryPrivateIpAddressCount cannot be used with more than one address in privateIpAddresses.');
  }
  let primary = input.PrivateIpAddress;
  const specPrimary = primaries[0]?.PrivateIpAddress;
  if (primary !== undefined && specPrimary !== undefined && specPrimary !== primary) {
    throw Errors.invalidParameterCombination(`The primary address ${specPrimary} in privateIpAddresses differs from privateIpAddress ${primary}.`);
  }
  primary ??= specPrimary ?? specs[0]?.PrivateIpAddress;
  const secondaries = specs.map((sp) => sp.PrivateIpAddress!).filter((ip) => ip !== primary);
  const explicit = primary !== undefined ? [primary, ...secondaries] : secondaries;
  if (new Set(explicit).size !== explicit.length) throw Errors.invalidParameterValue('The same private IP address is specified more than once.');
  const total = (primary === undefined ? 1 : 0) + explicit.length + count;
  if (total > MAX_ADDRESSES_UNATTACHED) throw addressLimit();

  const subnet = await getSubnet(ctx, input.SubnetId!);
  const groups = await resolveSecurityGroups(ctx, { ids: input.Groups, vpcId: subnet.vpc_id, subnetId: subnet.id });
  const used = await usedAddresses(ctx.db, subnet.id);
  for (const ip of explicit) {
    const bad = reservedOrOutside(subnet.cidr_block, ip);
    if (bad) throw bad;
    if (used.has(ip)) throw new ApiError('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
  }
  for (const ip of explicit) used.add(ip);
  const auto = lowestFree(subnet.cidr_block, used, total - explicit.length);
  if (auto.length < total - explicit.length) {
    throw new ApiError('InsufficientFreeAddressesInSubnet', `There are not enough free addresses in subnet '${subnet.id}' to satisfy the requested number of addresses.`);
  }
  const primaryIp = primary ?? auto.shift()!;
  const secondaryIps = [...secondaries, ...auto];

  const id = newId('eni');
  const now = ctx.now.toISOString();
  await insertInterface(ctx.db, {
    id,
    account_id: ctx.accountId,
    region: ctx.region,
    subnet_id: subnet.id,
    vpc_id: subnet.vpc_id,
    availability_zone: subnet.availability_zone,
    private_ip: primaryIp,
    mac_address: newMacAddress(),
    description: input.Description ?? '',
    interface_type: 'interface',
    status: 'available',
    instance_id: null,
    device_index: null,
    attachment_id: null,
    delete_on_termination: 0,
    source_dest_check: 1,
    security_groups: JSON.stringify(groups),
    secondary_private_ips: JSON.stringify(secondaryIps),
    public_ip: null,
    created_at: now,
    attach_time: null,
    auto_public_ip: 0,
  });
  await putTags(ctx, 'network-interface', id, tags);
  await rememberAnswer(ctx, 'CreateNetworkInterface', token, { NetworkInterfaceId: id });
  return { NetworkInterface: await describeOne(ctx, id), ClientToken: input.ClientToken };
}

async function deleteNetworkInterface(ctx: Ctx, input: DeleteNetworkInterfaceRequest): Promise<Record<string, never>> {
  const eni = await getNetworkInterface(ctx, input.NetworkInterfaceId);
  if (eni.instance_id) throw new ApiError('InvalidNetworkInterface.InUse', `The network interface '${eni.id}' is currently in use.`);
  await dropPublicIps(ctx.db, eni.id);
  await deleteInterfaceRow(ctx.db, eni.id);
  await deleteAllTags(ctx, eni.id);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Attach and detach

/** States in which EC2 lets an interface be attached to an instance. */
const ATTACHABLE_STATES = ['running', 'stopped'];

async function attachNetworkInterface(ctx: Ctx, input: AttachNetworkInterfaceRequest): Promise<AttachNetworkInterfaceResult> {
  if (input.DeviceIndex === undefined) throw Errors.missingParameter('DeviceIndex');
  if (!input.InstanceId) throw Errors.missingParameter('InstanceId');
  const index = input.DeviceIndex;
  if (!Number.isInteger(index) || index < 0) throw Errors.invalidParameterValue(`Value (${index}) for parameter deviceIndex is invalid.`);
  const card = input.NetworkCardIndex ?? 0;
  if (card !== 0) throw Errors.invalidParameterValue(`Value (${card}) for parameter networkCardIndex is invalid. Instances here have one network card (index 0).`);
  if (input.EnaSrdSpecification?.EnaSrdEnabled) throw unsupported('ENA Express (EnaSrdSpecification)');
  if (input.EnaQueueCount !== undefined) throw unsupported('Setting the ENA queue count (EnaQueueCount)');
  const eni = await getNetworkInterface(ctx, input.NetworkInterfaceId);
  const inst = (await getInstanceRows(ctx, [input.InstanceId]))[0]!;

  if (!ATTACHABLE_STATES.includes(inst.state)) {
    throw Errors.incorrectInstanceState(`The ${inst.state} instance '${inst.id}' is not in a valid state for this operation.`);
  }
  if (eni.instance_id) throw new ApiError('InvalidNetworkInterface.InUse', `Interface: [${eni.id}] in use.`);
  if (eni.availability_zone !== inst.availability_zone) {
    throw Errors.invalidParameterCombination('You may not attach a network interface to an instance if they are not in the same availability zone');
  }
  if (eni.vpc_id !== inst.vpc_id) {
    throw Errors.invalidParameterCombination(`Network interface '${eni.id}' and instance '${inst.id}' belong to different networks.`);
  }
  const attached = await interfacesOfInstances(ctx.db, [inst.id]);
  if (attached.some((a) => a.device_index === index)) {
    throw Errors.invalidParameterValue(`Instance '${inst.id}' already has an interface attached at device index '${index}'.`);
  }
  const network = findInstanceType(inst.instance_type)?.NetworkInfo;
  const max = network?.MaximumNetworkInterfaces ?? 1;
  if (attached.length + 1 > max) throw new ApiError('AttachmentLimitExceeded', `Interface count ${attached.length + 1} exceeds the limit for ${inst.instance_type}`);
  const perInterface = network?.Ipv4AddressesPerInterface ?? MAX_ADDRESSES_UNATTACHED;
  if (1 + secondaryIpsOf(eni).length > perInterface) throw addressLimit();

  const attachmentId = newAttachmentId();
  await updateInterface(ctx.db, eni.id, {
    instance_id: inst.id,
    device_index: index,
    attachment_id: attachmentId,
    attach_time: ctx.now.toISOString(),
    status: 'in-use',
    delete_on_termination: 0,
  });
  await queueVpcSync(ctx, { vpcId: eni.vpc_id, accountId: eni.account_id, region: eni.region });
  return { AttachmentId: attachmentId, NetworkCardIndex: 0 };
}

async function detachNetworkInterface(ctx: Ctx, input: DetachNetworkInterfaceRequest): Promise<Record<string, never>> {
  const eni = await getByAttachment(ctx, input.AttachmentId);
  if (eni.device_index === 0) throw new ApiError('OperationNotPermitted', 'The network interface at device index 0 and networkCard index 0 cannot be detached.');
  // A public IPv4 address the instance got for this interface goes; an elastic IP stays with the interface.
  const dropped = await dropPublicIps(ctx.db, eni.id, { keepElastic: true });
  await updateInterface(ctx.db, eni.id, { instance_id: null, device_index: null, attachment_id: null, attach_time: null, status: 'available', delete_on_termination: 0 });
  if (dropped) await refreshPublicIpColumns(ctx.db, eni.id);
  await syncIfAttached(ctx, eni);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Secondary private addresses

async function assignPrivateIpAddresses(ctx: Ctx, input: AssignPrivateIpAddressesRequest): Promise<AssignPrivateIpAddressesResult> {
  const more = input as AssignPrivateIpAddressesRequest & Record<string, unknown>;
  if (more.Ipv4PrefixCount || (more.Ipv4Prefixes as unknown[] | undefined)?.length) throw unsupported('Prefix delegation');
  const eni = await getNetworkInterface(ctx, input.NetworkInterfaceId);
  const asked = input.PrivateIpAddresses ?? [];
  const count = checkCount('SecondaryPrivateIpAddressCount', input.SecondaryPrivateIpAddressCount);
  if (asked.length && count) {
    throw Errors.invalidParameterCombination('Specify either privateIpAddresses or secondaryPrivateIpAddressCount, not both.');
  }
  if (!asked.length && !count) throw Errors.missingParameter('PrivateIpAddresses or SecondaryPrivateIpAddressCount');
  if (new Set(asked).size !== asked.length) throw Errors.invalidParameterValue('The same private IP address is specified more than once.');

  const current = secondaryIpsOf(eni);
  const fresh = asked.filter((ip) => ip !== eni.private_ip && !current.includes(ip));
  const adding = count || fresh.length;
  if (1 + current.length + adding > (await addressLimitFor(ctx, eni))) throw addressLimit();

  const subnet = await getSubnet(ctx, eni.subnet_id);
  const used = await usedAddresses(ctx.db, subnet.id);
  let added: string[];
  if (count) {
    added = lowestFree(subnet.cidr_block, used, count);
    if (added.length < count) {
      throw new ApiError('InsufficientFreeAddressesInSubnet', `There are not enough free addresses in subnet '${subnet.id}' to satisfy the requested number of addresses.`);
    }
  } else {
    for (const ip of asked) {
      const bad = reservedOrOutside(subnet.cidr_block, ip);
      if (bad) throw bad;
    }
    for (const ip of fresh) {
      if (!used.has(ip)) continue;
      // Only another interface's secondary address can move, and only when asked to.
      const holder = await secondaryHolder(ctx.db, subnet.id, ip);
      if (!holder || !input.AllowReassignment) throw addressInUse(ip);
      await updateInterface(ctx.db, holder.id, { secondary_private_ips: JSON.stringify(secondaryIpsOf(holder).filter((x) => x !== ip)) });
      if (await dropPublicIps(ctx.db, holder.id, { privateIps: [ip] })) await refreshPublicIpColumns(ctx.db, holder.id);
      await syncIfAttached(ctx, holder);
    }
    added = fresh;
  }
  if (added.length) {
    await updateInterface(ctx.db, eni.id, { secondary_private_ips: JSON.stringify([...current, ...added]) });
    await syncIfAttached(ctx, eni);
  }
  const reported = count ? added : asked.filter((ip) => ip !== eni.private_ip);
  return { NetworkInterfaceId: eni.id, AssignedPrivateIpAddresses: reported.map((ip) => ({ PrivateIpAddress: ip })) };
}

/** The interface in this subnet that holds `ip` as a secondary address, if one does. */
async function secondaryHolder(db: Tx, subnetId: string, ip: string): Promise<EniRow | undefined> {
  const rows = await interfacesMentioningIp(db, subnetId, ip);
  return rows.find((r) => secondaryIpsOf(r).includes(ip));
}

async function unassignPrivateIpAddresses(ctx: Ctx, input: UnassignPrivateIpAddressesRequest): Promise<Record<string, never>> {
  const more = input as UnassignPrivateIpAddressesRequest & Record<string, unknown>;
  if ((more.Ipv4Prefixes as unknown[] | undefined)?.length) throw unsupported('Prefix delegation');
  const eni = await getNetworkInterface(ctx, input.NetworkInterfaceId);
  const asked = input.PrivateIpAddresses ?? [];
  if (!asked.length) throw Errors.missingParameter('PrivateIpAddresses');
  if (asked.includes(eni.private_ip)) {
    throw Errors.invalidParameterValue(`The primary private IP address ${eni.private_ip} of interface '${eni.id}' cannot be unassigned.`);
  }
  const current = secondaryIpsOf(eni);
  const missing = asked.filter((ip) => !current.includes(ip));
  if (missing.length) throw Errors.invalidParameterValue(`Some of the specified addresses are not assigned to interface ${eni.id}: ${missing.join(', ')}`);
  await updateInterface(ctx.db, eni.id, { secondary_private_ips: JSON.stringify(current.filter((ip) => !asked.includes(ip))) });
  // An elastic IP associated with an address that goes is disassociated, as EC2 does.
  if (await dropPublicIps(ctx.db, eni.id, { privateIps: asked })) await refreshPublicIpColumns(ctx.db, eni.id);
  await syncIfAttached(ctx, eni);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Attributes

const ATTRIBUTES = ['description', 'groupSet', 'sourceDestCheck', 'attachment', 'associatePublicIpAddress'] as const;

async function describeNetworkInterfaceAttribute(ctx: Ctx, input: DescribeNetworkInterfaceAttributeRequest): Promise<DescribeNetworkInterfaceAttributeResult> {
  const attr = input.Attribute as string | undefined;
  if (attr !== undefined && !(ATTRIBUTES as readonly string[]).includes(attr)) {
    throw Errors.invalidParameterValue(`Value (${attr}) for parameter attribute is invalid. Unknown attribute.`);
  }
  const eni = await getNetworkInterface(ctx, input.NetworkInterfaceId);
  if (attr === undefined) throw Errors.missingParameter('Attribute');
  const out: DescribeNetworkInterfaceAttributeResult = { NetworkInterfaceId: eni.id };
  switch (attr as (typeof ATTRIBUTES)[number]) {
    case 'description':
      out.Description = { Value: eni.description };
      break;
    case 'groupSet':
      out.Groups = groupsOf(eni.security_groups);
      break;
    case 'sourceDestCheck':
      out.SourceDestCheck = { Value: eni.source_dest_check === 1 };
      break;
    case 'associatePublicIpAddress':
      out.AssociatePublicIpAddress = eni.auto_public_ip === 1;
      break;
    case 'attachment':
      // An interface that is not attached has no attachment to describe.
      if (eni.instance_id) out.Attachment = (await describeOne(ctx, eni.id)).Attachment;
      break;
  }
  return out;
}

async function modifyNetworkInterfaceAttribute(ctx: Ctx, input: ModifyNetworkInterfaceAttributeRequest): Promise<Record<string, never>> {
  const eni = await getNetworkInterface(ctx, input.NetworkInterfaceId);
  if (input.EnaSrdSpecification !== undefined) throw unsupported('ENA Express (EnaSrdSpecification)');
  if (input.ConnectionTrackingSpecification !== undefined) throw unsupported('Connection tracking timeouts');
  if (input.AssociatedSubnetIds?.length) throw unsupported('Associated subnets (AssociatedSubnetIds)');
  if ((input as unknown as Record<string, unknown>).EnablePrimaryIpv6) throw unsupported('IPv6 addresses');
  const given = (
    [
      ['Description', input.Description],
      ['SourceDestCheck', input.SourceDestCheck],
      ['SecurityGroupId', input.Groups?.length ? input.Groups : undefined],
      ['Attachment', input.Attachment],
      ['AssociatePublicIpAddress', input.AssociatePublicIpAddress],
    ] as const
  ).filter(([, v]) => v !== undefined);
  if (!given.length) throw Errors.missingParameter('Description, SourceDestCheck, SecurityGroupId, Attachment or AssociatePublicIpAddress');
  if (given.length > 1) throw Errors.invalidParameterCombination('Fields for multiple attribute types specified: only one attribute can be modified at a time.');
  const set: RowUpdate<'network_interfaces'> = {};
  let sync = false;

  if (input.Description !== undefined) {
    checkDescription(input.Description.Value);
    set.description = input.Description.Value ?? '';
  }
  if (input.SourceDestCheck !== undefined) {
    if (input.SourceDestCheck.Value === undefined) throw Errors.missingParameter('SourceDestCheck.Value');
    set.source_dest_check = input.SourceDestCheck.Value ? 1 : 0;
    sync = set.source_dest_check !== eni.source_dest_check;
  }
  if (input.Groups?.length) {
    await checkGroupCount(ctx, input.Groups);
    const groups = await resolveSecurityGroups(ctx, { ids: input.Groups, vpcId: eni.vpc_id, subnetId: eni.subnet_id });
    set.security_groups = JSON.stringify(groups);
    // An instance's groups are its primary interface's.
    if (eni.instance_id && eni.device_index === 0) {
      await setInstanceSecurityGroups(ctx.db, eni.instance_id, set.security_groups);
    }
    sync = true;
  }
  if (input.Attachment !== undefined) {
    const a = input.Attachment;
    if (!a.AttachmentId) throw Errors.missingParameter('Attachment.AttachmentId');
    if (a.EnaQueueCount !== undefined || a.DefaultEnaQueueCount !== undefined)
      throw unsupported('Setting the ENA queue count (Attachment.EnaQueueCount, Attachment.DefaultEnaQueueCount)');
    if (a.AttachmentId !== eni.attachment_id) throw attachmentNotFound(a.AttachmentId);
    if (a.DeleteOnTermination === undefined) throw Errors.missingParameter('Attachment.DeleteOnTermination');
    set.delete_on_termination = a.DeleteOnTermination ? 1 : 0;
  }
  if (input.AssociatePublicIpAddress !== undefined) {
    set.auto_public_ip = input.AssociatePublicIpAddress ? 1 : 0;
  }
  await updateInterface(ctx.db, eni.id, set);

  if (set.auto_public_ip !== undefined && set.auto_public_ip !== eni.auto_public_ip && eni.instance_id) {
    const inst = await instanceTypeAndState(ctx.db, eni.instance_id);
    if (set.auto_public_ip === 1 && inst && (inst.state === 'pending' || inst.state === 'running')) {
      await assignEphemeralPublicIps(ctx.db, ctx.config, inst.id);
    } else if (set.auto_public_ip === 0 && (await dropPublicIps(ctx.db, eni.id, { keepElastic: true }))) {
      await refreshPublicIpColumns(ctx.db, eni.id);
    }
    sync = true;
  }
  if (sync) await syncIfAttached(ctx, eni);
  return {};
}

async function resetNetworkInterfaceAttribute(ctx: Ctx, input: ResetNetworkInterfaceAttributeRequest): Promise<Record<string, never>> {
  const eni = await getNetworkInterface(ctx, input.NetworkInterfaceId);
  // SourceDestCheck names the attribute to reset (its only resettable one); it goes back to true.
  if (input.SourceDestCheck === undefined) throw Errors.missingParameter('SourceDestCheck');
  if (eni.source_dest_check !== 1) {
    await updateInterface(ctx.db, eni.id, { source_dest_check: 1 });
    await syncIfAttached(ctx, eni);
  }
  return {};
}

export const handlers = {
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  CreateNetworkInterface: createNetworkInterface,
  DeleteNetworkInterface: deleteNetworkInterface,
  AttachNetworkInterface: attachNetworkInterface,
  DetachNetworkInterface: detachNetworkInterface,
  AssignPrivateIpAddresses: assignPrivateIpAddresses,
  UnassignPrivateIpAddresses: unassignPrivateIpAddresses,
  DescribeNetworkInterfaceAttribute: describeNetworkInterfaceAttribute,
  ModifyNetworkInterfaceAttribute: modifyNetworkInterfaceAttribute,
  ResetNetworkInterfaceAttribute: resetNetworkInterfaceAttribute,
} satisfies Ec2Handlers;
