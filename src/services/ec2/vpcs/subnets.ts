// CreateSubnet, CreateDefaultSubnet, DescribeSubnets, DeleteSubnet, ModifySubnetAttribute.
import type {
  CreateDefaultSubnetRequest,
  CreateDefaultSubnetResult,
  CreateSubnetRequest,
  CreateSubnetResult,
  DeleteSubnetRequest,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  ModifySubnetAttributeRequest,
  PrivateDnsNameOptionsOnLaunch,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { zonesOf } from '../../../config.js';
import { formatCidr, overlaps, parseCidrStrict } from '../../../lib/cidr.js';
import type { RowUpdate } from '../../../store/schema.js';
import { resolveZone } from '../common/zones.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { deleteAllTags, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { defaultSubnetCidr } from './default-vpc.js';
import { describe } from './describe.js';
import { subnetFilters } from './filters.js';
import { ipv6Unsupported } from '../common/unsupported.js';
import { subnetCidr } from './rules.js';
import { createSubnetRecords, dependencies, getDefaultVpc, getSubnet, getVpc, missingIds, privateDnsOptionsOf, toSubnet, usedAddressCounts, vpcIpv4Blocks } from './store.js';
import { hasLiveInstanceIn } from '../instances/store.js';
import { hasInterfaceIn } from '../network-interfaces/store.js';
import { deleteSubnetRecords, subnetsOf, subnetsOfVpc, updateSubnet } from './store/vpcs.js';

/** AvailabilityZone or AvailabilityZoneId, checked against the region's zones, in CreateSubnet's words. */
function pickZone(ctx: Ctx, input: { AvailabilityZone?: string; AvailabilityZoneId?: string }): string | undefined {
  return resolveZone(ctx, { name: input.AvailabilityZone, id: input.AvailabilityZoneId }, 'availabilityZone', (member, value, choices) =>
    member.endsWith('Id')
      ? `Value (${value}) for parameter ${member} is invalid. Subnets can currently only be created in the following availability zone ids: ${choices.join(', ')}.`
      : `Value (${value}) for parameter ${member} is invalid. Subnets can currently only be created in the following availability zones: ${choices.join(', ')}.`,
  );
}

async function createSubnet(ctx: Ctx, input: CreateSubnetRequest): Promise<CreateSubnetResult> {
  if (input.Ipv4IpamPoolId) throw new ApiError('InvalidIpamPoolId.NotFound', `The ipam pool ID '${input.Ipv4IpamPoolId}' does not exist`);
  if (input.Ipv6IpamPoolId) throw new ApiError('InvalidIpamPoolId.NotFound', `The ipam pool ID '${input.Ipv6IpamPoolId}' does not exist`);
  if (input.OutpostArn) throw Errors.invalidParameterValue(`The Outpost ARN '${input.OutpostArn}' is not valid.`);
  if (input.Ipv6Native) throw Errors.invalidParameterValue('IPv6-only subnets are not supported: give the subnet an IPv4 CidrBlock.');
  if (input.Ipv6CidrBlock !== undefined) throw ipv6Unsupported('Ipv6CidrBlock');
  const vpc = await getVpc(ctx, input.VpcId!);
  let zone = pickZone(ctx, input);
  const siblings = await subnetsOfVpc(ctx.db, vpc.id);
  const cidr = formatCidr(
    subnetCidr(
      input.CidrBlock,
      vpcIpv4Blocks(vpc),
      siblings.map((s) => s.cidr_block),
    ),
  );
  const tags = tagsForType(input.TagSpecifications, ['subnet'], 'subnet');
  if (!zone) {
    // EC2 picks a zone; spread the VPC's subnets over the zones, fewest first.
    const zones = zonesOf(ctx.config, ctx.region);
    if (!zones.length) throw Errors.invalidParameterValue(`The region ${ctx.region} has no availability zones.`);
    const counts = zones.map((z) => siblings.filter((s) => s.availability_zone === z).length);
    zone = zones[counts.indexOf(Math.min(...counts))]!;
  }
  const row = await createSubnetRecords(ctx, { vpcId: vpc.id, cidr, zone });
  await putTags(ctx, 'subnet', row.id, tags);
  return { Subnet: toSubnet(row, tags, 0) };
}

/** CreateDefaultSubnet: a default subnet in a zone of the default VPC that lacks one. */
async function createDefaultSubnet(ctx: Ctx, input: CreateDefaultSubnetRequest): Promise<CreateDefaultSubnetResult> {
  if (input.Ipv6Native) throw Errors.invalidParameterValue('IPv6-only subnets are not supported: give the subnet an IPv4 CidrBlock.');
  const zone = pickZone(ctx, input);
  if (!zone) throw Errors.missingParameter('AvailabilityZone');
  const vpc = await getDefaultVpc(ctx);
  if (!vpc) throw new ApiError('DefaultVpcDoesNotExist', 'No default VPC exists for this account in this region.');
  const siblings = await subnetsOfVpc(ctx.db, vpc.id);
  if (siblings.some((s) => s.default_for_az === 1 && s.availability_zone === zone)) {
    throw new ApiError('DefaultSubnetAlreadyExistsInAvailabilityZone', `A default subnet already exists in ${zone}.`);
  }
  const taken = siblings.map((s) => parseCidrStrict(s.cidr_block)!);
  let cidr: string | undefined;
  for (let i = 0; i < 16 && !cidr; i++) {
    const c = defaultSubnetCidr(i);
    if (!taken.some((t) => overlaps(t, parseCidrStrict(c)!))) cidr = c;
  }
  if (!cidr) throw new ApiError('InsufficientFreeAddressesInSubnet', `There is no free /20 left in the default VPC ${vpc.id}.`);
  const row = await createSubnetRecords(ctx, { vpcId: vpc.id, cidr, zone, defaultForAz: true, mapPublicIp: true });
  return { Subnet: toSubnet(row, [], 0) };
}

async function describeSubnets(ctx: Ctx, input: DescribeSubnetsRequest): Promise<DescribeSubnetsResult> {
  const rows = await subnetsOf(ctx.db, ctx.accountId, ctx.region);
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'subnet');
  const used = await usedAddressCounts(
    ctx.db,
    rows.map((r) => r.id),
  );
  const page = describe(
    rows.map((r) => toSubnet(r, tags.get(r.id), used.get(r.id) ?? 0)),
    {
      ids: input.SubnetIds,
      idOf: (s) => s.SubnetId!,
      missing: (ids) => missingIds('subnet', ids),
      filters: input.Filters,
      filterMap: subnetFilters,
      tags: (s) => s.Tags,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
      min: 5,
      max: 1000,
    },
  );
  return { Subnets: page.items, NextToken: page.nextToken };
}

async function deleteSubnet(ctx: Ctx, input: DeleteSubnetRequest): Promise<Record<string, never>> {
  const subnet = await getSubnet(ctx, input.SubnetId!);
  const eni = await hasInterfaceIn(ctx.db, { subnetId: subnet.id });
  const instance = await hasLiveInstanceIn(ctx.db, { subnetId: subnet.id });
  if (eni || instance) throw dependencies('subnet', subnet.id);
  await deleteSubnetRecords(ctx.db, subnet.id);
  await deleteAllTags(ctx, subnet.id);
  return {};
}

async function modifySubnetAttribute(ctx: Ctx, input: ModifySubnetAttributeRequest): Promise<Record<string, never>> {
  const subnet = await getSubnet(ctx, input.SubnetId!);
  const set: RowUpdate<'subnets'> = {};
  const flag = (name: string, v: { Value?: boolean } | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (v.Value === undefined) throw Errors.missingParameter(`${name}.Value`);
    return v.Value ? 1 : 0;
  };
  const mapPublic = flag('MapPublicIpOnLaunch', input.MapPublicIpOnLaunch);
  if (mapPublic !== undefined) set.map_public_ip_on_launch = mapPublic;
  // IPv6 settings: `false` is what is true here; `true` would be stored and never carried.
  const assign6 = flag('AssignIpv6AddressOnCreation', input.AssignIpv6AddressOnCreation);
  if (assign6 === 1) throw ipv6Unsupported('AssignIpv6AddressOnCreation');
  if (assign6 !== undefined) set.assign_ipv6_on_creation = assign6;
  const dns64 = flag('EnableDns64', input.EnableDns64);
  if (dns64 === 1) throw ipv6Unsupported('EnableDns64');
  if (dns64 !== undefined) set.enable_dns64 = dns64;
  // Customer-owned IPs and LNIs exist only on Outposts, and no subnet here is on one.
  if (flag('MapCustomerOwnedIpOnLaunch', input.MapCustomerOwnedIpOnLaunch) === 1 || input.CustomerOwnedIpv4Pool !== undefined) {
    throw Errors.invalidParameterValue(`The subnet '${subnet.id}' is not in an Outpost: customer-owned IP addresses are not available.`);
  }
  if (input.EnableLniAtDeviceIndex !== undefined || input.DisableLniAtDeviceIndex?.Value) {
    throw Errors.invalidParameterValue(`The subnet '${subnet.id}' is not in an Outpost: local network interfaces are not available.`);
  }
  const dns: PrivateDnsNameOptionsOnLaunch = { ...privateDnsOptionsOf(subnet) };
  let dnsChanged = false;
  if (input.PrivateDnsHostnameTypeOnLaunch !== undefined) {
    if (input.PrivateDnsHostnameTypeOnLaunch !== 'ip-name' && input.PrivateDnsHostnameTypeOnLaunch !== 'resource-name') {
      throw Errors.invalidParameterValue(`Value (${input.PrivateDnsHostnameTypeOnLaunch}) for parameter privateDnsHostnameTypeOnLaunch is invalid.`);
    }
    // Guests' hostnames and private DNS names are the IP-based ones: resource names are not given.
    if (input.PrivateDnsHostnameTypeOnLaunch === 'resource-name')
      throw new ApiError('Unsupported', 'Resource-based hostnames (HostnameType resource-name) is not supported by cumulo yet.');
    dns.HostnameType = input.PrivateDnsHostnameTypeOnLaunch;
    dnsChanged = true;
  }
  const a = flag('EnableResourceNameDnsARecordOnLaunch', input.EnableResourceNameDnsARecordOnLaunch);
  if (a !== undefined) {
    dns.EnableResourceNameDnsARecord = a === 1;
    dnsChanged = true;
  }
  const aaaa = flag('EnableResourceNameDnsAAAARecordOnLaunch', input.EnableResourceNameDnsAAAARecordOnLaunch);
  if (aaaa === 1) throw ipv6Unsupported('EnableResourceNameDnsAAAARecordOnLaunch');
  if (aaaa !== undefined) {
    dns.EnableResourceNameDnsAAAARecord = aaaa === 1;
    dnsChanged = true;
  }
  if (dnsChanged) set.private_dns_name_options = JSON.stringify(dns);
  if (!Object.keys(set).length) throw Errors.missingParameter('an attribute to modify');
  await updateSubnet(ctx.db, subnet.id, set);
  return {};
}

export const handlers = {
  CreateSubnet: createSubnet,
  CreateDefaultSubnet: createDefaultSubnet,
  DescribeSubnets: describeSubnets,
  DeleteSubnet: deleteSubnet,
  ModifySubnetAttribute: modifySubnetAttribute,
} satisfies Ec2Handlers;
