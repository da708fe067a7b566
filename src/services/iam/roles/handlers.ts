// IAM roles: CreateRole (its trust policy validated), GetRole, ListRoles, UpdateRole,
// UpdateRoleDescription, UpdateAssumeRolePolicy, DeleteRole, their tags and permissions boundary.
import type {
  CreateRoleRequest,
  CreateRoleResponse,
  DeleteRoleRequest,
  GetRoleRequest,
  GetRoleResponse,
  ListRolesRequest,
  ListRolesResponse,
  ListRoleTagsRequest,
  ListRoleTagsResponse,
  Role,
  TagRoleRequest,
  UntagRoleRequest,
  UpdateAssumeRolePolicyRequest,
  UpdateRoleDescriptionRequest,
  UpdateRoleDescriptionResponse,
  UpdateRoleRequest,
  PutRolePermissionsBoundaryRequest,
  DeleteRolePermissionsBoundaryRequest,
} from '@aws-sdk/client-iam';
import { newIamId } from '../../../lib/ids.js';
import type { Ctx, IamHandlers } from '../../context.js';
import { checkName, checkPath, iamArn } from '../arns.js';
import { boundaryView, checkPermissionsBoundary } from '../entities/boundary.js';
import { checkPathPrefix, paginate } from '../entities/paging.js';
import { entityCount, policiesOn, roleByName, userOrRoleArnExists, type RoleRow, isUniqueViolation } from '../entities/store.js';
import { checkTags, putEntityTags, removeEntityTags, tagList, tagPage } from '../entities/tags.js';
import { IamErrors } from '../errors.js';
import { parsePolicy, PolicyDocumentError, type Policy } from '../policy/index.js';
import { deleteRoleRow, insertRole, instanceProfilesWithRole, rolesOf, updateRoleRow } from './store.js';

const ROLES_PER_ACCOUNT = 1000;
/** IAM's default quota on a trust policy's size, counted without whitespace. */
const TRUST_POLICY_SIZE = 2048;

/** A role as IAM describes it; its trust policy URL-encoded, as IAM answers documents. */
export function roleView(row: RoleRow, extra: Partial<Role> = {}): Role {
  return {
    Path: row.path,
    RoleName: row.name,
    RoleId: row.id,
    Arn: row.arn,
    CreateDate: new Date(row.created_at),
    AssumeRolePolicyDocument: encodeURIComponent(row.assume_role_policy),
    ...(row.description !== null ? { Description: row.description } : {}),
    MaxSessionDuration: row.max_session_duration,
    ...extra,
  };
}

export async function requireRole(ctx: Ctx, name: string | undefined): Promise<RoleRow> {
  const role = await roleByName(ctx.db, ctx.accountId, checkName('roleName', name ?? '', 64));
  if (!role) throw IamErrors.noSuchEntity('role', name!);
  return role;
}

/**
 * A trust policy as IAM accepts it: a valid document of kind 'trust', within the size quota, whose
 * user and role principals exist (IAM resolves them when the policy is saved).
 */
async function checkTrustPolicy(ctx: Ctx, text: string | undefined, member: string): Promise<string> {
  if (text === undefined || text === '') {
    throw IamErrors.validationError(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  if (text.replace(/\s/g, '').length > TRUST_POLICY_SIZE) throw IamErrors.limitExceeded(`Cannot exceed quota for ACLSizePerRole: ${TRUST_POLICY_SIZE}`);
  let policy: Policy;
  try {
    policy = parsePolicy(text, 'trust', 'trust');
  } catch (e) {
    if (e instanceof PolicyDocumentError) throw IamErrors.malformedPolicyDocument(e.message);
    throw e;
  }
  for (const st of policy.statements) {
    const block = st.principal ?? st.notPrincipal;
    if (!block || block === '*') continue;
    for (const arn of block.AWS ?? []) {
      if (IAM_ENTITY_ARN.test(arn) && !(await userOrRoleArnExists(ctx.db, arn))) throw IamErrors.malformedPolicyDocument(`Invalid principal in policy: "AWS":"${arn}"`);
    }
  }
  return text;
}

const IAM_ENTITY_ARN = /^arn:aws:iam::\d{12}:(user|role)\//;

function checkMaxSessionDuration(v: number | undefined): number {
  const n = v ?? 3600;
  if (!Number.isInteger(n) || n < 3600) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${n}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600`,
    );
  }
  if (n > 43200) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${n}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200`,
    );
  }
  return n;
}

function checkDescription(v: string | undefined): string | null {
  if (v === undefined) return null;
  if (v.length > 1000) {
    throw IamErrors.validationError(`1 validation error detected: Value '${v}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000`);
  }
  if (!/^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$/.test(v)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${v}' at 'description' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*`,
    );
  }
  return v;
}

async function createRole(ctx: Ctx, input: CreateRoleRequest): Promise<CreateRoleResponse> {
  const name = checkName('roleName', input.RoleName ?? '', 64);
  const path = checkPath('path', input.Path);
  const document = await checkTrustPolicy(ctx, input.AssumeRolePolicyDocument, 'assumeRolePolicyDocument');
  const description = checkDescription(input.Description);
  const maxSession = checkMaxSessionDuration(input.MaxSessionDuration);
  const tags = checkTags(input.Tags);
  const boundary = await checkPermissionsBoundary(ctx.db, ctx.accountId, input.PermissionsBoundary);
  if (await roleByName(ctx.db, ctx.accountId, name)) throw IamErrors.entityAlreadyExists('Role', name);
  if ((await entityCount(ctx.db, 'iam_roles', ctx.accountId)) >= ROLES_PER_ACCOUNT) {
    throw IamErrors.limitExceeded(`Cannot exceed quota for RolesPerAccount: ${ROLES_PER_ACCOUNT}`);
  }
  const row: RoleRow = {
    id: newIamId('AROA'),
    account_id: ctx.accountId,
    name,
    name_key: name.toLowerCase(),
    path,
    arn: iamArn(ctx.accountId, 'role', path, name),
    created_at: ctx.now.toISOString(),
    assume_role_policy: document,
    description,
    max_session_duration: maxSession,
    permissions_boundary: boundary,
    last_used_at: null,
    last_used_region: null,
  };
  await insertRole(ctx.db, row).catch((e: unknown) => {
    throw isUniqueViolation(e) ? IamErrors.entityAlreadyExists('Role', name) : e;
  });
  const tagged = tags.map((t) => ({ Key: t.key, Value: t.value }));
  await putEntityTags(ctx.db, ctx.accountId, row.id, tagged);
  return { Role: roleView(row, { ...boundaryView(boundary), ...(tagged.length ? { Tags: tagged } : {}) }) };
}

async function getRole(ctx: Ctx, input: GetRoleRequest): Promise<GetRoleResponse> {
  const role = await requireRole(ctx, input.RoleName);
  const tags = await tagList(ctx.db, role.id);
  const lastUsed = role.last_used_at ? { LastUsedDate: new Date(role.last_used_at), ...(role.last_used_region ? { Region: role.last_used_region } : {}) } : {};
  return { Role: roleView(role, { ...boundaryView(role.permissions_boundary), ...(tags ? { Tags: tags } : {}), RoleLastUsed: lastUsed }) };
}

async function listRoles(ctx: Ctx, input: ListRolesRequest): Promise<ListRolesResponse> {
  const page = paginate(await rolesOf(ctx.db, ctx.accountId, checkPathPrefix(input.PathPrefix)), (r) => r.name_key, input);
  return { Roles: page.items.map((r) => roleView(r)), IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function updateRole(ctx: Ctx, input: UpdateRoleRequest): Promise<Record<string, never>> {
  const role = await requireRole(ctx, input.RoleName);
  const description = input.Description === undefined ? role.description : checkDescription(input.Description);
  const maxSession = input.MaxSessionDuration === undefined ? role.max_session_duration : checkMaxSessionDuration(input.MaxSessionDuration);
  await updateRoleRow(ctx.db, role.id, { description, max_session_duration: maxSession });
  return {};
}

async function updateRoleDescription(ctx: Ctx, input: UpdateRoleDescriptionRequest): Promise<UpdateRoleDescriptionResponse> {
  const role = await requireRole(ctx, input.RoleName);
  const description = checkDescription(input.Description ?? '');
  await updateRoleRow(ctx.db, role.id, { description });
  const tags = await tagList(ctx.db, role.id);
  return { Role: roleView({ ...role, description }, { ...boundaryView(role.permissions_boundary), ...(tags ? { Tags: tags } : {}) }) };
}

async function updateAssumeRolePolicy(ctx: Ctx, input: UpdateAssumeRolePolicyRequest): Promise<Record<string, never>> {
  const role = await requireRole(ctx, input.RoleName);
  const document = await checkTrustPolicy(ctx, input.PolicyDocument, 'policyDocument');
  await updateRoleRow(ctx.db, role.id, { assume_role_policy: document });
  return {};
}

async function deleteRole(ctx: Ctx, input: DeleteRoleRequest): Promise<Record<string, never>> {
  const role = await requireRole(ctx, input.RoleName);
  if (await instanceProfilesWithRole(ctx.db, role.id)) throw IamErrors.deleteConflict('Cannot delete entity, must remove roles from instance profile first.');
  const p = await policiesOn(ctx.db, role.id);
  if (p.inline) throw IamErrors.deleteConflict('Cannot delete entity, must delete policies first.');
  if (p.attached) throw IamErrors.deleteConflict('Cannot delete entity, must detach all policies first.');
  await deleteRoleRow(ctx.db, role.id);
  return {};
}

async function tagRole(ctx: Ctx, input: TagRoleRequest): Promise<Record<string, never>> {
  const role = await requireRole(ctx, input.RoleName);
  await putEntityTags(ctx.db, ctx.accountId, role.id, input.Tags);
  return {};
}

async function untagRole(ctx: Ctx, input: UntagRoleRequest): Promise<Record<string, never>> {
  const role = await requireRole(ctx, input.RoleName);
  await removeEntityTags(ctx.db, role.id, input.TagKeys);
  return {};
}

async function listRoleTags(ctx: Ctx, input: ListRoleTagsRequest): Promise<ListRoleTagsResponse> {
  const role = await requireRole(ctx, input.RoleName);
  return tagPage(ctx.db, role.id, input);
}

async function putRolePermissionsBoundary(ctx: Ctx, input: PutRolePermissionsBoundaryRequest): Promise<Record<string, never>> {
  const entity = await requireRole(ctx, input.RoleName);
  const boundary = await checkPermissionsBoundary(ctx.db, ctx.accountId, input.PermissionsBoundary ?? '');
  await updateRoleRow(ctx.db, entity.id, { permissions_boundary: boundary });
  return {};
}

async function deleteRolePermissionsBoundary(ctx: Ctx, input: DeleteRolePermissionsBoundaryRequest): Promise<Record<string, never>> {
  const entity = await requireRole(ctx, input.RoleName);
  await updateRoleRow(ctx.db, entity.id, { permissions_boundary: null });
  return {};
}

export const handlers = {
  CreateRole: createRole,
  GetRole: getRole,
  ListRoles: listRoles,
  UpdateRole: updateRole,
  UpdateRoleDescription: updateRoleDescription,
  UpdateAssumeRolePolicy: updateAssumeRolePolicy,
  DeleteRole: deleteRole,
  TagRole: tagRole,
  UntagRole: untagRole,
  ListRoleTags: listRoleTags,
  PutRolePermissionsBoundary: putRolePermissionsBoundary,
  DeleteRolePermissionsBoundary: deleteRolePermissionsBoundary,
} satisfies IamHandlers;
