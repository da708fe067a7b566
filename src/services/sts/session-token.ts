// GetSessionToken: temporary credentials of an IAM user or the root user, acting as them. STS
// refuses callers that already sign with temporary credentials, and cumulo has no MFA devices, so
// SerialNumber/TokenCode are refused the way STS refuses a serial number it cannot validate.
import type { GetSessionTokenRequest, GetSessionTokenResponse } from '@aws-sdk/client-sts';
import type { Ctx } from '../context.js';
import { IamErrors } from '../iam/errors.js';
import { Constraints, PATTERNS } from './constraints.js';
import { credentialsOf, MAX_SESSION_TOKEN_BYTES, MFA_UNVERIFIABLE, tokenFacts } from './credentials.js';
import { issueSession } from './sessions.js';

/** An IAM user's session when DurationSeconds is omitted: 12 hours. */
export const DEFAULT_USER_SESSION_SECONDS = 43200;
/** The root user's sessions last at most an hour; a longer request gets an hour, as on AWS. */
export const ROOT_SESSION_MAX_SECONDS = 3600;

export async function getSessionToken(ctx: Ctx, input: GetSessionTokenRequest): Promise<GetSessionTokenResponse> {
  new Constraints()
    .range('durationSeconds', input.DurationSeconds, 900, 129600)
    .length('serialNumber', input.SerialNumber, 9, 256)
    .pattern('serialNumber', input.SerialNumber, PATTERNS.serialNumber.re, PATTERNS.serialNumber.shown)
    .length('tokenCode', input.TokenCode, 6, 6)
    .pattern('tokenCode', input.TokenCode, PATTERNS.tokenCode.re, PATTERNS.tokenCode.shown)
    .range('minimumSessionTokenSize', input.MinimumSessionTokenSize, 0, MAX_SESSION_TOKEN_BYTES)
    .check();
  const p = ctx.principal;
  if (p.session) throw IamErrors.accessDenied('Cannot call GetSessionToken with session credentials');
  if (input.SerialNumber !== undefined || input.TokenCode !== undefined) throw IamErrors.accessDenied(MFA_UNVERIFIABLE);

  const duration =
    p.kind === 'root' ? Math.min(input.DurationSeconds ?? ROOT_SESSION_MAX_SECONDS, ROOT_SESSION_MAX_SECONDS) : (input.DurationSeconds ?? DEFAULT_USER_SESSION_SECONDS);
  const issued = await issueSession(ctx.db, ctx.secrets, {
    accountId: p.accountId,
    kind: 'session-token',
    ...(p.kind === 'user' && { userId: p.userId }),
    mfa: false,
    issuedFor: p.arn,
    now: ctx.now,
    durationSeconds: duration,
    ...(input.MinimumSessionTokenSize && { minTokenBytes: input.MinimumSessionTokenSize }),
  });
  return { Credentials: credentialsOf(issued), ...tokenFacts(issued) };
}
