// DescribeNetworkInterfaces filters, as EC2 documents them (plus the older names it still takes).
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import type { FilterMap } from '../common/filters.js';

const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);
const addresses = (n: NetworkInterface) => n.PrivateIpAddresses ?? [];

export const networkInterfaceFilters: FilterMap<NetworkInterface> = {
  'association.allocation-id': (n) => n.Association?.AllocationId,
  'association.association-id': (n) => n.Association?.AssociationId,
  'addresses.association.owner-id': (n) => addresses(n).map((a) => a.Association?.IpOwnerId),
  'addresses.association.public-ip': (n) => addresses(n).map((a) => a.Association?.PublicIp),
  'addresses.primary': (n) => addresses(n).map((a) => a.Primary),
  'addresses.private-ip-address': (n) => addresses(n).map((a) => a.PrivateIpAddress),
  'association.ip-owner-id': (n) => n.Association?.IpOwnerId,
  'association.public-ip': (n) => n.Association?.PublicIp,
  'association.public-dns-name': (n) => n.Association?.PublicDnsName,
  'attachment.attach-time': (n) => iso(n.Attachment?.AttachTime),
  // The name EC2's reference documents (sic); the CLI's examples use attach-time.
  'attachment.attach.time': (n) => iso(n.Attachment?.AttachTime),
  'attachment.attachment-id': (n) => n.Attachment?.AttachmentId,
  'attachment.delete-on-termination': (n) => n.Attachment?.DeleteOnTermination,
  'attachment.device-index': (n) => n.Attachment?.DeviceIndex,
  'attachment.instance-id': (n) => n.Attachment?.InstanceId,
  'attachment.instance-owner-id': (n) => n.Attachment?.InstanceOwnerId,
  'attachment.status': (n) => n.Attachment?.Status,
  'availability-zone': (n) => n.AvailabilityZone,
  'availability-zone-id': (n) => n.AvailabilityZoneId,
  description: (n) => n.Description,
  'group-id': (n) => (n.Groups ?? []).map((g) => g.GroupId),
  'group-name': (n) => (n.Groups ?? []).map((g) => g.GroupName),
  'ipv6-addresses.ipv6-address': (n) => (n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address),
  'interface-type': (n) => n.InterfaceType,
  'mac-address': (n) => n.MacAddress,
  'network-interface-id': (n) => n.NetworkInterfaceId,
  'operator.managed': (n) => n.Operator?.Managed ?? false,
  'operator.principal': (n) => n.Operator?.Principal,
  'owner-id': (n) => n.OwnerId,
  'private-dns-name': (n) => n.PrivateDnsName,
  'private-ip-address': (n) => addresses(n).map((a) => a.PrivateIpAddress),
  'requester-id': (n) => n.RequesterId,
  'requester-managed': (n) => n.RequesterManaged,
  'source-dest-check': (n) => n.SourceDestCheck,
  status: (n) => n.Status,
  'subnet-id': (n) => n.SubnetId,
  'vpc-id': (n) => n.VpcId,
};
