// What GetAccountAuthorizationDetails reads: every user, group, role, instance profile and
// customer managed policy version of an account, each in one query.
import type { Tx } from '../../../store/db.js';
import type { GroupRow, InstanceProfileRow, ManagedPolicyRow, RoleRow, UserRow } from '../entities/store.js';
import type { PolicyVersionRow } from '../policies/store.js';

export async function usersOf(db: Tx, accountId: string): Promise<UserRow[]> {
  return db.selectFrom('iam_users').selectAll().where('account_id', '=', accountId).orderBy('name_key').execute();
}

export async function groupsOf(db: Tx, accountId: string): Promise<GroupRow[]> {
  return db.selectFrom('iam_groups').selectAll().where('account_id', '=', accountId).orderBy('name_key').execute();
}

export async function rolesOf(db: Tx, accountId: string): Promise<RoleRow[]> {
  return db.selectFrom('iam_roles').selectAll().where('account_id', '=', accountId).orderBy('name_key').execute();
}

export async function instanceProfilesOf(db: Tx, accountId: string): Promise<InstanceProfileRow[]> {
  return db.selectFrom('iam_instance_profiles').selectAll().where('account_id', '=', accountId).orderBy('name_key').execute();
}

/** Group ids by member user id. */
export async function membershipsOf(db: Tx, accountId: string): Promise<Map<string, string[]>> {
  const rows = await db.selectFrom('iam_group_members').select(['user_id', 'group_id']).where('account_id', '=', accountId).execute();
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.user_id, [...(out.get(r.user_id) ?? []), r.group_id]);
  return out;
}

/** Tags of the account's IAM entities, by entity id. */
export async function tagsOfAccount(db: Tx, accountId: string): Promise<Map<string, { Key: string; Value: string }[]>> {
  const rows = await db.selectFrom('iam_tags').select(['entity_id', 'key', 'value']).where('account_id', '=', accountId).orderBy('key').execute();
  const out = new Map<string, { Key: string; Value: string }[]>();
  for (const r of rows) out.set(r.entity_id, [...(out.get(r.entity_id) ?? []), { Key: r.key, Value: r.value }]);
  return out;
}

/** Every version of the given customer managed policies, by policy id. */
export async function versionsOfPolicies(db: Tx, policies: readonly ManagedPolicyRow[]): Promise<Map<string, PolicyVersionRow[]>> {
  const out = new Map<string, PolicyVersionRow[]>();
  if (!policies.length) return out;
  const rows = await db
    .selectFrom('iam_policy_versions')
    .selectAll()
    .where(
      'policy_id',
      'in',
      policies.map((p) => p.id),
    )
    .execute();
  for (const r of rows) out.set(r.policy_id, [...(out.get(r.policy_id) ?? []), r]);
  return out;
}
