// Idempotent requests (ClientToken): the first answer is remembered by (account, region, operation,
// token) with a hash of the request; a retry with the same arguments gets that answer again, one
// with other arguments gets IdempotentParameterMismatch.
import { createHash } from 'node:crypto';
import { Errors } from '../../errors.js';
import type { Ctx } from '../../context.js';

export interface ClientToken {
  token: string;
  hash: string;
}

/** Stable JSON (sorted keys) of a request minus what may differ between retries. */
export function requestHash(input: object): string {
  const { ClientToken: _t, DryRun: _d, ...rest } = input as Record<string, unknown>;
  return createHash('sha256').update(stable(rest)).digest('hex');
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v instanceof Date ? v.toISOString() : Buffer.isBuffer(v) ? v.toString('base64') : v) ?? 'null';
}

/**
 * The token of this request (undefined without one) and what the first request with it answered
 * (undefined the first time). Throws on a token too long or a retry with other arguments.
 */
export async function priorAnswer<T>(ctx: Ctx, operation: string, input: { ClientToken?: string }): Promise<{ token?: ClientToken; prior?: T }> {
  const token = input.ClientToken;
  if (token === undefined) return {};
  if (token.length > 64) throw Errors.invalidParameterValue(`Value (${token}) for parameter clientToken is invalid. Length exceeds the maximum of 64.`);
  const hash = requestHash(input);
  const row = await ctx.db
    .selectFrom('client_tokens')
    .selectAll()
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .where('operation', '=', operation)
    .where('token', '=', token)
    .executeTakeFirst();
  if (row && row.request_hash !== hash) {
    throw Errors.idempotentParameterMismatch('Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
  }
  return { token: { token, hash }, prior: row ? (JSON.parse(row.response) as T) : undefined };
}

/** Remember the answer of a request made with a token (in the request's transaction). */
export async function rememberAnswer(ctx: Ctx, operation: string, token: ClientToken | undefined, answer: unknown): Promise<void> {
  if (!token) return;
  await ctx.db
    .insertInto('client_tokens')
    .values({
      account_id: ctx.accountId,
      region: ctx.region,
      operation,
      token: token.token,
      request_hash: token.hash,
      response: JSON.stringify(answer),
      created_at: ctx.now.toISOString(),
    })
    .onConflict((oc) => oc.doNothing())
    .execute();
}
