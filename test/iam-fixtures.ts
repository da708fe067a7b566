// IAM users, groups and roles written straight into the store, for suites that need entities to
// attach policies to without going through the IAM identity operations.
import { newIamId } from '../src/lib/ids.js';
import type { Db } from '../src/store/db.js';
import { IAMClient } from '@aws-sdk/client-iam';
import type { TestServer } from './harness.js';

export function iamClient(s: TestServer, credentials?: { accessKeyId: string; secretAccessKey: string }): IAMClient {
  return new IAMClient({
    endpoint: s.url,
    region: 'us-east-1',
    credentials: credentials ?? { accessKeyId: s.admin.accessKeyId, secretAccessKey: s.admin.secretAccessKey },
    maxAttempts: 1,
  });
}

/** A trust policy that lets EC2 assume the role (an instance profile's role). */
export const ec2Trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

export interface Entity {
  id: string;
  name: string;
  arn: string;
}

function base(accountId: string, kind: 'user' | 'group' | 'role', prefix: 'AIDA' | 'AGPA' | 'AROA', name: string, path: string) {
  const id = newIamId(prefix);
  return { id, account_id: accountId, name, name_key: name.toLowerCase(), path, arn: `arn:aws:iam::${accountId}:${kind}${path}${name}`, created_at: new Date().toISOString() };
}

export async function insertUser(db: Db, accountId: string, name: string, o: { path?: string; boundary?: string } = {}): Promise<Entity> {
  const row = { ...base(accountId, 'user', 'AIDA', name, o.path ?? '/'), permissions_boundary: o.boundary ?? null, password_last_used: null };
  await db.insertInto('iam_users').values(row).execute();
  return row;
}

export async function insertGroup(db: Db, accountId: string, name: string, o: { path?: string; members?: Entity[] } = {}): Promise<Entity> {
  const row = base(accountId, 'group', 'AGPA', name, o.path ?? '/');
  await db.insertInto('iam_groups').values(row).execute();
  for (const u of o.members ?? []) await db.insertInto('iam_group_members').values({ account_id: accountId, group_id: row.id, user_id: u.id }).execute();
  return row;
}

export async function insertRole(db: Db, accountId: string, name: string, o: { path?: string; boundary?: string; trust?: string } = {}): Promise<Entity> {
  const row = {
    ...base(accountId, 'role', 'AROA', name, o.path ?? '/'),
    assume_role_policy: o.trust ?? ec2Trust,
    description: null,
    max_session_duration: 3600,
    permissions_boundary: o.boundary ?? null,
    last_used_at: null,
    last_used_region: null,
  };
  await db.insertInto('iam_roles').values(row).execute();
  return row;
}

export async function insertInstanceProfile(db: Db, accountId: string, name: string, role?: Entity): Promise<Entity> {
  const id = newIamId('AIPA');
  const row = {
    id,
    account_id: accountId,
    name,
    name_key: name.toLowerCase(),
    path: '/',
    arn: `arn:aws:iam::${accountId}:instance-profile/${name}`,
    created_at: new Date().toISOString(),
    role_id: role?.id ?? null,
  };
  await db.insertInto('iam_instance_profiles').values(row).execute();
  return row;
}

export interface Profile {
  name: string;
  arn: string;
  id: string;
  roleArn?: string;
  roleId?: string;
}

/**
 * An instance profile and its role, as CreateRole, CreateInstanceProfile and AddRoleToInstanceProfile
 * would leave them. roleName: the role's name (default `<profile>-role`); null: a profile with no
 * role. trust: the role's trust policy (default: ec2.amazonaws.com may assume it).
 */
export interface ProfileOptions {
  roleName?: string | null;
  trust?: string;
}

export async function insertProfile(db: Db, accountId: string, name: string, o: ProfileOptions = {}): Promise<Profile> {
  const role = o.roleName === null ? undefined : await insertRole(db, accountId, o.roleName ?? `${name}-role`, { trust: o.trust });
  const profile = await insertInstanceProfile(db, accountId, name, role);
  return { name, arn: profile.arn, id: profile.id, roleArn: role?.arn, roleId: role?.id };
}
