// IAM's policy evaluation, pure: an explicit Deny in any applicable policy wins; otherwise the
// request is allowed only when an identity policy allows it and, where they exist, the permissions
// boundary and a session policy allow it too. A policy's statements are compiled once (WeakMap by policy)
// and the request's keys lower-cased once (WeakMap by context), so a request costs only matching.
import { compileCondition, conditionHolds, type CompiledCondition } from './conditions.js';
import { arnMatch, compileArnPattern, compileGlob, globMatch, splitArn, tokenize, type ArnPattern, type Context, type Glob, type Unresolved } from './match.js';
import type { AuthzRequest, ContextValue, EvaluationResult, MatchedStatement, Policy, PolicySet, PrincipalBlock, Statement, TrustCaller } from './types.js';

interface CompiledStatement {
  readonly statement: Statement;
  readonly match: MatchedStatement;
  readonly deny: boolean;
  /** Lower-cased action patterns; notAction inverts. */
  readonly actions: readonly Glob[];
  readonly notAction: boolean;
  /** Absent for trust statements, which name no resource. */
  readonly resources?: readonly ArnPattern[];
  readonly notResource: boolean;
  readonly condition?: CompiledCondition;
}

const compiled = new WeakMap<Policy, readonly CompiledStatement[]>();

/** A policy's statements, compiled on first use (parsed policies are frozen, so never stale). */
function compilePolicy(policy: Policy): readonly CompiledStatement[] {
  let c = compiled.get(policy);
  if (!c) {
    c = policy.statements.map((st) => compile(policy, st));
    compiled.set(policy, c);
  }
  return c;
}

function compile(policy: Policy, st: Statement): CompiledStatement {
  // Policy variables exist from version 2012-10-17; before it `${…}` is plain text.
  const variables = policy.version === '2012-10-17';
  const actions = (st.action ?? st.notAction ?? []).map((a) => compileGlob(tokenize(a.toLowerCase(), false, true), true));
  const res = st.resource ?? st.notResource;
  return {
    statement: st,
    match: { policyId: policy.id, effect: st.effect, ...(st.sid !== undefined && { sid: st.sid }) },
    deny: st.effect === 'Deny',
    actions,
    notAction: st.action === undefined,
    notResource: st.resource === undefined && st.notResource !== undefined,
    ...(res && { resources: res.map((r) => compileArnPattern(tokenize(r, variables, true))) }),
    ...(st.condition && { condition: compileCondition(st.condition, variables) }),
  };
}

/** The request, prepared once for all statements. */
interface Prepared {
  readonly action: string;
  readonly resource: string;
  readonly split: readonly string[] | undefined;
  readonly ctx: Context;
}

const contexts = new WeakMap<object, Context>();

function lowerKeys(context: Readonly<Record<string, ContextValue>>): Context {
  let m = contexts.get(context);
  if (!m) {
    const lower = new Map<string, ContextValue>();
    for (const k in context) lower.set(k.toLowerCase(), context[k]!);
    contexts.set(context, (m = lower));
  }
  return m;
}

function prepare(req: AuthzRequest): Prepared {
  return { action: req.action.toLowerCase(), resource: req.resource, split: splitArn(req.resource), ctx: lowerKeys(req.context) };
}

const NO_VARS: Unresolved = { unresolved: false };

function actionApplies(c: CompiledStatement, r: Prepared): boolean {
  let hit = false;
  for (const g of c.actions) {
    if (globMatch(g, r.action, r.ctx, NO_VARS)) {
      hit = true;
      break;
    }
  }
  return hit !== c.notAction;
}

/** Whether the statement applies to the request (its effect aside). */
function applies(c: CompiledStatement, r: Prepared, extra?: (u: Unresolved) => boolean): boolean {
  if (!actionApplies(c, r)) return false;
  const u: Unresolved = { unresolved: false };
  if (c.resources) {
    let hit = false;
    for (const p of c.resources) {
      if (arnMatch(p, r.resource, r.split, r.ctx, u)) {
        hit = true;
        break;
      }
    }
    if (hit === c.notResource) return false;
  }
  if (extra && !extra(u)) return false;
  if (c.condition && !conditionHolds(c.condition, r.ctx, u)) return false;
  // A policy variable with no value (and no default) makes the whole statement not apply.
  return !u.unresolved;
}

/** One layer's verdict: its matching denies and allows. */
interface Layer {
  allows: MatchedStatement[];
  denies: MatchedStatement[];
}

function scan(policies: readonly Policy[], r: Prepared, into: Layer, extra?: (st: Statement) => (u: Unresolved) => boolean): void {
  for (const policy of policies) {
    for (const c of compilePolicy(policy)) {
      if (!applies(c, r, extra?.(c.statement))) continue;
      (c.deny ? into.denies : into.allows).push(c.match);
    }
  }
}

/** May the principal whose policies are `set` do `req`? */
export function evaluate(req: AuthzRequest, set: PolicySet): EvaluationResult {
  const r = prepare(req);
  const identity: Layer = { allows: [], denies: [] };
  scan(set.identity, r, identity);
  const boundary: Layer = { allows: [], denies: [] };
  if (set.boundary) scan([set.boundary], r, boundary);
  const session: Layer = { allows: [], denies: [] };
  const hasSession = set.session !== undefined && set.session.length > 0;
  if (hasSession) scan(set.session!, r, session);

  const denies = [...identity.denies, ...boundary.denies, ...session.denies];
  if (denies.length) return { decision: 'ExplicitDeny', matched: denies };
  // AWS evaluates identity policies, then the boundary, then session policies: the first without
  // an allow is the one its message names.
  if (!identity.allows.length) return { decision: 'ImplicitDeny', matched: [], missing: 'identity' };
  if (set.boundary && !boundary.allows.length) return { decision: 'ImplicitDeny', matched: [], missing: 'boundary' };
  if (hasSession && !session.allows.length) return { decision: 'ImplicitDeny', matched: [], missing: 'session' };
  return { decision: 'Allow', matched: [...identity.allows, ...boundary.allows, ...session.allows] };
}

// ---------------------------------------------------------------------------------------------
// Trust policies

const ACCOUNT_ID = /^\d{12}$/;

/** Does one entry of a Principal block name the caller? */
function namesCaller(type: string, value: string, caller: TrustCaller): boolean {
  if (value === '*') return true;
  switch (type) {
    case 'AWS': {
      // An account id, or its root ARN, stands for every principal of that account.
      const account = ACCOUNT_ID.test(value) ? value : /^arn:aws[\w-]*:iam::(\d{12}):root$/.exec(value)?.[1];
      if (account !== undefined) return caller.service === undefined && caller.accountId === account;
      // A role's ARN names its sessions too.
      return value === caller.arn || (caller.roleArn !== undefined && value === caller.roleArn);
    }
    case 'Service':
      return caller.service !== undefined && value.toLowerCase() === caller.service.toLowerCase();
    case 'Federated':
      return value === caller.arn;
    default:
      return false;
  }
}

function principalMatches(block: PrincipalBlock, caller: TrustCaller): boolean {
  if (block === '*') return true;
  for (const [type, values] of Object.entries(block)) {
    for (const v of values) if (namesCaller(type, v, caller)) return true;
  }
  return false;
}

/**
 * May `caller` do `req` (sts:AssumeRole, sts:TagSession, …) on a role whose trust policy is
 * `trust`? An explicit Deny wins; otherwise a statement must allow it with a Principal that names
 * the caller (or a NotPrincipal that does not).
 */
export function evaluateTrust(req: AuthzRequest, trust: Policy, caller: TrustCaller): EvaluationResult {
  const r = prepare(req);
  const layer: Layer = { allows: [], denies: [] };
  scan([trust], r, layer, (st) => () => {
    if (st.principal !== undefined) return principalMatches(st.principal, caller);
    if (st.notPrincipal !== undefined) return !principalMatches(st.notPrincipal, caller);
    return false;
  });
  if (layer.denies.length) return { decision: 'ExplicitDeny', matched: layer.denies };
  if (layer.allows.length) return { decision: 'Allow', matched: layer.allows };
  return { decision: 'ImplicitDeny', matched: [], missing: 'resource' };
}
