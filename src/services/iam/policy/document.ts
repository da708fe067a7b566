// Parsing and validating a policy document as IAM does, with IAM's MalformedPolicyDocument
// messages. The checks run in IAM's order (syntax, version, legacy parsing, statement ids,
// actions, resources, resource formats, action vendors, principals), so a document with several
// faults gets the message IAM gives first.
import { parseDate, parseOperator } from './conditions.js';
import type { ConditionBlock, Effect, Policy, PolicyKind, PrincipalBlock, Statement } from './types.js';

/** IAM's MalformedPolicyDocument; the message is IAM's own. */
export class PolicyDocumentError extends Error {
  readonly code = 'MalformedPolicyDocument';
  constructor(message: string) {
    super(message);
    this.name = 'PolicyDocumentError';
  }
}

export interface ParseOptions {
  /**
   * Managed policies (CreatePolicy, CreatePolicyVersion) must say Version 2012-10-17: IAM refuses a
   * missing or older one with "Policy document must be version 2012-10-17 or greater.".
   */
  readonly requireCurrentVersion?: boolean;
}

const SYNTAX = 'Syntax errors in policy.';
const LEGACY = 'The policy failed legacy parsing';
const VERSIONS = ['2012-10-17', '2008-10-17'] as const;
const TOP = new Set(['Version', 'Id', 'Statement']);
const ELEMENTS = new Set(['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Principal', 'NotPrincipal', 'Condition']);
const PRINCIPAL_TYPES = ['AWS', 'Service', 'Federated', 'CanonicalUser'];
const PARTITIONS = new Set(['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b']);
/** What a role's trust policy may allow: assuming the role and what goes with it. */
export const TRUST_ACTIONS = ['sts:AssumeRole', 'sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity', 'sts:TagSession', 'sts:SetSourceIdentity', 'sts:SetContext'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const fail = (message: string): never => {
  throw new PolicyDocumentError(message);
};
const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Obj, k: string) => Object.hasOwn(o, k);

/** A string or an array of strings, else a syntax error; undefined when absent. */
function strings(st: Obj, key: string): string[] | undefined {
  if (!has(st, key)) return undefined;
  const v = st[key];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return fail(SYNTAX);
}

function principalBlock(v: Json): PrincipalBlock {
  if (v === '*') return '*';
  if (!isObj(v)) return fail(SYNTAX);
  const out: Record<string, string[]> = {};
  for (const [type, values] of Object.entries(v)) {
    if (typeof values === 'string') out[type] = [values];
    else if (Array.isArray(values) && values.every((x) => typeof x === 'string')) out[type] = values as string[];
    else fail(SYNTAX);
  }
  return out;
}

/** Condition values: strings, numbers and booleans (and arrays of them), kept as strings. */
function conditionBlock(v: Json): ConditionBlock {
  if (!isObj(v)) return fail(SYNTAX);
  const out: Record<string, Record<string, string[]>> = {};
  for (const [operator, keys] of Object.entries(v)) {
    if (!isObj(keys)) fail(SYNTAX);
    const block: Record<string, string[]> = {};
    for (const [key, raw] of Object.entries(keys as Obj)) {
      const list = Array.isArray(raw) ? raw : [raw];
      block[key] = list.map((x) => (typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : fail(SYNTAX)));
    }
    // An operator IAM does not know is accepted only when it tests no key.
    if (!parseOperator(operator) && Object.keys(block).length) fail(SYNTAX);
    out[operator] = block;
  }
  return out;
}

interface Raw {
  st: Obj;
  effect: string;
  action?: string[];
  notAction?: string[];
  resource?: string[];
  notResource?: string[];
  principal?: PrincipalBlock;
  notPrincipal?: PrincipalBlock;
  condition?: ConditionBlock;
}

/** The shape of one statement: known elements, right types, no element with its Not… twin. */
function syntax(st: Json): Raw {
  if (!isObj(st)) return fail(SYNTAX);
  for (const k of Object.keys(st)) if (!ELEMENTS.has(k)) fail(SYNTAX);
  if ((has(st, 'Action') && has(st, 'NotAction')) || (has(st, 'Resource') && has(st, 'NotResource')) || (has(st, 'Principal') && has(st, 'NotPrincipal'))) fail(SYNTAX);
  if (has(st, 'Sid') && typeof st.Sid !== 'string') fail(SYNTAX);
  const effect = st.Effect;
  if (typeof effect !== 'string' || !['allow', 'deny'].includes(effect.toLowerCase())) fail(SYNTAX);
  const raw: Raw = { st, effect: effect as string };
  const set = <K extends keyof Raw>(k: K, v: Raw[K] | undefined) => v !== undefined && (raw[k] = v);
  set('action', strings(st, 'Action'));
  set('notAction', strings(st, 'NotAction'));
  set('resource', strings(st, 'Resource'));
  set('notResource', strings(st, 'NotResource'));
  if (has(st, 'Principal')) raw.principal = principalBlock(st.Principal!);
  if (has(st, 'NotPrincipal')) raw.notPrincipal = principalBlock(st.NotPrincipal!);
  if (has(st, 'Condition')) raw.condition = conditionBlock(st.Condition!);
  return raw;
}

/** What IAM's older parser also requires: an exact Effect, dates that parse, ARN-shaped resources. */
function legacy(raw: Raw): void {
  if (raw.effect !== 'Allow' && raw.effect !== 'Deny') fail(LEGACY);
  for (const [operator, keys] of Object.entries(raw.condition ?? {})) {
    if (parseOperator(operator)?.info.family !== 'Date') continue;
    for (const values of Object.values(keys)) for (const d of values) if (parseDate(d) === undefined) fail(LEGACY);
  }
  for (const r of [...(raw.resource ?? []), ...(raw.notResource ?? [])]) {
    // A resource of the wrong form is reported later, by its own message.
    if (r === '*' || resourceFormat(r)) continue;
    if ((r.split(':').length < 6 && r.includes('::')) || r.split(':')[2] === '') fail(LEGACY);
  }
}

/** The first fault of a resource that is neither '*' nor a well-formed ARN, as IAM words it. */
function resourceFormat(r: string): string | undefined {
  if (r === '*') return undefined;
  const parts = r.split(':');
  if (parts.length === 1) return `Resource ${r} must be in ARN format or "*".`;
  if (!PARTITIONS.has(parts[1]!)) {
    // IAM names the resource as it read it: the second part as partition, '*' for what is missing.
    const rest = parts.length > 2 ? parts.slice(2) : [''];
    const a1 = rest[0] !== '' || rest.length > 1 ? rest[0] : '*';
    const a2 = rest.length > 1 ? rest[1] : '*';
    const a3 = rest.length > 2 ? rest[2] : '*';
    const a4 = rest.length > 3 ? rest.slice(3).join(':') : '*';
    return `Partition "${parts[1]}" is not valid for resource "arn:${parts[1]}:${a1}:${a2}:${a3}:${a4}".`;
  }
  if (parts.length < 3 || /[*?]/.test(parts[2]!)) return 'Resource vendor must be fully qualified and cannot contain regexes.';
  if (parts[2] === 'iam' && parts.length > 3 && parts[3] !== '') return `IAM resource ${r} cannot contain region information.`;
  if (parts[2] === 's3' && parts.length > 3 && parts[3] !== '') return `Resource ${r} can not contain region information.`;
  return undefined;
}

/** An action's vendor prefix, as IAM checks it. */
function actionFormat(a: string): string | undefined {
  if (a === '*') return undefined;
  const parts = a.split(':');
  if (parts.length === 1) return 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.';
  if (parts.length > 2) return 'Actions/Condition can contain only one colon.';
  if (parts[0] !== '*' && /[^a-zA-Z0-9.-]/.test(parts[0]!)) return `Vendor ${parts[0]} is not valid`;
  return undefined;
}

const globRe = (p: string) =>
  new RegExp(
    `^${p
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

/** A trust policy's action must name (or match, with wildcards) one of the STS actions a trust policy governs. */
const trustAction = (a: string) => TRUST_ACTIONS.some((t) => globRe(a).test(t));

const ACCOUNT = /^\d{12}$/;
const AWS_PRINCIPAL = /^arn:aws[\w-]*:(?:iam::\d{12}:(?:root|(?:user|role|federated-user)\/[\w+=,.@/-]+)|sts::\d{12}:(?:assumed-role|federated-user)\/[\w+=,.@/-]+)$/;
const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$/;
const FEDERATED_PRINCIPAL = /^(?:arn:aws[\w-]*:iam::\d{12}:(?:saml-provider|oidc-provider)\/\S+|[a-z0-9.-]+\.[a-z]{2,}(?:\/\S*)?)$/;

/** The shape of each principal (IAM also checks that they exist: the IAM handlers do that). */
function principalFormat(block: PrincipalBlock): string | undefined {
  if (block === '*') return undefined;
  if (!Object.keys(block).length) return 'Missing required field Principal cannot be empty!';
  for (const [type, values] of Object.entries(block)) {
    for (const v of values) {
      const bad = (t: string) => `Invalid principal in policy: "${t}":"${v}"`;
      if (!PRINCIPAL_TYPES.includes(type)) return bad(type);
      if (type === 'AWS' && v !== '*' && !ACCOUNT.test(v) && !AWS_PRINCIPAL.test(v)) return bad('AWS');
      if (type === 'Service' && !SERVICE_PRINCIPAL.test(v)) return bad('SERVICE');
      if (type === 'Federated' && !FEDERATED_PRINCIPAL.test(v)) return bad('FEDERATED');
      if (type === 'CanonicalUser' && !/^[0-9a-f]{64}$/.test(v)) return bad('CANONICALUSER');
    }
  }
  return undefined;
}

/** Parses and validates a policy document of the given kind; throws PolicyDocumentError with IAM's message. */
export function parsePolicy(text: string, kind: PolicyKind, id: string, options: ParseOptions = {}): Policy {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch {
    return fail(SYNTAX);
  }
  if (!isObj(doc)) return fail(SYNTAX);
  for (const k of Object.keys(doc)) if (!TOP.has(k)) fail(SYNTAX);
  if (has(doc, 'Version') && !VERSIONS.includes(doc.Version as (typeof VERSIONS)[number])) fail(SYNTAX);
  if (has(doc, 'Id') && typeof doc.Id !== 'string') fail(SYNTAX);
  const list = doc.Statement;
  if (!isObj(list) && !(Array.isArray(list) && list.length)) fail(SYNTAX);
  const raws = (Array.isArray(list) ? list : [list!]).map(syntax);
  const version = (doc.Version as Policy['version'] | undefined) ?? '2008-10-17';
  if (options.requireCurrentVersion && version !== '2012-10-17') fail('Policy document must be version 2012-10-17 or greater.');

  for (const raw of raws) legacy(raw);
  const trust = kind === 'trust';
  for (const raw of raws) {
    const named = raw.principal !== undefined || raw.notPrincipal !== undefined;
    if (!trust && named) fail('Policy document should not specify a principal.');
    if (trust && !named) fail('Missing required field Principal');
  }
  const sids = new Set<string>();
  for (const raw of raws) {
    const sid = raw.st.Sid as string | undefined;
    if (sid !== undefined && !/^[0-9A-Za-z]*$/.test(sid)) fail('Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*');
    if (!sid) continue;
    if (sids.has(sid)) fail('Statement IDs (SID) in a single policy must be unique.');
    sids.add(sid);
  }
  for (const raw of raws) if (!(raw.action ?? raw.notAction)?.length) fail('Policy statement must contain actions.');
  for (const raw of raws) {
    if (trust) {
      if (raw.resource) fail('Has prohibited field Resource');
      if (raw.notResource) fail('Has prohibited field NotResource');
    } else if (!(raw.resource ?? raw.notResource)?.length) fail('Policy statement must contain resources.');
  }
  for (const raw of raws) {
    // IAM reports the resources of a statement in reverse sorted order; the first bad one is named.
    const bad = [...(raw.resource ?? raw.notResource ?? [])].sort().reverse().map(resourceFormat).find(Boolean);
    if (bad) fail(bad);
  }
  for (const raw of raws) {
    const bad = (raw.action ?? raw.notAction)!.map(actionFormat).find(Boolean);
    if (bad) fail(bad);
  }
  if (trust) {
    for (const raw of raws) {
      if (!(raw.action ?? raw.notAction)!.every(trustAction)) fail('AssumeRole policy may only specify STS AssumeRole actions.');
      const bad = principalFormat((raw.principal ?? raw.notPrincipal)!);
      if (bad) fail(bad);
    }
  }

  const statements: Statement[] = raws.map((raw) => {
    const sid = raw.st.Sid as string | undefined;
    return Object.freeze({
      ...(sid !== undefined && { sid }),
      effect: raw.effect as Effect,
      ...(raw.action && { action: raw.action }),
      ...(raw.notAction && { notAction: raw.notAction }),
      ...(raw.resource && { resource: raw.resource }),
      ...(raw.notResource && { notResource: raw.notResource }),
      ...(raw.principal && { principal: raw.principal }),
      ...(raw.notPrincipal && { notPrincipal: raw.notPrincipal }),
      ...(raw.condition && { condition: raw.condition }),
    });
  });
  return Object.freeze({ id, version, statements: Object.freeze(statements) });
}

/** The document as compact JSON in IAM's element order (for SimulatePrincipalPolicy's echo or storage). */
export function policyToJson(p: Policy): string {
  return JSON.stringify({
    Version: p.version,
    Statement: p.statements.map((s) => ({
      ...(s.sid !== undefined && { Sid: s.sid }),
      Effect: s.effect,
      ...(s.principal && { Principal: s.principal }),
      ...(s.notPrincipal && { NotPrincipal: s.notPrincipal }),
      ...(s.action && { Action: s.action }),
      ...(s.notAction && { NotAction: s.notAction }),
      ...(s.resource && { Resource: s.resource }),
      ...(s.notResource && { NotResource: s.notResource }),
      ...(s.condition && { Condition: s.condition }),
    })),
  });
}
