// Network ACLs: Create/Describe/DeleteNetworkAcl, Create/Replace/DeleteNetworkAclEntry,
// ReplaceNetworkAclAssociation.
import type {
  CreateNetworkAclEntryRequest,
  CreateNetworkAclRequest,
  CreateNetworkAclResult,
  DeleteNetworkAclEntryRequest,
  DeleteNetworkAclRequest,
  DescribeNetworkAclsRequest,
  DescribeNetworkAclsResult,
  NetworkAcl,
  ReplaceNetworkAclAssociationRequest,
  ReplaceNetworkAclAssociationResult,
  ReplaceNetworkAclEntryRequest,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { Row } from '../../../store/schema.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { ipv6Unsupported } from '../common/unsupported.js';
import { queueVpcSync } from '../common/network-sync.js';
import { putTags, tagsForType, tagsOf } from '../tags/store.js';
import { describe } from './describe.js';
import { networkAclFilters } from './filters.js';
import { aclEntry, aclRuleNumber } from './rules.js';
import { createNetworkAclRecords, deleteNetworkAclRecords, dependencies, getNetworkAcl, getVpc, missingIds, notFound, sortAclEntries, toAclEntry, vpcIpv6Blocks } from './store.js';
import {
  aclEntriesAndAssociations,
  deleteAclEntry,
  findAclAssociation,
  findAclEntry,
  hasAclAssociation,
  insertAclEntry,
  networkAclsOf,
  replaceAclAssociation,
  replaceAclEntry,
} from './store/network-acls.js';

/** ACL entries and associations are enforced at the VPC's subnet boundaries: its data plane follows. */
function syncVpc(ctx: Ctx, vpcId: string): Promise<void> {
  return queueVpcSync(ctx, { vpcId, accountId: ctx.accountId, region: ctx.region });
}

async function networkAclShapes(ctx: Ctx, acls: Row<'network_acls'>[]): Promise<NetworkAcl[]> {
  const ids = acls.map((a) => a.id);
  const { entries, assocs } = await aclEntriesAndAssociations(ctx.db, ids);
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'network-acl', ids);
  return acls.map((a) => ({
    Associations: assocs
      .filter((x) => x.network_acl_id === a.id)
      .sort((x, y) => (x.subnet_id < y.subnet_id ? -1 : 1))
      .map((x) => ({ NetworkAclAssociationId: x.id, NetworkAclId: a.id, SubnetId: x.subnet_id })),
    Entries: sortAclEntries(entries.filter((e) => e.network_acl_id === a.id).map(toAclEntry)),
    IsDefault: a.is_default === 1,
    NetworkAclId: a.id,
    Tags: tags.get(a.id) ?? [],
    VpcId: a.vpc_id,
    OwnerId: a.account_id,
  }));
}

async function createNetworkAcl(ctx: Ctx, input: CreateNetworkAclRequest): Promise<CreateNetworkAclResult> {
  const vpc = await getVpc(ctx, input.VpcId!);
  const tags = tagsForType(input.TagSpecifications, ['network-acl'], 'network-acl');
  const id = await createNetworkAclRecords(ctx, vpc.id, { isDefault: false, ipv6: vpcIpv6Blocks(vpc).length > 0 });
  await putTags(ctx, 'network-acl', id, tags);
  const [shape] = await networkAclShapes(ctx, [await getNetworkAcl(ctx, id)]);
  return { NetworkAcl: shape };
}

async function describeNetworkAcls(ctx: Ctx, input: DescribeNetworkAclsRequest): Promise<DescribeNetworkAclsResult> {
  const rows = await networkAclsOf(ctx.db, ctx.accountId, ctx.region);
  const page = describe(await networkAclShapes(ctx, rows), {
    ids: input.NetworkAclIds,
    idOf: (a) => a.NetworkAclId!,
    missing: (ids) => missingIds('networkAcl', ids),
    filters: input.Filters,
    filterMap: networkAclFilters,
    tags: (a) => a.Tags,
    maxResults: input.MaxResults,
    nextToken: input.NextToken,
    min: 5,
    max: 100,
  });
  return { NetworkAcls: page.items, NextToken: page.nextToken };
}

async function deleteNetworkAcl(ctx: Ctx, input: DeleteNetworkAclRequest): Promise<Record<string, never>> {
  const acl = await getNetworkAcl(ctx, input.NetworkAclId!);
  if (acl.is_default) throw Errors.invalidParameterValue(`cannot delete default network ACL ${acl.id}`);
  if (await hasAclAssociation(ctx.db, acl.id)) throw dependencies('networkAcl', acl.id);
  await deleteNetworkAclRecords(ctx, acl.id);
  await syncVpc(ctx, acl.vpc_id);
  return {};
}

async function findEntry(ctx: Ctx, aclId: string, egress: number, rule: number) {
  return findAclEntry(ctx.db, aclId, egress, rule);
}

const entryMissing = (rule: number, egress: boolean) =>
  new ApiError('InvalidNetworkAclEntry.NotFound', `The network acl entry identified by ${rule} ${egress ? 'egress' : 'ingress'} does not exist.`);

/** An entry the data plane enforces: IPv4 only (an IPv6 entry would be listed and never applied). */
function carriedAclEntry(input: CreateNetworkAclEntryRequest | ReplaceNetworkAclEntryRequest): ReturnType<typeof aclEntry> {
  const entry = aclEntry(input);
  if (entry.ipv6_cidr_block !== null) throw ipv6Unsupported('Ipv6CidrBlock');
  return entry;
}

async function createNetworkAclEntry(ctx: Ctx, input: CreateNetworkAclEntryRequest): Promise<Record<string, never>> {
  const acl = await getNetworkAcl(ctx, input.NetworkAclId!);
  const entry = carriedAclEntry(input);
  if (await findEntry(ctx, acl.id, entry.egress, entry.rule_number)) {
    throw new ApiError('NetworkAclEntryAlreadyExists', `The network acl entry identified by ${entry.rule_number} already exists.`);
  }
  await insertAclEntry(ctx.db, { network_acl_id: acl.id, ...entry });
  await syncVpc(ctx, acl.vpc_id);
  return {};
}

async function replaceNetworkAclEntry(ctx: Ctx, input: ReplaceNetworkAclEntryRequest): Promise<Record<string, never>> {
  const acl = await getNetworkAcl(ctx, input.NetworkAclId!);
  const entry = carriedAclEntry(input);
  if (!(await findEntry(ctx, acl.id, entry.egress, entry.rule_number))) throw entryMissing(entry.rule_number, entry.egress === 1);
  await replaceAclEntry(ctx.db, acl.id, entry);
  await syncVpc(ctx, acl.vpc_id);
  return {};
}

async function deleteNetworkAclEntry(ctx: Ctx, input: DeleteNetworkAclEntryRequest): Promise<Record<string, never>> {
  const acl = await getNetworkAcl(ctx, input.NetworkAclId!);
  const rule = aclRuleNumber(input.RuleNumber);
  if (input.Egress === undefined) throw Errors.missingParameter('Egress');
  const egress = input.Egress ? 1 : 0;
  if (!(await findEntry(ctx, acl.id, egress, rule))) throw entryMissing(rule, input.Egress);
  await deleteAclEntry(ctx.db, acl.id, egress, rule);
  await syncVpc(ctx, acl.vpc_id);
  return {};
}

async function replaceNetworkAclAssociation(ctx: Ctx, input: ReplaceNetworkAclAssociationRequest): Promise<ReplaceNetworkAclAssociationResult> {
  if (!input.AssociationId) throw Errors.missingParameter('AssociationId');
  const assoc = await findAclAssociation(ctx.db, ctx.accountId, ctx.region, input.AssociationId);
  if (!assoc) throw notFound.association(input.AssociationId);
  const acl = await getNetworkAcl(ctx, input.NetworkAclId!);
  if (acl.vpc_id !== assoc.vpc_id) {
    throw Errors.invalidParameterValue(`Network acl ${acl.id} and subnet ${assoc.subnet_id} belong to different networks`);
  }
  const id = newId('aclassoc');
  await replaceAclAssociation(ctx.db, assoc.id, { id, network_acl_id: acl.id, subnet_id: assoc.subnet_id });
  await syncVpc(ctx, acl.vpc_id);
  return { NewAssociationId: id };
}

export const handlers = {
  CreateNetworkAcl: createNetworkAcl,
  DescribeNetworkAcls: describeNetworkAcls,
  DeleteNetworkAcl: deleteNetworkAcl,
  CreateNetworkAclEntry: createNetworkAclEntry,
  ReplaceNetworkAclEntry: replaceNetworkAclEntry,
  DeleteNetworkAclEntry: deleteNetworkAclEntry,
  ReplaceNetworkAclAssociation: replaceNetworkAclAssociation,
} satisfies Ec2Handlers;
