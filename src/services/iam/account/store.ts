// What GetAccountSummary counts in an account.
import type { Tx } from '../../../store/db.js';

async function count(db: Tx, table: 'iam_policies' | 'iam_attached_policies', accountId: string): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export const customerPolicyCount = (db: Tx, accountId: string) => count(db, 'iam_policies', accountId);
export const attachmentCount = (db: Tx, accountId: string) => count(db, 'iam_attached_policies', accountId);

/** Whether the root user has access keys (AccountAccessKeysPresent). */
export async function rootHasKeys(db: Tx, accountId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('access_keys').select('access_key_id').where('account_id', '=', accountId).where('user_id', 'is', null).executeTakeFirst());
}
