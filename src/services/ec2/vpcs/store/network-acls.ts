// The network ACLs' repository: ACLs, their entries and their subnet associations.
import type { Tx } from '../../../../store/db.js';
import type { NewRow, Row, RowUpdate } from '../../../../store/schema.js';
import { chunks } from '../store.js';

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
export async function findAclAssociation(
  db: Tx,
  accountId: string,
  region: string,
  id: string,
): Promise<{ id: string; subnet_id: string; vpc_id: string } | undefined> {
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
