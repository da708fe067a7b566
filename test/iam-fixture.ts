// IAM rows for tests of what uses them (instance profiles on instances): a role and an instance
// profile holding it, written straight into IAM's tables, as IAM's CreateRole and
// CreateInstanceProfile/AddRoleToInstanceProfile would leave them.
import { newIamId } from '../src/lib/ids.js';
import type { Db } from '../src/store/db.js';

export const ec2Trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

export interface Profile {
  name: string;
  arn: string;
  id: string;
  roleArn?: string;
  roleId?: string;
}

export interface ProfileOptions {
  /** The role's name (default `<profile>-role`); null: a profile with no role. */
  roleName?: string | null;
  /** The role's trust policy (default: ec2.amazonaws.com may assume it). */
  trust?: string;
}

export async function insertProfile(db: Db, account: string, name: string, opts: ProfileOptions = {}): Promise<Profile> {
  const now = new Date().toISOString();
  let roleId: string | undefined;
  let roleArn: string | undefined;
  if (opts.roleName !== null) {
    const roleName = opts.roleName ?? `${name}-role`;
    roleId = newIamId('AROA');
    roleArn = `arn:aws:iam::${account}:role/${roleName}`;
    await db
      .insertInto('iam_roles')
      .values({
        id: roleId,
        account_id: account,
        name: roleName,
        name_key: roleName.toLowerCase(),
        path: '/',
        arn: roleArn,
        created_at: now,
        assume_role_policy: opts.trust ?? ec2Trust,
        description: null,
        max_session_duration: 3600,
        permissions_boundary: null,
        last_used_at: null,
        last_used_region: null,
      })
      .execute();
  }
  const id = newIamId('AIPA');
  const arn = `arn:aws:iam::${account}:instance-profile/${name}`;
  await db
    .insertInto('iam_instance_profiles')
    .values({ id, account_id: account, name, name_key: name.toLowerCase(), path: '/', arn, created_at: now, role_id: roleId ?? null })
    .execute();
  return { name, arn, id, roleArn, roleId };
}
