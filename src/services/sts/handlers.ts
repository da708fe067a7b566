// STS, the part that infrastructure tools call first: GetCallerIdentity.
import type { GetCallerIdentityResponse } from '@aws-sdk/client-sts';
import type { Ctx, StsHandlers } from '../context.js';

async function getCallerIdentity(ctx: Ctx): Promise<GetCallerIdentityResponse> {
  // Access keys belong to the account's root user: UserId is the account id, as AWS answers for root.
  return { UserId: ctx.accountId, Account: ctx.accountId, Arn: `arn:aws:iam::${ctx.accountId}:root` };
}

export const handlers = {
  GetCallerIdentity: getCallerIdentity,
} satisfies StsHandlers;
