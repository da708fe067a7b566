// Temporary credentials: an ASIA… key, its secret (stored wrapped) and a session token (stored as
// its SHA-256 only), valid until their expiry. AssumeRole, GetSessionToken and instance profiles'
// credentials all come from issueSession; the API layer finds a request's session by its key.
import { createHash, randomBytes } from 'node:crypto';
import type { Tx } from '../../store/db.js';
import type { Row, StsSessionsTable } from '../../store/schema.js';
import type { SecretBox } from '../../lib/secrets.js';
import { newSecretAccessKey, newTemporaryAccessKeyId } from '../../lib/ids.js';

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface SessionSpec {
  accountId: string;
  kind: StsSessionsTable['kind'];
  /** The IAM user a GetSessionToken session acts as (undefined: the root user). */
  userId?: string;
  roleId?: string;
  roleArn?: string;
  sessionName?: string;
  policies?: readonly string[];
  policyArns?: readonly string[];
  tags?: Readonly<Record<string, string>>;
  transitiveTagKeys?: readonly string[];
  sourceIdentity?: string;
  mfa?: boolean;
  /** An instance id (instance profile credentials) or the caller's ARN. */
  issuedFor?: string;
  now: Date;
  durationSeconds: number;
  /** The session token's least length in bytes (STS's MinimumSessionTokenSize); it is longer when random bytes need more. */
  minTokenBytes?: number;
}

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Records a session and answers its credentials (the token and secret are never readable again). */
export async function issueSession(db: Tx, box: SecretBox, s: SessionSpec): Promise<IssuedCredentials> {
  const accessKeyId = newTemporaryAccessKeyId();
  const secretAccessKey = newSecretAccessKey();
  // base64 of n bytes is 4·⌈n/3⌉ characters: enough random bytes for the length asked.
  const sessionToken = randomBytes(Math.max(96, Math.ceil(((s.minTokenBytes ?? 0) * 3) / 4))).toString('base64');
  const expiration = new Date(Math.floor(s.now.getTime() / 1000) * 1000 + s.durationSeconds * 1000);
  await db
    .insertInto('sts_sessions')
    .values({
      access_key_id: accessKeyId,
      account_id: s.accountId,
      secret_access_key: box.wrap(secretAccessKey, 'sts-session-secret', accessKeyId),
      token_sha256: tokenDigest(sessionToken),
      kind: s.kind,
      user_id: s.userId ?? null,
      role_id: s.roleId ?? null,
      role_arn: s.roleArn ?? null,
      session_name: s.sessionName ?? null,
      policies: JSON.stringify(s.policies ?? []),
      policy_arns: JSON.stringify(s.policyArns ?? []),
      tags: JSON.stringify(s.tags ?? {}),
      transitive_tag_keys: JSON.stringify(s.transitiveTagKeys ?? []),
      source_identity: s.sourceIdentity ?? null,
      mfa: s.mfa ? 1 : 0,
      issued_for: s.issuedFor ?? null,
      created_at: s.now.toISOString(),
      expires_at: expiration.toISOString(),
    })
    .execute();
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

export type SessionRow = Row<'sts_sessions'>;

export async function sessionByKey(db: Tx, accessKeyId: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sts_sessions').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
}

/** Forget sessions that expired before `before` (their keys are refused either way). */
export async function deleteExpiredSessions(db: Tx, before: Date): Promise<number> {
  const r = await db.deleteFrom('sts_sessions').where('expires_at', '<', before.toISOString()).executeTakeFirst();
  return Number(r.numDeletedRows ?? 0);
}
