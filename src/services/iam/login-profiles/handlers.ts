// Login profiles: a console password for an IAM user. CreateLoginProfile, GetLoginProfile,
// UpdateLoginProfile, DeleteLoginProfile, ChangePassword (the caller's own) and
// GetAccountPasswordPolicy (no custom policy: IAM's default applies).
import type {
  ChangePasswordRequest,
  CreateLoginProfileRequest,
  CreateLoginProfileResponse,
  DeleteLoginProfileRequest,
  GetAccountPasswordPolicyResponse,
  GetLoginProfileRequest,
  GetLoginProfileResponse,
  LoginProfile,
  UpdateLoginProfileRequest,
} from '@aws-sdk/client-iam';
import { ApiError } from '../../errors.js';
import type { Ctx, IamHandlers } from '../../context.js';
import type { UserRow } from '../entities/store.js';
import { IamErrors } from '../errors.js';
import { callerUser, requireUser } from '../users/handlers.js';
import { checkPassword, hashPassword, verifyPassword } from './password.js';
import { deleteLoginProfileRow, insertLoginProfile, loginProfileOf, updateLoginProfileRow, type LoginProfileRow } from './store.js';

function view(user: UserRow, row: LoginProfileRow): LoginProfile {
  return { UserName: user.name, CreateDate: new Date(row.created_at), PasswordResetRequired: row.password_reset_required === 1 };
}

/** The user a request names, or the calling IAM user (the root user has no login profile here). */
async function subject(ctx: Ctx, userName: string | undefined): Promise<UserRow> {
  if (userName !== undefined) return requireUser(ctx, userName);
  const user = await callerUser(ctx);
  if (!user) throw IamErrors.validationError('Must specify userName when calling with non-User credentials');
  return user;
}

async function requireProfile(ctx: Ctx, user: UserRow): Promise<LoginProfileRow> {
  const row = await loginProfileOf(ctx.db, user.id);
  if (!row) throw IamErrors.noSuchEntityMessage(`Login Profile for User ${user.name} cannot be found.`);
  return row;
}

async function createLoginProfile(ctx: Ctx, input: CreateLoginProfileRequest): Promise<CreateLoginProfileResponse> {
  const user = await subject(ctx, input.UserName);
  const password = checkPassword(input.Password, 'password', user.name);
  if (await loginProfileOf(ctx.db, user.id)) throw IamErrors.entityAlreadyExistsMessage(`Login Profile for user ${user.name} already exists.`);
  const row: LoginProfileRow = {
    user_id: user.id,
    account_id: ctx.accountId,
    password_hash: await hashPassword(password),
    password_reset_required: input.PasswordResetRequired ? 1 : 0,
    created_at: ctx.now.toISOString(),
  };
  await insertLoginProfile(ctx.db, row);
  return { LoginProfile: view(user, row) };
}

async function getLoginProfile(ctx: Ctx, input: GetLoginProfileRequest): Promise<GetLoginProfileResponse> {
  const user = await subject(ctx, input.UserName);
  return { LoginProfile: view(user, await requireProfile(ctx, user)) };
}

async function updateLoginProfile(ctx: Ctx, input: UpdateLoginProfileRequest): Promise<Record<string, never>> {
  const user = await subject(ctx, input.UserName);
  await requireProfile(ctx, user);
  const changes: Partial<LoginProfileRow> = {};
  if (input.Password !== undefined) changes.password_hash = await hashPassword(checkPassword(input.Password, 'password', user.name));
  if (input.PasswordResetRequired !== undefined) changes.password_reset_required = input.PasswordResetRequired ? 1 : 0;
  if (Object.keys(changes).length) await updateLoginProfileRow(ctx.db, user.id, changes);
  return {};
}

async function deleteLoginProfile(ctx: Ctx, input: DeleteLoginProfileRequest): Promise<Record<string, never>> {
  const user = await subject(ctx, input.UserName);
  await requireProfile(ctx, user);
  await deleteLoginProfileRow(ctx.db, user.id);
  return {};
}

async function changePassword(ctx: Ctx, input: ChangePasswordRequest): Promise<Record<string, never>> {
  if (ctx.principal.kind !== 'user') {
    throw new ApiError('InvalidUserType', 'The request was rejected because the type of user for the transaction was incorrect.', 400);
  }
  const user = (await callerUser(ctx))!;
  const profile = await requireProfile(ctx, user);
  if (!(await verifyPassword(input.OldPassword ?? '', profile.password_hash))) throw IamErrors.invalidInput('The old password was incorrect.');
  const password = checkPassword(input.NewPassword, 'newPassword', user.name);
  // A changed password clears the reset IAM asked for.
  await updateLoginProfileRow(ctx.db, user.id, { password_hash: await hashPassword(password), password_reset_required: 0 });
  return {};
}

async function getAccountPasswordPolicy(ctx: Ctx): Promise<GetAccountPasswordPolicyResponse> {
  // No custom password policy can be set here: IAM answers that none is (its default applies).
  throw IamErrors.noSuchEntityMessage(`The Password Policy with domain name ${ctx.accountId} cannot be found.`);
}

export const handlers = {
  CreateLoginProfile: createLoginProfile,
  GetLoginProfile: getLoginProfile,
  UpdateLoginProfile: updateLoginProfile,
  DeleteLoginProfile: deleteLoginProfile,
  ChangePassword: changePassword,
  GetAccountPasswordPolicy: getAccountPasswordPolicy,
} satisfies IamHandlers;
