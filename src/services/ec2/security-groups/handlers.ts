// Security groups and their rules: CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup,
// Authorize/RevokeSecurityGroupIngress/Egress, DescribeSecurityGroupRules, ModifySecurityGroupRules,
// UpdateSecurityGroupRuleDescriptionsIngress/Egress.
//
// Rules are stored one per (protocol, port range, source) in security_group_rules; IpPermissions
// are parsed into that form (permissions.ts) and grouped back for DescribeSecurityGroups.
import type {
  AuthorizeSecurityGroupEgressRequest,
  AuthorizeSecurityGroupEgressResult,
  AuthorizeSecurityGroupIngressRequest,
  AuthorizeSecurityGroupIngressResult,
  CreateSecurityGroupRequest,
  CreateSecurityGroupResult,
  DeleteSecurityGroupRequest,
  DeleteSecurityGroupResult,
  DescribeSecurityGroupRulesRequest,
  DescribeSecurityGroupRulesResult,
  DescribeSecurityGroupsRequest,
  DescribeSecurityGroupsResult,
  IpPermission,
  ModifySecurityGroupRulesRequest,
  ModifySecurityGroupRulesResult,
  RevokeSecurityGroupEgressRequest,
  RevokeSecurityGroupEgressResult,
  RevokeSecurityGroupIngressRequest,
  RevokeSecurityGroupIngressResult,
  SecurityGroup,
  SecurityGroupRule,
  TagSpecification,
  UpdateSecurityGroupRuleDescriptionsEgressRequest,
  UpdateSecurityGroupRuleDescriptionsEgressResult,
  UpdateSecurityGroupRuleDescriptionsIngressRequest,
  UpdateSecurityGroupRuleDescriptionsIngressResult,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { NewRow } from '../../../store/schema.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { queueVpcSync } from '../common/network-sync.js';
import { byKey, paginate } from '../common/pagination.js';
import { ipv6Unsupported } from '../common/unsupported.js';
import { getPrefixList } from '../prefix-lists/store.js';
import { checkRulesQuota, checkSecurityGroupQuota, holdQuotaLock } from '../quotas/check.js';
import { deleteAllTags, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { securityGroupFilters, securityGroupRuleFilters, type RuleView, type SecurityGroupView } from './filters.js';
import {
  checkGroupId,
  describeForDuplicate,
  groupRules,
  groupSpecs,
  hasLegacy,
  isRuleId,
  keyOfRow,
  legacyToPermissions,
  missingSource,
  parsePermissions,
  toSecurityGroupRule,
  validateGroupText,
  validateRuleDescription,
  type RuleFields,
  type RuleSpec,
} from './permissions.js';
import {
  defaultVpcId,
  findSecurityGroup,
  getSecurityGroup,
  getSecurityGroupByName,
  groupNotFound,
  rulesOf,
  type SecurityGroupRow,
  type SecurityGroupRuleRow,
  deleteRule,
  deleteSecurityGroupRow,
  groupNames,
  groupNamesInVpc,
  insertRules,
  insertSecurityGroup,
  isReferencedByOtherGroup,
  securityGroupRulesOf,
  securityGroupsOf,
  updateRule,
} from './store.js';
import { liveInstanceGroupsMentioning } from '../instances/store.js';
import { interfaceGroupsMentioning } from '../network-interfaces/store.js';
import { findVpcIpv6 } from '../vpcs/store/vpcs.js';

const ruleNotFound = (id: string) => new ApiError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${id}' does not exist`);
const permissionNotFound = () => new ApiError('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.');

/** A group's rules changed: every VPC data plane its members (or referrers) are in follows. */
function syncGroupVpc(ctx: Ctx, group: SecurityGroupRow): Promise<void> {
  return queueVpcSync(ctx, { vpcId: group.vpc_id, accountId: group.account_id, region: group.region });
}

function checkRuleId(id: string): void {
  if (!isRuleId(id)) throw new ApiError('InvalidSecurityGroupRuleId.Malformed', `The security group rule ID '${id}' is malformed`);
}

// ---------------------------------------------------------------------------------------------
// Rules: resolving sources against the store, writing rows

/** A parsed rule with its source group resolved to an id in the store. */
interface ResolvedRule extends Omit<RuleFields, 'id'> {
  key: string;
}

async function resolveRule(ctx: Ctx, group: SecurityGroupRow, spec: RuleSpec): Promise<ResolvedRule> {
  const s = spec.source;
  // A prefix list of the caller's (its entries are what the data plane filters on).
  if (s.prefixListId) await getPrefixList(ctx, s.prefixListId);
  let refId: string | null = null;
  let refOwner: string | null = null;
  if (s.group) {
    // Groups of other accounts are never visible here: a foreign UserId names a group we can't find.
    if (s.group.userId && s.group.userId !== ctx.accountId) throw groupNotFound(s.group.groupId ?? s.group.groupName ?? '');
    const ref = s.group.groupId ? await getSecurityGroup(ctx, s.group.groupId) : await getSecurityGroupByName(ctx, s.group.groupName!);
    if (ref.vpc_id !== group.vpc_id) throw Errors.invalidParameter('You have specified two resources that belong to different networks.');
    refId = ref.id;
    refOwner = ref.account_id;
  }
  const fields: Omit<RuleFields, 'id'> = {
    ip_protocol: spec.protocol,
    from_port: spec.fromPort,
    to_port: spec.toPort,
    cidr_ipv4: s.cidrIpv4 ?? null,
    cidr_ipv6: s.cidrIpv6 ?? null,
    prefix_list_id: s.prefixListId ?? null,
    referenced_group_id: refId,
    referenced_group_owner: refOwner,
    // An empty description is no description, as EC2 shows it.
    description: s.description || null,
  };
  return { ...fields, key: keyOfRow({ ...fields, id: '' }) };
}

/** The data plane filters IPv4 only: an IPv6 rule would be shown and never enforced. */
function refuseIpv6(specs: RuleSpec[], param: string): void {
  if (specs.some((s) => s.source.cidrIpv6)) throw ipv6Unsupported(param);
}

async function resolveRules(ctx: Ctx, group: SecurityGroupRow, specs: RuleSpec[]): Promise<ResolvedRule[]> {
  const out: ResolvedRule[] = [];
  for (const s of specs) out.push(await resolveRule(ctx, group, s));
  return out;
}

async function deleteRules(ctx: Ctx, ids: string[]): Promise<void> {
  for (const id of ids) {
    await deleteRule(ctx.db, id);
    await deleteAllTags(ctx, id);
  }
}

async function authorize(ctx: Ctx, group: SecurityGroupRow, perms: IpPermission[], isEgress: boolean, tagSpecs: TagSpecification[] | undefined): Promise<SecurityGroupRule[]> {
  const specs = parsePermissions(perms);
  refuseIpv6(specs, 'Ipv6Ranges');
  const tags = tagsForType(tagSpecs, ['security-group-rule'], 'security-group-rule');
  const wanted = await resolveRules(ctx, group, specs);
  // The rules quota (60 each way by default) counts what is read next.
  await holdQuotaLock(ctx);
  const seen = new Set<string>();
  for (const r of wanted) {
    if (seen.has(r.key)) throw Errors.invalidParameterValue('The same permission must not appear multiple times');
    seen.add(r.key);
  }
  const all = await rulesOf(ctx.db, [group.id]);
  const existing = all.filter((r) => r.is_egress === (isEgress ? 1 : 0));
  const have = new Set(existing.map(keyOfRow));
  for (const r of wanted) {
    if (have.has(r.key)) throw new ApiError('InvalidPermission.Duplicate', describeForDuplicate(r));
  }
  await checkRulesQuota(ctx, [...existing, ...wanted]);
  const now = ctx.now.toISOString();
  const base = Math.max(0, ...all.map((r) => r.seq)) + 1;
  const rows: NewRow<'security_group_rules'>[] = wanted.map(({ key: _key, ...fields }, i) => ({
    ...fields,
    seq: base + i,
    id: newId('sgr'),
    group_id: group.id,
    account_id: ctx.accountId,
    region: ctx.region,
    is_egress: isEgress ? 1 : 0,
    created_at: now,
  }));
  await insertRules(ctx.db, rows);
  for (const row of rows) await putTags(ctx, 'security-group-rule', row.id, tags);
  await syncGroupVpc(ctx, group);
  return rows.map((row) => toSecurityGroupRule(row as SecurityGroupRuleRow, tags));
}

interface RevokeInput {
  IpPermissions?: IpPermission[];
  SecurityGroupRuleIds?: string[];
}

async function revoke(ctx: Ctx, group: SecurityGroupRow, input: RevokeInput, isEgress: boolean): Promise<RevokeSecurityGroupIngressResult> {
  const existing = (await rulesOf(ctx.db, [group.id])).filter((r) => r.is_egress === (isEgress ? 1 : 0));
  if (input.SecurityGroupRuleIds?.length) {
    if (input.IpPermissions?.length) {
      throw Errors.invalidParameterCombination('The parameter SecurityGroupRuleId cannot be used with the parameter IpPermissions');
    }
    const ids = [...new Set(input.SecurityGroupRuleIds)];
    for (const id of ids) {
      checkRuleId(id);
      if (!existing.some((r) => r.id === id)) throw ruleNotFound(id);
    }
    await deleteRules(ctx, ids);
    await syncGroupVpc(ctx, group);
    return { Return: true };
  }
  if (!input.IpPermissions?.length) throw missingSource();
  const specs = parsePermissions(input.IpPermissions);
  const wanted = await resolveRules(ctx, group, specs);
  const byKeyMap = new Map(existing.map((r) => [keyOfRow(r), r]));
  const found: string[] = [];
  const unknown: RuleSpec[] = [];
  for (const [i, r] of wanted.entries()) {
    const hit = byKeyMap.get(r.key);
    if (hit) {
      if (!found.includes(hit.id)) found.push(hit.id);
    } else {
      const spec = specs[i]!;
      unknown.push(
        r.referenced_group_id ? { ...spec, source: { ...spec.source, group: { groupId: r.referenced_group_id, userId: r.referenced_group_owner ?? undefined } } } : spec,
      );
    }
  }
  // In a default VPC EC2 revokes what matches and reports the rest; elsewhere any miss is an error.
  if (unknown.length && group.vpc_id !== (await defaultVpcId(ctx))) throw permissionNotFound();
  await deleteRules(ctx, found);
  if (found.length) await syncGroupVpc(ctx, group);
  return unknown.length ? { Return: true, UnknownIpPermissions: groupSpecs(unknown) } : { Return: true };
}

/** The legacy top-level CidrIp/IpProtocol/… form and IpPermissions are alternatives. */
function permissionsOf(input: AuthorizeSecurityGroupIngressRequest | RevokeSecurityGroupIngressRequest): IpPermission[] | undefined {
  if (!hasLegacy(input)) return input.IpPermissions;
  if (input.IpPermissions?.length) {
    throw Errors.invalidParameterCombination('The parameter IpPermissions cannot be used with the parameters cidrIp, ipProtocol, fromPort, toPort or sourceSecurityGroupName');
  }
  return legacyToPermissions(input);
}

/** AuthorizeSecurityGroupEgress and RevokeSecurityGroupEgress take rules only as IpPermissions. */
function refuseLegacyEgress(input: AuthorizeSecurityGroupEgressRequest | RevokeSecurityGroupEgressRequest): void {
  if (hasLegacy(input)) {
    throw Errors.invalidParameterCombination(
      'For egress rules, specify the rule with IpPermissions; cidrIp, ipProtocol, fromPort, toPort and sourceSecurityGroupName are not supported',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Groups

async function createSecurityGroup(ctx: Ctx, input: CreateSecurityGroupRequest): Promise<CreateSecurityGroupResult> {
  const name = input.GroupName ?? '';
  const description = input.Description ?? '';
  if (!name) throw Errors.missingParameter('GroupName');
  if (!description) throw Errors.missingParameter('GroupDescription');
  validateGroupText('GroupName', name);
  validateGroupText('GroupDescription', description);
  if (name.toLowerCase().startsWith('sg-')) throw Errors.invalidParameterValue('Group names may not be in the format sg-*');
  const tags = tagsForType(input.TagSpecifications, ['security-group'], 'security-group');

  let vpcId = input.VpcId;
  if (!vpcId) {
    vpcId = await defaultVpcId(ctx);
    if (!vpcId) throw new ApiError('VPCIdNotSpecified', 'No default VPC for this user');
  }
  const vpc = await findVpcIpv6(ctx.db, ctx.accountId, ctx.region, vpcId);
  if (!vpc) throw new ApiError('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);

  const siblings = await groupNamesInVpc(ctx.db, vpcId);
  // EC2: "Names are case-insensitive and must be unique within the VPC."
  if (siblings.some((g) => g.toLowerCase() === name.toLowerCase())) {
    throw new ApiError('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpcId}'`);
  }
  await checkSecurityGroupQuota(ctx, vpcId);

  const id = newId('sg');
  const now = ctx.now.toISOString();
  await insertSecurityGroup(ctx.db, { id, account_id: ctx.accountId, region: ctx.region, vpc_id: vpcId, group_name: name, description, created_at: now });
  // A new group allows all outbound traffic, to ::/0 as well when the VPC has an IPv6 block.
  const egress: NewRow<'security_group_rules'> = {
    id: newId('sgr'),
    group_id: id,
    account_id: ctx.accountId,
    region: ctx.region,
    is_egress: 1,
    ip_protocol: '-1',
    from_port: null,
    to_port: null,
    cidr_ipv4: '0.0.0.0/0',
    cidr_ipv6: null,
    prefix_list_id: null,
    referenced_group_id: null,
    referenced_group_owner: null,
    description: null,
    created_at: now,
  };
  const rules = [egress];
  if (hasIpv6(vpc.ipv6_cidr_associations)) rules.push({ ...egress, id: newId('sgr'), cidr_ipv4: null, cidr_ipv6: '::/0' });
  await insertRules(ctx.db, rules);
  await putTags(ctx, 'security-group', id, tags);
  return tags.length ? { GroupId: id, Tags: tags } : { GroupId: id };
}

function hasIpv6(json: string): boolean {
  try {
    const list = JSON.parse(json) as { Ipv6CidrBlockState?: { State?: string } }[];
    return Array.isArray(list) && list.some((a) => !['disassociating', 'disassociated', 'failed'].includes(a.Ipv6CidrBlockState?.State ?? 'associated'));
  } catch {
    return false;
  }
}

function ruleView(r: SecurityGroupRuleRow, names: Map<string, string>): RuleView {
  return {
    protocol: r.ip_protocol,
    fromPort: r.from_port ?? -1,
    toPort: r.to_port ?? -1,
    cidrIpv4: r.cidr_ipv4 ?? undefined,
    cidrIpv6: r.cidr_ipv6 ?? undefined,
    prefixListId: r.prefix_list_id ?? undefined,
    groupId: r.referenced_group_id ?? undefined,
    groupName: r.referenced_group_id ? names.get(r.referenced_group_id) : undefined,
    userId: r.referenced_group_owner ?? undefined,
  };
}

async function describeSecurityGroups(ctx: Ctx, input: DescribeSecurityGroupsRequest): Promise<DescribeSecurityGroupsResult> {
  validateFilters(input.Filters, securityGroupFilters, { tags: () => [] });
  const ids = [...new Set(input.GroupIds ?? [])];
  const names = [...new Set(input.GroupNames ?? [])];
  for (const id of ids) checkGroupId(id);

  let defaultVpc: string | undefined;
  if (names.length) defaultVpc = await defaultVpcId(ctx);
  const groups = await securityGroupsOf(ctx.db, ctx.accountId, ctx.region, { ids, names, namesVpcId: defaultVpc ?? '' });
  for (const id of ids) if (!groups.some((g) => g.id === id)) throw groupNotFound(id);
  for (const n of names) {
    if (!groups.some((g) => g.group_name === n && g.vpc_id === defaultVpc)) {
      throw new ApiError('InvalidGroup.NotFound', `The security group '${n}' does not exist in default VPC '${defaultVpc ?? 'none'}'`);
    }
  }

  const rules = await rulesOf(
    ctx.db,
    groups.map((g) => g.id),
  );
  const names_ = new Map(groups.map((g) => [g.id, g.group_name]));
  const missing = [...new Set(rules.map((r) => r.referenced_group_id).filter((x): x is string => !!x && !names_.has(x)))];
  if (missing.length) {
    const refs = await groupNames(ctx.db, missing);
    for (const r of refs) names_.set(r.id, r.group_name);
  }
  const byGroup = new Map<string, SecurityGroupRuleRow[]>();
  for (const r of rules) {
    let list = byGroup.get(r.group_id);
    if (!list) byGroup.set(r.group_id, (list = []));
    list.push(r);
  }
  const tags = await tagsOf(
    ctx.db,
    ctx.accountId,
    ctx.region,
    'security-group',
    groups.map((g) => g.id),
  );
  const views: SecurityGroupView[] = groups.map((g) => {
    const mine = byGroup.get(g.id) ?? [];
    const ingress = mine.filter((r) => r.is_egress === 0);
    const egress = mine.filter((r) => r.is_egress === 1);
    const group: SecurityGroup = {
      GroupId: g.id,
      GroupName: g.group_name,
      Description: g.description,
      OwnerId: g.account_id,
      VpcId: g.vpc_id,
      IpPermissions: groupRules(ingress),
      IpPermissionsEgress: groupRules(egress),
      Tags: tags.get(g.id) ?? [],
    };
    return { group, ingress: ingress.map((r) => ruleView(r, names_)), egress: egress.map((r) => ruleView(r, names_)) };
  });
  const matched = applyFilters(views, input.Filters, securityGroupFilters, { tags: (v) => v.group.Tags })
    .map((v) => v.group)
    .sort(byKey((g) => g.GroupId!));
  const page = paginate(matched, (g) => g.GroupId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { SecurityGroups: page.items, NextToken: page.nextToken };
}

async function deleteSecurityGroup(ctx: Ctx, input: DeleteSecurityGroupRequest): Promise<DeleteSecurityGroupResult> {
  const group = await findSecurityGroup(ctx, input);
  if (group.group_name === 'default') {
    throw new ApiError('CannotDelete', `the specified group: "${group.id}" name: "default" cannot be deleted by a user`);
  }
  const dependent = () => Errors.dependencyViolation(`resource ${group.id} has a dependent object`);
  if (await isReferencedByOtherGroup(ctx.db, group.id)) throw dependent();
  // Instances and network interfaces keep [{GroupId, GroupName}] as JSON; narrow with LIKE, then parse.
  const uses = (json: string) => {
    try {
      return (JSON.parse(json) as { GroupId?: string }[]).some((g) => g.GroupId === group.id);
    } catch {
      return false;
    }
  };
  if ((await liveInstanceGroupsMentioning(ctx.db, ctx.accountId, ctx.region, group.id)).some(uses)) throw dependent();
  if ((await interfaceGroupsMentioning(ctx.db, ctx.accountId, ctx.region, group.id)).some(uses)) throw dependent();

  const ruleIds = (await rulesOf(ctx.db, [group.id])).map((r) => r.id);
  await deleteRules(ctx, ruleIds);
  await deleteSecurityGroupRow(ctx.db, group.id);
  await deleteAllTags(ctx, group.id);
  await syncGroupVpc(ctx, group);
  return { Return: true, GroupId: group.id };
}

// ---------------------------------------------------------------------------------------------
// Rules

async function authorizeSecurityGroupIngress(ctx: Ctx, input: AuthorizeSecurityGroupIngressRequest): Promise<AuthorizeSecurityGroupIngressResult> {
  const group = await findSecurityGroup(ctx, input);
  const perms = permissionsOf(input);
  if (!perms?.length) throw missingSource();
  return { Return: true, SecurityGroupRules: await authorize(ctx, group, perms, false, input.TagSpecifications) };
}

async function authorizeSecurityGroupEgress(ctx: Ctx, input: AuthorizeSecurityGroupEgressRequest): Promise<AuthorizeSecurityGroupEgressResult> {
  const group = await getSecurityGroup(ctx, input.GroupId ?? '');
  refuseLegacyEgress(input);
  if (!input.IpPermissions?.length) throw missingSource();
  return { Return: true, SecurityGroupRules: await authorize(ctx, group, input.IpPermissions, true, input.TagSpecifications) };
}

async function revokeSecurityGroupIngress(ctx: Ctx, input: RevokeSecurityGroupIngressRequest): Promise<RevokeSecurityGroupIngressResult> {
  const group = await findSecurityGroup(ctx, input);
  return revoke(ctx, group, { IpPermissions: permissionsOf(input), SecurityGroupRuleIds: input.SecurityGroupRuleIds }, false);
}

async function revokeSecurityGroupEgress(ctx: Ctx, input: RevokeSecurityGroupEgressRequest): Promise<RevokeSecurityGroupEgressResult> {
  const group = await getSecurityGroup(ctx, input.GroupId ?? '');
  refuseLegacyEgress(input);
  return revoke(ctx, group, input, true);
}

async function describeSecurityGroupRules(ctx: Ctx, input: DescribeSecurityGroupRulesRequest): Promise<DescribeSecurityGroupRulesResult> {
  validateFilters(input.Filters, securityGroupRuleFilters, { tags: () => [] });
  const ids = [...new Set(input.SecurityGroupRuleIds ?? [])];
  for (const id of ids) checkRuleId(id);
  const rows = await securityGroupRulesOf(ctx.db, ctx.accountId, ctx.region, ids);
  for (const id of ids) if (!rows.some((r) => r.id === id)) throw ruleNotFound(id);
  const tags = await tagsOf(
    ctx.db,
    ctx.accountId,
    ctx.region,
    'security-group-rule',
    rows.map((r) => r.id),
  );
  const all = rows.map((r) => toSecurityGroupRule(r, tags.get(r.id)));
  const matched = applyFilters(all, input.Filters, securityGroupRuleFilters, { tags: (r) => r.Tags }).sort(byKey((r) => r.SecurityGroupRuleId!));
  const page = paginate(matched, (r) => r.SecurityGroupRuleId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { SecurityGroupRules: page.items, NextToken: page.nextToken };
}

async function modifySecurityGroupRules(ctx: Ctx, input: ModifySecurityGroupRulesRequest): Promise<ModifySecurityGroupRulesResult> {
  const group = await getSecurityGroup(ctx, input.GroupId ?? '');
  if (!input.SecurityGroupRules?.length) throw Errors.missingParameter('SecurityGroupRule');
  const rules = await rulesOf(ctx.db, [group.id]);
  const current = new Map(rules.map((r) => [r.id, r]));
  const touched = new Set<string>();
  for (const u of input.SecurityGroupRules) {
    const id = u.SecurityGroupRuleId ?? '';
    checkRuleId(id);
    const row = current.get(id);
    if (!row) throw ruleNotFound(id);
    if (touched.has(id)) throw Errors.invalidParameterValue('The same security group rule must not appear multiple times');
    touched.add(id);
    const req = u.SecurityGroupRule;
    if (!req) throw Errors.missingParameter('SecurityGroupRule');
    const sources = [req.CidrIpv4, req.CidrIpv6, req.PrefixListId, req.ReferencedGroupId].filter((x) => x !== undefined && x !== '');
    if (sources.length !== 1) {
      throw Errors.invalidParameterValue('A security group rule must specify exactly one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId');
    }
    const d = req.Description;
    const perm: IpPermission = {
      IpProtocol: req.IpProtocol,
      FromPort: req.FromPort,
      ToPort: req.ToPort,
      IpRanges: req.CidrIpv4 ? [{ CidrIp: req.CidrIpv4, Description: d }] : undefined,
      Ipv6Ranges: req.CidrIpv6 ? [{ CidrIpv6: req.CidrIpv6, Description: d }] : undefined,
      PrefixListIds: req.PrefixListId ? [{ PrefixListId: req.PrefixListId, Description: d }] : undefined,
      UserIdGroupPairs: req.ReferencedGroupId ? [{ GroupId: req.ReferencedGroupId, Description: d }] : undefined,
    };
    const spec = parsePermissions([perm])[0]!;
    refuseIpv6([spec], 'CidrIpv6');
    const { key, ...fields } = await resolveRule(ctx, group, spec);
    for (const other of current.values()) {
      if (other.id !== id && other.is_egress === row.is_egress && keyOfRow(other) === key) {
        throw new ApiError('InvalidPermission.Duplicate', describeForDuplicate(fields));
      }
    }
    await updateRule(ctx.db, id, fields);
    current.set(id, { ...row, ...fields });
  }
  for (const egress of [0, 1])
    await checkRulesQuota(
      ctx,
      [...current.values()].filter((r) => r.is_egress === egress),
    );
  await syncGroupVpc(ctx, group);
  return { Return: true };
}

type UpdateDescriptionsInput = UpdateSecurityGroupRuleDescriptionsIngressRequest | UpdateSecurityGroupRuleDescriptionsEgressRequest;

async function updateDescriptions(ctx: Ctx, input: UpdateDescriptionsInput, isEgress: boolean): Promise<{ Return: boolean }> {
  const group = await findSecurityGroup(ctx, input);
  const rules = (await rulesOf(ctx.db, [group.id])).filter((r) => r.is_egress === (isEgress ? 1 : 0));
  const updates: [string, string | null][] = [];
  if (input.SecurityGroupRuleDescriptions?.length) {
    if (input.IpPermissions?.length) {
      throw Errors.invalidParameterCombination('The parameter SecurityGroupRuleDescription cannot be used with the parameter IpPermissions');
    }
    for (const d of input.SecurityGroupRuleDescriptions) {
      const id = d.SecurityGroupRuleId ?? '';
      checkRuleId(id);
      if (!rules.some((r) => r.id === id)) throw ruleNotFound(id);
      validateRuleDescription(d.Description);
      updates.push([id, d.Description || null]);
    }
  } else if (input.IpPermissions?.length) {
    const specs = parsePermissions(input.IpPermissions);
    const wanted = await resolveRules(ctx, group, specs);
    const byKeyMap = new Map(rules.map((r) => [keyOfRow(r), r]));
    for (const w of wanted) {
      const hit = byKeyMap.get(w.key);
      if (!hit) throw permissionNotFound();
      updates.push([hit.id, w.description]);
    }
  } else {
    throw Errors.missingParameter('IpPermissions');
  }
  for (const [id, description] of updates) {
    await updateRule(ctx.db, id, { description });
  }
  return { Return: true };
}

async function updateSecurityGroupRuleDescriptionsIngress(
  ctx: Ctx,
  input: UpdateSecurityGroupRuleDescriptionsIngressRequest,
): Promise<UpdateSecurityGroupRuleDescriptionsIngressResult> {
  return updateDescriptions(ctx, input, false);
}

async function updateSecurityGroupRuleDescriptionsEgress(
  ctx: Ctx,
  input: UpdateSecurityGroupRuleDescriptionsEgressRequest,
): Promise<UpdateSecurityGroupRuleDescriptionsEgressResult> {
  return updateDescriptions(ctx, input, true);
}

export const handlers = {
  CreateSecurityGroup: createSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  DeleteSecurityGroup: deleteSecurityGroup,
  AuthorizeSecurityGroupIngress: authorizeSecurityGroupIngress,
  AuthorizeSecurityGroupEgress: authorizeSecurityGroupEgress,
  RevokeSecurityGroupIngress: revokeSecurityGroupIngress,
  RevokeSecurityGroupEgress: revokeSecurityGroupEgress,
  DescribeSecurityGroupRules: describeSecurityGroupRules,
  ModifySecurityGroupRules: modifySecurityGroupRules,
  UpdateSecurityGroupRuleDescriptionsIngress: updateSecurityGroupRuleDescriptionsIngress,
  UpdateSecurityGroupRuleDescriptionsEgress: updateSecurityGroupRuleDescriptionsEgress,
} satisfies Ec2Handlers;
