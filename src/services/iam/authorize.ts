// IAM policy enforcement on every request of every service: the request's questions (from the
// service's builder: an action and the resources it touches, with their condition keys), the
// global condition keys, the principal's policies, and the pure evaluator's decision. A denial is
// EC2's UnauthorizedOperation (with an encoded message STS decodes) or the service's AccessDenied.
import type { Ctx } from '../context.js';
import { Errors, type ApiError } from '../errors.js';
import type { SecretBox } from '../../lib/secrets.js';
import { IamErrors } from './errors.js';
import { entityTags } from './entities/store.js';
import { identityPolicies, managedPolicyDocument, permissionsBoundaryOf, type IamEntityKey } from './policies-of.js';
import { evaluate, parsePolicy, type AuthzRequest, type EvaluationResult, type Policy, type PolicySet } from './policy/index.js';
import type { Principal } from './principal.js';
import { globalKeys, overlayTags } from './global-keys.js';
import { authorizationMessageOf, encodeAuthorizationMessage } from '../sts/authorization-message.js';

/** One service's questions for one call: its action and resources with their keys. */
export type AuthzRequestBuilder = (ctx: Ctx, operation: string, input: Record<string, unknown>) => Promise<AuthzRequest[]>;

/** How a service is authorized. */
export interface ServiceAuthorization {
  /** The service prefix of its IAM actions ('ec2', 'iam', 'cloudwatch' for monitoring). */
  readonly actionPrefix: string;
  /** Its questions for a call; absent: the action on '*'. */
  readonly requests?: AuthzRequestBuilder;
  /** Operations that need no permission (STS's GetCallerIdentity). */
  readonly exempt?: ReadonlySet<string>;
  /** How a denial reads: EC2's UnauthorizedOperation with an encoded message, or AccessDenied. */
  readonly denial: 'unauthorized-operation' | 'access-denied';
  /** Whether its writes change who may do what (IAM's do): gathered policies are dropped after each. */
  readonly changesPolicies?: boolean;
}

interface Gathered {
  readonly set: PolicySet;
  /** aws:PrincipalTag/… values: the user's or role's tags, a session's tags over them. */
  readonly tags: Readonly<Record<string, string>>;
  readonly generation: number;
}

export class Authorizer {
  /** Bumped by every IAM change (invalidate): cached policy sets of an older generation are stale. */
  private generation = 0;
  private cache = new Map<string, Gathered>();

  /** onChange: what else remembers IAM's state and must forget it with the policies (access keys). */
  constructor(
    private readonly secrets: SecretBox,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Forget every principal's gathered policies (after any write to IAM). */
  invalidate(): void {
    this.generation++;
    this.cache.clear();
    this.onChange();
  }

  /** Throws the service's denial unless every question of the call is allowed. */
  async authorize(ctx: Ctx, service: ServiceAuthorization, operation: string, input: Record<string, unknown>): Promise<void> {
    const p = ctx.principal;
    // The root user may do everything in its account (there are no organizations' SCPs here).
    if (p.kind === 'root') return;
    if (service.exempt?.has(operation)) return;
    const requests = service.requests ? await service.requests(ctx, operation, input) : [{ action: `${service.actionPrefix}:${operation}`, resource: '*', context: {} }];
    const gathered = await this.gather(ctx, p);
    const global = globalKeys(ctx, p, gathered.tags);
    for (const r of requests) {
      const req: AuthzRequest = { action: r.action, resource: r.resource, context: { ...global, ...r.context } };
      const result = evaluate(req, gathered.set);
      if (result.decision !== 'Allow') throw this.denial(ctx, service, req, result, gathered.set);
    }
  }

  private async gather(ctx: Ctx, p: Principal): Promise<Gathered> {
    const key = p.accessKeyId;
    const hit = this.cache.get(key);
    if (hit && hit.generation === this.generation) return hit;
    const generation = this.generation;
    const entity: IamEntityKey | undefined = p.kind === 'user' ? { type: 'user', id: p.userId } : p.roleId ? { type: 'role', id: p.roleId } : undefined;
    const identity = entity ? await identityPolicies(ctx.db, entity) : [];
    const boundary = entity ? await permissionsBoundaryOf(ctx.db, entity) : undefined;
    let session: Policy[] | undefined;
    if (p.session && (p.session.policies.length || p.session.policyArns.length)) {
      session = p.session.policies.map((text, i) => parsePolicy(text, 'session', `session-policy-${i + 1}`));
      for (const arn of p.session.policyArns) {
        const m = await managedPolicyDocument(ctx.db, arn, 'identity');
        // A session policy ARN whose policy is gone allows nothing; it still caps the session.
        session.push(m?.policy ?? { id: arn, version: '2012-10-17', statements: [] });
      }
    }
    const ownTags = entity ? await entityTags(ctx.db, entity.id) : {};
    const gathered: Gathered = {
      set: { identity, ...(session && { session }), ...(boundary && { boundary }) },
      tags: overlayTags(ownTags, p.session?.tags ?? {}),
      generation,
    };
    if (this.cache.size > 5_000) this.cache.clear();
    this.cache.set(key, gathered);
    return gathered;
  }

  private denial(ctx: Ctx, service: ServiceAuthorization, req: AuthzRequest, result: EvaluationResult, set: PolicySet): ApiError {
    const deniedBy = (kind: 'session' | 'boundary') =>
      result.matched.some((m) => (kind === 'session' ? (set.session ?? []).some((s) => s.id === m.policyId) : set.boundary?.id === m.policyId));
    const why =
      result.decision === 'ExplicitDeny'
        ? `with an explicit deny in ${deniedBy('session') ? 'a session policy' : deniedBy('boundary') ? 'a permissions boundary' : 'an identity-based policy'}`
        : `because no ${missingWords[result.missing ?? 'identity']} allows the ${req.action} action`;
    const on = req.resource === '*' ? '' : ` on resource: ${req.resource}`;
    const sentence = `User: ${ctx.principal.arn} is not authorized to perform: ${req.action}${on} ${why}`;
    if (service.denial === 'access-denied') return IamErrors.accessDenied(sentence);
    const policies = [...set.identity, ...(set.session ?? []), ...(set.boundary ? [set.boundary] : [])];
    const encoded = encodeAuthorizationMessage(this.secrets, authorizationMessageOf(ctx.principal, req, result, policies));
    return Errors.unauthorized(`You are not authorized to perform this operation. ${sentence}. Encoded authorization failure message: ${encoded}`);
  }
}

const missingWords: Record<NonNullable<EvaluationResult['missing']>, string> = {
  identity: 'identity-based policy',
  session: 'session policy',
  boundary: 'permissions boundary',
  resource: 'resource-based policy',
};
