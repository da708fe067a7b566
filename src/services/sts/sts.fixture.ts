// Test support for STS's handler tests: IAM rows inserted directly (IAM's handlers are another
// part's), a Ctx with a chosen principal, and the principal a session's keys sign as, resolved
// from the store the way the API layer resolves it.
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../config.js';
import { newAccessKeyId, newIamId } from '../../lib/ids.js';
import { SecretBox } from '../../lib/secrets.js';
import type { Db } from '../../store/db.js';
import type { Ctx } from '../context.js';
import { assumedRoleArn, iamArn } from '../iam/arns.js';
import { roleById, userById, type RoleRow, type UserRow } from '../iam/entities/store.js';
import { rootPrincipal, type Principal } from '../iam/principal.js';
import { sessionByKey } from './sessions.js';

export const config = loadConfig({ CUMULO_HOME: '/nonexistent' });
export const ACCOUNT = '111122223333';
export const OTHER = '444455556666';
export const THIRD = '777788889999';

export function ctxOf(db: Db, box: SecretBox, principal: Principal, now = new Date('2026-12-03T12:00:00.000Z'), region = 'us-east-1'): Ctx {
  return {
    accountId: principal.accountId,
    region,
    requestId: 'test',
    operation: 'AssumeRole',
    principal,
    source: { ip: '198.51.100.7', secure: true },
    secrets: box,
    db,
    config,
    now,
    enqueue: async () => {},
    afterCommit: () => {},
    beforeCommit: () => {},
  };
}

export const newBox = () => new SecretBox(randomBytes(32));

export const root = (account = ACCOUNT) => rootPrincipal(account, newAccessKeyId());

export async function insertUser(db: Db, account: string, name: string, tags: Record<string, string> = {}, path = '/'): Promise<UserRow> {
  const row = {
    id: newIamId('AIDA'),
    account_id: account,
    name,
    name_key: name.toLowerCase(),
    path,
    arn: iamArn(account, 'user', path, name),
    created_at: '2026-01-01T00:00:00.000Z',
    permissions_boundary: null,
    password_last_used: null,
  };
  await db.insertInto('iam_users').values(row).execute();
  await insertTags(db, account, row.id, tags);
  return (await userById(db, row.id))!;
}

export function userPrincipal(u: UserRow): Principal {
  return { kind: 'user', accountId: u.account_id, arn: u.arn, userId: u.id, accessKeyId: newAccessKeyId(), name: u.name };
}

export interface RoleOptions {
  path?: string;
  maxSessionDuration?: number;
  tags?: Record<string, string>;
}

/** A role with this trust policy (an object is written as JSON). */
export async function insertRole(db: Db, account: string, name: string, trust: object | string, o: RoleOptions = {}): Promise<RoleRow> {
  const path = o.path ?? '/';
  const row = {
    id: newIamId('AROA'),
    account_id: account,
    name,
    name_key: name.toLowerCase(),
    path,
    arn: iamArn(account, 'role', path, name),
    created_at: '2026-01-01T00:00:00.000Z',
    assume_role_policy: typeof trust === 'string' ? trust : JSON.stringify(trust),
    description: null,
    max_session_duration: o.maxSessionDuration ?? 3600,
    permissions_boundary: null,
    last_used_at: null,
    last_used_region: null,
  };
  await db.insertInto('iam_roles').values(row).execute();
  await insertTags(db, account, row.id, o.tags ?? {});
  return (await roleById(db, row.id))!;
}

async function insertTags(db: Db, account: string, entityId: string, tags: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(tags)) await db.insertInto('iam_tags').values({ account_id: account, entity_id: entityId, key, value }).execute();
}

/** A customer managed policy of the account, with one version. */
export async function insertPolicy(db: Db, account: string, name: string, document: object): Promise<string> {
  const id = newIamId('ANPA');
  const arn = iamArn(account, 'policy', '/', name);
  const t = '2026-01-01T00:00:00.000Z';
  await db
    .insertInto('iam_policies')
    .values({
      id,
      account_id: account,
      name,
      name_key: name.toLowerCase(),
      path: '/',
      arn,
      created_at: t,
      description: null,
      default_version_id: 'v1',
      next_version: 2,
      updated_at: t,
    })
    .execute();
  await db
    .insertInto('iam_policy_versions')
    .values({ policy_id: id, version_id: 'v1', document: JSON.stringify(document), created_at: t })
    .execute();
  return arn;
}

/** The principal a session's access key signs as, resolved from its row (what the API layer does). */
export async function sessionPrincipal(db: Db, accessKeyId: string): Promise<Principal> {
  const s = (await sessionByKey(db, accessKeyId))!;
  const facts = {
    expiresAt: new Date(s.expires_at),
    issuedAt: new Date(s.created_at),
    policies: JSON.parse(s.policies) as string[],
    policyArns: JSON.parse(s.policy_arns) as string[],
    tags: JSON.parse(s.tags) as Record<string, string>,
    mfa: s.mfa === 1,
    ...(s.source_identity !== null && { sourceIdentity: s.source_identity }),
  };
  if (s.kind === 'assumed-role') {
    const role = (await roleById(db, s.role_id!))!;
    return {
      kind: 'assumed-role',
      accountId: s.account_id,
      arn: assumedRoleArn(s.account_id, role.name, s.session_name!),
      userId: `${role.id}:${s.session_name!}`,
      accessKeyId,
      name: role.name,
      session: { ...facts, roleArn: role.arn, sessionName: s.session_name! },
    };
  }
  if (s.user_id) {
    const u = (await userById(db, s.user_id))!;
    return { ...userPrincipal(u), accessKeyId, session: facts };
  }
  return { ...rootPrincipal(s.account_id, accessKeyId), session: facts };
}

/** A trust policy of one statement. */
export function trustOf(principal: Record<string, string | string[]> | '*', actions: string | string[] = 'sts:AssumeRole', condition?: object, effect = 'Allow'): object {
  return { Version: '2012-10-17', Statement: [{ Effect: effect, Principal: principal, Action: actions, ...(condition && { Condition: condition }) }] };
}
