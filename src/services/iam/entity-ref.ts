// The users, groups and roles policies are attached to or embedded in, found by the name a request
// gives (NoSuchEntity as IAM words it).
import type { Ctx } from '../context.js';
import type { IamEntityType } from '../../store/schema.js';
import { checkName } from './arns.js';
import { groupByName, roleByName, userByName, type GroupRow, type RoleRow, type UserRow } from './entities/store.js';
import { IamErrors } from './errors.js';

export type EntityRow = UserRow | GroupRow | RoleRow;

export interface EntityRef {
  readonly type: IamEntityType;
  readonly row: EntityRow;
}

const NAME_MAX: Record<IamEntityType, number> = { user: 64, group: 128, role: 64 };

/** The user, group or role named by a request's UserName / GroupName / RoleName. */
export async function entityByName(ctx: Ctx, type: IamEntityType, name: string | undefined): Promise<EntityRef> {
  const n = checkName(`${type}Name`, name ?? '', NAME_MAX[type]);
  const row =
    type === 'user' ? await userByName(ctx.db, ctx.accountId, n) : type === 'group' ? await groupByName(ctx.db, ctx.accountId, n) : await roleByName(ctx.db, ctx.accountId, n);
  if (!row) throw IamErrors.noSuchEntity(type, n);
  return { type, row };
}
