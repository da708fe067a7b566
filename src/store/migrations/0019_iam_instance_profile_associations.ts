// Instance profiles on instances: EC2's associations (iip-assoc-…), and the role credentials the
// metadata service hands an instance. A session's token is kept by STS only as its hash, so the
// token an instance is served again and again until its refresh is kept here, wrapped under the
// master key (the secret is the session's own, wrapped in sts_sessions).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('iam_instance_profile_associations')
    .addColumn('id', 'text', (c) => c.primaryKey()) // iip-assoc-…
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('profile_arn', 'text', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    // associating | associated | disassociating | disassociated
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('iam_instance_profile_associations_owner').on('iam_instance_profile_associations').columns(['account_id', 'region']).execute();
  await db.schema.createIndex('iam_instance_profile_associations_instance').on('iam_instance_profile_associations').columns(['instance_id', 'state']).execute();
  await db.schema
    .createTable('instance_role_credentials')
    // One current set per association: a refresh replaces it.
    .addColumn('association_id', 'text', (c) => c.primaryKey())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('access_key_id', 'text', (c) => c.notNull()) // the sts_sessions row
    .addColumn('role_arn', 'text', (c) => c.notNull())
    // Wrapped under the master key, bound to the access key id (purpose instance-role-token).
    .addColumn('session_token', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('instance_role_credentials').execute();
  await db.schema.dropTable('iam_instance_profile_associations').execute();
}
