// Refusals of what the host cannot do yet: an answer never claims more than the data plane carries.
import { ApiError } from '../../errors.js';

/** The VPC data plane is IPv4 only: an IPv6 block, address or rule would be stored and never carried. */
export const ipv6Unsupported = (param: string) =>
  new ApiError('UnsupportedOperation', `IPv6 is not supported by cumulo yet (the VPC data plane carries IPv4 only): ${param} cannot be used.`);

/** No managed prefix list exists here (none can be created yet), so every id names nothing. */
export const prefixListNotFound = (id: string) => new ApiError('InvalidPrefixListID.NotFound', `The prefix list ID '${id}' does not exist`);

/** No IAM yet, so no instance profile exists: EC2's answer for an unknown one. */
export function iamInstanceProfileNotFound(spec: { Name?: string; Arn?: string }): ApiError {
  if (spec.Arn !== undefined) return new ApiError('InvalidParameterValue', `Value (${spec.Arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN`);
  return new ApiError('InvalidParameterValue', `Value (${spec.Name ?? ''}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`);
}

/** Dedicated tenancy promises hardware no other account uses; every account shares this cloud's hosts. */
export const dedicatedUnsupported = () =>
  new ApiError('UnsupportedOperation', 'Dedicated tenancy is not supported by cumulo: the instances of every account share its hosts.');

/** Metrics that would go to CloudWatch, which cumulo does not have yet: nothing would record them. */
export const cloudWatchMissing = (what: string, verb = 'needs') => new ApiError('UnsupportedOperation', `${what} ${verb} CloudWatch, which cumulo does not provide yet.`);
