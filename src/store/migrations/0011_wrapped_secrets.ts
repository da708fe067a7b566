// Secrets at rest (issue 9): access_keys.secret_access_key and ebs_keys.key hold values wrapped
// under the host's master key ('v1:…', src/lib/secrets.ts). A migration cannot see the key file,
// so the rows written before this one are wrapped at start-up (src/store/secrets.ts); this one
// adds the store's record of which master key wraps its secrets: a value wrapped under it, so a
// host started with another key (or none) stops at start instead of mixing keys in one store.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('master_key_check')
    .addColumn('id', 'text', (c) => c.primaryKey()) // 'v1': one row per wrapping format
    .addColumn('fingerprint', 'text', (c) => c.notNull()) // names the key (derived one-way), for messages
    .addColumn('check_value', 'text', (c) => c.notNull()) // the fingerprint, wrapped: unwraps only under that key
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('master_key_check').execute();
}
