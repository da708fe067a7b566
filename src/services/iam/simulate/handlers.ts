// SimulatePrincipalPolicy and SimulateCustomPolicy: the policy evaluator run on given actions,
// resources and condition keys, for a user's, group's or role's policies or for documents given.
// Resource-based policies and Organizations policies are not simulated: those inputs are refused.
import type {
  ContextEntry,
  EvaluationResult as IamEvaluationResult,
  SimulateCustomPolicyRequest,
  SimulatePolicyResponse,
  SimulatePrincipalPolicyRequest,
  Statement as IamStatement,
} from '@aws-sdk/client-iam';
import type { Ctx, IamHandlers } from '../../context.js';
import { IamErrors } from '../errors.js';
import { paginate } from '../entities/paging.js';
import { evaluate, parsePolicy, PolicyDocumentError, type ContextValue, type Policy, type PolicyKind, type PolicySet } from '../policy/index.js';
import { identityPolicySources, permissionsBoundaryOf, type PolicySource } from '../policies-of.js';
import { entityByArn } from './store.js';

interface Source {
  readonly type: PolicySource | 'none';
  readonly id: string;
}

interface Simulation {
  readonly identity: Policy[];
  readonly boundary?: Policy;
  /** Each policy's id → how SimulatePolicy names it. */
  readonly sources: Map<string, Source>;
}

function inputPolicy(text: string, kind: PolicyKind, id: string): Policy {
  try {
    return parsePolicy(text, kind, id);
  } catch (e) {
    // SimulatePolicy answers a bad input document with InvalidInput.
    if (e instanceof PolicyDocumentError) throw IamErrors.invalidInput(`${id}: ${e.message}`);
    throw e;
  }
}

function addInputs(sim: Simulation & { identity: Policy[] }, inputs: readonly string[] | undefined): void {
  (inputs ?? []).forEach((text, i) => {
    const id = `PolicyInputList.${i + 1}`;
    sim.identity.push(inputPolicy(text, 'identity', id));
    sim.sources.set(id, { type: 'none', id });
  });
}

function boundaryInput(inputs: readonly string[] | undefined, sources: Map<string, Source>): Policy | undefined {
  if (!inputs?.length) return undefined;
  if (inputs.length > 1) throw IamErrors.invalidInput('Only one permissions boundary policy can be specified in PermissionsBoundaryPolicyInputList.');
  const id = 'PermissionsBoundaryPolicyInputList.1';
  sources.set(id, { type: 'none', id });
  return inputPolicy(inputs[0]!, 'boundary', id);
}

const UNSUPPORTED = ['ResourcePolicy', 'ResourceOwner', 'CallerArn', 'ResourceHandlingOption', 'PolicyExclusionList', 'OrderedOrganizationPolicyInputList'] as const;

function refuseUnsupported(input: SimulatePrincipalPolicyRequest | SimulateCustomPolicyRequest): void {
  for (const k of UNSUPPORTED) {
    const v: unknown = (input as Partial<Record<(typeof UNSUPPORTED)[number], unknown>>)[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) {
      throw IamErrors.invalidInput(`${k} is not supported by this endpoint: cumulo simulates identity-based policies and permissions boundaries only.`);
    }
  }
}

const SINGLE = new Set(['string', 'numeric', 'boolean', 'ip', 'binary', 'date']);
const TYPES = new Set([...SINGLE, ...[...SINGLE].map((t) => `${t}List`)]);

function checkValue(type: string, key: string, v: string): string {
  const base = type.replace(/List$/, '');
  const ok =
    base === 'numeric'
      ? v.trim() !== '' && Number.isFinite(Number(v))
      : base === 'boolean'
        ? /^(true|false)$/i.test(v)
        : base === 'date'
          ? !Number.isNaN(Date.parse(v)) || /^\d+$/.test(v)
          : base === 'ip'
            ? /^[\d.:a-fA-F]+(\/\d+)?$/.test(v)
            : true;
  if (!ok) throw IamErrors.invalidInput(`Invalid value ${v} for context key ${key} of type ${type}.`);
  return base === 'boolean' ? v.toLowerCase() : v;
}

/** ContextEntries as the evaluator's request context: a single value for single types, a list for …List. */
function contextOf(entries: readonly ContextEntry[] | undefined): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  for (const e of entries ?? []) {
    const key = e.ContextKeyName;
    if (!key) throw IamErrors.invalidInput('ContextKeyName is required in a ContextEntry.');
    const type = e.ContextKeyType ?? 'string';
    if (!TYPES.has(type)) throw IamErrors.invalidInput(`Invalid ContextKeyType ${type} for context key ${key}.`);
    const values = (e.ContextKeyValues ?? []).map((v) => checkValue(type, key, v));
    if (SINGLE.has(type)) {
      if (values.length !== 1) throw IamErrors.invalidInput(`Context key ${key} of type ${type} takes exactly one value.`);
      out[key] = values[0]!;
    } else {
      out[key] = values;
    }
  }
  return out;
}

/** The condition keys of the statements that would apply but for their conditions, and that the context lacks. */
function missingKeys(policies: readonly Policy[], action: string, resource: string, context: Record<string, ContextValue>): string[] {
  const have = new Set(Object.keys(context).map((k) => k.toLowerCase()));
  const missing = new Map<string, string>();
  for (const p of policies) {
    for (const st of p.statements) {
      if (!st.condition) continue;
      const bare: Policy = { id: p.id, version: p.version, statements: [{ ...st, effect: 'Allow', condition: undefined }] };
      if (evaluate({ action, resource, context }, { identity: [bare] }).decision !== 'Allow') continue;
      for (const keys of Object.values(st.condition)) {
        for (const k of Object.keys(keys)) if (!have.has(k.toLowerCase()) && !missing.has(k.toLowerCase())) missing.set(k.toLowerCase(), k);
      }
    }
  }
  return [...missing.values()];
}

function simulate(
  sim: Simulation,
  input: { ActionNames?: string[]; ResourceArns?: string[]; ContextEntries?: ContextEntry[]; Marker?: string; MaxItems?: number },
): SimulatePolicyResponse {
  const actions = input.ActionNames ?? [];
  if (!actions.length) throw IamErrors.validationError("1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null");
  for (const a of actions) {
    if (a.length < 3 || a.length > 128) {
      throw IamErrors.validationError(`1 validation error detected: Value '${a}' at 'actionNames' failed to satisfy constraint: Member must have length between 3 and 128`);
    }
  }
  const resources = input.ResourceArns?.length ? input.ResourceArns : ['*'];
  const context = contextOf(input.ContextEntries);
  const set: PolicySet = { identity: sim.identity, ...(sim.boundary && { boundary: sim.boundary }) };
  const all = [...sim.identity, ...(sim.boundary ? [sim.boundary] : [])];
  const results: IamEvaluationResult[] = [];
  for (const action of actions) {
    for (const resource of resources) {
      const r = evaluate({ action, resource, context }, set);
      const matched: IamStatement[] = r.matched.map((m) => {
        const s = sim.sources.get(m.policyId) ?? { type: 'none', id: m.policyId };
        return { SourcePolicyId: s.id, SourcePolicyType: s.type };
      });
      const result: IamEvaluationResult = {
        EvalActionName: action,
        EvalResourceName: resource,
        EvalDecision: r.decision === 'Allow' ? 'allowed' : r.decision === 'ExplicitDeny' ? 'explicitDeny' : 'implicitDeny',
        MatchedStatements: matched,
        MissingContextValues: missingKeys(all, action, resource, context),
      };
      if (sim.boundary) {
        const b = evaluate({ action, resource, context }, { identity: [sim.boundary] });
        result.PermissionsBoundaryDecisionDetail = { AllowedByPermissionsBoundary: b.decision === 'Allow' };
      }
      results.push(result);
    }
  }
  // In the order asked (action, then resource); the Marker names a position.
  const keyed = results.map((r, i) => ({ r, k: String(i).padStart(10, '0') }));
  const page = paginate(keyed, (x) => x.k, input);
  return { EvaluationResults: page.items.map((x) => x.r), IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function simulatePrincipalPolicy(ctx: Ctx, input: SimulatePrincipalPolicyRequest): Promise<SimulatePolicyResponse> {
  refuseUnsupported(input);
  const entity = await entityByArn(ctx, input.PolicySourceArn);
  const sources = new Map<string, Source>();
  const identity: Policy[] = [];
  for (const s of await identityPolicySources(ctx.db, entity)) {
    identity.push(s.policy);
    sources.set(s.policy.id, { type: s.sourceType, id: s.sourceId });
  }
  const sim = { identity, sources };
  addInputs(sim, input.PolicyInputList);
  const given = boundaryInput(input.PermissionsBoundaryPolicyInputList, sources);
  const boundary = given ?? (await permissionsBoundaryOf(ctx.db, entity));
  if (boundary && !given)
    sources.set(boundary.id, { type: boundary.id.startsWith('arn:aws:iam::aws:') ? 'aws-managed' : 'user-managed', id: boundary.id.slice(boundary.id.lastIndexOf('/') + 1) });
  return simulate({ ...sim, ...(boundary && { boundary }) }, input);
}

async function simulateCustomPolicy(ctx: Ctx, input: SimulateCustomPolicyRequest): Promise<SimulatePolicyResponse> {
  refuseUnsupported(input);
  if (!input.PolicyInputList?.length)
    throw IamErrors.validationError("1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null");
  const sim = { identity: [] as Policy[], sources: new Map<string, Source>() };
  addInputs(sim, input.PolicyInputList);
  const boundary = boundaryInput(input.PermissionsBoundaryPolicyInputList, sim.sources);
  return simulate({ ...sim, ...(boundary && { boundary }) }, input);
}

export const handlers = {
  SimulatePrincipalPolicy: simulatePrincipalPolicy,
  SimulateCustomPolicy: simulateCustomPolicy,
} satisfies IamHandlers;
