// GetCallerIdentity: who signed the request. Root answers its account id as UserId, an IAM user
// its AIDA… id, a role session "AROA…:session" with the assumed-role ARN; a GetSessionToken session
// answers as the user (or root) it acts as.
import type { GetCallerIdentityResponse } from '@aws-sdk/client-sts';
import type { Ctx } from '../context.js';

export async function getCallerIdentity(ctx: Ctx): Promise<GetCallerIdentityResponse> {
  const p = ctx.principal;
  return { UserId: p.userId, Account: p.accountId, Arn: p.arn };
}
