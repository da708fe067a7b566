// Attach and detach managed policies to users, groups and roles; list what is attached where.
import type {
  AttachedPolicy,
  AttachGroupPolicyRequest,
  AttachRolePolicyRequest,
  AttachUserPolicyRequest,
  DetachGroupPolicyRequest,
  DetachRolePolicyRequest,
  DetachUserPolicyRequest,
  ListAttachedGroupPoliciesRequest,
  ListAttachedGroupPoliciesResponse,
  ListAttachedRolePoliciesRequest,
  ListAttachedRolePoliciesResponse,
  ListAttachedUserPoliciesRequest,
  ListAttachedUserPoliciesResponse,
  ListEntitiesForPolicyRequest,
  ListEntitiesForPolicyResponse,
} from '@aws-sdk/client-iam';
import type { Ctx, IamHandlers } from '../../context.js';
import type { IamEntityType } from '../../../store/schema.js';
import { entityByName, type EntityRef } from '../entity-ref.js';
import { IamErrors } from '../errors.js';
import { checkPathPrefix, paginate } from '../entities/paging.js';
import { findManagedPolicy, parsePolicyArn } from '../policies/store.js';
import { managedPolicyOf } from '../policies/handlers.js';
import { attach, attachedTo, detach, entitiesAttached, entitiesBounded, type EntityUse } from './store.js';

/** Managed policies per user, group or role (IAM's default quota). */
export const MAX_ATTACHED = 10;
const QUOTA_NAME: Record<IamEntityType, string> = { user: 'PoliciesPerUser', group: 'PoliciesPerGroup', role: 'PoliciesPerRole' };

async function attachTo(ctx: Ctx, type: IamEntityType, name: string | undefined, arn: string | undefined): Promise<Record<string, never>> {
  const entity = await entityByName(ctx, type, name);
  parsePolicyArn(arn);
  if (!(await findManagedPolicy(ctx.db, ctx.accountId, arn!))) throw IamErrors.noSuchEntityMessage(`Policy ${arn} does not exist or is not attachable.`);
  const attached = await attachedTo(ctx.db, entity.row.id);
  if (attached.some((a) => a.policy_arn === arn)) return {};
  if (attached.length >= MAX_ATTACHED) throw IamErrors.limitExceeded(`Cannot exceed quota for ${QUOTA_NAME[type]}: ${MAX_ATTACHED}`);
  await attach(ctx.db, { account_id: ctx.accountId, entity_type: type, entity_id: entity.row.id, policy_arn: arn!, attached_at: ctx.now.toISOString() });
  return {};
}

async function detachFrom(ctx: Ctx, type: IamEntityType, name: string | undefined, arn: string | undefined): Promise<Record<string, never>> {
  const entity = await entityByName(ctx, type, name);
  parsePolicyArn(arn);
  if (!(await detach(ctx.db, entity.row.id, arn!))) throw IamErrors.noSuchEntityMessage(`Policy ${arn} was not found.`);
  return {};
}

// Listings are ordered by a unique key, which paging's Marker names.
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const attachedKey = (p: AttachedPolicy) => `${p.PolicyName!.toLowerCase()}\u0000${p.PolicyArn}`;
const TYPE_ORDER: Record<IamEntityType, number> = { group: 0, user: 1, role: 2 };
const useKey = (u: EntityUse) => `${TYPE_ORDER[u.type]}:${u.name.toLowerCase()}`;

function nameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** The managed policies attached to an entity, as AttachedPolicy (name from the ARN). */
export async function attachedPoliciesOf(ctx: Ctx, entity: EntityRef, pathPrefix = '/'): Promise<AttachedPolicy[]> {
  const rows = await attachedTo(ctx.db, entity.row.id);
  return rows
    .filter((r) => parsePolicyArn(r.policy_arn).path.startsWith(pathPrefix))
    .map((r) => ({ PolicyName: nameOfArn(r.policy_arn), PolicyArn: r.policy_arn }))
    .sort((a, b) => byKey(attachedKey(a), attachedKey(b)));
}

type ListAttachedInput = { PathPrefix?: string; Marker?: string; MaxItems?: number };

async function listAttached(ctx: Ctx, type: IamEntityType, name: string | undefined, input: ListAttachedInput) {
  const entity = await entityByName(ctx, type, name);
  const page = paginate(await attachedPoliciesOf(ctx, entity, checkPathPrefix(input.PathPrefix)), attachedKey, input);
  return { AttachedPolicies: page.items, IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

const ENTITY_FILTERS = ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'];
const USAGES = ['PermissionsPolicy', 'PermissionsBoundary'];

async function listEntitiesForPolicy(ctx: Ctx, input: ListEntitiesForPolicyRequest): Promise<ListEntitiesForPolicyResponse> {
  const ref = await managedPolicyOf(ctx, input.PolicyArn);
  const filter = input.EntityFilter;
  if (filter !== undefined && !ENTITY_FILTERS.includes(filter)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${filter}' at 'entityFilter' failed to satisfy constraint: Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]`,
    );
  }
  const usage = input.PolicyUsageFilter;
  if (usage !== undefined && !USAGES.includes(usage)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${usage}' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]`,
    );
  }
  const prefix = checkPathPrefix(input.PathPrefix);
  const arn = ref.kind === 'aws' ? ref.policy.arn : ref.row.arn;
  const uses: EntityUse[] = [];
  if (usage !== 'PermissionsBoundary') uses.push(...(await entitiesAttached(ctx.db, ctx.accountId, arn)));
  if (usage !== 'PermissionsPolicy') {
    for (const u of await entitiesBounded(ctx.db, ctx.accountId, arn)) if (!uses.some((x) => x.id === u.id)) uses.push(u);
  }
  const wanted = (u: EntityUse) => {
    if (!u.path.startsWith(prefix)) return false;
    // LocalManagedPolicy / AWSManagedPolicy: every entity, if the policy is of that kind.
    if (filter === 'LocalManagedPolicy') return ref.kind === 'local';
    if (filter === 'AWSManagedPolicy') return ref.kind === 'aws';
    return filter === undefined || filter.toLowerCase() === u.type;
  };
  const page = paginate(
    uses.filter(wanted).sort((a, b) => byKey(useKey(a), useKey(b))),
    useKey,
    input,
  );
  return {
    PolicyGroups: page.items.filter((u) => u.type === 'group').map((u) => ({ GroupName: u.name, GroupId: u.id })),
    PolicyUsers: page.items.filter((u) => u.type === 'user').map((u) => ({ UserName: u.name, UserId: u.id })),
    PolicyRoles: page.items.filter((u) => u.type === 'role').map((u) => ({ RoleName: u.name, RoleId: u.id })),
    IsTruncated: page.IsTruncated,
    ...(page.Marker ? { Marker: page.Marker } : {}),
  };
}

export const handlers = {
  AttachUserPolicy: (ctx: Ctx, i: AttachUserPolicyRequest) => attachTo(ctx, 'user', i.UserName, i.PolicyArn),
  AttachGroupPolicy: (ctx: Ctx, i: AttachGroupPolicyRequest) => attachTo(ctx, 'group', i.GroupName, i.PolicyArn),
  AttachRolePolicy: (ctx: Ctx, i: AttachRolePolicyRequest) => attachTo(ctx, 'role', i.RoleName, i.PolicyArn),
  DetachUserPolicy: (ctx: Ctx, i: DetachUserPolicyRequest) => detachFrom(ctx, 'user', i.UserName, i.PolicyArn),
  DetachGroupPolicy: (ctx: Ctx, i: DetachGroupPolicyRequest) => detachFrom(ctx, 'group', i.GroupName, i.PolicyArn),
  DetachRolePolicy: (ctx: Ctx, i: DetachRolePolicyRequest) => detachFrom(ctx, 'role', i.RoleName, i.PolicyArn),
  ListAttachedUserPolicies: (ctx: Ctx, i: ListAttachedUserPoliciesRequest): Promise<ListAttachedUserPoliciesResponse> => listAttached(ctx, 'user', i.UserName, i),
  ListAttachedGroupPolicies: (ctx: Ctx, i: ListAttachedGroupPoliciesRequest): Promise<ListAttachedGroupPoliciesResponse> => listAttached(ctx, 'group', i.GroupName, i),
  ListAttachedRolePolicies: (ctx: Ctx, i: ListAttachedRolePoliciesRequest): Promise<ListAttachedRolePoliciesResponse> => listAttached(ctx, 'role', i.RoleName, i),
  ListEntitiesForPolicy: listEntitiesForPolicy,
} satisfies IamHandlers;
