// The contract of the host's instance networking (the VPC data plane).
//
//  host netns                         VPC netns (one per VPC with an instance up here)        instance netns
//  ──────────                         ─────────                                               ──────────────
//  cv<tag><vpc8>  ── veth (uplink) ──  up0       nftables: security groups, NACLs, 1:1 NAT    eth0 (deviceIndex 0)
//  169.254.x.y/32 (unique per VPC)     e<eni14>  one per attached interface ── veth ──        eth1 …
//  public /32 routes → the uplink      routes: /32 per private IP, per-subnet route tables
//
// The host plays the internet: it reaches public and elastic IPs through the uplinks. Private
// addresses are never routed on the host (two VPCs may use the same CIDR).
import type { InterfaceSpec, VpcSpec } from './vpc-spec.js';

export interface PlugSpec {
  instanceId: string;
  vpcId: string;
  /** The instance's interfaces (device index 0 first). Plugging makes eth<deviceIndex> for each. */
  interfaces: InterfaceSpec[];
}

export interface HostNetwork {
  /** Host-wide setup: sysctls, the host's nftables table (idempotent). */
  init(): Promise<void>;
  /**
   * Take one VPC's data plane to `spec` (idempotent, one nftables transaction for its rules):
   * namespace and uplink (made when missing), route tables, security groups, ACLs, NAT, public IP
   * routes on the host, and the interfaces of instances whose namespace exists (hot attach and
   * detach). A spec with no interfaces removes the VPC's namespace and everything of it.
   */
  applyVpc(spec: VpcSpec): Promise<void>;
  /** Remove a VPC's namespace, uplink, routes and rules (idempotent). */
  removeVpc(vpcId: string): Promise<void>;
  /**
   * Make the instance's network namespace with its interfaces configured; returns its path for
   * the OCI config. The VPC's namespace is made (closed: nothing forwarded) if applyVpc has not
   * run yet. A namespace already at instanceNetnsPath (one the driver made inside the instance's
   * user namespace) is used as it is. Idempotent.
   */
  plug(spec: PlugSpec): Promise<{ netnsPath: string }>;
  /** Where plug() puts (or finds) the instance's network namespace. */
  instanceNetnsPath(instanceId: string): string;
  /** Remove the instance's namespace and its interfaces' links. Idempotent. */
  unplug(instanceId: string): Promise<void>;
  /**
   * The VPC whose uplink holds this host address: the metadata service and the DNS resolver are
   * reached through it (their DNAT target), so a connection's local address names the VPC and its
   * remote address (anti-spoofed in the VPC namespace) the interface.
   */
  vpcAt(localAddress: string): string | undefined;
  /** VPCs and instances that have host objects here (adoption after a restart). */
  plugged(): Promise<{ vpcs: string[]; instances: string[] }>;
  /** Remove every namespace, link, route, rule and table this server made (server stop with no instances, tests). */
  close(): Promise<void>;
}

export interface HostNetworkOptions {
  home: string;
  /** Port of the metadata service on the host (listening on 0.0.0.0): the DNAT target of 169.254.169.254:80. */
  imdsPort: number;
  /** Port of the DNS resolver on the host (UDP and TCP, 0.0.0.0): the DNAT target of base+2:53 and 169.254.169.253:53. */
  dnsPort: number;
  /** Port of the API's endpoint for instances on the host (HTTPS only, 0.0.0.0): the DNAT target of <VPC base+2>:443. */
  apiPort: number;
  /** The public IPv4 pool (CUMULO_PUBLIC_IPV4_POOL); its first address is the host as the internet sees it. */
  publicPool: string;
  /** NAT off the machine for instances with a public IP (CUMULO_EGRESS=on). Off by default and in every test. */
  egress: boolean;
}
