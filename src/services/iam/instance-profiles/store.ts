// The instance profiles' repository: iam_instance_profiles, each with at most one role.
import type { Tx } from '../../../store/db.js';
import type { NewRow } from '../../../store/schema.js';
import { byNameKey } from '../entities/paging.js';
import type { InstanceProfileRow } from '../entities/store.js';

export async function insertInstanceProfile(db: Tx, row: NewRow<'iam_instance_profiles'>): Promise<void> {
  await db.insertInto('iam_instance_profiles').values(row).execute();
}

export async function instanceProfilesOf(db: Tx, accountId: string, pathPrefix = '/'): Promise<InstanceProfileRow[]> {
  const rows = await db.selectFrom('iam_instance_profiles').selectAll().where('account_id', '=', accountId).execute();
  return rows.filter((r) => r.path.startsWith(pathPrefix)).sort(byNameKey);
}

export async function instanceProfilesOfRole(db: Tx, roleId: string): Promise<InstanceProfileRow[]> {
  const rows = await db.selectFrom('iam_instance_profiles').selectAll().where('role_id', '=', roleId).execute();
  return rows.sort(byNameKey);
}

export async function setInstanceProfileRole(db: Tx, id: string, roleId: string | null): Promise<void> {
  await db.updateTable('iam_instance_profiles').set({ role_id: roleId }).where('id', '=', id).execute();
}

export async function deleteInstanceProfileRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('iam_tags').where('entity_id', '=', id).execute();
  await db.deleteFrom('iam_instance_profiles').where('id', '=', id).execute();
}
