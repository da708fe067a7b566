// A job that failed its bounded number of attempts and has no give-up hook (host cleanup, above
// all) is parked, not dropped: failed_at says since when; the runner skips it, and the next
// server start runs it again.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('failed_at', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('failed_at').execute();
}
