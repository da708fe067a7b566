// Access keys of IAM users and of the root user (user_id null), in the table the API's
// authentication reads (access_keys: its status and last_used_* columns).
import type { Tx } from '../../../store/db.js';
import type { NewRow, Row } from '../../../store/schema.js';

export type AccessKeyRow = Row<'access_keys'>;

export async function insertIamAccessKey(db: Tx, row: NewRow<'access_keys'>): Promise<void> {
  await db.insertInto('access_keys').values(row).execute();
}

/** The keys of one user (userId null: the account's root user), oldest first. */
export async function keysOf(db: Tx, accountId: string, userId: string | null): Promise<AccessKeyRow[]> {
  const q = db.selectFrom('access_keys').selectAll().where('account_id', '=', accountId);
  return (userId === null ? q.where('user_id', 'is', null) : q.where('user_id', '=', userId)).orderBy('created_at').orderBy('access_key_id').execute();
}

export async function keyById(db: Tx, accountId: string, accessKeyId: string): Promise<AccessKeyRow | undefined> {
  return db.selectFrom('access_keys').selectAll().where('account_id', '=', accountId).where('access_key_id', '=', accessKeyId).executeTakeFirst();
}

export async function setKeyStatus(db: Tx, accessKeyId: string, status: 'Active' | 'Inactive'): Promise<void> {
  await db.updateTable('access_keys').set({ status }).where('access_key_id', '=', accessKeyId).execute();
}

export async function deleteKey(db: Tx, accessKeyId: string): Promise<void> {
  await db.deleteFrom('access_keys').where('access_key_id', '=', accessKeyId).execute();
}
