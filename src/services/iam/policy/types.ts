// The policy evaluator's interface: what a request asks and what policies say, parsed. The
// evaluator (evaluate.ts) is pure: no store, no clock, no I/O; everything it decides on is here.

/**
 * A condition key's value in a request. Single-valued keys hold a string, multivalued ones
 * (aws:TagKeys) an array. Booleans, numbers and dates are written as AWS writes them in a
 * request context: 'true', '42', ISO-8601.
 */
export type ContextValue = string | readonly string[];

/** One authorization question: may the principal do `action` on `resource`, given these keys? */
export interface AuthzRequest {
  /** The action as IAM writes it, service prefix first: 'ec2:RunInstances' (matched case-insensitively). */
  readonly action: string;
  /** The resource's ARN, or '*' for an action that supports no resource-level permissions. */
  readonly resource: string;
  /**
   * The request's condition keys for this resource, named as IAM writes them ('aws:RequestedRegion',
   * 'ec2:ResourceTag/team'). Key names match case-insensitively, as on AWS; a key that is absent
   * is absent (the `…IfExists` operators and `Null` see that).
   */
  readonly context: Readonly<Record<string, ContextValue>>;
}

export type Effect = 'Allow' | 'Deny';

/** A statement's Principal or NotPrincipal: '*' or a map like { AWS: [...], Service: [...] }. */
export type PrincipalBlock = '*' | Readonly<Record<string, readonly string[]>>;

/** Condition operator (as written, e.g. 'StringEqualsIfExists', 'ForAnyValue:StringLike') → key → values. */
export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

export interface Statement {
  readonly sid?: string;
  readonly effect: Effect;
  /** Exactly one of action / notAction is set. */
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  /** Identity and session policies: exactly one of resource / notResource. Trust policies: neither is required. */
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
  /** Resource-based (trust) policies only. */
  readonly principal?: PrincipalBlock;
  readonly notPrincipal?: PrincipalBlock;
  readonly condition?: ConditionBlock;
}

/** A policy document, parsed and validated (parsePolicy). */
export interface Policy {
  /** Where it came from, for messages and SimulatePrincipalPolicy: a managed policy's ARN, or e.g. 'user/alice/inline/s3'. */
  readonly id: string;
  readonly version: '2012-10-17' | '2008-10-17';
  readonly statements: readonly Statement[];
}

/**
 * What a document is for: identity (attached to a user, group or role), session (passed to
 * AssumeRole or GetFederationToken), boundary (a permissions boundary) or trust (a role's
 * AssumeRolePolicyDocument: Principal required, Resource not).
 */
export type PolicyKind = 'identity' | 'session' | 'boundary' | 'trust';

/** The identity-side policies of one request's principal. */
export interface PolicySet {
  /** Identity-based policies: a user's own and its groups', or the assumed role's. */
  readonly identity: readonly Policy[];
  /** The session's policies (AssumeRole's Policy and PolicyArns); absent: the session has none. They cap what identity allows. */
  readonly session?: readonly Policy[];
  /** The user's or role's permissions boundary; absent: none. It caps what identity allows. */
  readonly boundary?: Policy;
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface MatchedStatement {
  readonly policyId: string;
  readonly sid?: string;
  readonly effect: Effect;
}

export interface EvaluationResult {
  readonly decision: Decision;
  /** The statements that decided: the denies for ExplicitDeny, the allows for Allow. */
  readonly matched: readonly MatchedStatement[];
  /**
   * For ImplicitDeny, the kind of policy that had no allow, as AWS's messages say it ("because no
   * identity-based policy allows …", "… no session policy allows …", "… no permissions boundary allows …").
   */
  readonly missing?: 'identity' | 'session' | 'boundary' | 'resource';
}

/** Who asks, as a trust policy's Principal names them. */
export interface TrustCaller {
  /** The caller's ARN (arn:aws:iam::123456789012:user/alice, an assumed-role ARN, or an account root). */
  readonly arn: string;
  readonly accountId: string;
  /** For an AWS service asking (ec2.amazonaws.com when an instance profile's role is assumed). */
  readonly service?: string;
  /** For an assumed-role session: the role's ARN, which a trust policy may name instead of the session. */
  readonly roleArn?: string;
}
