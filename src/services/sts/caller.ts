// Who calls STS, as trust policies see them: aws:PrincipalArn (a session's role, not the session),
// the principal's tags, its session's row, and the global condition keys of the request.
import type { Ctx } from '../context.js';
import { entityTags, roleById } from '../iam/entities/store.js';
import type { ContextValue, TrustCaller } from '../iam/policy/types.js';
import type { Principal } from '../iam/principal.js';
import { sessionByKey, type SessionRow } from './sessions.js';
import { globalKeys, overlayTags } from '../iam/global-keys.js';

export interface CallerFacts {
  readonly principal: Principal;
  /** aws:PrincipalArn: the user's or root's ARN, or the role's ARN for a role session. */
  readonly principalArn: string;
  /** aws:PrincipalTag/…: a user's tags, or a role's tags overlaid with its session's tags. */
  readonly tags: Readonly<Record<string, string>>;
  /** The row of the caller's temporary credentials, when it signed with them. */
  readonly session?: SessionRow;
}

export async function callerFacts(ctx: Ctx): Promise<CallerFacts> {
  const p = ctx.principal;
  const session = p.session ? await sessionByKey(ctx.db, p.accessKeyId) : undefined;
  if (p.kind === 'assumed-role') {
    const role = session?.role_id ? await roleById(ctx.db, session.role_id) : undefined;
    const roleTags = role ? await entityTags(ctx.db, role.id) : {};
    return { principal: p, principalArn: p.session?.roleArn ?? role?.arn ?? p.arn, tags: overlayTags(roleTags, p.session?.tags ?? {}), session };
  }
  if (p.kind === 'user') return { principal: p, principalArn: p.arn, tags: await entityTags(ctx.db, p.userId), session };
  return { principal: p, principalArn: p.arn, tags: {}, session };
}

export function trustCaller(c: CallerFacts): TrustCaller {
  return { arn: c.principal.arn, accountId: c.principal.accountId, ...(c.principal.session?.roleArn && { roleArn: c.principal.session.roleArn }) };
}

/** The global condition keys IAM sets on every request of this caller. */
export function globalContext(ctx: Ctx, c: CallerFacts): Record<string, ContextValue> {
  return { ...globalKeys(ctx, c.principal, c.tags), 'aws:PrincipalArn': c.principalArn };
}
