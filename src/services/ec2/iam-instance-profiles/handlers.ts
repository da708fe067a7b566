// IAM instance profiles on instances: AssociateIamInstanceProfile,
// ReplaceIamInstanceProfileAssociation, DisassociateIamInstanceProfile and
// DescribeIamInstanceProfileAssociations. An instance has at most one association; its role's
// credentials are what the metadata service serves (credentials.ts). RunInstances associates
// through the same repository.
import type {
  AssociateIamInstanceProfileRequest,
  AssociateIamInstanceProfileResult,
  DescribeIamInstanceProfileAssociationsRequest,
  DescribeIamInstanceProfileAssociationsResult,
  DisassociateIamInstanceProfileRequest,
  DisassociateIamInstanceProfileResult,
  IamInstanceProfileAssociation,
  ReplaceIamInstanceProfileAssociationRequest,
  ReplaceIamInstanceProfileAssociationResult,
} from '@aws-sdk/client-ec2';
import { Errors } from '../../errors.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { paginate } from '../common/pagination.js';
import { getInstanceRows } from '../instances/store.js';
import { associationFilters } from './filters.js';
import {
  associationById,
  associationNotFound,
  currentAssociationOf,
  endAssociation,
  insertAssociation,
  isAssociationId,
  listAssociations,
  resolveProfile,
  toAssociation,
  type AssociationRow,
} from './store.js';

/** The caller's association with this id, or EC2's errors. */
async function ownedAssociation(ctx: Ctx, id: string | undefined): Promise<AssociationRow> {
  if (!id) throw Errors.missingParameter('AssociationId');
  if (!isAssociationId(id)) throw Errors.invalidParameterValue(`Invalid value for associationId.`);
  const row = await associationById(ctx.db, ctx.accountId, ctx.region, id);
  if (!row || row.state === 'disassociated') throw associationNotFound(id);
  return row;
}

async function associateIamInstanceProfile(ctx: Ctx, input: AssociateIamInstanceProfileRequest): Promise<AssociateIamInstanceProfileResult> {
  if (!input.InstanceId) throw Errors.missingParameter('InstanceId');
  const [instance] = await getInstanceRows(ctx, [input.InstanceId]);
  const { profile } = await resolveProfile(ctx.db, ctx.accountId, input.IamInstanceProfile);
  if (instance!.state !== 'running' && instance!.state !== 'stopped') {
    throw Errors.incorrectInstanceState(`The instance '${instance!.id}' is not in the 'running' or 'stopped' states.`);
  }
  if (await currentAssociationOf(ctx.db, instance!.id)) throw Errors.incorrectState(`There is an existing association for instance ${instance!.id}`);
  const row = await insertAssociation(ctx.db, { accountId: ctx.accountId, region: ctx.region, instanceId: instance!.id, profile, now: ctx.now });
  // EC2 answers the association as it begins.
  return { IamInstanceProfileAssociation: toAssociation(row, 'associating') };
}

async function replaceIamInstanceProfileAssociation(ctx: Ctx, input: ReplaceIamInstanceProfileAssociationRequest): Promise<ReplaceIamInstanceProfileAssociationResult> {
  const old = await ownedAssociation(ctx, input.AssociationId);
  const { profile } = await resolveProfile(ctx.db, ctx.accountId, input.IamInstanceProfile);
  // A new association replaces the old one, which stops serving its role's credentials.
  await endAssociation(ctx.db, old, ctx.now, false);
  const row = await insertAssociation(ctx.db, { accountId: ctx.accountId, region: ctx.region, instanceId: old.instance_id, profile, now: ctx.now });
  return { IamInstanceProfileAssociation: toAssociation(row, 'associating') };
}

async function disassociateIamInstanceProfile(ctx: Ctx, input: DisassociateIamInstanceProfileRequest): Promise<DisassociateIamInstanceProfileResult> {
  const row = await ownedAssociation(ctx, input.AssociationId);
  await endAssociation(ctx.db, row, ctx.now, true);
  return { IamInstanceProfileAssociation: toAssociation(row, 'disassociating') };
}

async function describeIamInstanceProfileAssociations(ctx: Ctx, input: DescribeIamInstanceProfileAssociationsRequest): Promise<DescribeIamInstanceProfileAssociationsResult> {
  validateFilters(input.Filters, associationFilters);
  const ids = input.AssociationIds ?? [];
  for (const id of ids) if (!isAssociationId(id)) throw Errors.invalidParameterValue(`Invalid value for associationId.`);
  // A state filter may ask for ended associations; otherwise they are gone.
  const withEnded = (input.Filters ?? []).some((f) => f.Name === 'state' && (f.Values ?? []).includes('disassociated'));
  const rows = await listAssociations(ctx.db, ctx.accountId, ctx.region, { ids, withEnded });
  if (ids.length) {
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.find((id) => !found.has(id));
    if (missing) throw associationNotFound(missing);
  }
  const matched = applyFilters(
    rows.map((r) => toAssociation(r)),
    input.Filters,
    associationFilters,
  );
  const page = paginate<IamInstanceProfileAssociation>(matched, (a) => a.AssociationId!, { maxResults: input.MaxResults, nextToken: input.NextToken });
  return { IamInstanceProfileAssociations: page.items, NextToken: page.nextToken };
}

export const handlers = {
  AssociateIamInstanceProfile: associateIamInstanceProfile,
  ReplaceIamInstanceProfileAssociation: replaceIamInstanceProfileAssociation,
  DisassociateIamInstanceProfile: disassociateIamInstanceProfile,
  DescribeIamInstanceProfileAssociations: describeIamInstanceProfileAssociations,
} satisfies Ec2Handlers;
