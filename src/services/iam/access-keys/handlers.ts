// Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
// GetAccessKeyLastUsed. A request that names no user acts on the caller's own keys (the root
// user's when the caller is root). Secrets are stored wrapped, as Accounts stores the admin's.
import type {
  AccessKeyMetadata,
  CreateAccessKeyRequest,
  CreateAccessKeyResponse,
  DeleteAccessKeyRequest,
  GetAccessKeyLastUsedRequest,
  GetAccessKeyLastUsedResponse,
  ListAccessKeysRequest,
  ListAccessKeysResponse,
  UpdateAccessKeyRequest,
} from '@aws-sdk/client-iam';
import { newAccessKeyId, newSecretAccessKey } from '../../../lib/ids.js';
import type { Ctx, IamHandlers } from '../../context.js';
import { paginate } from '../entities/paging.js';
import { userById, type UserRow } from '../entities/store.js';
import { IamErrors } from '../errors.js';
import { callerUser, requireUser } from '../users/handlers.js';
import { deleteKey, insertIamAccessKey, keyById, keysOf, setKeyStatus, type AccessKeyRow } from './store.js';

const ACCESS_KEYS_PER_USER = 2;

/** The user a request names, or the caller (undefined: the root user). */
async function subject(ctx: Ctx, userName: string | undefined): Promise<UserRow | undefined> {
  return userName !== undefined ? requireUser(ctx, userName) : callerUser(ctx);
}

function checkAccessKeyId(id: string | undefined): string {
  const v = id ?? '';
  if (v.length < 16 || v.length > 128 || !/^\w+$/.test(v)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${v}' at 'accessKeyId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]+`,
    );
  }
  return v;
}

/** One key of the subject, or NoSuchEntity (a key of someone else is not found either). */
async function subjectKey(ctx: Ctx, user: UserRow | undefined, accessKeyId: string | undefined): Promise<AccessKeyRow> {
  const id = checkAccessKeyId(accessKeyId);
  const key = await keyById(ctx.db, ctx.accountId, id);
  if (!key || key.user_id !== (user?.id ?? null)) throw IamErrors.noSuchEntityMessage(`The Access Key with id ${id} cannot be found.`);
  return key;
}

function metadata(key: AccessKeyRow, user: UserRow | undefined): AccessKeyMetadata {
  return { ...(user ? { UserName: user.name } : {}), AccessKeyId: key.access_key_id, Status: key.status as 'Active' | 'Inactive', CreateDate: new Date(key.created_at) };
}

async function createAccessKey(ctx: Ctx, input: CreateAccessKeyRequest): Promise<CreateAccessKeyResponse> {
  const user = await subject(ctx, input.UserName);
  if ((await keysOf(ctx.db, ctx.accountId, user?.id ?? null)).length >= ACCESS_KEYS_PER_USER) {
    throw IamErrors.limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`);
  }
  const accessKeyId = newAccessKeyId();
  const secret = newSecretAccessKey();
  const created = ctx.now.toISOString();
  await insertIamAccessKey(ctx.db, {
    access_key_id: accessKeyId,
    account_id: ctx.accountId,
    secret_access_key: ctx.secrets.wrap(secret, 'access-key-secret', accessKeyId),
    status: 'Active',
    created_at: created,
    user_id: user?.id ?? null,
  });
  return {
    AccessKey: {
      ...(user ? { UserName: user.name } : {}),
      AccessKeyId: accessKeyId,
      Status: 'Active',
      SecretAccessKey: secret,
      CreateDate: new Date(created),
    } as CreateAccessKeyResponse['AccessKey'],
  };
}

async function listAccessKeys(ctx: Ctx, input: ListAccessKeysRequest): Promise<ListAccessKeysResponse> {
  const user = await subject(ctx, input.UserName);
  const page = paginate(await keysOf(ctx.db, ctx.accountId, user?.id ?? null), (k) => `${k.created_at} ${k.access_key_id}`, input);
  return { AccessKeyMetadata: page.items.map((k) => metadata(k, user)), IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function updateAccessKey(ctx: Ctx, input: UpdateAccessKeyRequest): Promise<Record<string, never>> {
  const user = await subject(ctx, input.UserName);
  const status = input.Status as string | undefined;
  if (status !== 'Active' && status !== 'Inactive') {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${status ?? null}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`,
    );
  }
  const key = await subjectKey(ctx, user, input.AccessKeyId);
  await setKeyStatus(ctx.db, key.access_key_id, status);
  return {};
}

async function deleteAccessKey(ctx: Ctx, input: DeleteAccessKeyRequest): Promise<Record<string, never>> {
  const user = await subject(ctx, input.UserName);
  const key = await subjectKey(ctx, user, input.AccessKeyId);
  await deleteKey(ctx.db, key.access_key_id);
  return {};
}

async function getAccessKeyLastUsed(ctx: Ctx, input: GetAccessKeyLastUsedRequest): Promise<GetAccessKeyLastUsedResponse> {
  const id = checkAccessKeyId(input.AccessKeyId);
  const key = await keyById(ctx.db, ctx.accountId, id);
  if (!key) throw IamErrors.noSuchEntityMessage(`The Access Key with id ${id} cannot be found.`);
  const user = key.user_id ? await userById(ctx.db, key.user_id) : undefined;
  // IAM answers N/A for the service and region of a key never used.
  const lastUsed = key.last_used_at
    ? { LastUsedDate: new Date(key.last_used_at), ServiceName: key.last_used_service ?? 'N/A', Region: key.last_used_region ?? 'N/A' }
    : { ServiceName: 'N/A', Region: 'N/A' };
  return { ...(user ? { UserName: user.name } : {}), AccessKeyLastUsed: lastUsed as GetAccessKeyLastUsedResponse['AccessKeyLastUsed'] };
}

export const handlers = {
  CreateAccessKey: createAccessKey,
  ListAccessKeys: listAccessKeys,
  UpdateAccessKey: updateAccessKey,
  DeleteAccessKey: deleteAccessKey,
  GetAccessKeyLastUsed: getAccessKeyLastUsed,
} satisfies IamHandlers;
