// DescribeAddresses filters, as EC2 documents them (tag:<key> and tag-key come from common/filters).
import type { Address } from '@aws-sdk/client-ec2';
import type { FilterMap } from '../common/filters.js';

export const addressFilters: FilterMap<Address> = {
  'allocation-id': (a) => a.AllocationId,
  'association-id': (a) => a.AssociationId,
  domain: (a) => a.Domain,
  'instance-id': (a) => a.InstanceId,
  'network-border-group': (a) => a.NetworkBorderGroup,
  'network-interface-id': (a) => a.NetworkInterfaceId,
  'network-interface-owner-id': (a) => a.NetworkInterfaceOwnerId,
  'private-ip-address': (a) => a.PrivateIpAddress,
  'public-ip': (a) => a.PublicIp,
};
