// Every service cumulo serves, by its signing name (the credential scope's service): its model, its
// handlers and what a fresh region of it needs. The API routes requests through this table;
// controllers/index.ts registers each service's reconcilers under the same names (services never
// import controllers). A family adds itself with one import and one spread.
import { loadModel, type ServiceModel } from '../models/index.js';
import {
  handlerMap,
  type Ctx,
  type Ec2Operations,
  type HandlerMap,
  type Elbv2Operations,
  type IamOperations,
  type Mismatched,
  type NoMismatch,
  type StsOperations,
} from './context.js';
import { handlers as regions } from './ec2/regions/handlers.js';
import { handlers as images } from './ec2/images/handlers.js';
import { handlers as instanceTypes } from './ec2/instance-types/handlers.js';
import { handlers as tags } from './ec2/tags/handlers.js';
import { handlers as securityGroups } from './ec2/security-groups/handlers.js';
import { handlers as keyPairs } from './ec2/key-pairs/handlers.js';
import { handlers as sts } from './sts/handlers.js';
import type { ServiceAuthorization } from './iam/authorize.js';
import { iamAuthzRequests, stsAuthzRequests } from './iam/authz.js';
import { ec2AuthzRequests } from './ec2/authz.js';
import { handlers as instances } from './ec2/instances/handlers.js';
import { handlers as volumes } from './ec2/volumes/handlers.js';
import { handlers as networkInterfaces } from './ec2/network-interfaces/handlers.js';
import { handlers as addresses } from './ec2/addresses/handlers.js';
import { handlers as snapshots } from './ec2/snapshots/handlers.js';
import { createDefaultVpc } from './ec2/vpcs/default-vpc.js';
import { handlers as vpcs } from './ec2/vpcs/handlers.js';
import { handlers as prefixLists } from './ec2/prefix-lists/handlers.js';
import { handlers as instanceProfileAssociations } from './ec2/iam-instance-profiles/handlers.js';
import { passRoleRequests } from './ec2/iam-instance-profiles/pass-role.js';
import { handlers as iamUsers } from './iam/users/handlers.js';
import { handlers as iamGroups } from './iam/groups/handlers.js';
import { handlers as iamRoles } from './iam/roles/handlers.js';
import { handlers as iamInstanceProfiles } from './iam/instance-profiles/handlers.js';
import { handlers as iamAccessKeys } from './iam/access-keys/handlers.js';
import { handlers as iamLoginProfiles } from './iam/login-profiles/handlers.js';
import { handlers as iamAccount } from './iam/account/handlers.js';
import { handlers as policies } from './iam/policies/handlers.js';
import { handlers as attachments } from './iam/attachments/handlers.js';
import { handlers as inlinePolicies } from './iam/inline-policies/handlers.js';
import { handlers as authorizationDetails } from './iam/authorization-details/handlers.js';
import { handlers as simulatePolicies } from './iam/simulate/handlers.js';
import { handlers as loadBalancers } from './elbv2/load-balancers/handlers.js';
import { handlers as targetGroups } from './elbv2/target-groups/handlers.js';
import { handlers as listeners } from './elbv2/listeners/handlers.js';

const ec2 = {
  ...regions,
  ...tags,
  ...images,
  ...instanceTypes,
  ...securityGroups,
  ...keyPairs,
  ...vpcs,
  ...instances,
  ...volumes,
  ...networkInterfaces,
  ...addresses,
  ...snapshots,
  ...prefixLists,
  ...instanceProfileAssociations,
};

// IAM: one global service; its families spread into one map like EC2's.
const iam = {
  ...iamUsers,
  ...iamGroups,
  ...iamRoles,
  ...iamInstanceProfiles,
  ...iamAccessKeys,
  ...iamLoginProfiles,
  ...iamAccount,
  ...policies,
  ...attachments,
  ...inlinePolicies,
  ...authorizationDetails,
  ...simulatePolicies,
};

// Elastic Load Balancing v2: one regional service, its families spread like EC2's.
const elbv2 = {
  ...loadBalancers,
  ...targetGroups,
  ...listeners,
};

// Each family's `satisfies` checks its operation names and that its handlers fit their operations;
// these check that no handler declares an input or output member its operation does not have.
export type Ec2Checked = NoMismatch<Mismatched<typeof ec2, Ec2Operations>>;
export type StsChecked = NoMismatch<Mismatched<typeof sts, StsOperations>>;
export type IamChecked = NoMismatch<Mismatched<typeof iam, IamOperations>>;
export type Elbv2Checked = NoMismatch<Mismatched<typeof elbv2, Elbv2Operations>>;

/** The signing names of the services cumulo serves (or will: a model with no handlers yet). */
export const serviceNames = ['ec2', 'sts', 'iam', 'elasticloadbalancing', 'autoscaling', 'monitoring'] as const;
export type ServiceName = (typeof serviceNames)[number];

export interface Service {
  readonly name: ServiceName;
  /** The service's current model (undefined while none is generated for it: `npm run models`). */
  model(): ServiceModel | undefined;
  /** Its handlers by operation name; an operation of the model with none is UnsupportedOperation. */
  readonly handlers: HandlerMap;
  /**
   * Once per (account, region), before its first request to this service, in its own transaction:
   * what a fresh region has (EC2's default VPC).
   */
  readonly setupRegion?: (ctx: Ctx) => Promise<void>;
  /** How its calls are authorized: the IAM action prefix, the questions of a call, how a denial reads. */
  readonly authorization: ServiceAuthorization;
}

// EC2's questions: the resources a call touches, and iam:PassRole for an instance profile's role.
const ec2Authorization: ServiceAuthorization = {
  actionPrefix: 'ec2',
  requests: async (ctx, operation, input) => [...(await ec2AuthzRequests(ctx, operation, input)), ...(await passRoleRequests(ctx, operation, input))],
  denial: 'unauthorized-operation',
};
const accessDenied = (actionPrefix: string): ServiceAuthorization => ({ actionPrefix, denial: 'access-denied' });

const registrations: { readonly [S in ServiceName]: Omit<Service, 'name' | 'model'> } = {
  ec2: { handlers: handlerMap(ec2), setupRegion: createDefaultVpc, authorization: ec2Authorization },
  // GetCallerIdentity needs no permission: a policy that denies it is not consulted (as on AWS).
  sts: { handlers: handlerMap(sts), authorization: { ...accessDenied('sts'), requests: stsAuthzRequests, exempt: new Set(['GetCallerIdentity']) } },
  iam: { handlers: handlerMap(iam), authorization: { ...accessDenied('iam'), requests: iamAuthzRequests, changesPolicies: true } },
  elasticloadbalancing: { handlers: handlerMap(elbv2), authorization: accessDenied('elasticloadbalancing') },
  // Models only, so far: every operation answers UnsupportedOperation in the service's own protocol.
  // Their handler maps will satisfy AutoScalingHandlers and CloudWatchHandlers (context.ts).
  autoscaling: { handlers: {}, authorization: accessDenied('autoscaling') },
  // CloudWatch's signing name is monitoring; its IAM actions are cloudwatch:….
  monitoring: { handlers: {}, authorization: accessDenied('cloudwatch') },
};

/** Every service, by signing name. Models load on first use (EC2's is large). */
export function serviceRegistry(): ReadonlyMap<string, Service> {
  return new Map(serviceNames.map((name) => [name, { name, model: () => loadModel(name), ...registrations[name] }]));
}
