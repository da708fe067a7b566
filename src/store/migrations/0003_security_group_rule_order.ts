// Security group rules keep the order they were authorized in: rules written by one request share
// created_at, and DescribeSecurityGroups lists permissions and their sources in that order.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('security_group_rules')
    .addColumn('seq', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('security_group_rules').dropColumn('seq').execute();
}
