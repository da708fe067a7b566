// Inline policies of users, groups and roles: Put, Get, List, Delete. An entity's inline documents
// together stay within IAM's aggregate size (user 2,048, group 5,120, role 10,240, without whitespace).
import type {
  DeleteGroupPolicyRequest,
  DeleteRolePolicyRequest,
  DeleteUserPolicyRequest,
  GetGroupPolicyRequest,
  GetGroupPolicyResponse,
  GetRolePolicyRequest,
  GetRolePolicyResponse,
  GetUserPolicyRequest,
  GetUserPolicyResponse,
  ListGroupPoliciesRequest,
  ListGroupPoliciesResponse,
  ListRolePoliciesRequest,
  ListRolePoliciesResponse,
  ListUserPoliciesRequest,
  ListUserPoliciesResponse,
  PutGroupPolicyRequest,
  PutRolePolicyRequest,
  PutUserPolicyRequest,
} from '@aws-sdk/client-iam';
import type { Ctx, IamHandlers } from '../../context.js';
import type { IamEntityType } from '../../../store/schema.js';
import { checkName } from '../arns.js';
import { documentSize, encodeDocument, parseDocument } from '../documents.js';
import { entityByName } from '../entity-ref.js';
import { IamErrors } from '../errors.js';
import { paginate } from '../entities/paging.js';
import { deleteInline, inlineByName, inlineOf, putInline } from './store.js';

/** IAM's aggregate size of one entity's inline policies. */
export const INLINE_SIZE: Record<IamEntityType, number> = { user: 2048, group: 5120, role: 10240 };

/** The id an inline policy's statements carry in evaluation results: 'user/alice/inline/s3'. */
export function inlinePolicyId(type: IamEntityType, entityName: string, policyName: string): string {
  return `${type}/${entityName}/inline/${policyName}`;
}

const notFound = (type: IamEntityType, name: string) => IamErrors.noSuchEntityMessage(`The ${type} policy with name ${name} cannot be found.`);

async function put(ctx: Ctx, type: IamEntityType, entityName: string | undefined, policyName: string | undefined, text: string | undefined): Promise<Record<string, never>> {
  const entity = await entityByName(ctx, type, entityName);
  const name = checkName('policyName', policyName ?? '', 128);
  if (text === undefined) throw IamErrors.validationError("1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null");
  parseDocument(text, 'identity', inlinePolicyId(type, entity.row.name, name));
  const others = (await inlineOf(ctx.db, entity.row.id)).filter((p) => p.name !== name);
  const total = others.reduce((n, p) => n + documentSize(p.document), documentSize(text));
  if (total > INLINE_SIZE[type]) throw IamErrors.limitExceeded(`Maximum policy size of ${INLINE_SIZE[type]} bytes exceeded for ${type} ${entity.row.name}`);
  await putInline(ctx.db, { account_id: ctx.accountId, entity_type: type, entity_id: entity.row.id, name, document: text });
  return {};
}

async function get(ctx: Ctx, type: IamEntityType, entityName: string | undefined, policyName: string | undefined) {
  const entity = await entityByName(ctx, type, entityName);
  const name = checkName('policyName', policyName ?? '', 128);
  const row = await inlineByName(ctx.db, entity.row.id, name);
  if (!row) throw notFound(type, name);
  return { entityName: entity.row.name, PolicyName: row.name, PolicyDocument: encodeDocument(row.document) };
}

async function list(ctx: Ctx, type: IamEntityType, entityName: string | undefined, input: { Marker?: string; MaxItems?: number }) {
  const entity = await entityByName(ctx, type, entityName);
  const page = paginate(
    (await inlineOf(ctx.db, entity.row.id)).map((p) => p.name),
    (name) => name,
    input,
  );
  return { PolicyNames: page.items, IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function del(ctx: Ctx, type: IamEntityType, entityName: string | undefined, policyName: string | undefined): Promise<Record<string, never>> {
  const entity = await entityByName(ctx, type, entityName);
  const name = checkName('policyName', policyName ?? '', 128);
  if (!(await deleteInline(ctx.db, entity.row.id, name))) throw notFound(type, name);
  return {};
}

export const handlers = {
  PutUserPolicy: (ctx: Ctx, i: PutUserPolicyRequest) => put(ctx, 'user', i.UserName, i.PolicyName, i.PolicyDocument),
  PutGroupPolicy: (ctx: Ctx, i: PutGroupPolicyRequest) => put(ctx, 'group', i.GroupName, i.PolicyName, i.PolicyDocument),
  PutRolePolicy: (ctx: Ctx, i: PutRolePolicyRequest) => put(ctx, 'role', i.RoleName, i.PolicyName, i.PolicyDocument),
  GetUserPolicy: async (ctx: Ctx, i: GetUserPolicyRequest): Promise<GetUserPolicyResponse> => {
    const { entityName, ...p } = await get(ctx, 'user', i.UserName, i.PolicyName);
    return { UserName: entityName, ...p };
  },
  GetGroupPolicy: async (ctx: Ctx, i: GetGroupPolicyRequest): Promise<GetGroupPolicyResponse> => {
    const { entityName, ...p } = await get(ctx, 'group', i.GroupName, i.PolicyName);
    return { GroupName: entityName, ...p };
  },
  GetRolePolicy: async (ctx: Ctx, i: GetRolePolicyRequest): Promise<GetRolePolicyResponse> => {
    const { entityName, ...p } = await get(ctx, 'role', i.RoleName, i.PolicyName);
    return { RoleName: entityName, ...p };
  },
  ListUserPolicies: (ctx: Ctx, i: ListUserPoliciesRequest): Promise<ListUserPoliciesResponse> => list(ctx, 'user', i.UserName, i),
  ListGroupPolicies: (ctx: Ctx, i: ListGroupPoliciesRequest): Promise<ListGroupPoliciesResponse> => list(ctx, 'group', i.GroupName, i),
  ListRolePolicies: (ctx: Ctx, i: ListRolePoliciesRequest): Promise<ListRolePoliciesResponse> => list(ctx, 'role', i.RoleName, i),
  DeleteUserPolicy: (ctx: Ctx, i: DeleteUserPolicyRequest) => del(ctx, 'user', i.UserName, i.PolicyName),
  DeleteGroupPolicy: (ctx: Ctx, i: DeleteGroupPolicyRequest) => del(ctx, 'group', i.GroupName, i.PolicyName),
  DeleteRolePolicy: (ctx: Ctx, i: DeleteRolePolicyRequest) => del(ctx, 'role', i.RoleName, i.PolicyName),
} satisfies IamHandlers;
