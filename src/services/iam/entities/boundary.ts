// A permissions boundary: the ARN of a managed policy (AWS's or the account's own) that caps what
// a user's or role's identity policies can allow.
import type { AttachedPermissionsBoundary } from '@aws-sdk/client-iam';
import type { Tx } from '../../../store/db.js';
import { IamErrors } from '../errors.js';
import { awsManagedPolicy } from '../managed/catalog.js';
import { managedPolicyByArn } from './store.js';

const POLICY_ARN = /^arn:aws:iam::(aws|\d{12}):policy\/.+$/;

/** The boundary's ARN once IAM would accept it: well formed and naming a policy that exists. */
export async function checkPermissionsBoundary(db: Tx, accountId: string, arn: string | undefined): Promise<string | null> {
  if (arn === undefined) return null;
  if (arn.length < 20 || arn.length > 2048 || !POLICY_ARN.test(arn)) throw IamErrors.invalidInput(`ARN ${arn} is not valid.`);
  const exists = arn.startsWith('arn:aws:iam::aws:') ? awsManagedPolicy(arn) : arn.startsWith(`arn:aws:iam::${accountId}:`) && (await managedPolicyByArn(db, arn));
  if (!exists) throw IamErrors.noSuchEntityMessage(`Scope ARN: ${arn} does not exist or is not attachable.`);
  return arn;
}

export function boundaryView(arn: string | null): { PermissionsBoundary?: AttachedPermissionsBoundary } {
  return arn ? { PermissionsBoundary: { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: arn } } : {};
}
