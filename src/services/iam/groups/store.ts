// The IAM groups' repository: iam_groups and their members.
import type { Tx } from '../../../store/db.js';
import type { NewRow, RowUpdate } from '../../../store/schema.js';
import { byNameKey } from '../entities/paging.js';
import type { GroupRow, UserRow } from '../entities/store.js';

export async function insertGroup(db: Tx, row: NewRow<'iam_groups'>): Promise<void> {
  await db.insertInto('iam_groups').values(row).execute();
}

/** An account's groups whose path starts with the prefix, by name. */
export async function groupsOf(db: Tx, accountId: string, pathPrefix = '/'): Promise<GroupRow[]> {
  const rows = await db.selectFrom('iam_groups').selectAll().where('account_id', '=', accountId).execute();
  return rows.filter((r) => r.path.startsWith(pathPrefix)).sort(byNameKey);
}

export async function updateGroupRow(db: Tx, id: string, changes: RowUpdate<'iam_groups'>): Promise<void> {
  await db.updateTable('iam_groups').set(changes).where('id', '=', id).execute();
}

export async function deleteGroupRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('iam_groups').where('id', '=', id).execute();
}

/** A group's members, by name. */
export async function membersOf(db: Tx, groupId: string): Promise<UserRow[]> {
  const rows = await db
    .selectFrom('iam_group_members')
    .innerJoin('iam_users', 'iam_users.id', 'iam_group_members.user_id')
    .selectAll('iam_users')
    .where('group_id', '=', groupId)
    .execute();
  return rows.sort(byNameKey);
}

/** The groups a user is in, by name. */
export async function groupsOfUser(db: Tx, userId: string): Promise<GroupRow[]> {
  const rows = await db
    .selectFrom('iam_group_members')
    .innerJoin('iam_groups', 'iam_groups.id', 'iam_group_members.group_id')
    .selectAll('iam_groups')
    .where('user_id', '=', userId)
    .execute();
  return rows.sort(byNameKey);
}

export async function isMember(db: Tx, groupId: string, userId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('iam_group_members').select('user_id').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst());
}

export async function addMember(db: Tx, accountId: string, groupId: string, userId: string): Promise<void> {
  await db
    .insertInto('iam_group_members')
    .values({ account_id: accountId, group_id: groupId, user_id: userId })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function removeMember(db: Tx, groupId: string, userId: string): Promise<void> {
  await db.deleteFrom('iam_group_members').where('group_id', '=', groupId).where('user_id', '=', userId).execute();
}

export async function memberCount(db: Tx, groupId: string): Promise<number> {
  const row = await db
    .selectFrom('iam_group_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('group_id', '=', groupId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
