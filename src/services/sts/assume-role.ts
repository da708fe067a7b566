// AssumeRole: a role's temporary credentials for a caller its trust policy names. The caller's own
// identity policy (sts:AssumeRole on the role) is the authorizer's check, made before this runs;
// here: the trust policy (sts:AssumeRole, and sts:TagSession / sts:SetSourceIdentity when the
// session carries tags or a source identity), durations, session policies and tags, as STS does.
import { deflateRawSync } from 'node:zlib';
import type { AssumeRoleRequest, AssumeRoleResponse } from '@aws-sdk/client-sts';
import { ApiError } from '../errors.js';
import type { Ctx } from '../context.js';
import { assumedRoleArn } from '../iam/arns.js';
import { entityTags, managedPolicyByArn, roleByName, type RoleRow } from '../iam/entities/store.js';
import { IamErrors } from '../iam/errors.js';
import { awsManagedPolicy } from '../iam/managed/catalog.js';
import { evaluateTrust, parsePolicy, PolicyDocumentError, type ContextValue, type Policy } from '../iam/policy/index.js';
import { callerFacts, globalContext, trustCaller, type CallerFacts } from './caller.js';
import { Constraints, PATTERNS } from './constraints.js';
import { credentialsOf, MAX_SESSION_TOKEN_BYTES, MFA_UNVERIFIABLE, tokenFacts } from './credentials.js';
import { issueSession } from './sessions.js';

/** AssumeRole's DurationSeconds when none is given. */
export const DEFAULT_ROLE_SESSION_SECONDS = 3600;
/** A role session assumed with another role session's credentials ("role chaining") lasts at most an hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;
/**
 * The packed size of a session's policies and tags may not exceed this many bytes. STS packs the
 * inline session policy, the managed session policy ARNs and the session tags into a compressed
 * binary form with an unpublished limit; cumulo packs the same things (the policy as compact JSON,
 * one ARN per line, one key=value per tag, transitive status aside as STS documents) with raw
 * DEFLATE and answers PackedPolicySize as the packed bytes' share of this limit, rounded up.
 */
export const PACKED_POLICY_LIMIT_BYTES = 2048;

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/|\/[\u0021-\u007E]*\/)([\w+=,.@-]+)$/;

function invalidParameterValue(message: string): ApiError {
  return new ApiError('InvalidParameterValue', message, 400);
}

function checkConstraints(input: AssumeRoleRequest): void {
  const c = new Constraints()
    .length('roleArn', input.RoleArn, 20, 2048)
    .pattern('roleArn', input.RoleArn, PATTERNS.text.re, PATTERNS.text.shown)
    .length('roleSessionName', input.RoleSessionName, 2, 64)
    .pattern('roleSessionName', input.RoleSessionName, PATTERNS.name.re, PATTERNS.name.shown)
    .count('policyArns', input.PolicyArns, 10);
  input.PolicyArns?.forEach((p, i) => c.length(`policyArns.${i + 1}.member.arn`, p.arn, 20, 2048));
  c.length('policy', input.Policy, 1)
    .pattern('policy', input.Policy, PATTERNS.sessionPolicy.re, PATTERNS.sessionPolicy.shown)
    .range('durationSeconds', input.DurationSeconds, 900, 43200)
    .count('tags', input.Tags, 50);
  input.Tags?.forEach((t, i) => {
    c.length(`tags.${i + 1}.member.key`, t.Key, 1, 128).pattern(`tags.${i + 1}.member.key`, t.Key, PATTERNS.tagKey.re, PATTERNS.tagKey.shown);
    c.length(`tags.${i + 1}.member.value`, t.Value, 0, 256).pattern(`tags.${i + 1}.member.value`, t.Value, PATTERNS.tagValue.re, PATTERNS.tagValue.shown);
  });
  c.count('transitiveTagKeys', input.TransitiveTagKeys, 50);
  input.TransitiveTagKeys?.forEach((k, i) =>
    c.length(`transitiveTagKeys.${i + 1}.member`, k, 1, 128).pattern(`transitiveTagKeys.${i + 1}.member`, k, PATTERNS.tagKey.re, PATTERNS.tagKey.shown),
  );
  c.length('externalId', input.ExternalId, 2, 1224)
    .pattern('externalId', input.ExternalId, PATTERNS.externalId.re, PATTERNS.externalId.shown)
    .length('serialNumber', input.SerialNumber, 9, 256)
    .pattern('serialNumber', input.SerialNumber, PATTERNS.serialNumber.re, PATTERNS.serialNumber.shown)
    .length('tokenCode', input.TokenCode, 6, 6)
    .pattern('tokenCode', input.TokenCode, PATTERNS.tokenCode.re, PATTERNS.tokenCode.shown)
    // The pattern also keeps out the reserved "aws:" prefix (no colon allowed).
    .length('sourceIdentity', input.SourceIdentity, 2, 64)
    .pattern('sourceIdentity', input.SourceIdentity, PATTERNS.name.re, PATTERNS.name.shown)
    .range('minimumSessionTokenSize', input.MinimumSessionTokenSize, 0, MAX_SESSION_TOKEN_BYTES)
    .check();
}

/** The role a RoleArn names, in any account of this cumulo; undefined for anything else (STS then denies, naming no reason). */
async function roleOfArn(ctx: Ctx, arn: string): Promise<RoleRow | undefined> {
  const m = ROLE_ARN.exec(arn);
  if (!m) return undefined;
  const role = await roleByName(ctx.db, m[1]!, m[3]!);
  return role && role.path === m[2] ? role : undefined;
}

function trustPolicyOf(role: RoleRow): Policy | undefined {
  const text = role.assume_role_policy;
  for (const t of [text, safeDecode(text)]) {
    if (t === undefined) continue;
    try {
      return parsePolicy(t, 'trust', `${role.arn}/AssumeRolePolicyDocument`);
    } catch {
      // Tried as stored, then URL-decoded.
    }
  }
  return undefined;
}

function safeDecode(s: string): string | undefined {
  try {
    const d = decodeURIComponent(s);
    return d === s ? undefined : d;
  } catch {
    return undefined;
  }
}

export interface SessionTags {
  tags: Record<string, string>;
  transitiveTagKeys: string[];
}

/**
 * The session's tags: those the caller's session passes on (its transitive ones) and those of
 * the request, which may not reuse an inherited key; keys are unique without regard to case.
 */
export function sessionTagsOf(input: Pick<AssumeRoleRequest, 'Tags' | 'TransitiveTagKeys'>, caller: CallerFacts): SessionTags {
  const given = input.Tags ?? [];
  const givenKeys = new Set(given.map((t) => t.Key!.toLowerCase()));
  if (givenKeys.size < given.length) throw invalidParameterValue('Duplicate tag keys found. Please note that Tag keys are case insensitive.');

  const inherited: Record<string, string> = {};
  const inheritedKeys: string[] = [];
  if (caller.session) {
    const tags = JSON.parse(caller.session.tags) as Record<string, string>;
    for (const k of JSON.parse(caller.session.transitive_tag_keys) as string[]) {
      const key = Object.keys(tags).find((t) => t.toLowerCase() === k.toLowerCase());
      if (key === undefined) continue;
      inherited[key] = tags[key]!;
      inheritedKeys.push(key);
    }
  }
  if (inheritedKeys.some((k) => givenKeys.has(k.toLowerCase()))) {
    throw invalidParameterValue("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.");
  }
  const transitive = input.TransitiveTagKeys ?? [];
  if (transitive.some((k) => !givenKeys.has(k.toLowerCase()))) throw invalidParameterValue('The specified transitive tag key must be included in the requested tags.');
  // The request's spelling of a transitive key is the tag's own.
  const spelled = transitive.map((k) => given.find((t) => t.Key!.toLowerCase() === k.toLowerCase())!.Key!);
  return {
    tags: { ...inherited, ...Object.fromEntries(given.map((t) => [t.Key!, t.Value ?? ''])) },
    transitiveTagKeys: [...new Set([...inheritedKeys, ...spelled])],
  };
}

/** PackedPolicySize: the packed policies and tags as a percentage of PACKED_POLICY_LIMIT_BYTES; PackedPolicyTooLarge past 100. */
export function packedPolicySize(policy: string | undefined, policyArns: readonly string[], tags: Readonly<Record<string, string>>): number {
  const lines = [...(policy !== undefined ? [JSON.stringify(JSON.parse(policy))] : []), ...policyArns, ...Object.entries(tags).map(([k, v]) => `${k}=${v}`)];
  const packed = deflateRawSync(Buffer.from(lines.join('\n'), 'utf8'), { level: 9 }).length;
  const percent = Math.ceil((packed * 100) / PACKED_POLICY_LIMIT_BYTES);
  if (percent > 100) throw IamErrors.packedPolicyTooLarge(`Packed policy consumes ${percent}% of allotted space, please use smaller policy.`);
  return percent;
}

/** The managed session policies exist: AWS managed ones, or customer managed ones of the role's account. */
async function checkPolicyArns(ctx: Ctx, role: RoleRow, arns: readonly string[]): Promise<void> {
  for (const arn of arns) {
    if (awsManagedPolicy(arn)) continue;
    const own = arn.split(':')[4] === role.account_id ? await managedPolicyByArn(ctx.db, arn) : undefined;
    if (!own) throw invalidParameterValue(`Policy ${arn} does not exist or is not attachable.`);
  }
}

function parseSessionPolicy(text: string, sessionName: string): Policy {
  try {
    return parsePolicy(text, 'session', `session/${sessionName}/Policy`);
  } catch (e) {
    if (e instanceof PolicyDocumentError) throw IamErrors.malformedPolicyDocument(e.message);
    throw e;
  }
}

export async function assumeRole(ctx: Ctx, input: AssumeRoleRequest): Promise<AssumeRoleResponse> {
  checkConstraints(input);
  const roleArn = input.RoleArn!;
  const sessionName = input.RoleSessionName!;
  if (input.SerialNumber !== undefined || input.TokenCode !== undefined) throw IamErrors.accessDenied(MFA_UNVERIFIABLE);
  if (input.ProvidedContexts?.length) {
    // The one context provider is IAM Identity Center, which cumulo does not run: no assertion can be verified.
    throw invalidParameterValue('The ProvidedContexts contain a context assertion that cannot be verified: no trusted context provider is available.');
  }

  const caller = await callerFacts(ctx);
  const denied = (action: string) => IamErrors.accessDenied(`User: ${caller.principal.arn} is not authorized to perform: ${action} on resource: ${roleArn}`);
  const role = await roleOfArn(ctx, roleArn);
  const trust = role && trustPolicyOf(role);
  if (!role || !trust) throw denied('sts:AssumeRole');

  const sourceIdentity = input.SourceIdentity ?? caller.session?.source_identity ?? undefined;
  if (input.SourceIdentity !== undefined && caller.session?.source_identity && caller.session.source_identity !== input.SourceIdentity) {
    throw invalidParameterValue('The source identity of the calling session cannot be changed: it persists across chained role sessions.');
  }
  const session = sessionTagsOf(input, caller);

  const roleTags = await entityTags(ctx.db, role.id);
  const context: Record<string, ContextValue> = { ...globalContext(ctx, caller), 'sts:RoleSessionName': sessionName };
  if (input.ExternalId !== undefined) context['sts:ExternalId'] = input.ExternalId;
  if (sourceIdentity !== undefined) context['sts:SourceIdentity'] = sourceIdentity;
  for (const [k, v] of Object.entries(roleTags)) context[`aws:ResourceTag/${k}`] = context[`iam:ResourceTag/${k}`] = v;
  if (input.Tags?.length) {
    for (const t of input.Tags) context[`aws:RequestTag/${t.Key!}`] = t.Value ?? '';
    context['aws:TagKeys'] = input.Tags.map((t) => t.Key!);
  }
  if (input.TransitiveTagKeys?.length) context['sts:TransitiveTagKeys'] = input.TransitiveTagKeys;

  const who = trustCaller(caller);
  const allows = (action: string) => evaluateTrust({ action, resource: role.arn, context }, trust, who).decision === 'Allow';
  if (!allows('sts:AssumeRole')) throw denied('sts:AssumeRole');
  if (Object.keys(session.tags).length && !allows('sts:TagSession')) throw denied('sts:TagSession');
  if (sourceIdentity !== undefined && !allows('sts:SetSourceIdentity')) throw denied('sts:SetSourceIdentity');

  const duration = input.DurationSeconds ?? DEFAULT_ROLE_SESSION_SECONDS;
  if (caller.principal.kind === 'assumed-role' && duration > ROLE_CHAINING_MAX_SECONDS) {
    throw IamErrors.validationError('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
  }
  if (duration > role.max_session_duration) throw IamErrors.validationError('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');

  if (input.Policy !== undefined) parseSessionPolicy(input.Policy, sessionName);
  const policyArns = (input.PolicyArns ?? []).map((p) => p.arn!);
  await checkPolicyArns(ctx, role, policyArns);
  const packs = input.Policy !== undefined || policyArns.length > 0 || Object.keys(session.tags).length > 0;
  const packed = packs ? packedPolicySize(input.Policy, policyArns, session.tags) : undefined;

  const issued = await issueSession(ctx.db, ctx.secrets, {
    accountId: role.account_id,
    kind: 'assumed-role',
    roleId: role.id,
    roleArn: role.arn,
    sessionName,
    policies: input.Policy !== undefined ? [input.Policy] : [],
    policyArns,
    tags: session.tags,
    transitiveTagKeys: session.transitiveTagKeys,
    ...(sourceIdentity !== undefined && { sourceIdentity }),
    mfa: false,
    issuedFor: caller.principal.arn,
    now: ctx.now,
    durationSeconds: duration,
    ...(input.MinimumSessionTokenSize && { minTokenBytes: input.MinimumSessionTokenSize }),
  });
  await ctx.db.updateTable('iam_roles').set({ last_used_at: ctx.now.toISOString(), last_used_region: ctx.region }).where('id', '=', role.id).execute();

  return {
    Credentials: credentialsOf(issued),
    AssumedRoleUser: { AssumedRoleId: `${role.id}:${sessionName}`, Arn: assumedRoleArn(role.account_id, role.name, sessionName) },
    ...(packed !== undefined && { PackedPolicySize: packed }),
    ...(sourceIdentity !== undefined && { SourceIdentity: sourceIdentity }),
    ...tokenFacts(issued),
  };
}
