// Every DescribeInstances and DescribeInstanceStatus filter EC2 documents, as value getters.
// Filters for features cumulo has no notion of (outposts, spot, capacity reservations, …) are
// accepted and match nothing, as on an account that does not use them.
import type { Instance, InstanceNetworkInterface, InstanceStatus } from '@aws-sdk/client-ec2';
import type { FilterMap, FilterValue } from '../common/filters.js';
import type { InstanceView } from './store.js';

const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);
const none = (): FilterValue => undefined;

type Getter = (i: Instance, v: InstanceView) => FilterValue;
const on =
  (get: (i: Instance) => FilterValue): Getter =>
  (i) =>
    get(i);
const nic =
  (get: (n: InstanceNetworkInterface) => FilterValue): Getter =>
  (i) =>
    (i.NetworkInterfaces ?? []).flatMap((n) => toList(get(n)));
const bdm =
  (get: (b: NonNullable<Instance['BlockDeviceMappings']>[number]) => FilterValue): Getter =>
  (i) =>
    (i.BlockDeviceMappings ?? []).flatMap((b) => toList(get(b)));

function toList(v: FilterValue): (string | number | boolean | null | undefined)[] {
  return Array.isArray(v) ? [...v] : [v as string];
}

const getters: Record<string, Getter> = {
  affinity: on((i) => i.Placement?.Affinity),
  architecture: on((i) => i.Architecture),
  'availability-zone': on((i) => i.Placement?.AvailabilityZone),
  'availability-zone-id': on((i) => i.Placement?.AvailabilityZoneId),
  'block-device-mapping.attach-time': bdm((b) => iso(b.Ebs?.AttachTime)),
  'block-device-mapping.delete-on-termination': bdm((b) => b.Ebs?.DeleteOnTermination),
  'block-device-mapping.device-name': bdm((b) => b.DeviceName),
  'block-device-mapping.status': bdm((b) => b.Ebs?.Status),
  'block-device-mapping.volume-id': bdm((b) => b.Ebs?.VolumeId),
  'boot-mode': on((i) => i.BootMode),
  'capacity-reservation-id': on((i) => i.CapacityReservationId),
  'capacity-reservation-specification.capacity-reservation-preference': on((i) => i.CapacityReservationSpecification?.CapacityReservationPreference),
  'capacity-reservation-specification.capacity-reservation-target.capacity-reservation-id': on(
    (i) => i.CapacityReservationSpecification?.CapacityReservationTarget?.CapacityReservationId,
  ),
  'capacity-reservation-specification.capacity-reservation-target.capacity-reservation-resource-group-arn': on(
    (i) => i.CapacityReservationSpecification?.CapacityReservationTarget?.CapacityReservationResourceGroupArn,
  ),
  'client-token': on((i) => i.ClientToken),
  'current-instance-boot-mode': on((i) => i.CurrentInstanceBootMode),
  'dns-name': on((i) => i.PublicDnsName),
  'ebs-optimized': on((i) => i.EbsOptimized),
  'ena-support': on((i) => i.EnaSupport),
  'enclave-options.enabled': on((i) => i.EnclaveOptions?.Enabled),
  'hibernation-options.configured': on((i) => i.HibernationOptions?.Configured),
  'host-id': on((i) => i.Placement?.HostId),
  hypervisor: on((i) => i.Hypervisor),
  'iam-instance-profile.arn': on((i) => i.IamInstanceProfile?.Arn),
  'iam-instance-profile.id': on((i) => i.IamInstanceProfile?.Id),
  'image-id': on((i) => i.ImageId),
  'instance-id': on((i) => i.InstanceId),
  'instance-lifecycle': on((i) => i.InstanceLifecycle),
  'instance-state-code': on((i) => i.State?.Code),
  'instance-state-name': on((i) => i.State?.Name),
  'instance-type': on((i) => i.InstanceType),
  'instance.group-id': on((i) => (i.SecurityGroups ?? []).map((g) => g.GroupId)),
  'instance.group-name': on((i) => (i.SecurityGroups ?? []).map((g) => g.GroupName)),
  // The older names of the two above, still accepted by EC2.
  'group-id': on((i) => (i.SecurityGroups ?? []).map((g) => g.GroupId)),
  'group-name': on((i) => (i.SecurityGroups ?? []).map((g) => g.GroupName)),
  'ip-address': on((i) => i.PublicIpAddress),
  'ipv6-address': nic((n) => (n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address)),
  'kernel-id': on((i) => i.KernelId),
  'key-name': on((i) => i.KeyName),
  'launch-index': on((i) => i.AmiLaunchIndex),
  'launch-time': on((i) => iso(i.LaunchTime)),
  'maintenance-options.auto-recovery': on((i) => i.MaintenanceOptions?.AutoRecovery),
  'metadata-options.http-endpoint': on((i) => i.MetadataOptions?.HttpEndpoint),
  'metadata-options.http-protocol-ipv4': on((i) => (i.MetadataOptions ? 'enabled' : undefined)),
  'metadata-options.http-protocol-ipv6': on((i) => i.MetadataOptions?.HttpProtocolIpv6),
  'metadata-options.http-put-response-hop-limit': on((i) => i.MetadataOptions?.HttpPutResponseHopLimit),
  'metadata-options.http-tokens': on((i) => i.MetadataOptions?.HttpTokens),
  'metadata-options.instance-metadata-tags': on((i) => i.MetadataOptions?.InstanceMetadataTags),
  'metadata-options.state': on((i) => i.MetadataOptions?.State),
  'monitoring-state': on((i) => i.Monitoring?.State),
  'network-interface.addresses.association.allocation-id': none,
  'network-interface.addresses.association.association-id': none,
  'network-interface.addresses.association.carrier-ip': none,
  'network-interface.addresses.association.customer-owned-ip': none,
  'network-interface.addresses.association.ip-owner-id': nic((n) => (n.PrivateIpAddresses ?? []).map((a) => a.Association?.IpOwnerId)),
  'network-interface.addresses.association.public-dns-name': nic((n) => (n.PrivateIpAddresses ?? []).map((a) => a.Association?.PublicDnsName)),
  'network-interface.addresses.association.public-ip': nic((n) => (n.PrivateIpAddresses ?? []).map((a) => a.Association?.PublicIp)),
  'network-interface.addresses.primary': nic((n) => (n.PrivateIpAddresses ?? []).map((a) => a.Primary)),
  'network-interface.addresses.private-dns-name': nic((n) => (n.PrivateIpAddresses ?? []).map((a) => a.PrivateDnsName)),
  'network-interface.addresses.private-ip-address': nic((n) => (n.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress)),
  'network-interface.association.allocation-id': none,
  'network-interface.association.association-id': none,
  'network-interface.association.carrier-ip': nic((n) => n.Association?.CarrierIp),
  'network-interface.association.customer-owned-ip': nic((n) => n.Association?.CustomerOwnedIp),
  'network-interface.association.ip-owner-id': nic((n) => n.Association?.IpOwnerId),
  'network-interface.association.public-dns-name': nic((n) => n.Association?.PublicDnsName),
  'network-interface.association.public-ip': nic((n) => n.Association?.PublicIp),
  'network-interface.attachment.attach-time': nic((n) => iso(n.Attachment?.AttachTime)),
  'network-interface.attachment.attachment-id': nic((n) => n.Attachment?.AttachmentId),
  'network-interface.attachment.delete-on-termination': nic((n) => n.Attachment?.DeleteOnTermination),
  'network-interface.attachment.device-index': nic((n) => n.Attachment?.DeviceIndex),
  'network-interface.attachment.instance-id': (i) => (i.NetworkInterfaces ?? []).map(() => i.InstanceId),
  'network-interface.attachment.instance-owner-id': nic((n) => n.OwnerId),
  'network-interface.attachment.network-card-index': nic((n) => n.Attachment?.NetworkCardIndex),
  'network-interface.attachment.status': nic((n) => n.Attachment?.Status),
  'network-interface.availability-zone': (i) => (i.NetworkInterfaces ?? []).map(() => i.Placement?.AvailabilityZone),
  'network-interface.deny-all-igw-traffic': none,
  'network-interface.description': nic((n) => n.Description),
  'network-interface.group-id': nic((n) => (n.Groups ?? []).map((g) => g.GroupId)),
  'network-interface.group-name': nic((n) => (n.Groups ?? []).map((g) => g.GroupName)),
  'network-interface.ipv4-prefixes.ipv4-prefix': nic((n) => (n.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix)),
  'network-interface.ipv6-address': nic((n) => (n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address)),
  'network-interface.ipv6-addresses.ipv6-address': nic((n) => (n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address)),
  'network-interface.ipv6-addresses.is-primary-ipv6': nic((n) => (n.Ipv6Addresses ?? []).map((a) => a.IsPrimaryIpv6)),
  'network-interface.ipv6-native': none,
  'network-interface.ipv6-prefixes.ipv6-prefix': nic((n) => (n.Ipv6Prefixes ?? []).map((p) => p.Ipv6Prefix)),
  'network-interface.mac-address': nic((n) => n.MacAddress),
  'network-interface.network-interface-id': nic((n) => n.NetworkInterfaceId),
  'network-interface.operator.managed': nic((n) => n.Operator?.Managed ?? false),
  'network-interface.operator.principal': nic((n) => n.Operator?.Principal),
  'network-interface.outpost-arn': none,
  'network-interface.owner-id': nic((n) => n.OwnerId),
  'network-interface.private-dns-name': nic((n) => n.PrivateDnsName),
  'network-interface.private-ip-address': nic((n) => n.PrivateIpAddress),
  'network-interface.public-dns-name': nic((n) => n.Association?.PublicDnsName),
  'network-interface.requester-id': none,
  'network-interface.requester-managed': nic(() => false),
  'network-interface.status': nic((n) => n.Status),
  'network-interface.source-dest-check': nic((n) => n.SourceDestCheck),
  'network-interface.subnet-id': nic((n) => n.SubnetId),
  'network-interface.tag-key': (_i, v) => (v.interfaceTags ?? []).map((t) => t.Key),
  'network-interface.tag-value': (_i, v) => (v.interfaceTags ?? []).map((t) => t.Value),
  'network-interface.vpc-id': nic((n) => n.VpcId),
  'network-performance-options.bandwidth-weighting': on((i) => i.NetworkPerformanceOptions?.BandwidthWeighting ?? 'default'),
  'operator.managed': on((i) => i.Operator?.Managed),
  'operator.principal': on((i) => i.Operator?.Principal),
  'outpost-arn': on((i) => i.OutpostArn),
  'owner-id': (_i, v) => v.row.account_id,
  'placement-group-name': on((i) => i.Placement?.GroupName || undefined),
  'placement-partition-number': on((i) => i.Placement?.PartitionNumber),
  platform: on((i) => i.Platform),
  'platform-details': on((i) => i.PlatformDetails),
  'private-dns-name': on((i) => i.PrivateDnsName),
  'private-dns-name-options.enable-resource-name-dns-a-record': on((i) => i.PrivateDnsNameOptions?.EnableResourceNameDnsARecord),
  'private-dns-name-options.enable-resource-name-dns-aaaa-record': on((i) => i.PrivateDnsNameOptions?.EnableResourceNameDnsAAAARecord),
  'private-dns-name-options.hostname-type': on((i) => i.PrivateDnsNameOptions?.HostnameType),
  'private-ip-address': on((i) => i.PrivateIpAddress),
  'product-code': on((i) => (i.ProductCodes ?? []).map((p) => p.ProductCodeId)),
  'product-code.type': on((i) => (i.ProductCodes ?? []).map((p) => p.ProductCodeType)),
  'ramdisk-id': on((i) => i.RamdiskId),
  reason: on((i) => i.StateTransitionReason),
  'requester-id': none,
  'reservation-id': (_i, v) => v.row.reservation_id,
  'root-device-name': on((i) => i.RootDeviceName),
  'root-device-type': on((i) => i.RootDeviceType),
  'source-dest-check': on((i) => i.SourceDestCheck),
  'spot-instance-request-id': on((i) => i.SpotInstanceRequestId),
  'state-reason-code': on((i) => i.StateReason?.Code),
  'state-reason-message': on((i) => i.StateReason?.Message),
  'subnet-id': on((i) => i.SubnetId),
  tenancy: on((i) => i.Placement?.Tenancy),
  'tpm-support': on((i) => i.TpmSupport),
  'usage-operation': on((i) => i.UsageOperation),
  'usage-operation-update-time': on((i) => iso(i.UsageOperationUpdateTime)),
  'virtualization-type': on((i) => i.VirtualizationType),
  'vpc-id': on((i) => i.VpcId),
};

export const instanceFilters: FilterMap<InstanceView> = Object.fromEntries(Object.entries(getters).map(([name, get]) => [name, (v: InstanceView) => get(v.instance, v)]));

export const instanceStatusFilters: FilterMap<InstanceStatus> = {
  'availability-zone': (s) => s.AvailabilityZone,
  'availability-zone-id': (s) => s.AvailabilityZoneId,
  'event.code': (s) => (s.Events ?? []).map((e) => e.Code),
  'event.description': (s) => (s.Events ?? []).map((e) => e.Description),
  'event.instance-event-id': (s) => (s.Events ?? []).map((e) => e.InstanceEventId),
  'event.not-after': (s) => (s.Events ?? []).map((e) => iso(e.NotAfter)),
  'event.not-before': (s) => (s.Events ?? []).map((e) => iso(e.NotBefore)),
  'event.not-before-deadline': (s) => (s.Events ?? []).map((e) => iso(e.NotBeforeDeadline)),
  'instance-state-code': (s) => s.InstanceState?.Code,
  'instance-state-name': (s) => s.InstanceState?.Name,
  'instance-status.reachability': (s) => (s.InstanceStatus?.Details ?? []).filter((d) => d.Name === 'reachability').map((d) => d.Status),
  'instance-status.status': (s) => s.InstanceStatus?.Status,
  'operator.managed': (s) => s.Operator?.Managed,
  'operator.principal': (s) => s.Operator?.Principal,
  'system-status.reachability': (s) => (s.SystemStatus?.Details ?? []).filter((d) => d.Name === 'reachability').map((d) => d.Status),
  'system-status.status': (s) => s.SystemStatus?.Status,
  'attached-ebs-status.status': (s) => s.AttachedEbsStatus?.Status,
  'application-status.status': none,
};
