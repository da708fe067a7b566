// IAM's entities. IAM is global: rows are scoped by account only. Names are unique per account
// without regard to case, as IAM's are (name_key is the lower-cased name). Policy documents are
// stored as the caller sent them (IAM answers them URL-encoded, as given).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  const entity = (name: string) =>
    db.schema
      .createTable(name)
      .addColumn('id', 'text', (c) => c.primaryKey()) // AIDA… / AGPA… / AROA… / ANPA… / AIPA…
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('name_key', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('arn', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull());

  await entity('iam_users').addColumn('permissions_boundary', 'text').addColumn('password_last_used', 'text').execute();
  await entity('iam_groups').execute();
  await entity('iam_roles')
    .addColumn('assume_role_policy', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('max_session_duration', 'integer', (c) => c.notNull())
    .addColumn('permissions_boundary', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('last_used_region', 'text')
    .execute();
  // Customer managed policies (AWS managed ones are a catalog in the code, arn:aws:iam::aws:policy/…).
  await entity('iam_policies')
    .addColumn('description', 'text')
    .addColumn('default_version_id', 'text', (c) => c.notNull())
    .addColumn('next_version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await entity('iam_instance_profiles').addColumn('role_id', 'text').execute();
  for (const t of ['iam_users', 'iam_groups', 'iam_roles', 'iam_policies', 'iam_instance_profiles']) {
    await db.schema.createIndex(`${t}_name`).on(t).columns(['account_id', 'name_key']).unique().execute();
  }

  await db.schema
    .createTable('iam_policy_versions')
    .addColumn('policy_id', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull()) // v1, v2, …
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('iam_policy_versions_pk', ['policy_id', 'version_id'])
    .execute();
  await db.schema
    .createTable('iam_group_members')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('iam_group_members_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('iam_group_members_user').on('iam_group_members').columns(['user_id']).execute();
  // Managed policies attached to a user, group or role (by ARN: AWS's or the account's own).
  await db.schema
    .createTable('iam_attached_policies')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('entity_type', 'text', (c) => c.notNull()) // user | group | role
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('policy_arn', 'text', (c) => c.notNull())
    .addColumn('attached_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('iam_attached_policies_pk', ['entity_id', 'policy_arn'])
    .execute();
  await db.schema.createIndex('iam_attached_policies_policy').on('iam_attached_policies').columns(['account_id', 'policy_arn']).execute();
  await db.schema
    .createTable('iam_inline_policies')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('entity_type', 'text', (c) => c.notNull()) // user | group | role
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('iam_inline_policies_pk', ['entity_id', 'name'])
    .execute();
  await db.schema
    .createTable('iam_login_profiles')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    // scrypt: 'scrypt:<N>:<r>:<p>:<salt b64>:<hash b64>'
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('password_reset_required', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  // Tags of IAM entities (users, roles, policies, instance profiles), by the entity's id.
  await db.schema
    .createTable('iam_tags')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('iam_tags_pk', ['entity_id', 'key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'iam_tags',
    'iam_login_profiles',
    'iam_inline_policies',
    'iam_attached_policies',
    'iam_group_members',
    'iam_policy_versions',
    'iam_instance_profiles',
    'iam_policies',
    'iam_roles',
    'iam_groups',
    'iam_users',
  ]) {
    await db.schema.dropTable(t).execute();
  }
}
