// Instance profiles: the container that carries one role to an instance. CreateInstanceProfile,
// GetInstanceProfile, ListInstanceProfiles, ListInstanceProfilesForRole, AddRoleToInstanceProfile,
// RemoveRoleFromInstanceProfile, DeleteInstanceProfile and their tags.
import type {
  AddRoleToInstanceProfileRequest,
  CreateInstanceProfileRequest,
  CreateInstanceProfileResponse,
  DeleteInstanceProfileRequest,
  GetInstanceProfileRequest,
  GetInstanceProfileResponse,
  InstanceProfile,
  ListInstanceProfilesForRoleRequest,
  ListInstanceProfilesForRoleResponse,
  ListInstanceProfilesRequest,
  ListInstanceProfilesResponse,
  ListInstanceProfileTagsRequest,
  ListInstanceProfileTagsResponse,
  RemoveRoleFromInstanceProfileRequest,
  TagInstanceProfileRequest,
  UntagInstanceProfileRequest,
} from '@aws-sdk/client-iam';
import { newIamId } from '../../../lib/ids.js';
import type { Ctx, IamHandlers } from '../../context.js';
import { checkName, checkPath, iamArn } from '../arns.js';
import { checkPathPrefix, paginate } from '../entities/paging.js';
import { entityCount, instanceProfileByName, roleById, type InstanceProfileRow, isUniqueViolation } from '../entities/store.js';
import { checkTags, putEntityTags, removeEntityTags, tagList, tagPage } from '../entities/tags.js';
import { IamErrors } from '../errors.js';
import { requireRole, roleView } from '../roles/handlers.js';
import { deleteInstanceProfileRow, insertInstanceProfile, instanceProfilesOf, instanceProfilesOfRole, setInstanceProfileRole } from './store.js';

const INSTANCE_PROFILES_PER_ACCOUNT = 1000;

async function instanceProfileView(ctx: Ctx, row: InstanceProfileRow, withTags = false): Promise<InstanceProfile> {
  const role = row.role_id ? await roleById(ctx.db, row.role_id) : undefined;
  const tags = withTags ? await tagList(ctx.db, row.id) : undefined;
  return {
    Path: row.path,
    InstanceProfileName: row.name,
    InstanceProfileId: row.id,
    Arn: row.arn,
    CreateDate: new Date(row.created_at),
    Roles: role ? [roleView(role)] : [],
    ...(tags ? { Tags: tags } : {}),
  };
}

async function requireInstanceProfile(ctx: Ctx, name: string | undefined): Promise<InstanceProfileRow> {
  const profile = await instanceProfileByName(ctx.db, ctx.accountId, checkName('instanceProfileName', name ?? '', 128));
  if (!profile) throw IamErrors.noSuchEntityMessage(`Instance Profile ${name} cannot be found.`);
  return profile;
}

async function createInstanceProfile(ctx: Ctx, input: CreateInstanceProfileRequest): Promise<CreateInstanceProfileResponse> {
  const name = checkName('instanceProfileName', input.InstanceProfileName ?? '', 128);
  const path = checkPath('path', input.Path);
  const tags = checkTags(input.Tags).map((t) => ({ Key: t.key, Value: t.value }));
  if (await instanceProfileByName(ctx.db, ctx.accountId, name)) throw IamErrors.entityAlreadyExistsMessage(`Instance Profile ${name} already exists.`);
  if ((await entityCount(ctx.db, 'iam_instance_profiles', ctx.accountId)) >= INSTANCE_PROFILES_PER_ACCOUNT) {
    throw IamErrors.limitExceeded(`Cannot exceed quota for InstanceProfilesPerAccount: ${INSTANCE_PROFILES_PER_ACCOUNT}`);
  }
  const row: InstanceProfileRow = {
    id: newIamId('AIPA'),
    account_id: ctx.accountId,
    name,
    name_key: name.toLowerCase(),
    path,
    arn: iamArn(ctx.accountId, 'instance-profile', path, name),
    created_at: ctx.now.toISOString(),
    role_id: null,
  };
  await insertInstanceProfile(ctx.db, row).catch((e: unknown) => {
    throw isUniqueViolation(e) ? IamErrors.entityAlreadyExistsMessage(`Instance Profile ${name} already exists.`) : e;
  });
  await putEntityTags(ctx.db, ctx.accountId, row.id, tags);
  return { InstanceProfile: { ...(await instanceProfileView(ctx, row)), ...(tags.length ? { Tags: tags } : {}) } };
}

async function getInstanceProfile(ctx: Ctx, input: GetInstanceProfileRequest): Promise<GetInstanceProfileResponse> {
  return { InstanceProfile: await instanceProfileView(ctx, await requireInstanceProfile(ctx, input.InstanceProfileName), true) };
}

async function listInstanceProfiles(ctx: Ctx, input: ListInstanceProfilesRequest): Promise<ListInstanceProfilesResponse> {
  const page = paginate(await instanceProfilesOf(ctx.db, ctx.accountId, checkPathPrefix(input.PathPrefix)), (p) => p.name_key, input);
  const views = await Promise.all(page.items.map((p) => instanceProfileView(ctx, p)));
  return { InstanceProfiles: views, IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function listInstanceProfilesForRole(ctx: Ctx, input: ListInstanceProfilesForRoleRequest): Promise<ListInstanceProfilesForRoleResponse> {
  const role = await requireRole(ctx, input.RoleName);
  const page = paginate(await instanceProfilesOfRole(ctx.db, role.id), (p) => p.name_key, input);
  const views = await Promise.all(page.items.map((p) => instanceProfileView(ctx, p)));
  return { InstanceProfiles: views, IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function addRoleToInstanceProfile(ctx: Ctx, input: AddRoleToInstanceProfileRequest): Promise<Record<string, never>> {
  const profile = await requireInstanceProfile(ctx, input.InstanceProfileName);
  const role = await requireRole(ctx, input.RoleName);
  if (profile.role_id) throw IamErrors.limitExceeded('Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1');
  await setInstanceProfileRole(ctx.db, profile.id, role.id);
  return {};
}

async function removeRoleFromInstanceProfile(ctx: Ctx, input: RemoveRoleFromInstanceProfileRequest): Promise<Record<string, never>> {
  const profile = await requireInstanceProfile(ctx, input.InstanceProfileName);
  const role = await requireRole(ctx, input.RoleName);
  if (profile.role_id !== role.id) throw IamErrors.noSuchEntity('role', role.name);
  await setInstanceProfileRole(ctx.db, profile.id, null);
  return {};
}

async function deleteInstanceProfile(ctx: Ctx, input: DeleteInstanceProfileRequest): Promise<Record<string, never>> {
  const profile = await requireInstanceProfile(ctx, input.InstanceProfileName);
  if (profile.role_id) throw IamErrors.deleteConflict('Cannot delete entity, must remove roles from instance profile first.');
  await deleteInstanceProfileRow(ctx.db, profile.id);
  return {};
}

async function tagInstanceProfile(ctx: Ctx, input: TagInstanceProfileRequest): Promise<Record<string, never>> {
  const profile = await requireInstanceProfile(ctx, input.InstanceProfileName);
  await putEntityTags(ctx.db, ctx.accountId, profile.id, input.Tags);
  return {};
}

async function untagInstanceProfile(ctx: Ctx, input: UntagInstanceProfileRequest): Promise<Record<string, never>> {
  const profile = await requireInstanceProfile(ctx, input.InstanceProfileName);
  await removeEntityTags(ctx.db, profile.id, input.TagKeys);
  return {};
}

async function listInstanceProfileTags(ctx: Ctx, input: ListInstanceProfileTagsRequest): Promise<ListInstanceProfileTagsResponse> {
  const profile = await requireInstanceProfile(ctx, input.InstanceProfileName);
  return tagPage(ctx.db, profile.id, input);
}

export const handlers = {
  CreateInstanceProfile: createInstanceProfile,
  GetInstanceProfile: getInstanceProfile,
  ListInstanceProfiles: listInstanceProfiles,
  ListInstanceProfilesForRole: listInstanceProfilesForRole,
  AddRoleToInstanceProfile: addRoleToInstanceProfile,
  RemoveRoleFromInstanceProfile: removeRoleFromInstanceProfile,
  DeleteInstanceProfile: deleteInstanceProfile,
  TagInstanceProfile: tagInstanceProfile,
  UntagInstanceProfile: untagInstanceProfile,
  ListInstanceProfileTags: listInstanceProfileTags,
} satisfies IamHandlers;
