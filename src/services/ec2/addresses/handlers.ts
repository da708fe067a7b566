// Elastic IPs: AllocateAddress, AssociateAddress, DisassociateAddress, ReleaseAddress,
// DescribeAddresses. Addresses come from the host's public pool (common/public-ips.ts); an
// association maps the address one-to-one onto a private address of an interface, which the VPC's
// data plane turns into NAT (every change queues a vpc.sync for the interface's VPC).
import type {
  AllocateAddressRequest,
  AllocateAddressResult,
  AssociateAddressRequest,
  AssociateAddressResult,
  DescribeAddressesRequest,
  DescribeAddressesResult,
  DisassociateAddressRequest,
  ReleaseAddressRequest,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { parseIp } from '../../../lib/cidr.js';
import { idPattern, newId } from '../../../lib/ids.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { queueVpcSync } from '../common/network-sync.js';
import { byKey } from '../common/pagination.js';
import { allocatePublicIp, assignEphemeralPublicIps, claimPublicIp, refreshPublicIpColumns } from '../common/public-ips.js';
import { findOwned } from '../common/resources.js';
import { instanceStateAndBoots, isInstanceId, malformedInstanceId } from '../instances/store.js';
import { interfaceRow, interfacesAttachedTo, isInDefaultVpc } from '../network-interfaces/store.js';
import { gatewayOfVpc } from '../vpcs/store/internet-gateways.js';
import { checkElasticIpQuota } from '../quotas/check.js';
import { deleteAllTags, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { addressFilters } from './filters.js';
import {
  addressErrors,
  addressKey,
  clearPrivateIpMapping,
  deletePublicIp,
  findAddress,
  isPublicIpTaken,
  loadAddresses,
  mapPublicIp,
  toAddress,
  unmapPublicIp,
  type AddressRow,
} from './store.js';

const ENI_ID = idPattern('eni');
const tagsOfAddress = (a: { Tags?: { Key?: string; Value?: string }[] }) => a.Tags;

function checkIpv4(param: string, ip: string): void {
  const parsed = parseIp(ip);
  if (!parsed || parsed.family !== 4) throw Errors.invalidParameterValue(`Invalid value '${ip}' for ${param}. It must be an IPv4 address.`);
}

async function allocateAddress(ctx: Ctx, input: AllocateAddressRequest): Promise<AllocateAddressResult> {
  // EC2-Classic is gone: every address is a VPC address, whatever Domain says.
  if (input.Domain !== undefined && input.Domain !== 'vpc' && input.Domain !== 'standard') {
    throw Errors.invalidParameterValue(`Invalid value '${input.Domain}' for domain. Valid values are: vpc, standard`);
  }
  if (input.NetworkBorderGroup !== undefined && input.NetworkBorderGroup !== ctx.region) {
    throw Errors.invalidParameterValue(`The network border group '${input.NetworkBorderGroup}' is invalid.`);
  }
  if (input.PublicIpv4Pool !== undefined && input.PublicIpv4Pool !== 'amazon') {
    throw Errors.invalidParameterValue(`The public IPv4 pool '${input.PublicIpv4Pool}' does not exist. cumulo has one pool: amazon.`);
  }
  if (input.CustomerOwnedIpv4Pool !== undefined) throw new ApiError('Unsupported', 'Customer-owned IPv4 pools are not supported by cumulo.');
  if (input.IpamPoolId !== undefined) throw new ApiError('Unsupported', 'IPAM pools are not supported by cumulo.');
  const tags = tagsForType(input.TagSpecifications, ['elastic-ip'], 'elastic-ip');
  if (input.Address !== undefined) checkIpv4('Address', input.Address);
  await checkElasticIpQuota(ctx);
  const allocationId = newId('eipalloc');
  const owner = { accountId: ctx.accountId, region: ctx.region, kind: 'elastic' as const, allocationId };
  let publicIp: string;
  if (input.Address !== undefined) {
    checkIpv4('Address', input.Address);
    const claimed = await claimPublicIp(ctx.db, ctx.config, input.Address, owner);
    if (!claimed) {
      throw new ApiError(
        'InvalidAddress.NotFound',
        `The address '${input.Address}' is not available for allocation: it must be a free address of the public IPv4 pool ${ctx.config.publicPool} (not its first, which is the host's).`,
      );
    }
    publicIp = claimed;
  } else {
    publicIp = await allocatePublicIp(ctx.db, ctx.config, owner);
  }
  await putTags(ctx, 'elastic-ip', allocationId, tags);
  return { AllocationId: allocationId, PublicIp: publicIp, PublicIpv4Pool: 'amazon', NetworkBorderGroup: ctx.region, Domain: 'vpc' };
}

async function describeAddresses(ctx: Ctx, input: DescribeAddressesRequest): Promise<DescribeAddressesResult> {
  validateFilters(input.Filters, addressFilters, { tags: tagsOfAddress });
  for (const ip of input.PublicIps ?? []) checkIpv4('PublicIp', ip);
  const rows = await loadAddresses(ctx);
  const allocationIds = [...new Set(input.AllocationIds ?? [])];
  const publicIps = [...new Set(input.PublicIps ?? [])];
  const missingIds = allocationIds.filter((id) => !rows.some((r) => r.allocation_id === id));
  if (missingIds.length) throw addressErrors.allocation(missingIds);
  const missingIps = publicIps.filter((ip) => !rows.some((r) => r.public_ip === ip));
  if (missingIps.length) throw addressErrors.address(missingIps);
  let selected = rows;
  if (allocationIds.length) selected = selected.filter((r) => allocationIds.includes(r.allocation_id!));
  if (publicIps.length) selected = selected.filter((r) => publicIps.includes(r.public_ip));
  const tags = await tagsOf(
    ctx.db,
    ctx.accountId,
    ctx.region,
    'elastic-ip',
    selected.map((r) => r.allocation_id!),
  );
  const all = selected.map((r) => toAddress(r, tags.get(r.allocation_id!)));
  const matched = applyFilters(all, input.Filters, addressFilters, { tags: tagsOfAddress }).sort(byKey((a) => addressKey(a.PublicIp!)));
  return { Addresses: matched };
}

/** The caller's elastic IP named by AllocationId (or, as EC2 still takes it, PublicIp). */
async function addressOf(ctx: Ctx, allocationId: string | undefined, publicIp: string | undefined): Promise<AddressRow> {
  if (allocationId) {
    const row = await findAddress(ctx, 'allocation_id', allocationId);
    if (!row) throw addressErrors.allocation([allocationId]);
    return row;
  }
  if (publicIp) {
    const row = await findAddress(ctx, 'public_ip', publicIp);
    if (!row) throw addressErrors.address([publicIp]);
    return row;
  }
  throw Errors.missingParameter('AllocationId');
}

/** The private addresses an interface holds: its primary first, then its secondaries. */
function privateIpsOf(eni: { private_ip: string; secondary_private_ips: string }): string[] {
  let secondary: string[] = [];
  try {
    const v = JSON.parse(eni.secondary_private_ips) as unknown;
    if (Array.isArray(v)) secondary = v as string[];
  } catch {
    // none
  }
  return [eni.private_ip, ...secondary];
}

/** An interface that lost its address gets an ephemeral one back when it wants one and runs (EC2 does this). */
async function restoreEphemeral(ctx: Ctx, eniId: string): Promise<void> {
  const eni = await interfaceRow(ctx.db, eniId);
  if (!eni?.instance_id || eni.auto_public_ip !== 1) return;
  const instance = await instanceStateAndBoots(ctx.db, eni.instance_id);
  if (instance?.state !== 'pending' && instance?.state !== 'running') return;
  await assignEphemeralPublicIps(ctx.db, ctx.config, eni.instance_id, { bestEffort: true });
}

async function syncInterfaceVpc(ctx: Ctx, eniId: string | null | undefined): Promise<void> {
  if (!eniId) return;
  const eni = await interfaceRow(ctx.db, eniId);
  if (eni) await queueVpcSync(ctx, { vpcId: eni.vpc_id, accountId: eni.account_id, region: eni.region });
}

async function associateAddress(ctx: Ctx, input: AssociateAddressRequest): Promise<AssociateAddressResult> {
  if (input.AllocationId && input.PublicIp) {
    throw Errors.invalidParameterCombination('You may specify public IP or allocation id, but not both in the same call');
  }
  if (!input.AllocationId && input.PublicIp && input.NetworkInterfaceId) {
    throw Errors.invalidParameterCombination('You must specify an allocation id when mapping an address to a network interface');
  }
  if (input.InstanceId && input.NetworkInterfaceId) {
    throw Errors.invalidParameterCombination('You may specify instance ID or network interface ID, but not both in the same call');
  }
  if (!input.InstanceId && !input.NetworkInterfaceId) throw Errors.missingParameter('InstanceId');
  if (input.InstanceId && !isInstanceId(input.InstanceId)) throw malformedInstanceId(input.InstanceId);
  if (input.NetworkInterfaceId && !ENI_ID.test(input.NetworkInterfaceId)) {
    throw new ApiError('InvalidNetworkInterfaceId.Malformed', `Invalid id: "${input.NetworkInterfaceId}" (expecting "eni-...")`);
  }
  if (input.PrivateIpAddress !== undefined) checkIpv4('PrivateIpAddress', input.PrivateIpAddress);
  const address = await addressOf(ctx, input.AllocationId, input.PublicIp);

  // The target: the instance's one interface, or the interface named.
  let eni;
  if (input.InstanceId) {
    const instance = await findOwned(ctx, 'instances', input.InstanceId);
    if (!instance) throw Errors.notFound('InvalidInstanceID.NotFound', `The instance ID '${input.InstanceId}' does not exist`);
    if (instance.state !== 'running' && instance.state !== 'stopped') {
      throw new ApiError('InvalidInstanceID', `The ${instance.state} instance '${instance.id}' is not in a valid state for this operation.`);
    }
    const enis = await interfacesAttachedTo(ctx.db, instance.id);
    if (enis.length > 1) {
      throw new ApiError('InvalidInstanceID', `There are multiple interfaces attached to instance '${instance.id}'. Please specify an interface ID for the operation instead.`);
    }
    eni = enis[0];
    if (!eni) throw new ApiError('InvalidInstanceID', `The instance '${instance.id}' has no network interface attached.`);
  } else {
    eni = await findOwned(ctx, 'network_interfaces', input.NetworkInterfaceId!);
    if (!eni) throw Errors.notFound('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${input.NetworkInterfaceId}' does not exist`);
    if (eni.instance_id) {
      const instance = await instanceStateAndBoots(ctx.db, eni.instance_id);
      if (instance && instance.state !== 'running' && instance.state !== 'stopped' && instance.state !== 'stopping') {
        const state = instance.state === 'pending' && instance.boots === 0 ? 'pending-instance-creation' : instance.state;
        throw Errors.incorrectInstanceState(`The ${state} instance to which '${eni.id}' is attached is not in a valid state for this operation`);
      }
    }
  }
  const privateIp = input.PrivateIpAddress ?? eni.private_ip;
  if (!privateIpsOf(eni).includes(privateIp)) throw Errors.invalidParameterValue(`${privateIp} is not mapped to the interface ${eni.id}`);
  if ((await gatewayOfVpc(ctx.db, eni.vpc_id)) === undefined) throw new ApiError('Gateway.NotAttached', `Network ${eni.vpc_id} is not attached to any internet gateway`);

  // Asked again for what already is: the same association (EC2 calls this idempotent).
  if (address.network_interface_id === eni.id && address.private_ip === privateIp && address.association_id) {
    return { AssociationId: address.association_id };
  }
  if (address.network_interface_id && input.AllowReassociation !== true) {
    throw new ApiError('Resource.AlreadyAssociated', `resource ${address.allocation_id} is already associated with associate-id ${address.association_id}`);
  }
  const previousEni = address.network_interface_id;
  // Whatever the target address had goes: an ephemeral address is released, another elastic
  // address is disassociated and stays allocated.
  await clearPrivateIpMapping(ctx.db, eni.id, privateIp);
  const associationId = newId('eipassoc');
  await mapPublicIp(ctx.db, address.public_ip, { eniId: eni.id, privateIp, associationId });
  await refreshPublicIpColumns(ctx.db, eni.id);
  await syncInterfaceVpc(ctx, eni.id);
  if (previousEni && previousEni !== eni.id) {
    await refreshPublicIpColumns(ctx.db, previousEni);
    await restoreEphemeral(ctx, previousEni);
    await syncInterfaceVpc(ctx, previousEni);
  }
  return { AssociationId: associationId };
}

/** Unmaps an elastic IP: its interface gets an ephemeral address back if it wants one and runs. */
async function unmap(ctx: Ctx, address: AddressRow): Promise<void> {
  const eniId = address.network_interface_id;
  await unmapPublicIp(ctx.db, address.public_ip);
  if (!eniId) return;
  await refreshPublicIpColumns(ctx.db, eniId);
  await restoreEphemeral(ctx, eniId);
  await syncInterfaceVpc(ctx, eniId);
}

async function disassociateAddress(ctx: Ctx, input: DisassociateAddressRequest): Promise<Record<string, never>> {
  if (!input.AssociationId && !input.PublicIp) throw new ApiError('MissingParameter', 'Either public IP or association id must be specified');
  let address: AddressRow | undefined;
  if (input.AssociationId) {
    address = await findAddress(ctx, 'association_id', input.AssociationId);
    if (!address) throw addressErrors.association(input.AssociationId);
  } else {
    address = await findAddress(ctx, 'public_ip', input.PublicIp!);
    if (!address) throw addressErrors.address([input.PublicIp!]);
  }
  await unmap(ctx, address);
  return {};
}

async function releaseAddress(ctx: Ctx, input: ReleaseAddressRequest): Promise<Record<string, never>> {
  if (!input.AllocationId && input.PublicIp) {
    const row = await findAddress(ctx, 'public_ip', input.PublicIp);
    if (row) throw Errors.invalidParameterValue('You must specify an allocation id when releasing a VPC elastic IP address');
    if (await isPublicIpTaken(ctx.db, input.PublicIp)) throw Errors.authFailure(`The address '${input.PublicIp}' does not belong to you.`);
    throw addressErrors.address([input.PublicIp]);
  }
  const address = await addressOf(ctx, input.AllocationId, undefined);
  if (input.NetworkBorderGroup !== undefined && input.NetworkBorderGroup !== address.network_border_group) {
    throw new ApiError('InvalidAddress.NotFound', `The address with allocation id [${address.allocation_id}] is not in the network border group '${input.NetworkBorderGroup}'.`);
  }
  if (address.network_interface_id) {
    // In a default VPC releasing disassociates first; elsewhere it must be disassociated.
    if (!(await isInDefaultVpc(ctx.db, address.network_interface_id))) throw new ApiError('InvalidIPAddress.InUse', `Address ${address.public_ip} is in use.`);
    await unmap(ctx, address);
  }
  await deletePublicIp(ctx.db, address.public_ip);
  await deleteAllTags(ctx, address.allocation_id!);
  return {};
}

export const handlers = {
  AllocateAddress: allocateAddress,
  AssociateAddress: associateAddress,
  DescribeAddresses: describeAddresses,
  DisassociateAddress: disassociateAddress,
  ReleaseAddress: releaseAddress,
} satisfies Ec2Handlers;
