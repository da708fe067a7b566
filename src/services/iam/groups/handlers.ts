// IAM groups: CreateGroup, GetGroup (with its users), ListGroups, UpdateGroup, DeleteGroup,
// AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser.
import type {
  AddUserToGroupRequest,
  CreateGroupRequest,
  CreateGroupResponse,
  DeleteGroupRequest,
  GetGroupRequest,
  GetGroupResponse,
  Group,
  ListGroupsForUserRequest,
  ListGroupsForUserResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  RemoveUserFromGroupRequest,
  UpdateGroupRequest,
} from '@aws-sdk/client-iam';
import { newIamId } from '../../../lib/ids.js';
import type { Ctx, IamHandlers } from '../../context.js';
import { checkName, checkPath, iamArn } from '../arns.js';
import { checkPathPrefix, paginate } from '../entities/paging.js';
import { entityCount, groupByName, policiesOn, type GroupRow, isUniqueViolation } from '../entities/store.js';
import { IamErrors } from '../errors.js';
import { requireUser, userView } from '../users/handlers.js';
import { addMember, deleteGroupRow, groupsOf, groupsOfUser, insertGroup, isMember, memberCount, membersOf, removeMember, updateGroupRow } from './store.js';

const GROUPS_PER_ACCOUNT = 300;
const GROUPS_PER_USER = 10;

export function groupView(row: GroupRow): Group {
  return { Path: row.path, GroupName: row.name, GroupId: row.id, Arn: row.arn, CreateDate: new Date(row.created_at) };
}

export async function requireGroup(ctx: Ctx, name: string | undefined): Promise<GroupRow> {
  const group = await groupByName(ctx.db, ctx.accountId, checkName('groupName', name ?? '', 128));
  if (!group) throw IamErrors.noSuchEntity('group', name!);
  return group;
}

async function createGroup(ctx: Ctx, input: CreateGroupRequest): Promise<CreateGroupResponse> {
  const name = checkName('groupName', input.GroupName ?? '', 128);
  const path = checkPath('path', input.Path);
  if (await groupByName(ctx.db, ctx.accountId, name)) throw IamErrors.entityAlreadyExists('Group', name);
  if ((await entityCount(ctx.db, 'iam_groups', ctx.accountId)) >= GROUPS_PER_ACCOUNT) {
    throw IamErrors.limitExceeded(`Cannot exceed quota for GroupsPerAccount: ${GROUPS_PER_ACCOUNT}`);
  }
  const row: GroupRow = {
    id: newIamId('AGPA'),
    account_id: ctx.accountId,
    name,
    name_key: name.toLowerCase(),
    path,
    arn: iamArn(ctx.accountId, 'group', path, name),
    created_at: ctx.now.toISOString(),
  };
  await insertGroup(ctx.db, row).catch((e: unknown) => {
    throw isUniqueViolation(e) ? IamErrors.entityAlreadyExists('Group', name) : e;
  });
  return { Group: groupView(row) };
}

async function getGroup(ctx: Ctx, input: GetGroupRequest): Promise<GetGroupResponse> {
  const group = await requireGroup(ctx, input.GroupName);
  const page = paginate(await membersOf(ctx.db, group.id), (u) => u.name_key, input);
  return { Group: groupView(group), Users: page.items.map((u) => userView(u)), IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function listGroups(ctx: Ctx, input: ListGroupsRequest): Promise<ListGroupsResponse> {
  const page = paginate(await groupsOf(ctx.db, ctx.accountId, checkPathPrefix(input.PathPrefix)), (g) => g.name_key, input);
  return { Groups: page.items.map(groupView), IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function updateGroup(ctx: Ctx, input: UpdateGroupRequest): Promise<Record<string, never>> {
  const group = await requireGroup(ctx, input.GroupName);
  const name = input.NewGroupName === undefined ? group.name : checkName('newGroupName', input.NewGroupName, 128);
  const path = input.NewPath === undefined ? group.path : checkPath('newPath', input.NewPath);
  if (name.toLowerCase() !== group.name_key && (await groupByName(ctx.db, ctx.accountId, name))) throw IamErrors.entityAlreadyExists('Group', name);
  await updateGroupRow(ctx.db, group.id, { name, name_key: name.toLowerCase(), path, arn: iamArn(ctx.accountId, 'group', path, name) });
  return {};
}

async function deleteGroup(ctx: Ctx, input: DeleteGroupRequest): Promise<Record<string, never>> {
  const group = await requireGroup(ctx, input.GroupName);
  if (await memberCount(ctx.db, group.id)) throw IamErrors.deleteConflict('Cannot delete entity, must remove users from group first.');
  const p = await policiesOn(ctx.db, group.id);
  if (p.inline) throw IamErrors.deleteConflict('Cannot delete entity, must delete policies first.');
  if (p.attached) throw IamErrors.deleteConflict('Cannot delete entity, must detach all policies first.');
  await deleteGroupRow(ctx.db, group.id);
  return {};
}

async function addUserToGroup(ctx: Ctx, input: AddUserToGroupRequest): Promise<Record<string, never>> {
  const group = await requireGroup(ctx, input.GroupName);
  const user = await requireUser(ctx, input.UserName);
  if (await isMember(ctx.db, group.id, user.id)) return {};
  if ((await groupsOfUser(ctx.db, user.id)).length >= GROUPS_PER_USER) throw IamErrors.limitExceeded(`Cannot exceed quota for GroupsPerUser: ${GROUPS_PER_USER}`);
  await addMember(ctx.db, ctx.accountId, group.id, user.id);
  return {};
}

async function removeUserFromGroup(ctx: Ctx, input: RemoveUserFromGroupRequest): Promise<Record<string, never>> {
  const group = await requireGroup(ctx, input.GroupName);
  const user = await requireUser(ctx, input.UserName);
  if (!(await isMember(ctx.db, group.id, user.id))) throw IamErrors.noSuchEntity('user', user.name);
  await removeMember(ctx.db, group.id, user.id);
  return {};
}

async function listGroupsForUser(ctx: Ctx, input: ListGroupsForUserRequest): Promise<ListGroupsForUserResponse> {
  const user = await requireUser(ctx, input.UserName);
  const page = paginate(await groupsOfUser(ctx.db, user.id), (g) => g.name_key, input);
  return { Groups: page.items.map(groupView), IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

export const handlers = {
  CreateGroup: createGroup,
  GetGroup: getGroup,
  ListGroups: listGroups,
  UpdateGroup: updateGroup,
  DeleteGroup: deleteGroup,
  AddUserToGroup: addUserToGroup,
  RemoveUserFromGroup: removeUserFromGroup,
  ListGroupsForUser: listGroupsForUser,
} satisfies IamHandlers;
