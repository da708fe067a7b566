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
import { cloudWatchMissing, dedicatedUnsupported, ipv6Unsupported } from '../common/unsupported.js';
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

const TENANCIES = ['default', 'dedicated'];

async function createVpc(ctx: Ctx, input: CreateVpcRequest): Promise<CreateVpcResult> {
  if (input.Ipv4IpamPoolId) throw new ApiError('InvalidIpamPoolId.NotFound', `The ipam pool ID '${input.Ipv4IpamPoolId}' does not exist`);
  if (input.Ipv6IpamPoolId) throw new ApiError('InvalidIpamPoolId.NotFound', `The ipam pool ID '${input.Ipv6IpamPoolId}' does not exist`);
  if (input.Ipv6Pool) throw Errors.invalidParameterValue(`The IPv6 address pool '${input.Ipv6Pool}' does not exist.`);
  if (input.Ipv6CidrBlock !== undefined) throw Errors.missingParameter('Ipv6Pool');
  if (input.AmazonProvidedIpv6CidrBlock) throw ipv6Unsupported('AmazonProvidedIpv6CidrBlock');
  if (input.Ipv6CidrBlockNetworkBorderGroup !== undefined) throw ipv6Unsupported('Ipv6CidrBlockNetworkBorderGroup');
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
  await ctx.db
    .insertInto('region_setup')
    .values({ account_id: ctx.accountId, region: ctx.region, default_vpc_id: made.vpc.id, created_at: ctx.now.toISOString() })
    .onConflict((oc) => oc.columns(['account_id', 'region']).doUpdateSet({ default_vpc_id: made.vpc.id }))
    .execute();
  const out = toVpc(made.vpc, []);
  out.State = 'pending';
  return { Vpc: out };
}

async function allVpcs(ctx: Ctx): Promise<VpcRow[]> {
  return ctx.db.selectFrom('vpcs').selectAll().where('account_id', '=', ctx.accountId).where('region', '=', ctx.region).execute();
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
  const has = async (q: Promise<unknown>) => Boolean(await q);
  const blocked =
    (await has(ctx.db.selectFrom('subnets').select('id').where('vpc_id', '=', id).executeTakeFirst())) ||
    (await has(ctx.db.selectFrom('internet_gateways').select('id').where('vpc_id', '=', id).executeTakeFirst())) ||
    (await has(ctx.db.selectFrom('security_groups').select('id').where('vpc_id', '=', id).where('group_name', '!=', 'default').executeTakeFirst())) ||
    (await has(ctx.db.selectFrom('network_acls').select('id').where('vpc_id', '=', id).where('is_default', '=', 0).executeTakeFirst())) ||
    (await has(ctx.db.selectFrom('network_interfaces').select('id').where('vpc_id', '=', id).executeTakeFirst())) ||
    (await has(ctx.db.selectFrom('instances').select('id').where('vpc_id', '=', id).where('state', '!=', 'terminated').executeTakeFirst()));
  const tables = await ctx.db
    .selectFrom('route_tables')
    .leftJoin('route_table_associations', (j) => j.onRef('route_table_associations.route_table_id', '=', 'route_tables.id').on('route_table_associations.main', '=', 1))
    .select(['route_tables.id', 'route_table_associations.id as main_assoc'])
    .where('route_tables.vpc_id', '=', id)
    .execute();
  if (blocked || tables.some((t) => !t.main_assoc)) throw dependencies('vpc', id);

  for (const t of tables) await deleteRouteTableRecords(ctx, t.id);
  const acls = await ctx.db.selectFrom('network_acls').select('id').where('vpc_id', '=', id).execute();
  for (const a of acls) await deleteNetworkAclRecords(ctx, a.id);
  const groups = await ctx.db.selectFrom('security_groups').select('id').where('vpc_id', '=', id).execute();
  for (const g of groups) {
    await ctx.db.deleteFrom('security_group_rules').where('group_id', '=', g.id).execute();
    await ctx.db.deleteFrom('security_groups').where('id', '=', g.id).execute();
    await deleteAllTags(ctx, g.id);
  }
  await ctx.db.deleteFrom('vpcs').where('id', '=', id).execute();
  await deleteAllTags(ctx, id);
  if (vpc.is_default) {
    await ctx.db
      .updateTable('region_setup')
      .set({ default_vpc_id: null })
      .where('account_id', '=', ctx.accountId)
      .where('region', '=', ctx.region)
      .where('default_vpc_id', '=', id)
      .execute();
  }
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
  await ctx.db.updateTable('vpcs').set({ [column]: value!.Value ? 1 : 0 }).where('id', '=', vpc.id).execute();
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
  const tables = await ctx.db.selectFrom('route_tables').select('id').where('vpc_id', '=', vpc.id).execute();
  const addLocalRoute = async (destination: string) => {
    for (const t of tables) {
      await ctx.db
        .insertInto('routes')
        .values({ route_table_id: t.id, destination, target_type: 'local', target_id: 'local', origin: 'CreateRouteTable', state: 'active' })
        .onConflict((oc) => oc.columns(['route_table_id', 'destination']).doUpdateSet({ target_type: 'local', target_id: 'local', origin: 'CreateRouteTable' }))
        .execute();
    }
  };
  const cidr = formatCidr(secondaryVpcCidr(input.CidrBlock, vpcIpv4Blocks(vpc)));
  const assoc: CidrAssociation = { AssociationId: newId('vpc-cidr-assoc'), CidrBlock: cidr, CidrBlockState: { State: 'associated' } };
  await ctx.db
    .updateTable('vpcs')
    .set({ cidr_associations: JSON.stringify([...cidrAssociationsOf(vpc), assoc]) })
    .where('id', '=', vpc.id)
    .execute();
  await addLocalRoute(cidr);
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
      throw new ApiError(
        'OperationNotPermitted',
        `The vpc CIDR block with association ID ${id} may not be disassociated. It is the primary IPv4 CIDR block of the VPC`,
      );
    }
    // A block still holding a subnet cannot go.
    const range = parseCidrStrict(block)!;
    const subnets = await ctx.db.selectFrom('subnets').select(['cidr_block', 'ipv6_cidr_associations']).where('vpc_id', '=', vpc.id).execute();
    const used = subnets.some((s) => {
      if (a4) return contains(range, parseCidrStrict(s.cidr_block)!);
      const blocks = (JSON.parse(s.ipv6_cidr_associations || '[]') as VpcIpv6CidrBlockAssociation[]).map((x) => x.Ipv6CidrBlock!);
      return blocks.some((b) => contains(range, parseCidrStrict(b)!));
    });
    if (used) throw Errors.dependencyViolation(`The vpc CIDR block '${block}' has dependencies and cannot be disassociated.`);
    if (a4) {
      await ctx.db.updateTable('vpcs').set({ cidr_associations: JSON.stringify(v4.filter((a) => a !== a4)) }).where('id', '=', vpc.id).execute();
      await queueVpcSync(ctx, { vpcId: vpc.id, accountId: ctx.accountId, region: ctx.region });
    } else {
      await ctx.db.updateTable('vpcs').set({ ipv6_cidr_associations: JSON.stringify(v6.filter((a) => a !== a6)) }).where('id', '=', vpc.id).execute();
    }
    const tables = await ctx.db.selectFrom('route_tables').select('id').where('vpc_id', '=', vpc.id).execute();
    if (tables.length) {
      await ctx.db
        .deleteFrom('routes')
        .where(
          'route_table_id',
          'in',
          tables.map((t) => t.id),
        )
        .where('destination', '=', block)
        .where('target_type', '=', 'local')
        .execute();
    }
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
