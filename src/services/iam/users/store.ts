// The IAM users' repository: iam_users and what a user's deletion checks (keys, login profile,
// groups, policies).
import type { Tx } from '../../../store/db.js';
import type { NewRow, RowUpdate } from '../../../store/schema.js';
import type { UserRow } from '../entities/store.js';
import { byNameKey } from '../entities/paging.js';

export async function insertUser(db: Tx, row: NewRow<'iam_users'>): Promise<void> {
  await db.insertInto('iam_users').values(row).execute();
}

/** An account's users whose path starts with the prefix, by name. */
export async function usersOf(db: Tx, accountId: string, pathPrefix = '/'): Promise<UserRow[]> {
  const rows = await db.selectFrom('iam_users').selectAll().where('account_id', '=', accountId).execute();
  return rows.filter((r) => r.path.startsWith(pathPrefix)).sort(byNameKey);
}

export async function updateUserRow(db: Tx, id: string, changes: RowUpdate<'iam_users'>): Promise<void> {
  await db.updateTable('iam_users').set(changes).where('id', '=', id).execute();
}

export async function deleteUserRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('iam_tags').where('entity_id', '=', id).execute();
  await db.deleteFrom('iam_users').where('id', '=', id).execute();
}

/** What stands in the way of deleting a user. */
export async function userDependents(db: Tx, userId: string): Promise<{ accessKeys: number; loginProfile: boolean; groups: number }> {
  const keys = await db
    .selectFrom('access_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  const profile = await db.selectFrom('iam_login_profiles').select('user_id').where('user_id', '=', userId).executeTakeFirst();
  const groups = await db
    .selectFrom('iam_group_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return { accessKeys: Number(keys.n), loginProfile: Boolean(profile), groups: Number(groups.n) };
}

/** The account's creation time: the root user's CreateDate. */
export async function accountCreatedAt(db: Tx, accountId: string): Promise<string | undefined> {
  return (await db.selectFrom('accounts').select('created_at').where('id', '=', accountId).executeTakeFirst())?.created_at;
}
