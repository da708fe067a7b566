// SimulatePrincipalPolicy's PolicySourceArn: the account's user, group or role it names.
import type { Ctx } from '../../context.js';
import type { IamEntityType } from '../../../store/schema.js';
import { IamErrors } from '../errors.js';
import type { IamEntityKey } from '../policies-of.js';

const TABLES = { user: 'iam_users', group: 'iam_groups', role: 'iam_roles' } as const;

export async function entityByArn(ctx: Ctx, arn: string | undefined): Promise<IamEntityKey> {
  if (!arn) throw IamErrors.validationError("1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null");
  const m = /^arn:aws:iam::(\d{12}):(user|group|role)(\/(?:.*\/)?)?([\w+=,.@-]+)$/.exec(arn);
  if (!m) throw IamErrors.invalidInput(`Invalid Entity Arn: ${arn} does not clearly define entity type and name.`);
  const type = m[2] as IamEntityType;
  const row =
    m[1] === ctx.accountId ? await ctx.db.selectFrom(TABLES[type]).select('id').where('account_id', '=', ctx.accountId).where('arn', '=', arn).executeTakeFirst() : undefined;
  if (!row) throw IamErrors.noSuchEntity(type, m[4]!);
  return { type, id: row.id };
}
