// Credentials of IAM principals other than the root user: an access key may belong to an IAM user
// (user_id; null: the account's root user) and records when it was last used; STS sessions are
// temporary credentials (ASIA… keys) with their token and what they act as.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('access_keys').addColumn('user_id', 'text').execute();
  await db.schema.alterTable('access_keys').addColumn('last_used_at', 'text').execute();
  await db.schema.alterTable('access_keys').addColumn('last_used_service', 'text').execute();
  await db.schema.alterTable('access_keys').addColumn('last_used_region', 'text').execute();
  await db.schema.createIndex('access_keys_user').on('access_keys').columns(['account_id', 'user_id']).execute();
  await db.schema
    .createTable('sts_sessions')
    .addColumn('access_key_id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    // Wrapped under the host's master key, bound to the access key id, like access_keys' secrets.
    .addColumn('secret_access_key', 'text', (c) => c.notNull())
    // The session token's SHA-256 (hex): the token itself is given out once and never stored.
    .addColumn('token_sha256', 'text', (c) => c.notNull())
    // assumed-role (AssumeRole, instance profiles) | session-token (GetSessionToken)
    .addColumn('kind', 'text', (c) => c.notNull())
    // The IAM user a session-token session acts as (null: the root user); the role of an assumed role.
    .addColumn('user_id', 'text')
    .addColumn('role_id', 'text')
    .addColumn('role_arn', 'text')
    .addColumn('session_name', 'text')
    .addColumn('policies', 'text', (c) => c.notNull()) // JSON: inline session policy documents
    .addColumn('policy_arns', 'text', (c) => c.notNull()) // JSON: managed session policy ARNs
    .addColumn('tags', 'text', (c) => c.notNull()) // JSON: session tags { key: value }
    .addColumn('transitive_tag_keys', 'text', (c) => c.notNull()) // JSON: string[]
    .addColumn('source_identity', 'text')
    .addColumn('mfa', 'integer', (c) => c.notNull())
    // What asked for it: an instance id for an instance profile's credentials, else the caller's ARN.
    .addColumn('issued_for', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sts_sessions_expiry').on('sts_sessions').columns(['expires_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sts_sessions').execute();
  await db.schema.dropIndex('access_keys_user').execute();
  for (const c of ['last_used_region', 'last_used_service', 'last_used_at', 'user_id']) await db.schema.alterTable('access_keys').dropColumn(c).execute();
}
