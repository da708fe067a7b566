// GetAccountSummary: the account's IAM entity counts and IAM's quotas that cumulo holds to.
import type { GetAccountSummaryResponse, SummaryKeyType } from '@aws-sdk/client-iam';
import type { Ctx, IamHandlers } from '../../context.js';
import { entityCount } from '../entities/store.js';
import { attachmentCount, customerPolicyCount, rootHasKeys } from './store.js';

/** IAM's default quotas (the ones this service enforces are the same numbers in its handlers). */
const QUOTAS = {
  UsersQuota: 5000,
  GroupsQuota: 300,
  RolesQuota: 1000,
  InstanceProfilesQuota: 1000,
  PoliciesQuota: 1500,
  PolicySizeQuota: 6144,
  UserPolicySizeQuota: 2048,
  GroupPolicySizeQuota: 5120,
  RolePolicySizeQuota: 10240,
  AssumeRolePolicySizeQuota: 2048,
  GroupsPerUserQuota: 10,
  AccessKeysPerUserQuota: 2,
  AttachedPoliciesPerUserQuota: 10,
  AttachedPoliciesPerGroupQuota: 10,
  AttachedPoliciesPerRoleQuota: 10,
  VersionsPerPolicyQuota: 5,
  PolicyVersionsInUseQuota: 10000,
  SigningCertificatesPerUserQuota: 2,
  ServerCertificatesQuota: 20,
} satisfies Partial<Record<SummaryKeyType, number>>;

async function getAccountSummary(ctx: Ctx): Promise<GetAccountSummaryResponse> {
  const { db, accountId } = ctx;
  const summary: Partial<Record<SummaryKeyType, number>> = {
    ...QUOTAS,
    Users: await entityCount(db, 'iam_users', accountId),
    Groups: await entityCount(db, 'iam_groups', accountId),
    Roles: await entityCount(db, 'iam_roles', accountId),
    InstanceProfiles: await entityCount(db, 'iam_instance_profiles', accountId),
    Policies: await customerPolicyCount(db, accountId),
    PolicyVersionsInUse: await attachmentCount(db, accountId),
    AccountAccessKeysPresent: (await rootHasKeys(db, accountId)) ? 1 : 0,
    // No MFA devices, signing or server certificates, or identity providers exist here.
    AccountMFAEnabled: 0,
    MFADevices: 0,
    MFADevicesInUse: 0,
    AccountSigningCertificatesPresent: 0,
    ServerCertificates: 0,
    Providers: 0,
    GlobalEndpointTokenVersion: 1,
  };
  return { SummaryMap: summary as GetAccountSummaryResponse['SummaryMap'] };
}

export const handlers = {
  GetAccountSummary: getAccountSummary,
} satisfies IamHandlers;
