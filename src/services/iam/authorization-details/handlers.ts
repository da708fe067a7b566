// GetAccountAuthorizationDetails: every user, group and role of the account with its policies, and
// the managed policies with their versions (AWS managed ones the account uses), paged together.
import type {
  AttachedPolicy,
  GetAccountAuthorizationDetailsRequest,
  GetAccountAuthorizationDetailsResponse,
  GroupDetail,
  InstanceProfile,
  ManagedPolicyDetail,
  PolicyDetail,
  Role,
  RoleDetail,
  UserDetail,
} from '@aws-sdk/client-iam';
import type { Ctx, IamHandlers } from '../../context.js';
import { attachedToMany, type AttachmentRow } from '../attachments/store.js';
import { encodeDocument } from '../documents.js';
import type { RoleRow } from '../entities/store.js';
import { IamErrors } from '../errors.js';
import { inlineOfAccount, type InlinePolicyRow } from '../inline-policies/store.js';
import { awsManagedPolicies } from '../managed/catalog.js';
import { paginate } from '../entities/paging.js';
import { awsPolicy, localPolicy } from '../policies/handlers.js';
import { attachmentCounts, boundaryCounts, policiesOf, versionNumber } from '../policies/store.js';
import { groupsOf, instanceProfilesOf, membershipsOf, rolesOf, tagsOfAccount, usersOf, versionsOfPolicies } from './store.js';

const FILTERS = ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'] as const;
type Filter = (typeof FILTERS)[number];

type Item = { user: UserDetail } | { group: GroupDetail } | { role: RoleDetail } | { policy: ManagedPolicyDetail };

function itemKey(i: Item): string {
  if ('user' in i) return `0:${i.user.UserName!.toLowerCase()}`;
  if ('group' in i) return `1:${i.group.GroupName!.toLowerCase()}`;
  if ('role' in i) return `2:${i.role.RoleName!.toLowerCase()}`;
  return `3:${i.policy.PolicyName!.toLowerCase()}\u0000${i.policy.Arn}`;
}

const inlineList = (rows: InlinePolicyRow[] | undefined): PolicyDetail[] => (rows ?? []).map((p) => ({ PolicyName: p.name, PolicyDocument: encodeDocument(p.document) }));
const attachedList = (rows: AttachmentRow[] | undefined): AttachedPolicy[] =>
  (rows ?? []).map((a) => ({ PolicyName: a.policy_arn.slice(a.policy_arn.lastIndexOf('/') + 1), PolicyArn: a.policy_arn }));
const boundary = (arn: string | null) => (arn ? { PermissionsBoundary: { PermissionsBoundaryType: 'PermissionsBoundaryPolicy' as const, PermissionsBoundaryArn: arn } } : {});

/** A role as IAM describes it inside an instance profile. */
function roleOf(r: RoleRow): Role {
  return {
    Path: r.path,
    RoleName: r.name,
    RoleId: r.id,
    Arn: r.arn,
    CreateDate: new Date(r.created_at),
    AssumeRolePolicyDocument: encodeDocument(r.assume_role_policy),
    ...(r.description !== null && { Description: r.description }),
    MaxSessionDuration: r.max_session_duration,
  };
}

async function getAccountAuthorizationDetails(ctx: Ctx, input: GetAccountAuthorizationDetailsRequest): Promise<GetAccountAuthorizationDetailsResponse> {
  const filter = new Set<Filter>();
  for (const f of input.Filter ?? []) {
    if (!(FILTERS as readonly string[]).includes(f)) {
      throw IamErrors.validationError(
        `1 validation error detected: Value '[${(input.Filter ?? []).join(', ')}]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${FILTERS.join(', ')}]]`,
      );
    }
    filter.add(f as Filter);
  }
  const wants = (f: Filter) => filter.size === 0 || filter.has(f);
  const { db, accountId } = ctx;
  const inline = await inlineOfAccount(db, accountId);
  const attached = await attachedToMany(db, accountId);
  const tags = await tagsOfAccount(db, accountId);
  const items: Item[] = [];

  const groups = await groupsOf(db, accountId);
  if (wants('User')) {
    const memberships = await membershipsOf(db, accountId);
    const groupName = new Map(groups.map((g) => [g.id, g.name]));
    for (const u of await usersOf(db, accountId)) {
      const user: UserDetail = {
        Path: u.path,
        UserName: u.name,
        UserId: u.id,
        Arn: u.arn,
        CreateDate: new Date(u.created_at),
        UserPolicyList: inlineList(inline.get(u.id)),
        GroupList: (memberships.get(u.id) ?? []).map((g) => groupName.get(g)!).sort((a, b) => a.localeCompare(b)),
        AttachedManagedPolicies: attachedList(attached.get(u.id)),
        ...boundary(u.permissions_boundary),
        Tags: tags.get(u.id) ?? [],
      };
      items.push({ user });
    }
  }
  if (wants('Group')) {
    for (const g of groups) {
      items.push({
        group: {
          Path: g.path,
          GroupName: g.name,
          GroupId: g.id,
          Arn: g.arn,
          CreateDate: new Date(g.created_at),
          GroupPolicyList: inlineList(inline.get(g.id)),
          AttachedManagedPolicies: attachedList(attached.get(g.id)),
        },
      });
    }
  }
  if (wants('Role')) {
    const roles = await rolesOf(db, accountId);
    const roleById = new Map(roles.map((r) => [r.id, r]));
    const profiles = await instanceProfilesOf(db, accountId);
    for (const r of roles) {
      const profileList: InstanceProfile[] = profiles
        .filter((p) => p.role_id === r.id)
        .map((p) => ({
          Path: p.path,
          InstanceProfileName: p.name,
          InstanceProfileId: p.id,
          Arn: p.arn,
          CreateDate: new Date(p.created_at),
          Roles: [roleOf(roleById.get(p.role_id!)!)],
          Tags: tags.get(p.id) ?? [],
        }));
      const role: RoleDetail = {
        Path: r.path,
        RoleName: r.name,
        RoleId: r.id,
        Arn: r.arn,
        CreateDate: new Date(r.created_at),
        AssumeRolePolicyDocument: encodeDocument(r.assume_role_policy),
        InstanceProfileList: profileList,
        RolePolicyList: inlineList(inline.get(r.id)),
        AttachedManagedPolicies: attachedList(attached.get(r.id)),
        ...boundary(r.permissions_boundary),
        Tags: tags.get(r.id) ?? [],
        RoleLastUsed: r.last_used_at ? { LastUsedDate: new Date(r.last_used_at), ...(r.last_used_region && { Region: r.last_used_region }) } : {},
      };
      items.push({ role });
    }
  }
  if (wants('LocalManagedPolicy') || wants('AWSManagedPolicy')) {
    const counts = await attachmentCounts(db, accountId);
    const bounds = await boundaryCounts(db, accountId);
    const c = (arn: string) => ({ attachments: counts.get(arn) ?? 0, boundaries: bounds.get(arn) ?? 0 });
    const details: ManagedPolicyDetail[] = [];
    if (wants('AWSManagedPolicy')) {
      // The AWS managed policies the account uses, as IAM lists them here.
      for (const p of awsManagedPolicies()) {
        const n = c(p.arn);
        if (n.attachments + n.boundaries === 0) continue;
        details.push({
          ...awsPolicy(p, n),
          Description: p.description,
          PolicyVersionList: [{ Document: encodeDocument(p.document), VersionId: p.defaultVersionId, IsDefaultVersion: true, CreateDate: new Date(p.updateDate) }],
        });
      }
    }
    if (wants('LocalManagedPolicy')) {
      const locals = await policiesOf(db, accountId);
      const versions = await versionsOfPolicies(db, locals);
      for (const p of locals) {
        details.push({
          ...localPolicy(p, c(p.arn)),
          ...(p.description !== null && { Description: p.description }),
          PolicyVersionList: (versions.get(p.id) ?? [])
            .sort((a, b) => versionNumber(b.version_id) - versionNumber(a.version_id))
            .map((v) => ({
              Document: encodeDocument(v.document),
              VersionId: v.version_id,
              IsDefaultVersion: v.version_id === p.default_version_id,
              CreateDate: new Date(v.created_at),
            })),
        });
      }
    }
    items.push(...details.map((policy) => ({ policy })));
  }

  // Users, groups, roles, then policies, each by name: the key paging's Marker names.
  const keyed = items.map((i) => ({ i, k: itemKey(i) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const paged = paginate(keyed, (x) => x.k, input);
  const page = { ...paged, items: paged.items.map((x) => x.i) };
  return {
    UserDetailList: page.items.flatMap((i) => ('user' in i ? [i.user] : [])),
    GroupDetailList: page.items.flatMap((i) => ('group' in i ? [i.group] : [])),
    RoleDetailList: page.items.flatMap((i) => ('role' in i ? [i.role] : [])),
    Policies: page.items.flatMap((i) => ('policy' in i ? [i.policy] : [])),
    IsTruncated: page.IsTruncated,
    ...(page.Marker ? { Marker: page.Marker } : {}),
  };
}

export const handlers = {
  GetAccountAuthorizationDetails: getAccountAuthorizationDetails,
} satisfies IamHandlers;
