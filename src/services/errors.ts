// The one error catalog. Handlers throw ApiError; only the protocol serializers render one.
// Codes and HTTP statuses are EC2's (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const err =
  (code: string, status = 400) =>
  (message: string) =>
    new ApiError(code, message, status);

/** Builders for the errors used in more than one place. A family-specific code can use `new ApiError`. */
export const Errors = {
  // Protocol and authentication.
  missingAction: () => new ApiError('MissingAction', 'The request must contain the parameter Action'),
  invalidAction: (action: string, service = 'AmazonEC2') => new ApiError('InvalidAction', `The action ${action} is not valid for this web service (${service}).`),
  notImplemented: (action: string) => new ApiError('UnsupportedOperation', `The operation ${action} is not implemented by cumulo yet.`),
  noSuchVersion: (version: string, service = 'AmazonEC2') => new ApiError('NoSuchVersion', `The requested version (${version}) of service ${service} does not exist`),
  missingParameter: (name: string) => new ApiError('MissingParameter', `The request must contain the parameter ${name}`),
  unknownParameter: (name: string) => new ApiError('UnknownParameter', `The parameter ${name} is not recognized`),
  invalidParameterValue: err('InvalidParameterValue'),
  invalidParameter: err('InvalidParameter'),
  invalidParameterCombination: err('InvalidParameterCombination'),
  malformedQueryString: err('MalformedQueryString'),
  // The JSON and CBOR protocols: a body that does not fit the input shape (Smithy's framework
  // error), and an X-Amz-Target or /service/…/operation/… that names no operation (Coral's).
  serialization: err('SerializationException'),
  unknownOperation: (what: string) => new ApiError('UnknownOperationException', `The operation ${what} is not known to this service.`),
  // Content-Encoding: gzip is what the SDKs send for @requestCompression; nothing else is read.
  unsupportedContentEncoding: (encoding: string) => new ApiError('InvalidRequest', `The Content-Encoding ${encoding} is not supported: send gzip or none.`, 415),
  malformedGzip: () => new ApiError('InvalidRequest', 'The request body is not valid gzip data (Content-Encoding: gzip).'),
  unsupportedMediaType: (type: string, expected: string) =>
    new ApiError('UnsupportedMediaTypeException', `A request with a body must have Content-Type ${expected}, not '${type}'.`, 415),
  // EC2 documents no code for an oversized body; InvalidRequest is its documented catch-all.
  requestTooLarge: (limit: number) => new ApiError('InvalidRequest', `Request body exceeds the maximum allowed size of ${limit} bytes`, 413),
  authFailure: (message = 'AWS was not able to validate the provided access credentials') => new ApiError('AuthFailure', message, 401),
  missingAuthenticationToken: () => new ApiError('MissingAuthenticationToken', 'The request must contain either a valid (registered) AWS access key ID or X.509 certificate.', 401),
  signatureDoesNotMatch: () =>
    new ApiError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      403,
    ),
  incompleteSignature: err('IncompleteSignature'),
  requestExpired: (message = 'Request has expired.') => new ApiError('RequestExpired', message, 400),
  dryRun: () => new ApiError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),
  unauthorized: (message = 'You are not authorized to perform this operation.') => new ApiError('UnauthorizedOperation', message, 403),
  internal: () => new ApiError('InternalError', 'An internal error has occurred', 500),

  // Resource errors shared across families.
  notFound: (code: string, message: string) => new ApiError(code, message),
  dependencyViolation: err('DependencyViolation'),
  incorrectState: err('IncorrectState'),
  incorrectInstanceState: err('IncorrectInstanceState'),
  duplicate: (code: string, message: string) => new ApiError(code, message),
  limitExceeded: err('ResourceLimitExceeded'),
  idempotentParameterMismatch: err('IdempotentParameterMismatch'),

  // Service quotas (src/services/ec2/quotas), in EC2's words.
  vcpuLimitExceeded: (limit: number) =>
    new ApiError(
      'VcpuLimitExceeded',
      `You have requested more vCPU capacity than your current vCPU limit of ${limit} allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`,
    ),
  addressLimitExceeded: () => new ApiError('AddressLimitExceeded', 'The maximum number of addresses has been reached.'),
  vpcLimitExceeded: () => new ApiError('VpcLimitExceeded', 'The maximum number of VPCs has been reached.'),
  securityGroupLimitExceeded: (vpcId: string) => new ApiError('SecurityGroupLimitExceeded', `The maximum number of security groups for VPC '${vpcId}' has been reached.`),
  rulesPerSecurityGroupLimitExceeded: () => new ApiError('RulesPerSecurityGroupLimitExceeded', 'The maximum number of rules per security group has been reached.'),
  securityGroupsPerInterfaceLimitExceeded: () => new ApiError('SecurityGroupsPerInterfaceLimitExceeded', 'The maximum number of security groups per interface has been reached.'),
  securityGroupsPerInstanceLimitExceeded: () => new ApiError('SecurityGroupsPerInstanceLimitExceeded', 'The maximum number of security groups per instance has been reached.'),
  volumeLimitExceeded: (volumeType: string, tib: number) =>
    new ApiError(
      'VolumeLimitExceeded',
      `You have exceeded your maximum ${volumeType} storage limit of ${tib} TiB in this region. Please contact AWS Support to request an Elastic Block Store service limit increase.`,
    ),
  maxIopsLimitExceeded: (volumeType: string, iops: number) =>
    new ApiError(
      'MaxIOPSLimitExceeded',
      `You have exceeded your maximum ${volumeType} IOPS limit of ${iops} in this region. Please contact AWS Support to request an Elastic Block Store service limit increase.`,
    ),

  // Capacity: server errors on EC2 (500, retryable), the host's and the pool's, not the request's.
  insufficientInstanceCapacity: (instanceType: string, zone: string) =>
    new ApiError(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity.`,
      500,
    ),
  insufficientAddressCapacity: () =>
    new ApiError(
      'InsufficientAddressCapacity',
      'Not enough available addresses to satisfy your minimum request. Reduce the number of addresses you are requesting or wait for additional capacity to become available.',
      500,
    ),
};

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
