// The encoded authorization message of a denial ("Encoded authorization failure message: …") and
// DecodeAuthorizationMessage, which reverses it. The message is AWS's decoded JSON, compressed and
// sealed with AES-256-GCM under the host's master key (SecretBox), the account id bound into the
// authenticated data: only the account whose request was denied can decode it, and nobody can
// forge or alter one.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DecodeAuthorizationMessageRequest, DecodeAuthorizationMessageResponse } from '@aws-sdk/client-sts';
import { WRAP_PREFIX, type SecretBox } from '../../lib/secrets.js';
import type { Ctx } from '../context.js';
import { IamErrors } from '../iam/errors.js';
import type { AuthzRequest, ConditionBlock, EvaluationResult, Policy, Statement } from '../iam/policy/types.js';
import type { Principal } from '../iam/principal.js';

/** AWS's list wrapper in decoded messages: {"items":[…]}. */
export interface Items<T> {
  items: T[];
}

export interface ValueItem {
  value: string;
}

export interface ConditionItem {
  key: string;
  values: Items<ValueItem>;
}

/** A statement that decided, as the decoded message shows it. */
export interface MatchedStatementItem {
  statementId: string;
  effect: 'ALLOW' | 'DENY';
  principals: Items<ValueItem>;
  principalGroups: Items<ValueItem>;
  actions: Items<ValueItem>;
  resources: Items<ValueItem>;
  conditions: Items<ConditionItem>;
}

/** What DecodeAuthorizationMessage answers (as JSON), in AWS's shape. */
export interface AuthorizationMessage {
  allowed: boolean;
  explicitDeny: boolean;
  matchedStatements: Items<MatchedStatementItem>;
  failures: Items<ValueItem>;
  context: {
    principal: { id: string; name?: string; arn: string };
    action: string;
    resource: string;
    conditions: Items<ConditionItem>;
  };
}

/** DecodeAuthorizationMessage's EncodedMessage limit (STS's API reference: 1 to 10240 characters). */
export const ENCODED_MESSAGE_MAX = 10240;

/** The account a message belongs to: its principal's (arn:aws:iam::123456789012:…, arn:aws:sts::123456789012:…). */
export function messageAccount(m: AuthorizationMessage): string {
  const account = m.context.principal.arn.split(':')[4];
  if (!account || !/^\d{12}$/.test(account)) throw new Error(`an authorization message's principal ARN names no account: ${m.context.principal.arn}`);
  return account;
}

/**
 * Seals a message for the account of its principal: URL-safe base64 of nonce ‖ ciphertext ‖ tag,
 * the plaintext compressed.
 */
export function encodeAuthorizationMessage(box: SecretBox, m: AuthorizationMessage): string {
  const accountId = messageAccount(m);
  const sealed = box.wrap(deflateRawSync(Buffer.from(JSON.stringify(m), 'utf8')), 'authorization-message', accountId);
  return Buffer.from(sealed.slice(WRAP_PREFIX.length), 'base64').toString('base64url');
}

/** The message sealed for this account, or InvalidAuthorizationMessageException (garbage, altered, another account's). */
export function decodeAuthorizationMessageText(box: SecretBox, accountId: string, encoded: string): AuthorizationMessage {
  if (!encoded || encoded.length > ENCODED_MESSAGE_MAX || !/^[A-Za-z0-9_-]+$/.test(encoded)) throw IamErrors.invalidAuthorizationMessage();
  let json: string;
  try {
    const raw = box.unwrap(WRAP_PREFIX + Buffer.from(encoded, 'base64url').toString('base64'), 'authorization-message', accountId);
    json = inflateRawSync(raw).toString('utf8');
  } catch {
    throw IamErrors.invalidAuthorizationMessage();
  }
  return JSON.parse(json) as AuthorizationMessage;
}

const values = (vs: readonly string[]): Items<ValueItem> => ({ items: vs.map((value) => ({ value })) });

function conditionItems(block: ConditionBlock | undefined): Items<ConditionItem> {
  const items: ConditionItem[] = [];
  for (const keys of Object.values(block ?? {})) for (const [key, vs] of Object.entries(keys)) items.push({ key, values: values(vs) });
  return { items };
}

/** The principal id a statement's "principals" lists: a user's AIDA…, a role's AROA… (without the session), an account's id. */
function principalEntityId(p: Principal): string {
  return p.kind === 'assumed-role' ? p.userId.split(':')[0]! : p.userId;
}

function statementOf(policies: readonly Policy[], policyId: string, sid: string | undefined, effect: Statement['effect']): Statement | undefined {
  const candidates = policies.find((x) => x.id === policyId)?.statements.filter((s) => s.sid === sid && s.effect === effect) ?? [];
  // A statement without a unique Sid cannot be told apart from its neighbours: show none rather than a wrong one.
  return candidates.length === 1 ? candidates[0] : undefined;
}

/**
 * The decoded message of one decision: the principal, the request (action, resource, its
 * condition keys) and the statements that decided, looked up in the policies evaluated.
 */
export function authorizationMessageOf(principal: Principal, req: AuthzRequest, result: EvaluationResult, policies: readonly Policy[]): AuthorizationMessage {
  const matched: MatchedStatementItem[] = result.matched.map((m) => {
    const st = statementOf(policies, m.policyId, m.sid, m.effect);
    return {
      statementId: m.sid ?? '',
      effect: m.effect === 'Deny' ? 'DENY' : 'ALLOW',
      principals: values([principalEntityId(principal)]),
      principalGroups: { items: [] },
      actions: values(st?.action ?? st?.notAction ?? []),
      resources: values(st?.resource ?? st?.notResource ?? []),
      conditions: conditionItems(st?.condition),
    };
  });
  return {
    allowed: result.decision === 'Allow',
    explicitDeny: result.decision === 'ExplicitDeny',
    matchedStatements: { items: matched },
    failures: { items: [] },
    context: {
      principal: { id: principal.userId, ...(principal.kind === 'user' && principal.name !== undefined && { name: principal.name }), arn: principal.arn },
      action: req.action,
      resource: req.resource,
      conditions: {
        items: Object.entries(req.context).map(([key, v]) => ({ key, values: values(typeof v === 'string' ? [v] : [...v]) })),
      },
    },
  };
}

export async function decodeAuthorizationMessage(ctx: Ctx, input: DecodeAuthorizationMessageRequest): Promise<DecodeAuthorizationMessageResponse> {
  const m = decodeAuthorizationMessageText(ctx.secrets, ctx.accountId, input.EncodedMessage ?? '');
  return { DecodedMessage: JSON.stringify(m) };
}
