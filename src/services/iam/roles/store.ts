// The IAM roles' repository: iam_roles and what a role's deletion checks.
import type { Tx } from '../../../store/db.js';
import type { NewRow, RowUpdate } from '../../../store/schema.js';
import { byNameKey } from '../entities/paging.js';
import type { RoleRow } from '../entities/store.js';

export async function insertRole(db: Tx, row: NewRow<'iam_roles'>): Promise<void> {
  await db.insertInto('iam_roles').values(row).execute();
}

/** An account's roles whose path starts with the prefix, by name. */
export async function rolesOf(db: Tx, accountId: string, pathPrefix = '/'): Promise<RoleRow[]> {
  const rows = await db.selectFrom('iam_roles').selectAll().where('account_id', '=', accountId).execute();
  return rows.filter((r) => r.path.startsWith(pathPrefix)).sort(byNameKey);
}

export async function updateRoleRow(db: Tx, id: string, changes: RowUpdate<'iam_roles'>): Promise<void> {
  await db.updateTable('iam_roles').set(changes).where('id', '=', id).execute();
}

export async function deleteRoleRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('iam_tags').where('entity_id', '=', id).execute();
  await db.deleteFrom('iam_roles').where('id', '=', id).execute();
}

/** How many instance profiles hold the role. */
export async function instanceProfilesWithRole(db: Tx, roleId: string): Promise<number> {
  const row = await db
    .selectFrom('iam_instance_profiles')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role_id', '=', roleId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
