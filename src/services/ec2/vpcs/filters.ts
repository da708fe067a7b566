// The documented Describe filters of the VPC family, as getters over EC2's output shapes.
import type { DhcpOptions, InternetGateway, NetworkAcl, RouteTable, Subnet, Vpc } from '@aws-sdk/client-ec2';
import type { FilterMap } from '../common/filters.js';

export const vpcFilters: FilterMap<Vpc> = {
  cidr: (v) => v.CidrBlock,
  'cidr-block-association.cidr-block': (v) => v.CidrBlockAssociationSet?.map((a) => a.CidrBlock),
  'cidr-block-association.association-id': (v) => v.CidrBlockAssociationSet?.map((a) => a.AssociationId),
  'cidr-block-association.state': (v) => v.CidrBlockAssociationSet?.map((a) => a.CidrBlockState?.State),
  'dhcp-options-id': (v) => v.DhcpOptionsId,
  'ipv6-cidr-block-association.ipv6-cidr-block': (v) => v.Ipv6CidrBlockAssociationSet?.map((a) => a.Ipv6CidrBlock),
  'ipv6-cidr-block-association.ipv6-pool': (v) => v.Ipv6CidrBlockAssociationSet?.map((a) => a.Ipv6Pool),
  'ipv6-cidr-block-association.association-id': (v) => v.Ipv6CidrBlockAssociationSet?.map((a) => a.AssociationId),
  'ipv6-cidr-block-association.state': (v) => v.Ipv6CidrBlockAssociationSet?.map((a) => a.Ipv6CidrBlockState?.State),
  'is-default': (v) => v.IsDefault,
  isDefault: (v) => v.IsDefault, // older spelling EC2 still accepts
  'owner-id': (v) => v.OwnerId,
  state: (v) => v.State,
  'vpc-id': (v) => v.VpcId,
};

export const subnetFilters: FilterMap<Subnet> = {
  'availability-zone': (s) => s.AvailabilityZone,
  availabilityZone: (s) => s.AvailabilityZone,
  'availability-zone-id': (s) => s.AvailabilityZoneId,
  availabilityZoneId: (s) => s.AvailabilityZoneId,
  'available-ip-address-count': (s) => s.AvailableIpAddressCount,
  'cidr-block': (s) => s.CidrBlock,
  cidr: (s) => s.CidrBlock,
  cidrBlock: (s) => s.CidrBlock,
  'customer-owned-ipv4-pool': (s) => s.CustomerOwnedIpv4Pool,
  'default-for-az': (s) => s.DefaultForAz,
  defaultForAz: (s) => s.DefaultForAz,
  'enable-dns64': (s) => s.EnableDns64,
  'enable-lni-at-device-index': (s) => s.EnableLniAtDeviceIndex,
  'ipv6-cidr-block-association.ipv6-cidr-block': (s) => s.Ipv6CidrBlockAssociationSet?.map((a) => a.Ipv6CidrBlock),
  'ipv6-cidr-block-association.association-id': (s) => s.Ipv6CidrBlockAssociationSet?.map((a) => a.AssociationId),
  'ipv6-cidr-block-association.state': (s) => s.Ipv6CidrBlockAssociationSet?.map((a) => a.Ipv6CidrBlockState?.State),
  'ipv6-native': (s) => s.Ipv6Native,
  'map-customer-owned-ip-on-launch': (s) => s.MapCustomerOwnedIpOnLaunch,
  'map-public-ip-on-launch': (s) => s.MapPublicIpOnLaunch,
  'outpost-arn': (s) => s.OutpostArn,
  'owner-id': (s) => s.OwnerId,
  'private-dns-name-options-on-launch.hostname-type': (s) => s.PrivateDnsNameOptionsOnLaunch?.HostnameType,
  'private-dns-name-options-on-launch.enable-resource-name-dns-a-record': (s) => s.PrivateDnsNameOptionsOnLaunch?.EnableResourceNameDnsARecord,
  'private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record': (s) => s.PrivateDnsNameOptionsOnLaunch?.EnableResourceNameDnsAAAARecord,
  state: (s) => s.State,
  'subnet-arn': (s) => s.SubnetArn,
  'subnet-id': (s) => s.SubnetId,
  'vpc-id': (s) => s.VpcId,
};

export const internetGatewayFilters: FilterMap<InternetGateway> = {
  'attachment.state': (g) => g.Attachments?.map((a) => a.State),
  'attachment.vpc-id': (g) => g.Attachments?.map((a) => a.VpcId),
  'internet-gateway-id': (g) => g.InternetGatewayId,
  'owner-id': (g) => g.OwnerId,
};

export const routeTableFilters: FilterMap<RouteTable> = {
  'association.gateway-id': (t) => t.Associations?.map((a) => a.GatewayId),
  'association.route-table-association-id': (t) => t.Associations?.map((a) => a.RouteTableAssociationId),
  'association.route-table-id': (t) => t.Associations?.map((a) => a.RouteTableId),
  'association.subnet-id': (t) => t.Associations?.map((a) => a.SubnetId),
  // "true" matches the VPC's main table; "false" matches any table with a non-main association.
  'association.main': (t) => t.Associations?.map((a) => a.Main ?? false),
  'owner-id': (t) => t.OwnerId,
  'route-table-id': (t) => t.RouteTableId,
  'route.destination-cidr-block': (t) => t.Routes?.map((r) => r.DestinationCidrBlock),
  'route.destination-ipv6-cidr-block': (t) => t.Routes?.map((r) => r.DestinationIpv6CidrBlock),
  'route.destination-prefix-list-id': (t) => t.Routes?.map((r) => r.DestinationPrefixListId),
  'route.egress-only-internet-gateway-id': (t) => t.Routes?.map((r) => r.EgressOnlyInternetGatewayId),
  'route.gateway-id': (t) => t.Routes?.map((r) => r.GatewayId),
  'route.instance-id': (t) => t.Routes?.map((r) => r.InstanceId),
  'route.nat-gateway-id': (t) => t.Routes?.map((r) => r.NatGatewayId),
  'route.transit-gateway-id': (t) => t.Routes?.map((r) => r.TransitGatewayId),
  'route.origin': (t) => t.Routes?.map((r) => r.Origin),
  'route.state': (t) => t.Routes?.map((r) => r.State),
  'route.vpc-peering-connection-id': (t) => t.Routes?.map((r) => r.VpcPeeringConnectionId),
  'vpc-id': (t) => t.VpcId,
};

const PROTOCOL_NAMES: Record<string, string> = { '-1': 'all', '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };

export const networkAclFilters: FilterMap<NetworkAcl> = {
  'association.association-id': (a) => a.Associations?.map((x) => x.NetworkAclAssociationId),
  'association.network-acl-id': (a) => a.Associations?.map((x) => x.NetworkAclId),
  'association.subnet-id': (a) => a.Associations?.map((x) => x.SubnetId),
  default: (a) => a.IsDefault,
  'entry.cidr': (a) => a.Entries?.map((e) => e.CidrBlock),
  'entry.icmp.code': (a) => a.Entries?.map((e) => e.IcmpTypeCode?.Code),
  'entry.icmp.type': (a) => a.Entries?.map((e) => e.IcmpTypeCode?.Type),
  'entry.ipv6-cidr': (a) => a.Entries?.map((e) => e.Ipv6CidrBlock),
  'entry.port-range.from': (a) => a.Entries?.map((e) => e.PortRange?.From),
  'entry.port-range.to': (a) => a.Entries?.map((e) => e.PortRange?.To),
  // Entries hold protocol numbers; the filter takes names (tcp, udp, icmp) or numbers.
  'entry.protocol': (a) => a.Entries?.flatMap((e) => [e.Protocol, PROTOCOL_NAMES[e.Protocol ?? '']]),
  'entry.rule-action': (a) => a.Entries?.map((e) => e.RuleAction),
  'entry.egress': (a) => a.Entries?.map((e) => e.Egress),
  'entry.rule-number': (a) => a.Entries?.map((e) => e.RuleNumber),
  'network-acl-id': (a) => a.NetworkAclId,
  'owner-id': (a) => a.OwnerId,
  'vpc-id': (a) => a.VpcId,
};

export const dhcpOptionsFilters: FilterMap<DhcpOptions> = {
  'dhcp-options-id': (d) => d.DhcpOptionsId,
  key: (d) => d.DhcpConfigurations?.map((c) => c.Key),
  value: (d) => d.DhcpConfigurations?.flatMap((c) => c.Values?.map((v) => v.Value) ?? []),
  'owner-id': (d) => d.OwnerId,
};
