// Who calls STS, as trust policies see them: aws:PrincipalArn (a session's role, not the session),
// the principal's tags, its session's row, and the global condition keys of the request.
import type { Ctx } from '../context.js';
import { entityTags, roleById } from '../iam/entities/store.js';
import type { ContextValue, TrustCaller } from '../iam/policy/types.js';
import type { Principal } from '../iam/principal.js';
import { sessionByKey, type SessionRow } from './sessions.js';

export interface CallerFacts {
  readonly principal: Principal;
  /** aws:PrincipalArn: the user's or root's ARN, or the role's ARN for a role session. */
  readonly principalArn: string;
  /** aws:PrincipalTag/…: a user's tags, or a role's tags overlaid with its session's tags. */
  readonly tags: Readonly<Record<string, string>>;
  /** The row of the caller's temporary credentials, when it signed with them. */
  readonly session?: SessionRow;
}

/** Tags with `over` replacing `base`'s keys without regard to case (session tags override role tags). */
export function overlayTags(base: Readonly<Record<string, string>>, over: Readonly<Record<string, string>>): Record<string, string> {
  const lower = new Set(Object.keys(over).map((k) => k.toLowerCase()));
  return { ...Object.fromEntries(Object.entries(base).filter(([k]) => !lower.has(k.toLowerCase()))), ...over };
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

const PRINCIPAL_TYPE = { root: 'Account', user: 'User', 'assumed-role': 'AssumedRole' } as const;

/** The global condition keys IAM sets on every request of this caller. */
export function globalContext(ctx: Ctx, c: CallerFacts): Record<string, ContextValue> {
  const p = c.principal;
  const out: Record<string, ContextValue> = {
    'aws:PrincipalArn': c.principalArn,
    'aws:PrincipalAccount': p.accountId,
    'aws:PrincipalType': PRINCIPAL_TYPE[p.kind],
    'aws:PrincipalIsAWSService': 'false',
    'aws:userid': p.userId,
    'aws:CurrentTime': ctx.now.toISOString(),
    'aws:EpochTime': String(Math.floor(ctx.now.getTime() / 1000)),
    'aws:RequestedRegion': ctx.region,
    'aws:SourceIp': ctx.source.ip,
    'aws:SecureTransport': String(ctx.source.secure),
  };
  if (p.kind === 'user' && p.name !== undefined) out['aws:username'] = p.name;
  for (const [k, v] of Object.entries(c.tags)) out[`aws:PrincipalTag/${k}`] = v;
  if (p.session) {
    // Present only for temporary credentials, as on AWS.
    out['aws:MultiFactorAuthPresent'] = String(p.session.mfa);
    out['aws:TokenIssueTime'] = p.session.issuedAt.toISOString();
    if (p.session.sourceIdentity !== undefined) out['aws:SourceIdentity'] = p.session.sourceIdentity;
  }
  return out;
}
