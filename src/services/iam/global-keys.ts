// IAM's global condition keys: what every request carries, whatever its service (the request's
// region, source, time and principal), for the authorizer and for STS's trust-policy checks.
import type { Ctx } from '../context.js';
import type { ContextValue } from './policy/index.js';
import type { Principal } from './principal.js';

/** Tags with `over` replacing `base`'s keys without regard to case (session tags override role tags). */
export function overlayTags(base: Readonly<Record<string, string>>, over: Readonly<Record<string, string>>): Record<string, string> {
  const lower = new Set(Object.keys(over).map((k) => k.toLowerCase()));
  return { ...Object.fromEntries(Object.entries(base).filter(([k]) => !lower.has(k.toLowerCase()))), ...over };
}

/** The keys every request carries, whatever its service (IAM's global condition context keys). */
export function globalKeys(ctx: Ctx, p: Principal, principalTags: Readonly<Record<string, string>>): Record<string, ContextValue> {
  const keys: Record<string, ContextValue> = {
    'aws:RequestedRegion': ctx.region,
    'aws:SourceIp': ctx.source.ip,
    'aws:SecureTransport': String(ctx.source.secure),
    'aws:CurrentTime': ctx.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'aws:EpochTime': String(Math.floor(ctx.now.getTime() / 1000)),
    'aws:PrincipalAccount': p.accountId,
    'aws:PrincipalArn': p.session?.roleArn ?? p.arn,
    'aws:PrincipalType': p.kind === 'root' ? 'Account' : p.kind === 'user' ? 'User' : 'AssumedRole',
    'aws:userid': p.userId,
    'aws:ViaAWSService': 'false',
    'aws:PrincipalIsAWSService': 'false',
  };
  if (p.kind === 'user' && p.name !== undefined) keys['aws:username'] = p.name;
  for (const [k, v] of Object.entries(principalTags)) keys[`aws:PrincipalTag/${k}`] = v;
  // Long-term keys carry no MFA key at all (BoolIfExists sees that); temporary ones say whether.
  if (p.session) {
    keys['aws:MultiFactorAuthPresent'] = String(p.session.mfa);
    keys['aws:TokenIssueTime'] = p.session.issuedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (p.session.sourceIdentity !== undefined) keys['aws:SourceIdentity'] = p.session.sourceIdentity;
  }
  return keys;
}
