// The network ACLs' repository: ACLs, their entries and their subnet associations, and the entry shapes.
import type { Tx } from '../../../../store/db.js';
import type { NewRow, Row, RowUpdate } from '../../../../store/schema.js';
import type { NetworkAclEntry } from '@aws-sdk/client-ec2';
import { Errors } from '../../../errors.js';
import { newId } from '../../../../lib/ids.js';
import type { Ctx } from '../../../context.js';
import { deleteAllTags } from '../../tags/store.js';
import { findOwned } from '../../common/resources.js';
import { chunks, notFound } from './shared.js';

export type AclEntryRow = Row<'network_acl_entries'>;
export type AclAssocRow = Row<'network_acl_associations'>;

// For the handlers.

/** Every network ACL of the account in the region. */
export async function networkAclsOf(db: Tx, accountId: string, region: string): Promise<Row<'network_acls'>[]> {
  return db.selectFrom('network_acls').selectAll().where('account_id', '=', accountId).where('region', '=', region).execute();
}

export async function networkAclIdsOfVpc(db: Tx, vpcId: string): Promise<string[]> {
  return (await db.selectFrom('network_acls').select('id').where('vpc_id', '=', vpcId).execute()).map((r) => r.id);
}

export async function hasNonDefaultAcl(db: Tx, vpcId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('network_acls').select('id').where('vpc_id', '=', vpcId).where('is_default', '=', 0).executeTakeFirst());
}

/** The entries and the associations of these ACLs. */
export async function aclEntriesAndAssociations(db: Tx, aclIds: string[]): Promise<{ entries: AclEntryRow[]; assocs: AclAssocRow[] }> {
  const entries: AclEntryRow[] = [];
  const assocs: AclAssocRow[] = [];
  for (const chunk of chunks(aclIds, 500)) {
    entries.push(...(await db.selectFrom('network_acl_entries').selectAll().where('network_acl_id', 'in', chunk).execute()));
    assocs.push(...(await db.selectFrom('network_acl_associations').selectAll().where('network_acl_id', 'in', chunk).execute()));
  }
  return { entries, assocs };
}

export async function hasAclAssociation(db: Tx, aclId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('network_acl_associations').select('id').where('network_acl_id', '=', aclId).executeTakeFirst());
}

export async function findAclEntry(db: Tx, aclId: string, egress: number, rule: number): Promise<AclEntryRow | undefined> {
  return db.selectFrom('network_acl_entries').selectAll().where('network_acl_id', '=', aclId).where('egress', '=', egress).where('rule_number', '=', rule).executeTakeFirst();
}

export async function insertAclEntry(db: Tx, row: NewRow<'network_acl_entries'>): Promise<void> {
  await db.insertInto('network_acl_entries').values(row).execute();
}

/** Rewrites the entry with this direction and rule number. */
export async function replaceAclEntry(db: Tx, aclId: string, entry: RowUpdate<'network_acl_entries'> & { egress: number; rule_number: number }): Promise<void> {
  await db
    .updateTable('network_acl_entries')
    .set(entry)
    .where('network_acl_id', '=', aclId)
    .where('egress', '=', entry.egress)
    .where('rule_number', '=', entry.rule_number)
    .execute();
}

export async function deleteAclEntry(db: Tx, aclId: string, egress: number, rule: number): Promise<void> {
  await db.deleteFrom('network_acl_entries').where('network_acl_id', '=', aclId).where('egress', '=', egress).where('rule_number', '=', rule).execute();
}

/** A subnet association of one of the account's ACLs, with the ACL's VPC. */
export async function findAclAssociation(db: Tx, accountId: string, region: string, id: string): Promise<{ id: string; subnet_id: string; vpc_id: string } | undefined> {
  return db
    .selectFrom('network_acl_associations')
    .innerJoin('network_acls', 'network_acls.id', 'network_acl_associations.network_acl_id')
    .select(['network_acl_associations.id', 'network_acl_associations.subnet_id', 'network_acls.vpc_id'])
    .where('network_acl_associations.id', '=', id)
    .where('network_acls.account_id', '=', accountId)
    .where('network_acls.region', '=', region)
    .executeTakeFirst();
}

/** Moves a subnet's association to another ACL under a new association id. */
export async function replaceAclAssociation(db: Tx, oldId: string, row: NewRow<'network_acl_associations'>): Promise<void> {
  await db.deleteFrom('network_acl_associations').where('id', '=', oldId).execute();
  await db.insertInto('network_acl_associations').values(row).execute();
}

export async function getNetworkAcl(ctx: Ctx, id: string): Promise<Row<'network_acls'>> {
  if (!id) throw Errors.missingParameter('NetworkAclId');
  const row = await findOwned(ctx, 'network_acls', id);
  if (!row) throw notFound.networkAcl(id);
  return row;
}

/**
 * A network ACL. The default ACL allows everything (rule 100; 101 for IPv6); every ACL ends with
 * the unchangeable deny-all rule (32767; 32768 for IPv6), in both directions.
 */
export async function createNetworkAclRecords(ctx: Ctx, vpcId: string, opts: { isDefault: boolean; ipv6: boolean }): Promise<string> {
  const id = newId('acl');
  await ctx.db
    .insertInto('network_acls')
    .values({ id, account_id: ctx.accountId, region: ctx.region, vpc_id: vpcId, is_default: opts.isDefault ? 1 : 0, created_at: ctx.now.toISOString() })
    .execute();
  const entries: NewRow<'network_acl_entries'>[] = [];
  for (const egress of [0, 1]) {
    const base = { network_acl_id: id, egress, protocol: '-1', icmp_type: null, icmp_code: null, port_from: null, port_to: null };
    if (opts.isDefault) {
      entries.push({ ...base, rule_number: 100, rule_action: 'allow', cidr_block: '0.0.0.0/0', ipv6_cidr_block: null });
      if (opts.ipv6) entries.push({ ...base, rule_number: 101, rule_action: 'allow', cidr_block: null, ipv6_cidr_block: '::/0' });
    }
    entries.push({ ...base, rule_number: 32767, rule_action: 'deny', cidr_block: '0.0.0.0/0', ipv6_cidr_block: null });
    if (opts.ipv6) entries.push({ ...base, rule_number: 32768, rule_action: 'deny', cidr_block: null, ipv6_cidr_block: '::/0' });
  }
  await ctx.db.insertInto('network_acl_entries').values(entries).execute();
  return id;
}

/** IPv6 entries the VPC's ACLs gain when the VPC gains its first IPv6 block. */
export async function addIpv6AclEntries(ctx: Ctx, vpcId: string): Promise<void> {
  const acls = await ctx.db.selectFrom('network_acls').select(['id', 'is_default']).where('vpc_id', '=', vpcId).execute();
  for (const acl of acls) {
    for (const egress of [0, 1]) {
      const base = { network_acl_id: acl.id, egress, protocol: '-1', icmp_type: null, icmp_code: null, port_from: null, port_to: null, cidr_block: null, ipv6_cidr_block: '::/0' };
      const rows: NewRow<'network_acl_entries'>[] = [{ ...base, rule_number: 32768, rule_action: 'deny' }];
      if (acl.is_default) rows.push({ ...base, rule_number: 101, rule_action: 'allow' });
      for (const r of rows) {
        await ctx.db
          .insertInto('network_acl_entries')
          .values(r)
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    }
  }
}

export async function defaultNetworkAclOf(ctx: Ctx, vpcId: string): Promise<Row<'network_acls'> | undefined> {
  return ctx.db.selectFrom('network_acls').selectAll().where('vpc_id', '=', vpcId).where('is_default', '=', 1).executeTakeFirst();
}

export async function deleteNetworkAclRecords(ctx: Ctx, id: string): Promise<void> {
  await ctx.db.deleteFrom('network_acl_entries').where('network_acl_id', '=', id).execute();
  await ctx.db.deleteFrom('network_acl_associations').where('network_acl_id', '=', id).execute();
  await ctx.db.deleteFrom('network_acls').where('id', '=', id).execute();
  await deleteAllTags(ctx, id);
}

export function toAclEntry(e: Row<'network_acl_entries'>): NetworkAclEntry {
  const out: NetworkAclEntry = {
    RuleNumber: e.rule_number,
    Protocol: e.protocol,
    RuleAction: e.rule_action as NetworkAclEntry['RuleAction'],
    Egress: e.egress === 1,
  };
  if (e.cidr_block) out.CidrBlock = e.cidr_block;
  if (e.ipv6_cidr_block) out.Ipv6CidrBlock = e.ipv6_cidr_block;
  if (e.icmp_type !== null || e.icmp_code !== null) out.IcmpTypeCode = { Type: e.icmp_type ?? undefined, Code: e.icmp_code ?? undefined };
  if (e.port_from !== null || e.port_to !== null) out.PortRange = { From: e.port_from ?? undefined, To: e.port_to ?? undefined };
  return out;
}

/** EC2 lists a network ACL's egress entries first, each direction by rule number. */
export function sortAclEntries(entries: NetworkAclEntry[]): NetworkAclEntry[] {
  return entries.sort((a, b) => Number(b.Egress) - Number(a.Egress) || a.RuleNumber! - b.RuleNumber!);
}
