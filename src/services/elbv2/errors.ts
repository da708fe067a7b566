// Elastic Load Balancing's own errors (the Query protocol's <ErrorResponse>): the codes of the
// model's awsQueryError traits, with their HTTP statuses. ValidationError is the Query services'
// generic refusal of a malformed parameter.
import { ApiError } from '../errors.js';

const e =
  (code: string, status = 400) =>
  (message: string) =>
    new ApiError(code, message, status);

export const ElbErrors = {
  validationError: e('ValidationError'),
  loadBalancerNotFound: (message = 'One or more load balancers not found') => new ApiError('LoadBalancerNotFound', message, 400),
  targetGroupNotFound: (message = 'One or more target groups not found') => new ApiError('TargetGroupNotFound', message, 400),
  listenerNotFound: (message = 'One or more listeners not found') => new ApiError('ListenerNotFound', message, 400),
  ruleNotFound: (message = 'One or more rules not found') => new ApiError('RuleNotFound', message, 400),
  certificateNotFound: (message = 'Certificate not found') => new ApiError('CertificateNotFound', message, 400),
  sslPolicyNotFound: e('SSLPolicyNotFound'),
  subnetNotFound: e('SubnetNotFound'),
  allocationIdNotFound: e('AllocationIdNotFound'),
  alpnPolicyNotFound: e('ALPNPolicyNotFound'),
  resourceNotFound: e('ResourceNotFound'),
  duplicateLoadBalancerName: (message = 'A load balancer with the same name already exists') => new ApiError('DuplicateLoadBalancerName', message, 400),
  duplicateTargetGroupName: (message = 'A target group with the same name already exists') => new ApiError('DuplicateTargetGroupName', message, 400),
  duplicateListener: (message = 'A listener already exists on this port for this load balancer') => new ApiError('DuplicateListener', message, 400),
  duplicateTagKeys: e('DuplicateTagKeys'),
  invalidConfigurationRequest: e('InvalidConfigurationRequest'),
  invalidLoadBalancerAction: e('InvalidLoadBalancerAction'),
  invalidScheme: e('InvalidScheme'),
  invalidSecurityGroup: e('InvalidSecurityGroup'),
  invalidSubnet: e('InvalidSubnet'),
  invalidTarget: e('InvalidTarget'),
  incompatibleProtocols: e('IncompatibleProtocols'),
  unsupportedProtocol: e('UnsupportedProtocol'),
  availabilityZoneNotSupported: e('AvailabilityZoneNotSupported'),
  operationNotPermitted: e('OperationNotPermitted'),
  priorityInUse: e('PriorityInUse'),
  resourceInUse: e('ResourceInUse'),
  tooManyActions: e('TooManyActions'),
  tooManyCertificates: e('TooManyCertificates'),
  tooManyListeners: e('TooManyListeners'),
  tooManyLoadBalancers: e('TooManyLoadBalancers'),
  tooManyRegistrationsForTargetId: e('TooManyRegistrationsForTargetId'),
  tooManyRules: e('TooManyRules'),
  tooManyTags: e('TooManyTags'),
  tooManyTargetGroups: e('TooManyTargetGroups'),
  tooManyTargets: e('TooManyTargets'),
  tooManyUniqueTargetGroupsPerLoadBalancer: e('TooManyUniqueTargetGroupsPerLoadBalancer'),
  targetGroupAssociationLimit: e('TargetGroupAssociationLimit'),
  healthUnavailable: e('HealthUnavailable', 500),
};
