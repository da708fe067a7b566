// CreateVpc, DescribeVpcs, DeleteVpc, Modify/DescribeVpcAttribute, Associate/DisassociateVpcCidrBlock,
// CreateDefaultVpc and DescribeDhcpOptions.
import type {
  AssociateVpcCidrBlockRequest,
  AssociateVpcCidrBlockResult,
  CreateDefaultVpcRequest,
  CreateDefaultVpcResult,
  CreateVpcRequest,
  CreateVpcResult,
  DeleteVpcRequest,
  DescribeDhcpOptionsRequest,
  DescribeDhcpOptionsResult,
  DescribeVpcAttributeRequest,
  DescribeVpcAttributeResult,
  DescribeVpcsRequest,
  DescribeVpcsResult,
  DisassociateVpcCidrBlockRequest,
  DisassociateVpcCidrBlockResult,
  ModifyVpcAttributeRequest,
  VpcCidrBlockAssociation,
  VpcIpv6CidrBlockAssociation,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { contains, formatCidr, parseCidrStrict } from '../../../lib/cidr.js';
import { newId } from '../../../lib/ids.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { deleteAllTags, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { buildDefaultVpc } from './default-vpc.js';
import { describe } from './describe.js';
import { dhcpOptionsFilters, vpcFilters } from './filters.js';
import { secondaryVpcCidr, vpcCidr } from './rules.js';
import { cloudWatchMissing, dedicatedUnsupported, ipv6Unsupported, memberUnsupported } from '../common/unsupported.js';
import { queueVpcSync } from '../common/network-sync.js';
import { checkVpcQuota } from '../quotas/check.js';
import {
  cidrAssociationsOf,
  defaultDhcpOptions,
  deleteNetworkAclRecords,
  deleteRouteTableRecords,
  dependencies,
  createVpcRecords,
  getDefaultVpc,
  getVpc,
  missingIds,
  toVpc,
  vpcIpv4Blocks,
  vpcIpv6AssociationsOf,
  type CidrAssociation,
  type VpcRow,
} from './store.js';
import { hasLiveInstanceIn } from '../instances/store.js';
import { hasInterfaceIn } from '../network-interfaces/store.js';
import { deleteSecurityGroupRecords, hasNonDefaultGroup, securityGroupIdsOfVpc } from '../security-groups/store.js';
import { gatewayOfVpc } from './store/internet-gateways.js';
import { hasNonDefaultAcl, networkAclIdsOfVpc } from './store/network-acls.js';
import { deleteLocalRoutes, putLocalRoutes, routeTableIdsOfVpc, routeTablesWithMainOf } from './store/route-tables.js';
import { clearDefaultVpc, deleteVpcRow, hasSubnet, recordDefaultVpc, subnetsOfVpc, updateVpc, vpcsOf } from './store/vpcs.js';

const TENANCIES = ['default', 'dedicated'];

async function createVpc(ctx: Ctx, input: CreateVpcRequest): Promise<CreateVpcResult> {
  if (input.Ipv4IpamPoolId) throw new ApiError('InvalidIpamPoolId.NotFound', `The ipam pool ID '${input.Ipv4IpamPoolId}' does not exist`);
  if (input.Ipv6IpamPoolId) throw new ApiError('InvalidIpamPoolId.NotFound', `The ipam pool ID '${input.Ipv6IpamPoolId}' does not exist`);
  if (input.Ipv6Pool) throw Errors.invalidParameterValue(`The IPv6 address pool '${input.Ipv6Pool}' does not exist.`);
  if (input.Ipv6CidrBlock !== undefined) throw Errors.missingParameter('Ipv6Pool');
  if (input.AmazonProvidedIpv6CidrBlock) throw ipv6Unsupported('AmazonProvidedIpv6CidrBlock');
  if (input.Ipv6CidrBlockNetworkBorderGroup !== undefined) throw ipv6Unsupported('Ipv6CidrBlockNetworkBorderGroup');
  if (input.VpcEncryptionControl !== undefined) throw memberUnsupported('VpcEncryptionControl', 'VPC encryption controls do not exist in cumulo yet');
  const cidr = vpcCidr(input.CidrBlock);
  const tenancy = input.InstanceTenancy ?? 'default';
  if (!TENANCIES.includes(tenancy)) throw Errors.invalidParameterValue(`Value (${tenancy}) for parameter instanceTenancy is invalid.`);
  if (tenancy === 'dedicated') throw dedicatedUnsupported();
  const tags = tagsForType(input.TagSpecifications, ['vpc'], 'vpc');
  await checkVpcQuota(ctx);
  const { vpc } = await createVpcRecords(ctx, { cidr: formatCidr(cidr), tenancy });
  await putTags(ctx, 'vpc', vpc.id, tags);
  const out = toVpc(vpc, tags);
  // EC2 answers CreateVpc with the VPC still pending.
  out.State = 'pending';
  return { Vpc: out };
}

async function createDefaultVpcHandler(ctx: Ctx, input: CreateDefaultVpcRequest): Promise<CreateDefaultVpcResult> {
  void input;
  // A default VPC that exists already is DefaultVpcAlreadyExists (buildDefaultVpc), not the quota.
  if (!(await getDefaultVpc(ctx))) await checkVpcQuota(ctx);
  const made = await buildDefaultVpc(ctx);
  await recordDefaultVpc(ctx.db, ctx.accountId, ctx.region, made.vpc.id, ctx.now);
  const out = toVpc(made.vpc, []);
  out.State = 'pending';
  return { Vpc: out };
}

async function allVpcs(ctx: Ctx): Promise<VpcRow[]> {
  return vpcsOf(ctx.db, ctx.accountId, ctx.region);
}

async function describeVpcs(ctx: Ctx, input: DescribeVpcsRequest): Promise<DescribeVpcsResult> {
  const rows = await allVpcs(ctx);
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'vpc');
  const page = describe(
    rows.map((r) => toVpc(r, tags.get(r.id))),
    {
      ids: input.VpcIds,
      idOf: (v) => v.VpcId!,
      missing: (ids) => missingIds('vpc', ids),
      filters: input.Filters,
      filterMap: vpcFilters,
      tags: (v) => v.Tags,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
      min: 5,
      max: 1000,
    },
  );
  return { Vpcs: page.items, NextToken: page.nextToken };
}

async function deleteVpc(ctx: Ctx, input: DeleteVpcRequest): Promise<Record<string, never>> {
  const vpc = await getVpc(ctx, input.VpcId!);
  const id = vpc.id;
  const blocked =
    (await hasSubnet(ctx.db, id)) ||
    (await gatewayOfVpc(ctx.db, id)) !== undefined ||
    (await hasNonDefaultGroup(ctx.db, id)) ||
    (await hasNonDefaultAcl(ctx.db, id)) ||
    (await hasInterfaceIn(ctx.db, { vpcId: id })) ||
    (await hasLiveInstanceIn(ctx.db, { vpcId: id }));
  const tables = await routeTablesWithMainOf(ctx.db, id);
  if (blocked || tables.some((t) => !t.main_assoc)) throw dependencies('vpc', id);

  for (const t of tables) await deleteRouteTableRecords(ctx, t.id);
  for (const acl of await networkAclIdsOfVpc(ctx.db, id)) await deleteNetworkAclRecords(ctx, acl);
  for (const group of await securityGroupIdsOfVpc(ctx.db, id)) {
    await deleteSecurityGroupRecords(ctx.db, group);
    await deleteAllTags(ctx, group);
  }
  await deleteVpcRow(ctx.db, id);
  await deleteAllTags(ctx, id);
  if (vpc.is_default) await clearDefaultVpc(ctx.db, ctx.accountId, ctx.region, id);
  return {};
}

const VPC_ATTRIBUTES = {
  enableDnsSupport: 'enable_dns_support',
  enableDnsHostnames: 'enable_dns_hostnames',
  enableNetworkAddressUsageMetrics: 'enable_network_address_usage_metrics',
} as const;

async function modifyVpcAttribute(ctx: Ctx, input: ModifyVpcAttributeRequest): Promise<Record<string, never>> {
  const vpc = await getVpc(ctx, input.VpcId!);
  const given = (
    [
      ['EnableDnsSupport', 'enable_dns_support', input.EnableDnsSupport],
      ['EnableDnsHostnames', 'enable_dns_hostnames', input.EnableDnsHostnames],
      ['EnableNetworkAddressUsageMetrics', 'enable_network_address_usage_metrics', input.EnableNetworkAddressUsageMetrics],
    ] as const
  ).filter(([, , v]) => v !== undefined);
  if (given.length === 0) throw Errors.missingParameter('EnableDnsSupport, EnableDnsHostnames or EnableNetworkAddressUsageMetrics');
  if (given.length > 1) throw Errors.invalidParameterCombination('Fields for multiple attribute types specified: only one attribute can be modified at a time.');
  const [name, column, value] = given[0]!;
  if (value!.Value === undefined) throw Errors.missingParameter(`${name}.Value`);
  if (name === 'EnableNetworkAddressUsageMetrics' && value!.Value) throw cloudWatchMissing('Network Address Usage metrics', 'need');
  await updateVpc(ctx.db, vpc.id, { [column]: value!.Value ? 1 : 0 });
  // The resolver's DNAT follows enableDnsSupport.
  if (name === 'EnableDnsSupport') await queueVpcSync(ctx, { vpcId: vpc.id, accountId: ctx.accountId, region: ctx.region });
  return {};
}

async function describeVpcAttribute(ctx: Ctx, input: DescribeVpcAttributeRequest): Promise<DescribeVpcAttributeResult> {
  const attribute = input.Attribute as string;
  const column = VPC_ATTRIBUTES[attribute as keyof typeof VPC_ATTRIBUTES];
  if (!column) throw Errors.invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  const vpc = await getVpc(ctx, input.VpcId!);
  const key = (attribute[0]!.toUpperCase() + attribute.slice(1)) as 'EnableDnsSupport';
  return { VpcId: vpc.id, [key]: { Value: vpc[column] === 1 } };
}

async function associateVpcCidrBlock(ctx: Ctx, input: AssociateVpcCidrBlockRequest): Promise<AssociateVpcCidrBlockResult> {
  const vpc = await getVpc(ctx, input.VpcId!);
  if (input.Ipv4IpamPoolId) throw new ApiError('InvalidIpamPoolId.NotFound', `The ipam pool ID '${input.Ipv4IpamPoolId}' does not exist`);
  if (input.Ipv6IpamPoolId) throw new ApiError('InvalidIpamPoolId.NotFound', `The ipam pool ID '${input.Ipv6IpamPoolId}' does not exist`);
  if (input.Ipv6Pool) throw Errors.invalidParameterValue(`The IPv6 address pool '${input.Ipv6Pool}' does not exist.`);
  const wantsV6 = input.AmazonProvidedIpv6CidrBlock === true;
  if (wantsV6 === (input.CidrBlock !== undefined)) {
    throw Errors.invalidParameterCombination('Exactly one of CidrBlock or AmazonProvidedIpv6CidrBlock must be specified.');
  }
  if (wantsV6 || input.Ipv6CidrBlock !== undefined) throw ipv6Unsupported(wantsV6 ? 'AmazonProvidedIpv6CidrBlock' : 'Ipv6CidrBlock');
  if (input.Ipv6CidrBlockNetworkBorderGroup !== undefined) throw ipv6Unsupported('Ipv6CidrBlockNetworkBorderGroup');
  const tables = await routeTableIdsOfVpc(ctx.db, vpc.id);
  const cidr = formatCidr(secondaryVpcCidr(input.CidrBlock, vpcIpv4Blocks(vpc)));
  const assoc: CidrAssociation = { AssociationId: newId('vpc-cidr-assoc'), CidrBlock: cidr, CidrBlockState: { State: 'associated' } };
  await updateVpc(ctx.db, vpc.id, { cidr_associations: JSON.stringify([...cidrAssociationsOf(vpc), assoc]) });
  await putLocalRoutes(ctx.db, tables, cidr);
  await queueVpcSync(ctx, { vpcId: vpc.id, accountId: ctx.accountId, region: ctx.region });
  return { VpcId: vpc.id, CidrBlockAssociation: { ...assoc, CidrBlockState: { State: 'associating' } } as VpcCidrBlockAssociation };
}

async function disassociateVpcCidrBlock(ctx: Ctx, input: DisassociateVpcCidrBlockRequest): Promise<DisassociateVpcCidrBlockResult> {
  const id = input.AssociationId;
  if (!id) throw Errors.missingParameter('AssociationId');
  const vpcs = await allVpcs(ctx);
  for (const vpc of vpcs) {
    const v4 = cidrAssociationsOf(vpc);
    const v6 = vpcIpv6AssociationsOf(vpc);
    const a4 = v4.find((a) => a.AssociationId === id);
    const a6 = v6.find((a) => a.AssociationId === id);
    if (!a4 && !a6) continue;
    const block = a4 ? a4.CidrBlock : a6!.Ipv6CidrBlock!;
    if (a4 && block === vpc.cidr_block) {
      throw new ApiError('OperationNotPermitted', `The vpc CIDR block with association ID ${id} may not be disassociated. It is the primary IPv4 CIDR block of the VPC`);
    }
    // A block still holding a subnet cannot go.
    const range = parseCidrStrict(block)!;
    const subnets = await subnetsOfVpc(ctx.db, vpc.id);
    const used = subnets.some((s) => {
      if (a4) return contains(range, parseCidrStrict(s.cidr_block)!);
      const blocks = (JSON.parse(s.ipv6_cidr_associations || '[]') as VpcIpv6CidrBlockAssociation[]).map((x) => x.Ipv6CidrBlock!);
      return blocks.some((b) => contains(range, parseCidrStrict(b)!));
    });
    if (used) throw Errors.dependencyViolation(`The vpc CIDR block '${block}' has dependencies and cannot be disassociated.`);
    if (a4) {
      await updateVpc(ctx.db, vpc.id, { cidr_associations: JSON.stringify(v4.filter((a) => a !== a4)) });
      await queueVpcSync(ctx, { vpcId: vpc.id, accountId: ctx.accountId, region: ctx.region });
    } else {
      await updateVpc(ctx.db, vpc.id, { ipv6_cidr_associations: JSON.stringify(v6.filter((a) => a !== a6)) });
    }
    await deleteLocalRoutes(ctx.db, await routeTableIdsOfVpc(ctx.db, vpc.id), block);
    return a4
      ? { VpcId: vpc.id, CidrBlockAssociation: { ...a4, CidrBlockState: { State: 'disassociating' } } as VpcCidrBlockAssociation }
      : { VpcId: vpc.id, Ipv6CidrBlockAssociation: { ...a6!, Ipv6CidrBlockState: { State: 'disassociating' } } };
  }
  throw new ApiError('InvalidVpcCidrBlockAssociationID.NotFound', `The vpc CIDR block association ID '${id}' does not exist`);
}

async function describeDhcpOptions(ctx: Ctx, input: DescribeDhcpOptionsRequest): Promise<DescribeDhcpOptionsResult> {
  // Every VPC of the account and region uses the one default set; it exists whether or not a VPC does.
  const set = defaultDhcpOptions(ctx.accountId, ctx.region);
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'dhcp-options', [set.DhcpOptionsId!]);
  set.Tags = tags.get(set.DhcpOptionsId!) ?? [];
  const page = describe([set], {
    ids: input.DhcpOptionsIds,
    idOf: (d) => d.DhcpOptionsId!,
    missing: (ids) => missingIds('dhcpOptions', ids),
    filters: input.Filters,
    filterMap: dhcpOptionsFilters,
    tags: (d) => d.Tags,
    maxResults: input.MaxResults,
    nextToken: input.NextToken,
    min: 5,
    max: 1000,
  });
  return { DhcpOptions: page.items, NextToken: page.nextToken };
}

export const handlers = {
  CreateVpc: createVpc,
  CreateDefaultVpc: createDefaultVpcHandler,
  DescribeVpcs: describeVpcs,
  DeleteVpc: deleteVpc,
  ModifyVpcAttribute: modifyVpcAttribute,
  DescribeVpcAttribute: describeVpcAttribute,
  AssociateVpcCidrBlock: associateVpcCidrBlock,
  DisassociateVpcCidrBlock: disassociateVpcCidrBlock,
  DescribeDhcpOptions: describeDhcpOptions,
} satisfies Ec2Handlers;
