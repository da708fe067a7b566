// IAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser, their tags and permissions
// boundary.
import type {
  CreateUserRequest,
  CreateUserResponse,
  DeleteUserRequest,
  GetUserRequest,
  GetUserResponse,
  ListUsersRequest,
  ListUsersResponse,
  ListUserTagsRequest,
  ListUserTagsResponse,
  TagUserRequest,
  UntagUserRequest,
  UpdateUserRequest,
  User,
  PutUserPermissionsBoundaryRequest,
  DeleteUserPermissionsBoundaryRequest,
} from '@aws-sdk/client-iam';
import { newIamId } from '../../../lib/ids.js';
import type { Ctx, IamHandlers } from '../../context.js';
import { checkName, checkPath, iamArn } from '../arns.js';
import { boundaryView, checkPermissionsBoundary } from '../entities/boundary.js';
import { checkPathPrefix, paginate } from '../entities/paging.js';
import { entityCount, policiesOn, userById, userByName, type UserRow, isUniqueViolation } from '../entities/store.js';
import { checkTags, putEntityTags, removeEntityTags, tagList, tagPage } from '../entities/tags.js';
import { IamErrors } from '../errors.js';
import { accountCreatedAt, deleteUserRow, insertUser, updateUserRow, userDependents, usersOf } from './store.js';

const USERS_PER_ACCOUNT = 5000;

/** A user as IAM lists it; GetUser and CreateUser add its permissions boundary and tags. */
export function userView(row: UserRow, extra: Partial<User> = {}): User {
  return {
    Path: row.path,
    UserName: row.name,
    UserId: row.id,
    Arn: row.arn,
    CreateDate: new Date(row.created_at),
    ...(row.password_last_used ? { PasswordLastUsed: new Date(row.password_last_used) } : {}),
    ...extra,
  };
}

/** The user named in a request, or NoSuchEntity. */
export async function requireUser(ctx: Ctx, name: string | undefined): Promise<UserRow> {
  const user = await userByName(ctx.db, ctx.accountId, checkName('userName', name ?? '', 128));
  if (!user) throw IamErrors.noSuchEntity('user', name!);
  return user;
}

/**
 * The IAM user a request acts as when it names none (GetUser, CreateAccessKey, ChangePassword…):
 * undefined for the root user; a role's session has no user to act as.
 */
export async function callerUser(ctx: Ctx): Promise<UserRow | undefined> {
  const p = ctx.principal;
  if (p.kind === 'root') return undefined;
  if (p.kind === 'user') {
    const user = await userById(ctx.db, p.userId);
    if (!user) throw IamErrors.noSuchEntity('user', p.name ?? p.userId);
    return user;
  }
  throw IamErrors.validationError('Must specify userName when calling with non-User credentials');
}

async function createUser(ctx: Ctx, input: CreateUserRequest): Promise<CreateUserResponse> {
  const name = checkName('userName', input.UserName ?? '', 64);
  const path = checkPath('path', input.Path);
  const tags = checkTags(input.Tags);
  const boundary = await checkPermissionsBoundary(ctx.db, ctx.accountId, input.PermissionsBoundary);
  if (await userByName(ctx.db, ctx.accountId, name)) throw IamErrors.entityAlreadyExists('User', name);
  if ((await entityCount(ctx.db, 'iam_users', ctx.accountId)) >= USERS_PER_ACCOUNT) {
    throw IamErrors.limitExceeded(`Cannot exceed quota for UsersPerAccount: ${USERS_PER_ACCOUNT}`);
  }
  const row: UserRow = {
    id: newIamId('AIDA'),
    account_id: ctx.accountId,
    name,
    name_key: name.toLowerCase(),
    path,
    arn: iamArn(ctx.accountId, 'user', path, name),
    created_at: ctx.now.toISOString(),
    permissions_boundary: boundary,
    password_last_used: null,
  };
  await insertUser(ctx.db, row).catch((e: unknown) => {
    throw isUniqueViolation(e) ? IamErrors.entityAlreadyExists('User', name) : e;
  });
  await putEntityTags(
    ctx.db,
    ctx.accountId,
    row.id,
    tags.map((t) => ({ Key: t.key, Value: t.value })),
  );
  return { User: userView(row, { ...boundaryView(boundary), ...(tags.length ? { Tags: tags.map((t) => ({ Key: t.key, Value: t.value })) } : {}) }) };
}

async function getUser(ctx: Ctx, input: GetUserRequest): Promise<GetUserResponse> {
  const user = input.UserName !== undefined ? await requireUser(ctx, input.UserName) : await callerUser(ctx);
  if (!user) {
    // The root user: IAM answers the account id as its id, and no name or path.
    const created = await accountCreatedAt(ctx.db, ctx.accountId);
    return { User: { UserId: ctx.accountId, Arn: `arn:aws:iam::${ctx.accountId}:root`, CreateDate: new Date(created ?? ctx.now) } as User };
  }
  const tags = await tagList(ctx.db, user.id);
  return { User: userView(user, { ...boundaryView(user.permissions_boundary), ...(tags ? { Tags: tags } : {}) }) };
}

async function listUsers(ctx: Ctx, input: ListUsersRequest): Promise<ListUsersResponse> {
  const page = paginate(await usersOf(ctx.db, ctx.accountId, checkPathPrefix(input.PathPrefix)), (u) => u.name_key, input);
  return { Users: page.items.map((u) => userView(u)), IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function updateUser(ctx: Ctx, input: UpdateUserRequest): Promise<Record<string, never>> {
  const user = await requireUser(ctx, input.UserName);
  const name = input.NewUserName === undefined ? user.name : checkName('newUserName', input.NewUserName, 64);
  const path = input.NewPath === undefined ? user.path : checkPath('newPath', input.NewPath);
  if (name.toLowerCase() !== user.name_key && (await userByName(ctx.db, ctx.accountId, name))) throw IamErrors.entityAlreadyExists('User', name);
  await updateUserRow(ctx.db, user.id, { name, name_key: name.toLowerCase(), path, arn: iamArn(ctx.accountId, 'user', path, name) });
  return {};
}

async function deleteUser(ctx: Ctx, input: DeleteUserRequest): Promise<Record<string, never>> {
  const user = await requireUser(ctx, input.UserName);
  const d = await userDependents(ctx.db, user.id);
  if (d.loginProfile) throw IamErrors.deleteConflict('Cannot delete entity, must delete login profile first.');
  if (d.accessKeys) throw IamErrors.deleteConflict('Cannot delete entity, must delete access keys first.');
  const p = await policiesOn(ctx.db, user.id);
  if (p.inline) throw IamErrors.deleteConflict('Cannot delete entity, must delete policies first.');
  if (p.attached) throw IamErrors.deleteConflict('Cannot delete entity, must detach all policies first.');
  if (d.groups) throw IamErrors.deleteConflict('Cannot delete entity, must remove user from all groups first.');
  await deleteUserRow(ctx.db, user.id);
  return {};
}

async function tagUser(ctx: Ctx, input: TagUserRequest): Promise<Record<string, never>> {
  const user = await requireUser(ctx, input.UserName);
  await putEntityTags(ctx.db, ctx.accountId, user.id, input.Tags);
  return {};
}

async function untagUser(ctx: Ctx, input: UntagUserRequest): Promise<Record<string, never>> {
  const user = await requireUser(ctx, input.UserName);
  await removeEntityTags(ctx.db, user.id, input.TagKeys);
  return {};
}

async function listUserTags(ctx: Ctx, input: ListUserTagsRequest): Promise<ListUserTagsResponse> {
  const user = await requireUser(ctx, input.UserName);
  return tagPage(ctx.db, user.id, input);
}

async function putUserPermissionsBoundary(ctx: Ctx, input: PutUserPermissionsBoundaryRequest): Promise<Record<string, never>> {
  const entity = await requireUser(ctx, input.UserName);
  const boundary = await checkPermissionsBoundary(ctx.db, ctx.accountId, input.PermissionsBoundary ?? '');
  await updateUserRow(ctx.db, entity.id, { permissions_boundary: boundary });
  return {};
}

async function deleteUserPermissionsBoundary(ctx: Ctx, input: DeleteUserPermissionsBoundaryRequest): Promise<Record<string, never>> {
  const entity = await requireUser(ctx, input.UserName);
  await updateUserRow(ctx.db, entity.id, { permissions_boundary: null });
  return {};
}

export const handlers = {
  CreateUser: createUser,
  GetUser: getUser,
  ListUsers: listUsers,
  UpdateUser: updateUser,
  DeleteUser: deleteUser,
  TagUser: tagUser,
  UntagUser: untagUser,
  ListUserTags: listUserTags,
  PutUserPermissionsBoundary: putUserPermissionsBoundary,
  DeleteUserPermissionsBoundary: deleteUserPermissionsBoundary,
} satisfies IamHandlers;
