// Login profiles (console passwords, hashed) of IAM users.
import type { Tx } from '../../../store/db.js';
import type { NewRow, Row, RowUpdate } from '../../../store/schema.js';

export type LoginProfileRow = Row<'iam_login_profiles'>;

export async function loginProfileOf(db: Tx, userId: string): Promise<LoginProfileRow | undefined> {
  return db.selectFrom('iam_login_profiles').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

export async function insertLoginProfile(db: Tx, row: NewRow<'iam_login_profiles'>): Promise<void> {
  await db.insertInto('iam_login_profiles').values(row).execute();
}

export async function updateLoginProfileRow(db: Tx, userId: string, changes: RowUpdate<'iam_login_profiles'>): Promise<void> {
  await db.updateTable('iam_login_profiles').set(changes).where('user_id', '=', userId).execute();
}

export async function deleteLoginProfileRow(db: Tx, userId: string): Promise<void> {
  await db.deleteFrom('iam_login_profiles').where('user_id', '=', userId).execute();
}

export async function recordPasswordUse(db: Tx, userId: string, at: string): Promise<void> {
  await db.updateTable('iam_users').set({ password_last_used: at }).where('id', '=', userId).execute();
}
