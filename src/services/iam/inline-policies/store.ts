// Inline policies: documents embedded in one user, group or role, by name.
import type { Tx } from '../../../store/db.js';
import type { Row } from '../../../store/schema.js';

export type InlinePolicyRow = Row<'iam_inline_policies'>;

/** An entity's inline policies, by name. */
export async function inlineOf(db: Tx, entityId: string): Promise<InlinePolicyRow[]> {
  return db.selectFrom('iam_inline_policies').selectAll().where('entity_id', '=', entityId).orderBy('name').execute();
}

/** Every inline policy of the account, by entity id (for GetAccountAuthorizationDetails). */
export async function inlineOfAccount(db: Tx, accountId: string): Promise<Map<string, InlinePolicyRow[]>> {
  const rows = await db.selectFrom('iam_inline_policies').selectAll().where('account_id', '=', accountId).orderBy('name').execute();
  const out = new Map<string, InlinePolicyRow[]>();
  for (const r of rows) out.set(r.entity_id, [...(out.get(r.entity_id) ?? []), r]);
  return out;
}

export async function inlineByName(db: Tx, entityId: string, name: string): Promise<InlinePolicyRow | undefined> {
  return db.selectFrom('iam_inline_policies').selectAll().where('entity_id', '=', entityId).where('name', '=', name).executeTakeFirst();
}

/** Adds the inline policy, or replaces its document. */
export async function putInline(db: Tx, row: InlinePolicyRow): Promise<void> {
  await db
    .insertInto('iam_inline_policies')
    .values(row)
    .onConflict((oc) => oc.columns(['entity_id', 'name']).doUpdateSet({ document: row.document }))
    .execute();
}

export async function deleteInline(db: Tx, entityId: string, name: string): Promise<boolean> {
  const r = await db.deleteFrom('iam_inline_policies').where('entity_id', '=', entityId).where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
