// The iam-instance-profiles family's repository: associations of IAM instance profiles with
// instances (iip-assoc-…), kept in step with instances.iam_instance_profile, which
// DescribeInstances and the metadata service read.
import type { IamInstanceProfileAssociation, IamInstanceProfileSpecification } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { Tx } from '../../../store/db.js';
import type { Row } from '../../../store/schema.js';
import { instanceProfileByArn, instanceProfileByName, roleById, type InstanceProfileRow, type RoleRow } from '../../iam/entities/store.js';

export type AssociationRow = Row<'iam_instance_profile_associations'>;
export type AssociationState = AssociationRow['state'];

const ASSOCIATION_ID = /^iip-assoc-[0-9a-f]{17}$/;
export const newAssociationId = () => newId('iip-assoc');
export const isAssociationId = (id: string) => ASSOCIATION_ID.test(id);

export const associationNotFound = (id: string) => new ApiError('InvalidAssociationID.NotFound', `The association ID '${id}' does not exist`);

/** EC2's answer for a profile it cannot find, by ARN or by name. */
export function profileNotFound(spec: IamInstanceProfileSpecification): ApiError {
  if (spec.Arn !== undefined) return Errors.invalidParameterValue(`Value (${spec.Arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN`);
  return Errors.invalidParameterValue(`Value (${spec.Name ?? ''}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`);
}

export interface ResolvedProfile {
  profile: InstanceProfileRow;
  role: RoleRow;
}

/** The account's instance profile a specification names, without throwing (undefined: none). */
export async function findProfile(db: Tx, accountId: string, spec: IamInstanceProfileSpecification): Promise<InstanceProfileRow | undefined> {
  if (spec.Arn !== undefined) {
    const p = await instanceProfileByArn(db, spec.Arn);
    if (!p || p.account_id !== accountId) return undefined;
    // Both given: they must name the same profile.
    if (spec.Name !== undefined && spec.Name.toLowerCase() !== p.name.toLowerCase()) return undefined;
    return p;
  }
  if (spec.Name !== undefined) return instanceProfileByName(db, accountId, spec.Name);
  return undefined;
}

/** The profile and its role, or EC2's errors: unknown profile, or one that holds no role. */
export async function resolveProfile(db: Tx, accountId: string, spec: IamInstanceProfileSpecification | undefined, param = 'IamInstanceProfile'): Promise<ResolvedProfile> {
  if (!spec || (spec.Arn === undefined && spec.Name === undefined)) throw Errors.missingParameter(param);
  const profile = await findProfile(db, accountId, spec);
  if (!profile) throw profileNotFound(spec);
  const role = profile.role_id ? await roleById(db, profile.role_id) : undefined;
  if (!role) throw Errors.invalidParameterValue(`IAM Instance Profile "${profile.arn}" has no associated IAM Roles`);
  return { profile, role };
}

/** The instance's current association (at most one is not disassociated). */
export async function currentAssociationOf(db: Tx, instanceId: string): Promise<AssociationRow | undefined> {
  return db.selectFrom('iam_instance_profile_associations').selectAll().where('instance_id', '=', instanceId).where('state', '!=', 'disassociated').executeTakeFirst();
}

export async function associationById(db: Tx, accountId: string, region: string, id: string): Promise<AssociationRow | undefined> {
  return db.selectFrom('iam_instance_profile_associations').selectAll().where('id', '=', id).where('account_id', '=', accountId).where('region', '=', region).executeTakeFirst();
}

/** The account's associations in a region, by id; disassociated ones only when asked for. */
export async function listAssociations(db: Tx, accountId: string, region: string, o: { ids?: string[]; withEnded?: boolean } = {}): Promise<AssociationRow[]> {
  let q = db.selectFrom('iam_instance_profile_associations').selectAll().where('account_id', '=', accountId).where('region', '=', region);
  if (o.ids?.length) q = q.where('id', 'in', o.ids);
  if (!o.withEnded) q = q.where('state', '!=', 'disassociated');
  return q.orderBy('id').execute();
}

/** Associate: the row, and the instance's IamInstanceProfile ({Arn, Id}) in step. */
export async function insertAssociation(db: Tx, o: { accountId: string; region: string; instanceId: string; profile: InstanceProfileRow; now: Date }): Promise<AssociationRow> {
  const at = o.now.toISOString();
  const row: AssociationRow = {
    id: newAssociationId(),
    account_id: o.accountId,
    region: o.region,
    instance_id: o.instanceId,
    profile_arn: o.profile.arn,
    profile_id: o.profile.id,
    // The association takes effect in the request: the metadata service serves the role at once.
    state: 'associated',
    created_at: at,
    updated_at: at,
  };
  await db.insertInto('iam_instance_profile_associations').values(row).execute();
  await db
    .updateTable('instances')
    .set({ iam_instance_profile: JSON.stringify({ Arn: o.profile.arn, Id: o.profile.id }) })
    .where('id', '=', o.instanceId)
    .execute();
  return row;
}

/**
 * End an association: the metadata service stops serving its role's credentials (the session
 * already handed out stays valid until it expires, as on AWS). `clearInstance`: the instance has
 * no profile any more (not when a replacement follows, or for a terminated instance's record).
 */
export async function endAssociation(db: Tx, row: AssociationRow, now: Date, clearInstance: boolean): Promise<void> {
  await db.updateTable('iam_instance_profile_associations').set({ state: 'disassociated', updated_at: now.toISOString() }).where('id', '=', row.id).execute();
  await db.deleteFrom('instance_role_credentials').where('association_id', '=', row.id).execute();
  if (clearInstance) await db.updateTable('instances').set({ iam_instance_profile: null }).where('id', '=', row.instance_id).execute();
}

/** A terminated instance's association ends (DescribeInstances keeps the profile it ran with). */
export async function endAssociationsOfInstance(db: Tx, instanceId: string, now: Date): Promise<void> {
  const row = await currentAssociationOf(db, instanceId);
  if (row) await endAssociation(db, row, now, false);
}

/** The EC2 shape; `state` overrides the stored one for the answers of Associate/Replace/Disassociate. */
export function toAssociation(row: AssociationRow, state: AssociationState = row.state): IamInstanceProfileAssociation {
  return {
    AssociationId: row.id,
    InstanceId: row.instance_id,
    IamInstanceProfile: { Arn: row.profile_arn, Id: row.profile_id },
    State: state,
    Timestamp: new Date(row.created_at),
  };
}
