// Customer managed policies, their versions and tags in the store; AWS managed ones come from the
// catalog. Every query of the policies family is here.
import type { Tx } from '../../../store/db.js';
import type { NewRow } from '../../../store/schema.js';
import type { ManagedPolicyRow } from '../entities/store.js';
import { awsManagedPolicy, type AwsManagedPolicy } from '../managed/catalog.js';
import { IamErrors } from '../errors.js';

export type PolicyVersionRow = { policy_id: string; version_id: string; document: string; created_at: string };

/** A managed policy an ARN names: the account's own, or one of AWS's. */
export type ManagedPolicyRef = { readonly kind: 'local'; readonly row: ManagedPolicyRow } | { readonly kind: 'aws'; readonly policy: AwsManagedPolicy };

const POLICY_ARN = /^arn:aws:iam::(\d{12}|aws):policy(\/(?:[\u0021-\u007E]*\/)?)?([\w+=,.@-]+)$/;

/** A policy ARN's parts; InvalidInput "ARN … is not valid." as IAM answers a malformed one. */
export function parsePolicyArn(arn: string | undefined): { account: string; path: string; name: string } {
  if (arn === undefined || arn === '')
    throw IamErrors.validationError("1 validation error detected: Value null at 'policyArn' failed to satisfy constraint: Member must not be null");
  if (arn.length < 20 || arn.length > 2048) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${arn}' at 'policyArn' failed to satisfy constraint: Member must have length ${arn.length < 20 ? 'greater than or equal to 20' : 'less than or equal to 2048'}`,
    );
  }
  const m = POLICY_ARN.exec(arn);
  if (!m) throw IamErrors.invalidInput(`ARN ${arn} is not valid.`);
  return { account: m[1]!, path: m[2] ?? '/', name: m[3]! };
}

/** The managed policy `arn` names that this account can see, or undefined. */
export async function findManagedPolicy(db: Tx, accountId: string, arn: string): Promise<ManagedPolicyRef | undefined> {
  const { account } = parsePolicyArn(arn);
  if (account === 'aws') {
    const policy = awsManagedPolicy(arn);
    return policy && { kind: 'aws', policy };
  }
  if (account !== accountId) return undefined;
  const row = await db.selectFrom('iam_policies').selectAll().where('account_id', '=', accountId).where('arn', '=', arn).executeTakeFirst();
  return row && { kind: 'local', row };
}

export async function policyByName(db: Tx, accountId: string, name: string): Promise<ManagedPolicyRow | undefined> {
  return db.selectFrom('iam_policies').selectAll().where('account_id', '=', accountId).where('name_key', '=', name.toLowerCase()).executeTakeFirst();
}

export async function policiesOf(db: Tx, accountId: string): Promise<ManagedPolicyRow[]> {
  return db.selectFrom('iam_policies').selectAll().where('account_id', '=', accountId).orderBy('name_key').execute();
}

export async function insertPolicy(db: Tx, row: NewRow<'iam_policies'>, document: string): Promise<void> {
  await db.insertInto('iam_policies').values(row).execute();
  await db.insertInto('iam_policy_versions').values({ policy_id: row.id, version_id: row.default_version_id, document, created_at: row.created_at }).execute();
}

export async function deletePolicyRows(db: Tx, policyId: string): Promise<void> {
  await db.deleteFrom('iam_policy_versions').where('policy_id', '=', policyId).execute();
  await db.deleteFrom('iam_tags').where('entity_id', '=', policyId).execute();
  await db.deleteFrom('iam_policies').where('id', '=', policyId).execute();
}

/** A policy's versions, newest first (as ListPolicyVersions answers). */
export async function versionsOf(db: Tx, policyId: string): Promise<PolicyVersionRow[]> {
  const rows = await db.selectFrom('iam_policy_versions').selectAll().where('policy_id', '=', policyId).execute();
  return rows.sort((a, b) => versionNumber(b.version_id) - versionNumber(a.version_id));
}

export function versionNumber(versionId: string): number {
  return Number(/^v(\d+)/.exec(versionId)?.[1] ?? 0);
}

export async function versionOf(db: Tx, policyId: string, versionId: string): Promise<PolicyVersionRow | undefined> {
  return db.selectFrom('iam_policy_versions').selectAll().where('policy_id', '=', policyId).where('version_id', '=', versionId).executeTakeFirst();
}

/** Adds a version (the next number) and, if asked, makes it the default. */
export async function addVersion(db: Tx, policy: ManagedPolicyRow, document: string, asDefault: boolean, now: string): Promise<string> {
  const versionId = `v${policy.next_version}`;
  await db.insertInto('iam_policy_versions').values({ policy_id: policy.id, version_id: versionId, document, created_at: now }).execute();
  await db
    .updateTable('iam_policies')
    .set({ next_version: policy.next_version + 1, updated_at: now, ...(asDefault ? { default_version_id: versionId } : {}) })
    .where('id', '=', policy.id)
    .execute();
  return versionId;
}

export async function deleteVersion(db: Tx, policyId: string, versionId: string): Promise<void> {
  await db.deleteFrom('iam_policy_versions').where('policy_id', '=', policyId).where('version_id', '=', versionId).execute();
}

export async function setDefaultVersion(db: Tx, policyId: string, versionId: string): Promise<void> {
  await db.updateTable('iam_policies').set({ default_version_id: versionId }).where('id', '=', policyId).execute();
}

/** How many users, groups and roles of the account have each managed policy attached, by ARN. */
export async function attachmentCounts(db: Tx, accountId: string, arn?: string): Promise<Map<string, number>> {
  let q = db
    .selectFrom('iam_attached_policies')
    .select(['policy_arn', db.fn.countAll<number>().as('n')])
    .where('account_id', '=', accountId);
  if (arn !== undefined) q = q.where('policy_arn', '=', arn);
  const rows = await q.groupBy('policy_arn').execute();
  return new Map(rows.map((r) => [r.policy_arn, Number(r.n)]));
}

/** How many users and roles of the account have each managed policy as their permissions boundary, by ARN. */
export async function boundaryCounts(db: Tx, accountId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const table of ['iam_users', 'iam_roles'] as const) {
    const rows = await db
      .selectFrom(table)
      .select(['permissions_boundary', db.fn.countAll<number>().as('n')])
      .where('account_id', '=', accountId)
      .where('permissions_boundary', 'is not', null)
      .groupBy('permissions_boundary')
      .execute();
    for (const r of rows) counts.set(r.permissions_boundary!, (counts.get(r.permissions_boundary!) ?? 0) + Number(r.n));
  }
  return counts;
}
