// The owner's image attributes: ModifyImageAttribute (launch permissions, description, IMDS
// support) and ResetImageAttribute.
import type { LaunchPermission, ModifyImageAttributeRequest, ResetImageAttributeRequest } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { checkDescription, checkImageId, ownImage } from './manage.js';
import { addLaunchPermissions, refreshIsPublic, removeLaunchPermissions, updateImage } from './store.js';

const ACCOUNT_ID = /^\d{12}$/;

function badItem(kind: 'userId' | 'group', value: string | undefined): ApiError {
  return new ApiError('InvalidAMIAttributeItemValue', `Invalid attribute item value "${value ?? ''}" for ${kind} item type.`);
}

function grantees(perms: LaunchPermission[] | undefined): string[] {
  const out: string[] = [];
  for (const p of perms ?? []) {
    if (p.OrganizationArn || p.OrganizationalUnitArn) throw new ApiError('UnsupportedOperation', 'Sharing with organizations is not supported.');
    if (p.Group !== undefined) {
      if (p.Group !== 'all') throw badItem('group', p.Group);
      out.push('all');
    }
    if (p.UserId !== undefined) {
      if (!ACCOUNT_ID.test(p.UserId)) throw badItem('userId', p.UserId);
      out.push(p.UserId);
    }
    if (p.Group === undefined && p.UserId === undefined) throw Errors.missingParameter('LaunchPermission.UserId or LaunchPermission.Group');
  }
  return out;
}

async function modifyImageAttribute(ctx: Ctx, input: ModifyImageAttributeRequest): Promise<Record<string, never>> {
  const id = checkImageId(input.ImageId);
  if (input.OrganizationArns?.length || input.OrganizationalUnitArns?.length) throw new ApiError('UnsupportedOperation', 'Sharing with organizations is not supported.');
  if (input.ProductCodes?.length) throw new ApiError('InvalidParameter', 'Product codes can be added only by AWS Marketplace sellers.');
  const attribute = input.Attribute;
  if (attribute !== undefined && !['launchPermission', 'description', 'imdsSupport'].includes(attribute)) {
    throw Errors.invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
  let add: string[] = [];
  let remove: string[] = [];
  let description: string | undefined;
  let imds: string | undefined;
  if (input.LaunchPermission) {
    add = grantees(input.LaunchPermission.Add);
    remove = grantees(input.LaunchPermission.Remove);
  }
  if (input.UserIds?.length || input.UserGroups?.length || input.OperationType !== undefined) {
    if (attribute !== undefined && attribute !== 'launchPermission') {
      throw Errors.invalidParameterCombination('UserId, UserGroup and OperationType go with the attribute launchPermission only.');
    }
    if (input.OperationType === undefined) throw Errors.missingParameter('OperationType');
    if (input.OperationType !== 'add' && input.OperationType !== 'remove')
      throw Errors.invalidParameterValue(`Value (${input.OperationType}) for parameter operationType is invalid.`);
    const list = grantees([...(input.UserIds ?? []).map((u) => ({ UserId: u })), ...(input.UserGroups ?? []).map((g) => ({ Group: g as 'all' }))]);
    if (!list.length) throw Errors.missingParameter('UserId');
    if (input.OperationType === 'add') add.push(...list);
    else remove.push(...list);
  }
  if (input.Description?.Value !== undefined) description = input.Description.Value;
  if (input.ImdsSupport?.Value !== undefined) imds = input.ImdsSupport.Value;
  if (input.Value !== undefined) {
    if (attribute === 'description') description = input.Value;
    else if (attribute === 'imdsSupport') imds = input.Value;
    else throw Errors.invalidParameterCombination('Value goes with the attributes description and imdsSupport only.');
  }
  if (!add.length && !remove.length && description === undefined && imds === undefined) {
    throw Errors.missingParameter('LaunchPermission, Description or ImdsSupport');
  }
  if (description !== undefined) checkDescription(description);
  if (imds !== undefined && imds !== 'v2.0') throw Errors.invalidParameterValue(`Value (${imds}) for parameter imdsSupport is invalid. Valid values: v2.0`);

  await ownImage(ctx, id);
  await addLaunchPermissions(ctx.db, id, add);
  if (remove.length) await removeLaunchPermissions(ctx.db, id, remove);
  if (add.length || remove.length) await refreshIsPublic(ctx.db, id);
  if (description !== undefined) await updateImage(ctx.db, id, { description });
  if (imds !== undefined) await updateImage(ctx.db, id, { imds_support: imds });
  return {};
}

async function resetImageAttribute(ctx: Ctx, input: ResetImageAttributeRequest): Promise<Record<string, never>> {
  const id = checkImageId(input.ImageId);
  if (!input.Attribute) throw Errors.missingParameter('Attribute');
  // EC2 resets only launch permissions ("The only attribute that can be reset is launchPermission").
  if (input.Attribute !== 'launchPermission') {
    throw Errors.invalidParameterValue(`Value (${input.Attribute}) for parameter attribute is invalid. Only launchPermission can be reset.`);
  }
  await ownImage(ctx, id);
  await removeLaunchPermissions(ctx.db, id);
  await refreshIsPublic(ctx.db, id);
  return {};
}

export const attributeHandlers = {
  ModifyImageAttribute: modifyImageAttribute,
  ResetImageAttribute: resetImageAttribute,
} satisfies Ec2Handlers;
