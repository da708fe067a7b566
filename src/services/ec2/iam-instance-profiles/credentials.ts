// The role credentials an instance's metadata service serves: a session of the instance profile's
// role (sts:AssumeRole by ec2.amazonaws.com, as the role's trust policy must allow), named after
// the instance. The same credentials are served until less than REFRESH_BEFORE_MS of validity
// remain; then a new session is issued (AWS has new ones ready at least 5 minutes before the old
// expire). The old session stays valid until it expires.
import { UnwrapError, type SecretBox } from '../../../lib/secrets.js';
import type { Tx } from '../../../store/db.js';
import type { Row } from '../../../store/schema.js';
import { roleById } from '../../iam/entities/store.js';
import { evaluateTrust, parsePolicy } from '../../iam/policy/index.js';
import type { RoleRow } from '../../iam/entities/store.js';
import { issueSession, sessionByKey } from '../../sts/sessions.js';
import { EC2_SERVICE_PRINCIPAL } from './pass-role.js';
import { currentAssociationOf } from './store.js';

/** Instance profile credentials last 6 hours. */
export const INSTANCE_CREDENTIALS_SECONDS = 6 * 3600;
/** Served again until less than this is left. */
export const REFRESH_BEFORE_MS = 15 * 60_000;

export type InstanceRoleCredentials =
  | {
      code: 'Success';
      roleName: string;
      /** When these credentials were issued. */
      lastUpdated: Date;
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken: string;
      expiration: Date;
    }
  | { code: 'AssumeRoleUnauthorizedAccess'; roleName: string; lastUpdated: Date };

/** May EC2 assume this role for an instance? Its trust policy must allow ec2.amazonaws.com sts:AssumeRole. */
export function ec2MayAssume(role: RoleRow): boolean {
  try {
    const trust = parsePolicy(role.assume_role_policy, 'trust', `${role.arn}/trust`);
    const r = evaluateTrust({ action: 'sts:AssumeRole', resource: role.arn, context: {} }, trust, {
      arn: EC2_SERVICE_PRINCIPAL,
      accountId: role.account_id,
      service: EC2_SERVICE_PRINCIPAL,
    });
    return r.decision === 'Allow';
  } catch {
    // A document IAM would not have stored trusts no one.
    return false;
  }
}

/** The held credentials in the clear; undefined when they no longer unwrap (another master key): new ones are issued then. */
function unwrapHeld(box: SecretBox, held: Row<'instance_role_credentials'>, wrappedSecret: string) {
  try {
    return {
      accessKeyId: held.access_key_id,
      secretAccessKey: box.unwrapString(wrappedSecret, 'sts-session-secret', held.access_key_id),
      sessionToken: box.unwrapString(held.session_token, 'instance-role-token', held.access_key_id),
      expiration: new Date(held.expires_at),
    };
  } catch (e) {
    if (e instanceof UnwrapError) return undefined;
    throw e;
  }
}

async function inTransaction<T>(db: Tx, fn: (trx: Tx) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/**
 * The credentials of the instance's current profile's role, issuing a new session when there are
 * none or they are close to expiry; undefined when the instance has no profile, or its profile no
 * role (then there is nothing to serve).
 */
export async function instanceRoleCredentials(db: Tx, box: SecretBox, instanceId: string, now: Date): Promise<InstanceRoleCredentials | undefined> {
  return inTransaction(db, async (trx) => {
    const assoc = await currentAssociationOf(trx, instanceId);
    if (!assoc) return undefined;
    const profile = await trx.selectFrom('iam_instance_profiles').selectAll().where('id', '=', assoc.profile_id).executeTakeFirst();
    const role = profile?.role_id ? await roleById(trx, profile.role_id) : undefined;
    if (!role) return undefined;
    if (!ec2MayAssume(role)) return { code: 'AssumeRoleUnauthorizedAccess', roleName: role.name, lastUpdated: now };

    const held = await trx.selectFrom('instance_role_credentials').selectAll().where('association_id', '=', assoc.id).executeTakeFirst();
    if (held && new Date(held.expires_at).getTime() - now.getTime() >= REFRESH_BEFORE_MS) {
      const session = await sessionByKey(trx, held.access_key_id);
      // Still this role's session (a role deleted and made again under its name is another role).
      const served = session && session.role_id === role.id ? unwrapHeld(box, held, session.secret_access_key) : undefined;
      if (served) return { code: 'Success', roleName: role.name, lastUpdated: new Date(held.issued_at), ...served };
    }
    const issued = await issueSession(trx, box, {
      accountId: role.account_id,
      kind: 'assumed-role',
      roleId: role.id,
      roleArn: role.arn,
      sessionName: instanceId,
      issuedFor: instanceId,
      now,
      durationSeconds: INSTANCE_CREDENTIALS_SECONDS,
    });
    const row = {
      association_id: assoc.id,
      instance_id: instanceId,
      access_key_id: issued.accessKeyId,
      role_arn: role.arn,
      session_token: box.wrap(issued.sessionToken, 'instance-role-token', issued.accessKeyId),
      issued_at: now.toISOString(),
      expires_at: issued.expiration.toISOString(),
    };
    await trx.deleteFrom('instance_role_credentials').where('association_id', '=', assoc.id).execute();
    await trx.insertInto('instance_role_credentials').values(row).execute();
    return { code: 'Success', roleName: role.name, lastUpdated: now, ...issued };
  });
}
