// Security group rows shared with other families: the VPC family makes each VPC's default group,
// the instances family resolves RunInstances' groups.
import { ApiError, Errors } from '../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { Tx } from '../../../store/db.js';
import type { NewRow, Row, RowUpdate } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';
import { checkGroupId } from './permissions.js';
import { findOwned } from '../common/resources.js';

// For the handlers.

/** How many groups the VPC has, its default one included. */
export async function groupCountOfVpc(db: Tx, vpcId: string): Promise<number> {
  const row = await db
    .selectFrom('security_groups')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('vpc_id', '=', vpcId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The groups with a rule naming this prefix list. */
export async function groupsReferencingPrefixList(db: Tx, prefixListId: string): Promise<string[]> {
  return (await db.selectFrom('security_group_rules').select('group_id').where('prefix_list_id', '=', prefixListId).distinct().execute()).map((r) => r.group_id);
}

/** What the rules quota counts of a group's rules. */
export async function ruleQuotaFieldsOf(db: Tx, groupId: string): Promise<Pick<SecurityGroupRuleRow, 'cidr_ipv6' | 'prefix_list_id' | 'is_egress'>[]> {
  return db.selectFrom('security_group_rules').select(['cidr_ipv6', 'prefix_list_id', 'is_egress']).where('group_id', '=', groupId).execute();
}

/** The id of a rule naming this prefix list, if any. */
export async function ruleReferencingPrefixList(db: Tx, prefixListId: string): Promise<string | undefined> {
  return (await db.selectFrom('security_group_rules').select('id').where('prefix_list_id', '=', prefixListId).executeTakeFirst())?.id;
}

/** The account's security groups in the region: all, or those with these ids or with these names in this VPC. */
export async function securityGroupsOf(db: Tx, accountId: string, region: string, match?: { ids: string[]; names: string[]; namesVpcId: string }): Promise<SecurityGroupRow[]> {
  let q = db.selectFrom('security_groups').selectAll().where('account_id', '=', accountId).where('region', '=', region);
  if (match && (match.ids.length || match.names.length)) {
    q = q.where((eb) => {
      const parts = [];
      if (match.ids.length) parts.push(eb('id', 'in', match.ids));
      if (match.names.length) parts.push(eb.and([eb('vpc_id', '=', match.namesVpcId), eb('group_name', 'in', match.names)]));
      return eb.or(parts);
    });
  }
  return q.execute();
}

/** The names of these groups, whoever owns them. */
export async function groupNames(db: Tx, ids: string[]): Promise<Pick<SecurityGroupRow, 'id' | 'group_name'>[]> {
  return db.selectFrom('security_groups').select(['id', 'group_name']).where('id', 'in', ids).execute();
}

/** The names of a VPC's groups. */
export async function groupNamesInVpc(db: Tx, vpcId: string): Promise<string[]> {
  return (await db.selectFrom('security_groups').select('group_name').where('vpc_id', '=', vpcId).execute()).map((g) => g.group_name);
}

export async function insertSecurityGroup(db: Tx, row: NewRow<'security_groups'>): Promise<void> {
  await db.insertInto('security_groups').values(row).execute();
}

export async function deleteSecurityGroupRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('security_groups').where('id', '=', id).execute();
}

export async function insertRules(db: Tx, rows: NewRow<'security_group_rules'>[]): Promise<void> {
  if (rows.length) await db.insertInto('security_group_rules').values(rows).execute();
}

export async function updateRule(db: Tx, id: string, set: RowUpdate<'security_group_rules'>): Promise<void> {
  await db.updateTable('security_group_rules').set(set).where('id', '=', id).execute();
}

export async function deleteRule(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('security_group_rules').where('id', '=', id).execute();
}

/** The account's rules in the region: all, or those with these ids. */
export async function securityGroupRulesOf(db: Tx, accountId: string, region: string, ids?: string[]): Promise<SecurityGroupRuleRow[]> {
  let q = db.selectFrom('security_group_rules').selectAll().where('account_id', '=', accountId).where('region', '=', region);
  if (ids?.length) q = q.where('id', 'in', ids);
  return q.execute();
}

/** Whether a rule of another group references this one. */
export async function isReferencedByOtherGroup(db: Tx, groupId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('security_group_rules').select('id').where('referenced_group_id', '=', groupId).where('group_id', '!=', groupId).executeTakeFirst());
}

/** Whether the VPC has a security group other than its default one. */
export async function hasNonDefaultGroup(db: Tx, vpcId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('security_groups').select('id').where('vpc_id', '=', vpcId).where('group_name', '!=', 'default').executeTakeFirst());
}

export async function securityGroupIdsOfVpc(db: Tx, vpcId: string): Promise<string[]> {
  return (await db.selectFrom('security_groups').select('id').where('vpc_id', '=', vpcId).execute()).map((r) => r.id);
}

/** A group and its rules. */
export async function deleteSecurityGroupRecords(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('security_group_rules').where('group_id', '=', id).execute();
  await db.deleteFrom('security_groups').where('id', '=', id).execute();
}

/**
 * Every VPC gets a security group named "default", as on EC2: inbound from members of the same
 * group on every protocol, outbound to everywhere (IPv4; IPv6 too when the VPC has an IPv6 block).
 */
export async function createDefaultSecurityGroup(ctx: Ctx, vpcId: string, opts: { ipv6?: boolean } = {}): Promise<string> {
  const id = newId('sg');
  const now = ctx.now.toISOString();
  await ctx.db
    .insertInto('security_groups')
    .values({ id, account_id: ctx.accountId, region: ctx.region, vpc_id: vpcId, group_name: 'default', description: 'default VPC security group', created_at: now })
    .execute();
  const base: Omit<NewRow<'security_group_rules'>, 'id' | 'is_egress'> = {
    group_id: id,
    account_id: ctx.accountId,
    region: ctx.region,
    ip_protocol: '-1',
    from_port: null,
    to_port: null,
    cidr_ipv4: null,
    cidr_ipv6: null,
    prefix_list_id: null,
    referenced_group_id: null,
    referenced_group_owner: null,
    description: null,
    created_at: now,
  };
  const rules: NewRow<'security_group_rules'>[] = [
    { ...base, id: newId('sgr'), is_egress: 0, referenced_group_id: id, referenced_group_owner: ctx.accountId },
    { ...base, id: newId('sgr'), is_egress: 1, cidr_ipv4: '0.0.0.0/0' },
  ];
  if (opts.ipv6) rules.push({ ...base, id: newId('sgr'), is_egress: 1, cidr_ipv6: '::/0' });
  await ctx.db.insertInto('security_group_rules').values(rules).execute();
  return id;
}

// ---------------------------------------------------------------------------------------------
// Lookups, always scoped to the caller's account and region

export type SecurityGroupRow = Row<'security_groups'>;
export type SecurityGroupRuleRow = Row<'security_group_rules'>;

export const groupNotFound = (id: string) => new ApiError('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
const nameNotFound = (name: string, vpcId: string | undefined) =>
  new ApiError('InvalidGroup.NotFound', `The security group '${name}' does not exist in default VPC '${vpcId ?? 'none'}'`);

/** The default VPC's id (group names are looked up there), if the region has one. */
export async function defaultVpcId(ctx: Ctx): Promise<string | undefined> {
  const row = await ctx.db
    .selectFrom('vpcs')
    .select('id')
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .where('is_default', '=', 1)
    .orderBy('created_at')
    .executeTakeFirst();
  return row?.id;
}

/** A group by id: InvalidGroupId.Malformed or InvalidGroup.NotFound when it isn't the caller's. */
export async function getSecurityGroup(ctx: Ctx, id: string): Promise<SecurityGroupRow> {
  checkGroupId(id);
  const row = await findOwned(ctx, 'security_groups', id);
  if (!row) throw groupNotFound(id);
  return row;
}

/** A group by name in the default VPC (names are only meaningful there, as on EC2). */
export async function getSecurityGroupByName(ctx: Ctx, name: string): Promise<SecurityGroupRow> {
  const vpcId = await defaultVpcId(ctx);
  const row = vpcId
    ? await ctx.db
        .selectFrom('security_groups')
        .selectAll()
        .where('vpc_id', '=', vpcId)
        .where('group_name', '=', name)
        .where('account_id', '=', ctx.accountId)
        .where('region', '=', ctx.region)
        .executeTakeFirst()
    : undefined;
  if (!row) throw nameNotFound(name, vpcId);
  return row;
}

/** The group a GroupId / GroupName pair names (the id wins when both are given). */
export async function findSecurityGroup(ctx: Ctx, input: { GroupId?: string; GroupName?: string }): Promise<SecurityGroupRow> {
  if (input.GroupId) return getSecurityGroup(ctx, input.GroupId);
  if (input.GroupName) return getSecurityGroupByName(ctx, input.GroupName);
  throw new ApiError('MissingParameter', 'The request must contain the parameter groupName or groupId');
}

export interface GroupRefResult {
  GroupId: string;
  GroupName: string;
}

/**
 * RunInstances' SecurityGroupIds / SecurityGroups → [{GroupId, GroupName}], in the order given,
 * without repeats. Ids must be the caller's and in `vpcId`; names are looked up in the default VPC
 * and only work when launching into it. With neither, the VPC's default group, as EC2 does.
 */
export async function resolveSecurityGroups(ctx: Ctx, opts: { ids?: string[]; names?: string[]; vpcId: string; subnetId?: string }): Promise<GroupRefResult[]> {
  const out: GroupRefResult[] = [];
  const seen = new Set<string>();
  const push = (row: SecurityGroupRow) => {
    if (row.vpc_id !== opts.vpcId) {
      throw Errors.invalidParameter(`Security group ${row.id} and subnet ${opts.subnetId ?? opts.vpcId} belong to different networks.`);
    }
    if (seen.has(row.id)) return;
    seen.add(row.id);
    out.push({ GroupId: row.id, GroupName: row.group_name });
  };
  for (const id of opts.ids ?? []) push(await getSecurityGroup(ctx, id));
  if (opts.names?.length) {
    const vpcId = await defaultVpcId(ctx);
    if (vpcId !== opts.vpcId) {
      throw Errors.invalidParameterCombination('The parameter groupName cannot be used with the parameter subnet');
    }
    for (const name of opts.names) push(await getSecurityGroupByName(ctx, name));
  }
  if (out.length === 0) {
    const row = await ctx.db
      .selectFrom('security_groups')
      .selectAll()
      .where('vpc_id', '=', opts.vpcId)
      .where('group_name', '=', 'default')
      .where('account_id', '=', ctx.accountId)
      .where('region', '=', ctx.region)
      .executeTakeFirst();
    if (!row) throw new ApiError('InvalidGroup.NotFound', `The security group 'default' does not exist in VPC '${opts.vpcId}'`);
    push(row);
  }
  return out;
}

/** Every rule of the given groups, in the order they were authorized. */
export async function rulesOf(db: Tx, groupIds: string[]): Promise<SecurityGroupRuleRow[]> {
  if (!groupIds.length) return [];
  const rows: SecurityGroupRuleRow[] = [];
  // Bounded IN lists: SQLite allows at most 32766 bound parameters per statement.
  for (let i = 0; i < groupIds.length; i += 500) {
    rows.push(
      ...(await db
        .selectFrom('security_group_rules')
        .selectAll()
        .where('group_id', 'in', groupIds.slice(i, i + 500))
        .orderBy('seq')
        .orderBy('created_at')
        .orderBy('id')
        .execute()),
    );
  }
  return rows;
}
