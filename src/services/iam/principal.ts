// Who is asking: the principal behind a request's access key, resolved once by the API layer and
// carried on every handler's context. IAM policies are evaluated for it; STS's GetCallerIdentity
// describes it.

export type PrincipalKind = 'root' | 'user' | 'assumed-role';

export interface Principal {
  readonly kind: PrincipalKind;
  readonly accountId: string;
  /**
   * arn:aws:iam::123456789012:root, arn:aws:iam::123456789012:user/path/alice, or
   * arn:aws:sts::123456789012:assumed-role/web/i-0123456789abcdef0
   */
  readonly arn: string;
  /** GetCallerIdentity's UserId: the account id (root), the user's id (AIDA…), or role id:session name (AROA…:name). */
  readonly userId: string;
  /** The access key the request was signed with. */
  readonly accessKeyId: string;
  /** The IAM user's name (user), or the role's name (assumed-role). */
  readonly name?: string;
  /** The role's id (AROA…), for an assumed role. */
  readonly roleId?: string;
  /** Present when the request was signed with temporary credentials (a session token). */
  readonly session?: SessionFacts;
}

export interface SessionFacts {
  /** The role's ARN (assumed-role); absent for GetSessionToken's sessions, which act as their user. */
  readonly roleArn?: string;
  readonly sessionName?: string;
  readonly expiresAt: Date;
  readonly issuedAt: Date;
  /** Session policies: inline JSON documents and managed policy ARNs, as AssumeRole was given them. */
  readonly policies: readonly string[];
  readonly policyArns: readonly string[];
  /** Session tags (aws:PrincipalTag/ over the role's own tags). */
  readonly tags: Readonly<Record<string, string>>;
  /** Whether the session was made with MFA (aws:MultiFactorAuthPresent). */
  readonly mfa: boolean;
  readonly sourceIdentity?: string;
  /** The instance an instance profile's credentials were issued to (ec2:SourceInstanceARN). */
  readonly issuedFor?: string;
}

/** The account's root user: what every key that belongs to no IAM user signs as. */
export function rootPrincipal(accountId: string, accessKeyId: string): Principal {
  return { kind: 'root', accountId, arn: `arn:aws:iam::${accountId}:root`, userId: accountId, accessKeyId };
}
