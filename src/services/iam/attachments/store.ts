// Managed policies attached to users, groups and roles (by ARN: the account's own or AWS's).
import type { Tx } from '../../../store/db.js';
import type { IamEntityType, Row } from '../../../store/schema.js';

export type AttachmentRow = Row<'iam_attached_policies'>;

/** The managed policies attached to one entity, in the order they were attached. */
export async function attachedTo(db: Tx, entityId: string): Promise<AttachmentRow[]> {
  return db.selectFrom('iam_attached_policies').selectAll().where('entity_id', '=', entityId).orderBy('attached_at').orderBy('policy_arn').execute();
}

/** The attachments of many entities at once, by entity id. */
export async function attachedToMany(db: Tx, accountId: string): Promise<Map<string, AttachmentRow[]>> {
  const rows = await db.selectFrom('iam_attached_policies').selectAll().where('account_id', '=', accountId).orderBy('attached_at').orderBy('policy_arn').execute();
  const out = new Map<string, AttachmentRow[]>();
  for (const r of rows) out.set(r.entity_id, [...(out.get(r.entity_id) ?? []), r]);
  return out;
}

export async function attach(db: Tx, row: AttachmentRow): Promise<void> {
  await db
    .insertInto('iam_attached_policies')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function detach(db: Tx, entityId: string, arn: string): Promise<boolean> {
  const r = await db.deleteFrom('iam_attached_policies').where('entity_id', '=', entityId).where('policy_arn', '=', arn).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export interface EntityUse {
  readonly type: IamEntityType;
  readonly id: string;
  readonly name: string;
  readonly path: string;
}

const TABLES = { user: 'iam_users', group: 'iam_groups', role: 'iam_roles' } as const;

/** The users, groups and roles a managed policy is attached to. */
export async function entitiesAttached(db: Tx, accountId: string, arn: string): Promise<EntityUse[]> {
  const out: EntityUse[] = [];
  const rows = await db.selectFrom('iam_attached_policies').select(['entity_type', 'entity_id']).where('account_id', '=', accountId).where('policy_arn', '=', arn).execute();
  for (const type of ['group', 'user', 'role'] as const) {
    const ids = rows.filter((r) => r.entity_type === type).map((r) => r.entity_id);
    if (!ids.length) continue;
    const entities = await db.selectFrom(TABLES[type]).select(['id', 'name', 'path']).where('id', 'in', ids).orderBy('name_key').execute();
    out.push(...entities.map((r) => ({ type, id: r.id, name: r.name, path: r.path })));
  }
  return out;
}

/** The users and roles whose permissions boundary is a managed policy. */
export async function entitiesBounded(db: Tx, accountId: string, arn: string): Promise<EntityUse[]> {
  const out: EntityUse[] = [];
  for (const type of ['user', 'role'] as const) {
    const rows = await db
      .selectFrom(TABLES[type])
      .select(['id', 'name', 'path'])
      .where('account_id', '=', accountId)
      .where('permissions_boundary', '=', arn)
      .orderBy('name_key')
      .execute();
    out.push(...rows.map((r) => ({ type, id: r.id, name: r.name, path: r.path })));
  }
  return out;
}
