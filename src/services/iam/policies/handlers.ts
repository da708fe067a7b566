// Managed policies: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy, their versions and tags.
// AWS managed policies (arn:aws:iam::aws:policy/…) are listed and read from the catalog, never changed.
import type {
  CreatePolicyRequest,
  CreatePolicyResponse,
  CreatePolicyVersionRequest,
  CreatePolicyVersionResponse,
  DeletePolicyRequest,
  DeletePolicyVersionRequest,
  GetPolicyRequest,
  GetPolicyResponse,
  GetPolicyVersionRequest,
  GetPolicyVersionResponse,
  ListPoliciesRequest,
  ListPoliciesResponse,
  ListPolicyTagsRequest,
  ListPolicyTagsResponse,
  ListPolicyVersionsRequest,
  ListPolicyVersionsResponse,
  Policy,
  PolicyVersion,
  SetDefaultPolicyVersionRequest,
  TagPolicyRequest,
  UntagPolicyRequest,
} from '@aws-sdk/client-iam';
import { newIamId } from '../../../lib/ids.js';
import type { Ctx, IamHandlers } from '../../context.js';
import { checkName, checkPath, iamArn } from '../arns.js';
import { documentSize, encodeDocument, parseDocument } from '../documents.js';
import { isUniqueViolation, type ManagedPolicyRow } from '../entities/store.js';
import { IamErrors } from '../errors.js';
import { awsManagedPolicies, type AwsManagedPolicy } from '../managed/catalog.js';
import { checkPathPrefix, paginate } from '../entities/paging.js';
import { checkTagKeys, checkTags, putEntityTags, removeEntityTags, tagList, tagPage } from '../entities/tags.js';
import {
  addVersion,
  attachmentCounts,
  boundaryCounts,
  deletePolicyRows,
  deleteVersion,
  findManagedPolicy,
  policiesOf,
  policyByName,
  insertPolicy,
  setDefaultVersion,
  versionNumber,
  versionOf,
  versionsOf,
  type ManagedPolicyRef,
} from './store.js';

export const MANAGED_POLICY_SIZE = 6144;
export const MAX_POLICY_VERSIONS = 5;

const duplicatePolicy = (name: string) => IamErrors.entityAlreadyExistsMessage(`A policy called ${name} already exists. Duplicate names are not allowed.`);

export const policyNotFound = (arn: string) => IamErrors.noSuchEntityMessage(`Policy ${arn} was not found.`);

/** The managed policy PolicyArn names, or NoSuchEntity. */
export async function managedPolicyOf(ctx: Ctx, arn: string | undefined): Promise<ManagedPolicyRef> {
  const ref = await findManagedPolicy(ctx.db, ctx.accountId, arn!);
  if (!ref) throw policyNotFound(arn!);
  return ref;
}

/** A customer managed policy, for the operations that change one: AWS's own are not the caller's to change. */
async function ownPolicyOf(ctx: Ctx, arn: string | undefined): Promise<ManagedPolicyRow> {
  const ref = await managedPolicyOf(ctx, arn);
  if (ref.kind === 'aws') {
    throw IamErrors.accessDenied(`User: ${ctx.principal.arn} is not authorized to perform: iam:${ctx.operation} on resource: policy ${ref.policy.arn}`);
  }
  return ref.row;
}

/** A new managed policy document: valid, version 2012-10-17, within 6,144 characters. */
function checkDocument(text: string | undefined, arn: string): string {
  if (text === undefined) throw IamErrors.validationError("1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null");
  parseDocument(text, 'identity', arn, true);
  if (documentSize(text) > MANAGED_POLICY_SIZE) throw IamErrors.limitExceeded(`Cannot exceed quota for PolicySize: ${MANAGED_POLICY_SIZE}`);
  return text;
}

function checkVersionId(v: string | undefined): string {
  if (v === undefined || !/^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/.test(v)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${v ?? null}' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?`,
    );
  }
  return v;
}

const versionNotFound = (arn: string, v: string) => IamErrors.noSuchEntityMessage(`Policy ${arn} version ${v} does not exist or is not attachable.`);

interface Counts {
  attachments: number;
  boundaries: number;
}

export function localPolicy(row: ManagedPolicyRow, c: Counts): Policy {
  return {
    PolicyName: row.name,
    PolicyId: row.id,
    Arn: row.arn,
    Path: row.path,
    DefaultVersionId: row.default_version_id,
    AttachmentCount: c.attachments,
    PermissionsBoundaryUsageCount: c.boundaries,
    IsAttachable: true,
    CreateDate: new Date(row.created_at),
    UpdateDate: new Date(row.updated_at),
  };
}

export function awsPolicy(p: AwsManagedPolicy, c: Counts): Policy {
  return {
    PolicyName: p.name,
    PolicyId: p.policyId,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.defaultVersionId,
    AttachmentCount: c.attachments,
    PermissionsBoundaryUsageCount: c.boundaries,
    IsAttachable: true,
    CreateDate: new Date(p.createDate),
    UpdateDate: new Date(p.updateDate),
  };
}

async function countsOf(ctx: Ctx, arn: string): Promise<Counts> {
  const attachments = (await attachmentCounts(ctx.db, ctx.accountId, arn)).get(arn) ?? 0;
  const boundaries = (await boundaryCounts(ctx.db, ctx.accountId)).get(arn) ?? 0;
  return { attachments, boundaries };
}

async function createPolicy(ctx: Ctx, input: CreatePolicyRequest): Promise<CreatePolicyResponse> {
  const name = checkName('policyName', input.PolicyName ?? '', 128);
  const path = checkPath('path', input.Path);
  if (input.Description !== undefined && input.Description.length > 1000) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${input.Description}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000`,
    );
  }
  const arn = iamArn(ctx.accountId, 'policy', path, name);
  const document = checkDocument(input.PolicyDocument, arn);
  const tags = checkTags(input.Tags);
  if (await policyByName(ctx.db, ctx.accountId, name)) throw duplicatePolicy(name);
  const now = ctx.now.toISOString();
  const row: ManagedPolicyRow = {
    id: newIamId('ANPA'),
    account_id: ctx.accountId,
    name,
    name_key: name.toLowerCase(),
    path,
    arn,
    created_at: now,
    description: input.Description ?? null,
    default_version_id: 'v1',
    next_version: 2,
    updated_at: now,
  };
  await insertPolicy(ctx.db, row, document).catch((e: unknown) => {
    // Two requests creating one name at once: the unique index decides.
    throw isUniqueViolation(e) ? duplicatePolicy(name) : e;
  });
  await putEntityTags(ctx.db, ctx.accountId, row.id, input.Tags);
  const out = localPolicy(row, { attachments: 0, boundaries: 0 });
  if (tags.length) out.Tags = tags.map((t) => ({ Key: t.key, Value: t.value }));
  return { Policy: out };
}

async function getPolicy(ctx: Ctx, input: GetPolicyRequest): Promise<GetPolicyResponse> {
  const ref = await managedPolicyOf(ctx, input.PolicyArn);
  if (ref.kind === 'aws') {
    return { Policy: { ...awsPolicy(ref.policy, await countsOf(ctx, ref.policy.arn)), Description: ref.policy.description } };
  }
  const out = localPolicy(ref.row, await countsOf(ctx, ref.row.arn));
  if (ref.row.description !== null) out.Description = ref.row.description;
  const tags = await tagList(ctx.db, ref.row.id);
  if (tags) out.Tags = tags;
  return { Policy: out };
}

/** ListPolicies' order and Marker: name without regard to case, then ARN. */
const policyKey = (p: Policy) => `${p.PolicyName!.toLowerCase()}\u0000${p.Arn}`;

const SCOPES = ['All', 'AWS', 'Local'];
const USAGES = ['PermissionsPolicy', 'PermissionsBoundary'];

async function listPolicies(ctx: Ctx, input: ListPoliciesRequest): Promise<ListPoliciesResponse> {
  const scope = input.Scope ?? 'All';
  if (!SCOPES.includes(scope)) {
    throw IamErrors.validationError(`1 validation error detected: Value '${scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]`);
  }
  const usage = input.PolicyUsageFilter;
  if (usage !== undefined && !USAGES.includes(usage)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${usage}' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]`,
    );
  }
  const prefix = checkPathPrefix(input.PathPrefix);
  const attachments = await attachmentCounts(ctx.db, ctx.accountId);
  const boundaries = await boundaryCounts(ctx.db, ctx.accountId);
  const counts = (arn: string): Counts => ({ attachments: attachments.get(arn) ?? 0, boundaries: boundaries.get(arn) ?? 0 });
  const all: Policy[] = [];
  if (scope !== 'Local') all.push(...awsManagedPolicies().map((p) => awsPolicy(p, counts(p.arn))));
  if (scope !== 'AWS') all.push(...(await policiesOf(ctx.db, ctx.accountId)).map((r) => localPolicy(r, counts(r.arn))));
  // PolicyUsageFilter keeps the policies in that use (attached as a permissions policy, or set as
  // a permissions boundary), as the console's "Used as" does; OnlyAttached keeps those in either.
  const inUse = (p: Policy) =>
    (usage !== 'PermissionsPolicy' || p.AttachmentCount! > 0) &&
    (usage !== 'PermissionsBoundary' || p.PermissionsBoundaryUsageCount! > 0) &&
    (!input.OnlyAttached || p.AttachmentCount! + p.PermissionsBoundaryUsageCount! > 0);
  const chosen = all.filter((p) => p.Path!.startsWith(prefix) && inUse(p)).sort((a, b) => (policyKey(a) < policyKey(b) ? -1 : policyKey(a) > policyKey(b) ? 1 : 0));
  const page = paginate(chosen, policyKey, input);
  return { Policies: page.items, IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function deletePolicy(ctx: Ctx, input: DeletePolicyRequest): Promise<Record<string, never>> {
  const row = await ownPolicyOf(ctx, input.PolicyArn);
  const c = await countsOf(ctx, row.arn);
  if (c.attachments > 0 || c.boundaries > 0) throw IamErrors.deleteConflict('Cannot delete a policy attached to entities.');
  if ((await versionsOf(ctx.db, row.id)).length > 1) {
    throw IamErrors.deleteConflict(
      "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
    );
  }
  await deletePolicyRows(ctx.db, row.id);
  return {};
}

function versionOut(v: { version_id: string; created_at: string }, isDefault: boolean, document?: string): PolicyVersion {
  const out: PolicyVersion = { VersionId: v.version_id, IsDefaultVersion: isDefault, CreateDate: new Date(v.created_at) };
  if (document !== undefined) out.Document = encodeDocument(document);
  return out;
}

async function createPolicyVersion(ctx: Ctx, input: CreatePolicyVersionRequest): Promise<CreatePolicyVersionResponse> {
  const row = await ownPolicyOf(ctx, input.PolicyArn);
  const document = checkDocument(input.PolicyDocument, row.arn);
  if ((await versionsOf(ctx.db, row.id)).length >= MAX_POLICY_VERSIONS) {
    throw IamErrors.limitExceeded(`A managed policy can have up to ${MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.`);
  }
  const now = ctx.now.toISOString();
  const asDefault = input.SetAsDefault === true;
  const versionId = await addVersion(ctx.db, row, document, asDefault, now);
  // CreatePolicyVersion answers without the document.
  return { PolicyVersion: versionOut({ version_id: versionId, created_at: now }, asDefault) };
}

async function getPolicyVersion(ctx: Ctx, input: GetPolicyVersionRequest): Promise<GetPolicyVersionResponse> {
  const ref = await managedPolicyOf(ctx, input.PolicyArn);
  const v = checkVersionId(input.VersionId);
  if (ref.kind === 'aws') {
    // The catalog holds each AWS managed policy's default version.
    if (v !== ref.policy.defaultVersionId) throw versionNotFound(ref.policy.arn, v);
    return { PolicyVersion: versionOut({ version_id: v, created_at: ref.policy.updateDate }, true, ref.policy.document) };
  }
  const row = await versionOf(ctx.db, ref.row.id, v);
  if (!row) throw versionNotFound(ref.row.arn, v);
  return { PolicyVersion: versionOut(row, v === ref.row.default_version_id, row.document) };
}

async function listPolicyVersions(ctx: Ctx, input: ListPolicyVersionsRequest): Promise<ListPolicyVersionsResponse> {
  const ref = await managedPolicyOf(ctx, input.PolicyArn);
  const all =
    ref.kind === 'aws'
      ? [versionOut({ version_id: ref.policy.defaultVersionId, created_at: ref.policy.updateDate }, true)]
      : (await versionsOf(ctx.db, ref.row.id)).map((v) => versionOut(v, v.version_id === ref.row.default_version_id));
  // Newest first: the key counts down.
  const page = paginate(all, (v) => String(1e9 - versionNumber(v.VersionId!)).padStart(10, '0'), input);
  return { Versions: page.items, IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
}

async function deletePolicyVersion(ctx: Ctx, input: DeletePolicyVersionRequest): Promise<Record<string, never>> {
  const row = await ownPolicyOf(ctx, input.PolicyArn);
  const v = checkVersionId(input.VersionId);
  if (!(await versionOf(ctx.db, row.id, v))) throw versionNotFound(row.arn, v);
  if (v === row.default_version_id) throw IamErrors.deleteConflict('Cannot delete the default version of a policy.');
  await deleteVersion(ctx.db, row.id, v);
  return {};
}

async function setDefaultPolicyVersion(ctx: Ctx, input: SetDefaultPolicyVersionRequest): Promise<Record<string, never>> {
  const row = await ownPolicyOf(ctx, input.PolicyArn);
  const v = checkVersionId(input.VersionId);
  if (!(await versionOf(ctx.db, row.id, v))) throw versionNotFound(row.arn, v);
  await setDefaultVersion(ctx.db, row.id, v);
  return {};
}

async function tagPolicy(ctx: Ctx, input: TagPolicyRequest): Promise<Record<string, never>> {
  const row = await ownPolicyOf(ctx, input.PolicyArn);
  await putEntityTags(ctx.db, ctx.accountId, row.id, input.Tags);
  return {};
}

async function untagPolicy(ctx: Ctx, input: UntagPolicyRequest): Promise<Record<string, never>> {
  const row = await ownPolicyOf(ctx, input.PolicyArn);
  await removeEntityTags(ctx.db, row.id, checkTagKeys(input.TagKeys));
  return {};
}

async function listPolicyTags(ctx: Ctx, input: ListPolicyTagsRequest): Promise<ListPolicyTagsResponse> {
  const ref = await managedPolicyOf(ctx, input.PolicyArn);
  // AWS managed policies carry no tags of the account's.
  if (ref.kind === 'aws') return { Tags: [], IsTruncated: false };
  return tagPage(ctx.db, ref.row.id, input);
}

export const handlers = {
  CreatePolicy: createPolicy,
  GetPolicy: getPolicy,
  ListPolicies: listPolicies,
  DeletePolicy: deletePolicy,
  CreatePolicyVersion: createPolicyVersion,
  GetPolicyVersion: getPolicyVersion,
  ListPolicyVersions: listPolicyVersions,
  DeletePolicyVersion: deletePolicyVersion,
  SetDefaultPolicyVersion: setDefaultPolicyVersion,
  TagPolicy: tagPolicy,
  UntagPolicy: untagPolicy,
  ListPolicyTags: listPolicyTags,
} satisfies IamHandlers;
