// The accounts' repository: accounts and their access keys (secrets stored wrapped).
import type { Tx } from '../../store/db.js';
import type { NewRow, Row } from '../../store/schema.js';

// For the handlers.

/** Whether an account has this name or this id. */
export async function accountExists(db: Tx, match: { name?: string; id: string }): Promise<boolean> {
  const q = db.selectFrom('accounts').select('id');
  const row = await (match.name !== undefined ? q.where((eb) => eb.or([eb('name', '=', match.name!), eb('id', '=', match.id)])) : q.where('id', '=', match.id)).executeTakeFirst();
  return Boolean(row);
}

export async function insertAccount(db: Tx, row: NewRow<'accounts'>): Promise<void> {
  await db.insertInto('accounts').values(row).execute();
}

/** Records an account unless it exists already. */
export async function insertAccountIfAbsent(db: Tx, row: NewRow<'accounts'>): Promise<void> {
  await db
    .insertInto('accounts')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function insertAccessKey(db: Tx, row: NewRow<'access_keys'>): Promise<void> {
  await db.insertInto('access_keys').values(row).execute();
}

/** The oldest active access key of the root user of the account with this name, with the account. */
export async function firstActiveKeyOf(db: Tx, name: string): Promise<{ id: string; name: string; access_key_id: string; secret_access_key: string } | undefined> {
  return db
    .selectFrom('accounts')
    .innerJoin('access_keys', 'access_keys.account_id', 'accounts.id')
    .select(['accounts.id', 'accounts.name', 'access_keys.access_key_id', 'access_keys.secret_access_key'])
    .where('accounts.name', '=', name)
    .where('access_keys.status', '=', 'Active')
    .where('access_keys.user_id', 'is', null)
    .orderBy('access_keys.created_at')
    .executeTakeFirst();
}

/** Every account, oldest first. */
export async function allAccounts(db: Tx): Promise<Pick<Row<'accounts'>, 'id' | 'name'>[]> {
  return db.selectFrom('accounts').select(['id', 'name']).orderBy('created_at').execute();
}

/** An active access key: its wrapped secret and account. */
export async function activeAccessKey(db: Tx, accessKeyId: string): Promise<Pick<Row<'access_keys'>, 'secret_access_key' | 'account_id'> | undefined> {
  return db.selectFrom('access_keys').select(['secret_access_key', 'account_id']).where('access_key_id', '=', accessKeyId).where('status', '=', 'Active').executeTakeFirst();
}
