// iam:PassRole as AWS checks it for EC2: giving an instance a profile passes the profile's role to
// the EC2 service, so the caller must also be allowed iam:PassRole on that role's ARN. The
// authorizer asks these questions beside the operation's own.
import type { IamInstanceProfileSpecification } from '@aws-sdk/client-ec2';
import type { Ctx } from '../../context.js';
import type { AuthzRequest } from '../../iam/policy/types.js';
import { roleById } from '../../iam/entities/store.js';
import { associationById, findProfile, isAssociationId } from './store.js';

export const EC2_SERVICE_PRINCIPAL = 'ec2.amazonaws.com';

/** The operations that pass a role to EC2 through an instance profile. */
const PASSING = new Set(['RunInstances', 'AssociateIamInstanceProfile', 'ReplaceIamInstanceProfileAssociation']);

const instanceArn = (ctx: Ctx, id: string) => `arn:aws:ec2:${ctx.region}:${ctx.accountId}:instance/${id}`;

/**
 * The iam:PassRole requests an EC2 operation makes: one on the role of the instance profile it
 * names, with iam:PassedToService (and iam:AssociatedResourceArn when the instance is already
 * known). None when the operation passes no profile, or names one that does not resolve (the
 * handler then answers EC2's own error).
 */
export async function passRoleRequests(ctx: Ctx, operation: string, input: Readonly<Record<string, unknown>>): Promise<AuthzRequest[]> {
  if (!PASSING.has(operation)) return [];
  const spec = input.IamInstanceProfile as IamInstanceProfileSpecification | undefined;
  if (!spec || typeof spec !== 'object' || (spec.Arn === undefined && spec.Name === undefined)) return [];
  const profile = await findProfile(ctx.db, ctx.accountId, spec);
  const role = profile?.role_id ? await roleById(ctx.db, profile.role_id) : undefined;
  if (!role) return [];
  let instanceId: string | undefined;
  if (operation === 'AssociateIamInstanceProfile' && typeof input.InstanceId === 'string') instanceId = input.InstanceId;
  if (operation === 'ReplaceIamInstanceProfileAssociation' && typeof input.AssociationId === 'string' && isAssociationId(input.AssociationId)) {
    instanceId = (await associationById(ctx.db, ctx.accountId, ctx.region, input.AssociationId))?.instance_id;
  }
  const context: Record<string, string> = { 'iam:PassedToService': EC2_SERVICE_PRINCIPAL };
  if (instanceId) context['iam:AssociatedResourceArn'] = instanceArn(ctx, instanceId);
  return [{ action: 'iam:PassRole', resource: role.arn, context }];
}
