// The IAM entities every part of IAM and STS looks up: users, groups, roles, instance profiles and
// customer managed policies, by name (without regard to case, as IAM compares names) or by id.
import type { Tx } from '../../../store/db.js';
import type { Row } from '../../../store/schema.js';

export type UserRow = Row<'iam_users'>;
export type GroupRow = Row<'iam_groups'>;
export type RoleRow = Row<'iam_roles'>;
export type InstanceProfileRow = Row<'iam_instance_profiles'>;
export type ManagedPolicyRow = Row<'iam_policies'>;

export async function userByName(db: Tx, accountId: string, name: string): Promise<UserRow | undefined> {
  return db.selectFrom('iam_users').selectAll().where('account_id', '=', accountId).where('name_key', '=', name.toLowerCase()).executeTakeFirst();
}

export async function userById(db: Tx, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('iam_users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function groupByName(db: Tx, accountId: string, name: string): Promise<GroupRow | undefined> {
  return db.selectFrom('iam_groups').selectAll().where('account_id', '=', accountId).where('name_key', '=', name.toLowerCase()).executeTakeFirst();
}

export async function groupById(db: Tx, id: string): Promise<GroupRow | undefined> {
  return db.selectFrom('iam_groups').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function roleByName(db: Tx, accountId: string, name: string): Promise<RoleRow | undefined> {
  return db.selectFrom('iam_roles').selectAll().where('account_id', '=', accountId).where('name_key', '=', name.toLowerCase()).executeTakeFirst();
}

export async function roleById(db: Tx, id: string): Promise<RoleRow | undefined> {
  return db.selectFrom('iam_roles').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function instanceProfileByName(db: Tx, accountId: string, name: string): Promise<InstanceProfileRow | undefined> {
  return db.selectFrom('iam_instance_profiles').selectAll().where('account_id', '=', accountId).where('name_key', '=', name.toLowerCase()).executeTakeFirst();
}

export async function instanceProfileByArn(db: Tx, arn: string): Promise<InstanceProfileRow | undefined> {
  return db.selectFrom('iam_instance_profiles').selectAll().where('arn', '=', arn).executeTakeFirst();
}

/** A customer managed policy by its ARN (AWS managed ones are in managed/catalog.ts). */
export async function managedPolicyByArn(db: Tx, arn: string): Promise<ManagedPolicyRow | undefined> {
  return db.selectFrom('iam_policies').selectAll().where('arn', '=', arn).executeTakeFirst();
}

/** A customer managed policy's document of one version (its default when version is omitted). */
export async function policyDocument(db: Tx, policy: ManagedPolicyRow, versionId = policy.default_version_id): Promise<string | undefined> {
  const row = await db.selectFrom('iam_policy_versions').select('document').where('policy_id', '=', policy.id).where('version_id', '=', versionId).executeTakeFirst();
  return row?.document;
}

/** The tags of an IAM entity, as a map. */
export async function entityTags(db: Tx, entityId: string): Promise<Record<string, string>> {
  const rows = await db.selectFrom('iam_tags').select(['key', 'value']).where('entity_id', '=', entityId).orderBy('key').execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** What IAM counts against an account's quotas (UsersPerAccount, RolesPerAccount, …). */
export async function entityCount(db: Tx, table: 'iam_users' | 'iam_groups' | 'iam_roles' | 'iam_instance_profiles', accountId: string): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** What still hangs on a user, group or role: IAM refuses to delete it until these are gone. */
export async function policiesOn(db: Tx, entityId: string): Promise<{ attached: number; inline: number }> {
  const attached = await db
    .selectFrom('iam_attached_policies')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('entity_id', '=', entityId)
    .executeTakeFirstOrThrow();
  const inline = await db
    .selectFrom('iam_inline_policies')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('entity_id', '=', entityId)
    .executeTakeFirstOrThrow();
  return { attached: Number(attached.n), inline: Number(inline.n) };
}

/** Whether a user or role with this ARN (path included) exists: what a trust policy may name. */
export async function userOrRoleArnExists(db: Tx, arn: string): Promise<boolean> {
  const user = await db.selectFrom('iam_users').select('id').where('arn', '=', arn).executeTakeFirst();
  if (user) return true;
  return Boolean(await db.selectFrom('iam_roles').select('id').where('arn', '=', arn).executeTakeFirst());
}

/**
 * Whether a write failed on a unique index: two requests creating one name at once (PostgreSQL
 * lets both pass the existence check; the index decides).
 */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
