// What one VPC's data plane should be on a host: pure data, built from the store by
// src/controllers/network.ts (buildVpcSpec) and applied by HostNetwork.applyVpc. Nothing here knows
// about rows or nftables; the rulesets are generated from it by pure functions (vpc-rules.ts).
//
// The data plane is IPv4 (the API refuses IPv6 CIDRs and prefix lists it cannot carry).

export interface VpcSpec {
  vpcId: string;
  accountId: string;
  region: string;
  /** The VPC's IPv4 CIDR blocks (primary first, then associated ones). */
  cidrs: string[];
  /** The attached internet gateway's id; absent: none attached (then no subnet is public). */
  internetGatewayId?: string;
  /** enableDnsSupport: the Amazon-provided resolver answers at base+2 and 169.254.169.253. */
  dnsSupport: boolean;
  subnets: SubnetSpec[];
  /**
   * Every group an interface below is in, plus every group their rules reference (a referenced
   * group with no interface here simply has no members).
   */
  securityGroups: SecurityGroupSpec[];
  /** Interfaces attached to instances that are (or are becoming) up on this host. */
  interfaces: InterfaceSpec[];
}

export interface SubnetSpec {
  subnetId: string;
  cidr: string;
  /** The routes of its route table: the explicitly associated one, else the VPC's main table. */
  routes: RouteSpec[];
  /** Its network ACL's entries (the default ACL's when none is associated explicitly). */
  networkAcl: { networkAclId: string; entries: NaclEntrySpec[] };
}

export interface RouteSpec {
  /** IPv4 CIDR. IPv6 and prefix-list destinations are left out by the builder. */
  destination: string;
  /**
   * local: the VPC's own CIDR (delivered inside the VPC); internet-gateway: through the attached
   * gateway (the subnet is public); interface: to an interface of a running instance of this VPC
   * (a NAT instance, an appliance), next hop its primary private IP; blackhole: a route whose
   * target this data plane cannot reach (gone, detached, stopped): packets are dropped.
   */
  target: 'local' | 'internet-gateway' | 'interface' | 'blackhole';
  targetId: string;
  /** target 'interface': the interface (one of `interfaces`) and its primary private IP. */
  eniId?: string;
  nextHop?: string;
}

export interface NaclEntrySpec {
  ruleNumber: number; // 1..32767; 32767 is the catch-all '*' entry
  egress: boolean;
  /** IANA protocol number, or -1 for all. */
  protocol: number;
  action: 'allow' | 'deny';
  /** IPv4 CIDR (IPv6 entries are left out by the builder). */
  cidr: string;
  /** TCP/UDP port range, inclusive (absent: all ports). */
  portFrom?: number;
  portTo?: number;
  /** ICMP type and code, -1 = any (absent: any). */
  icmpType?: number;
  icmpCode?: number;
}

export interface SecurityGroupSpec {
  groupId: string;
  ingress: SgRuleSpec[];
  egress: SgRuleSpec[];
}

export interface SgRuleSpec {
  /** 'all' (-1), 'tcp', 'udp', 'icmp', or another IANA protocol number. */
  protocol: 'all' | 'tcp' | 'udp' | 'icmp' | number;
  /** tcp/udp: port range, inclusive. icmp: fromPort = type, toPort = code (-1 = any). Absent: all. */
  fromPort?: number;
  toPort?: number;
  /** Exactly one of cidr and groupId is set (IPv6 and prefix-list rules are left out by the builder). */
  cidr?: string;
  /** The peer is any private address of an interface in this group (in this VPC). */
  groupId?: string;
}

export interface InterfaceSpec {
  eniId: string;
  instanceId: string;
  /** 0 = eth0 inside the instance, 1 = eth1, … */
  deviceIndex: number;
  subnetId: string;
  /** The subnet's CIDR (repeated here so plugging needs nothing else). */
  subnetCidr: string;
  macAddress: string;
  /** Primary private IPv4 first, then the secondary ones. */
  privateIps: string[];
  /** Security group ids, in the interface's order. */
  groups: string[];
  /** One-to-one NAT at the internet gateway: ephemeral public IPs and elastic IPs alike. */
  publicIps: { publicIp: string; privateIp: string }[];
  /** When false the instance may send and receive for addresses that are not its own (NAT instances). */
  sourceDestCheck: boolean;
  /** IMDSv2 PUT response hop limit: the TTL of metadata answers reaching this interface. */
  metadataHopLimit: number;
}

/** The private DNS resolver's address in a VPC: the base of its primary CIDR + 2. */
export const AMAZON_DNS_LINK_LOCAL = '169.254.169.253';
