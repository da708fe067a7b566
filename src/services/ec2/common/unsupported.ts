// Refusals of what the host cannot do yet: an answer never claims more than the data plane carries.
import type { BlockDeviceMapping } from '@aws-sdk/client-ec2';
import { ApiError } from '../../errors.js';

/** The VPC data plane is IPv4 only: an IPv6 block, address or rule would be stored and never carried. */
export const ipv6Unsupported = (param: string) =>
  new ApiError('UnsupportedOperation', `IPv6 is not supported by cumulo yet (the VPC data plane carries IPv4 only): ${param} cannot be used.`);

/** No managed prefix list exists here (none can be created yet), so every id names nothing. */
export const prefixListNotFound = (id: string) => new ApiError('InvalidPrefixListID.NotFound', `The prefix list ID '${id}' does not exist`);

/** Dedicated tenancy promises hardware no other account uses; every account shares this cloud's hosts. */
export const dedicatedUnsupported = () => new ApiError('UnsupportedOperation', 'Dedicated tenancy is not supported by cumulo: the instances of every account share its hosts.');

/** Metrics that would go to CloudWatch, which cumulo does not have yet: nothing would record them. */
export const cloudWatchMissing = (what: string, verb = 'needs') => new ApiError('UnsupportedOperation', `${what} ${verb} CloudWatch, which cumulo does not provide yet.`);

/** A request member that asks for what cumulo does not have: refused by name rather than accepted and ignored. */
export const memberUnsupported = (member: string, why: string) => new ApiError('UnsupportedOperation', `${member} is not supported by cumulo: ${why}.`);

/** No service provider manages resources here, so none can be created as a managed one. */
export const operatorUnsupported = () => memberUnsupported('Operator', 'no service provider manages resources in cumulo');

/** Volumes made from snapshots are whole when they become available: there is no download rate to set. */
export const initializationRateUnsupported = (member = 'VolumeInitializationRate') =>
  memberUnsupported(member, 'a volume made from a snapshot is fully initialized when it becomes available, at no chosen rate');

/** Multiple EBS cards are an instance type's; every cumulo instance type has one, card 0. */
export function checkEbsCardIndex(index: number | undefined, member = 'EbsCardIndex'): void {
  if (index !== undefined && index !== 0) {
    throw new ApiError('InvalidParameterValue', `Value (${index}) for parameter ${member} is invalid. The instance types of cumulo have one EBS card, index 0.`);
  }
}

/**
 * The members of a block device mapping's Ebs that RunInstances, CreateImage and RegisterImage
 * cannot honour: EC2 itself takes no zone there (a launch's volumes go to the instance's zone, an
 * image's are made at each launch), no initialization rate, and one EBS card (0).
 */
export function checkEbsMappings(mappings: BlockDeviceMapping[] | undefined, operation: string): void {
  for (const [i, m] of (mappings ?? []).entries()) {
    const e = m.Ebs;
    if (!e) continue;
    const at = `BlockDeviceMapping.${i + 1}.Ebs`;
    if (e.AvailabilityZone !== undefined || e.AvailabilityZoneId !== undefined) {
      const member = e.AvailabilityZone !== undefined ? 'AvailabilityZone' : 'AvailabilityZoneId';
      throw new ApiError('InvalidParameterCombination', `The parameter ${at}.${member} is not supported by ${operation}: its volumes are made in the instance's zone.`);
    }
    if (e.VolumeInitializationRate !== undefined) throw initializationRateUnsupported(`${at}.VolumeInitializationRate`);
    checkEbsCardIndex(e.EbsCardIndex, `${at}.EbsCardIndex`);
  }
}

/** Copies here finish as fast as the host copies, with no completion time promised. */
export const timeBasedCopyUnsupported = (member: string) => memberUnsupported(member, 'time-based copies are not offered; a copy completes as fast as the host copies it');

/** Every snapshot here is regional: no instance or volume is in a Local Zone or on an Outpost. */
export function checkSnapshotLocation(value: string | undefined, param: string): void {
  if (value !== undefined && value !== 'regional') {
    throw new ApiError(
      'InvalidParameterValue',
      `Value (${value}) for parameter ${param} is invalid. Local snapshots need a Local Zone or an Outpost, which cumulo does not have; snapshots are regional.`,
    );
  }
}
