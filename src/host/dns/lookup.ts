// What the VPC's resolver (Amazon-provided DNS) knows: EC2's private and public host names, from
// the store through DnsFacts (app.ts injects the repositories' answers). Names are parsed by pure functions; the store is asked only by primary key or by
// (vpc_id, private_ip), both indexed.
//
//   ip-10-0-1-5.ec2.internal                  us-east-1 private name (any private IP of an interface)
//   ip-10-0-1-5.eu-west-1.compute.internal    elsewhere
//   i-0123456789abcdef0.ec2.internal          resource name → the instance's primary private IP
//   ec2-198-18-0-7.compute-1.amazonaws.com    us-east-1 public name (…<region>.compute.amazonaws.com elsewhere)
//   5.1.0.10.in-addr.arpa                     reverse (PTR) of a private or public address
//   ec2.us-east-1.amazonaws.com, iam.amazonaws.com, …  the API's endpoint in the VPC: its base+2
//                                             (../endpoint.ts), asked from a VPC only
//
// Who asks (the VPC) comes from the host network, never from the packet: a query from inside a VPC
// sees that VPC's private names; the public name of an address mapped into the asking VPC answers
// its private IP (EC2 does this); from anywhere else the public IP.
import { addressAt, parseCidrLoose } from '../../lib/cidr.js';
import { privateDnsName, publicDnsName } from '../../lib/ec2-names.js';

export const TTL = 60;

export interface DnsQuery {
  /** The name as asked (any case, with or without the final dot). */
  name: string;
  /** The question's type: 'A', 'AAAA', 'PTR', 'ANY', … */
  type: string;
  /** The asking VPC (undefined: asked from the host itself, or anything that is not a VPC). */
  vpcId?: string;
}

export interface DnsRecord {
  name: string;
  type: 'A' | 'PTR';
  data: string;
  ttl: number;
}

/**
 * NOERROR (answers may be empty: the name exists, not with that type), NXDOMAIN and REFUSED are
 * authoritative answers of ours; FORWARD means "not ours": relay to the host's resolvers when
 * egress is on, else answer `otherwise`.
 */
export type DnsResult = { rcode: 'NOERROR'; answers: DnsRecord[] } | { rcode: 'NXDOMAIN' } | { rcode: 'REFUSED' } | { rcode: 'FORWARD'; otherwise: 'NXDOMAIN' | 'REFUSED' };

export type DnsLookup = (q: DnsQuery) => Promise<DnsResult>;

// ---------------------------------------------------------------------------------------------
// Names (pure)

export type ParsedName =
  /** ip-A-B-C-D.ec2.internal / ip-A-B-C-D.<region>.compute.internal */
  | { kind: 'private'; ip: string; region: string }
  /** i-….ec2.internal / i-….<region>.compute.internal */
  | { kind: 'instance'; instanceId: string; region: string }
  /** ec2-A-B-C-D.compute-1.amazonaws.com / ec2-A-B-C-D.<region>.compute.amazonaws.com */
  | { kind: 'public'; ip: string; region: string }
  /** D.C.B.A.in-addr.arpa */
  | { kind: 'reverse'; ip: string }
  /** The apex of an internal zone (exists, holds no address). */
  | { kind: 'zone' }
  /** Some other name inside ec2.internal / compute.internal: does not exist. */
  | { kind: 'internal' }
  /** Not ours. */
  | { kind: 'other' };

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const DASHED = `${OCTET}-${OCTET}-${OCTET}-${OCTET}`;
// us-east-1, eu-central-1, us-gov-west-1, ap-southeast-4, …
const REGION = '([a-z]{2}(?:-[a-z]+)+-\\d{1,2})';
const HOST_IN_INTERNAL = new RegExp(`^(?:ip-${DASHED}|(i-[0-9a-f]{8}|i-[0-9a-f]{17}))\\.(?:ec2|${REGION}\\.compute)\\.internal$`);
const PUBLIC = new RegExp(`^ec2-${DASHED}\\.(?:compute-1|${REGION}\\.compute)\\.amazonaws\\.com$`);
const REVERSE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}\\.in-addr\\.arpa$`);
const ZONE_APEX = new RegExp(`^(?:ec2|compute|${REGION}\\.compute)\\.internal$`);
const IN_ZONE = /\.(?:ec2|compute)\.internal$/;

/** Lower case, without the final dot. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export function parseName(name: string): ParsedName {
  const n = canonicalName(name);
  let m = HOST_IN_INTERNAL.exec(n);
  if (m) {
    // In us-east-1 the zone is ec2.internal; …us-east-1.compute.internal is no one's name.
    const region = m[6] ?? 'us-east-1';
    if (m[6] === 'us-east-1') return { kind: 'internal' };
    if (m[5]) return { kind: 'instance', instanceId: m[5], region };
    return { kind: 'private', ip: `${m[1]}.${m[2]}.${m[3]}.${m[4]}`, region };
  }
  m = PUBLIC.exec(n);
  if (m) {
    const region = m[5] ?? 'us-east-1';
    // us-east-1's public zone is compute-1.amazonaws.com; this name is not EC2's, so not ours.
    if (m[5] === 'us-east-1') return { kind: 'other' };
    return { kind: 'public', ip: `${m[1]}.${m[2]}.${m[3]}.${m[4]}`, region };
  }
  m = REVERSE.exec(n);
  if (m) return { kind: 'reverse', ip: `${m[4]}.${m[3]}.${m[2]}.${m[1]}` };
  if (ZONE_APEX.test(n)) return { kind: 'zone' };
  if (IN_ZONE.test(n)) return { kind: 'internal' };
  return { kind: 'other' };
}

/** Addresses whose reverse zones never leave the machine (RFC 6303's locally served zones, and ours). */
export function isLocalReverse(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

// ---------------------------------------------------------------------------------------------
// Resolution over a small store interface (the real one below; tests may pass their own)

export interface DnsVpc {
  region: string;
  /** The primary IPv4 CIDR: the resolver (and the API's endpoint) is its base+2. */
  cidr: string;
  dnsSupport: boolean;
  dnsHostnames: boolean;
}

export interface DnsPublicAddress {
  /** The region of the address (its public name carries it). */
  region: string;
  /** The VPC of the interface it is mapped to, and the private IP it maps to. */
  vpcId: string;
  privateIp: string;
  /** That VPC's enable_dns_hostnames: public names exist only with it. */
  dnsHostnames: boolean;
}

export interface DnsFacts {
  vpc(vpcId: string): Promise<DnsVpc | undefined>;
  /** An interface of the VPC has this private IP (primary or secondary). */
  hasPrivateIp(vpcId: string, ip: string): Promise<boolean>;
  /** The instance's primary private IP, when it is in the VPC and has an A record for its resource name. */
  instanceIp(vpcId: string, instanceId: string): Promise<string | undefined>;
  /** A public IP mapped to an interface, with what its name needs. */
  publicAddress(ip: string): Promise<DnsPublicAddress | undefined>;
}

const wants = (type: string, rr: 'A' | 'PTR') => type === rr || type === 'ANY';

function records(q: DnsQuery, rr: 'A' | 'PTR', data: string | undefined): DnsResult {
  if (data === undefined) return { rcode: 'NXDOMAIN' };
  return { rcode: 'NOERROR', answers: wants(q.type, rr) ? [{ name: q.name, type: rr, data, ttl: TTL }] : [] };
}

/** The VPC's own address: base+2 of its primary CIDR (undefined for a CIDR that does not parse). */
function baseTwo(cidr: string): string | undefined {
  const c = parseCidrLoose(cidr);
  return c?.family === 4 ? addressAt(c, 2n) : undefined;
}

/** `endpoints`: the API's endpoint names (../endpoint.ts endpointNames), answered inside a VPC with its base+2. */
export async function resolveQuery(q: DnsQuery, facts: DnsFacts, endpoints?: ReadonlySet<string>): Promise<DnsResult> {
  const p = parseName(q.name);
  let vpc: DnsVpc | undefined;
  if (q.vpcId !== undefined) {
    vpc = await facts.vpc(q.vpcId);
    // enableDnsSupport=false turns the VPC's resolver off entirely (and a VPC we do not know has none).
    if (!vpc || !vpc.dnsSupport) return { rcode: 'REFUSED' };
  }
  // Only a VPC's resolver recurses: from the host (or anything else) we are no open resolver.
  const notOurs = (otherwise: 'NXDOMAIN' | 'REFUSED'): DnsResult => (vpc ? { rcode: 'FORWARD', otherwise } : { rcode: otherwise });
  // The endpoint names inside a VPC, as an interface endpoint's private DNS zone (from the host: not ours).
  if (vpc && p.kind === 'other' && endpoints?.has(canonicalName(q.name))) {
    const at = baseTwo(vpc.cidr);
    if (at) return records(q, 'A', at);
  }

  switch (p.kind) {
    case 'other':
      return notOurs('REFUSED');
    case 'zone':
      return { rcode: 'NOERROR', answers: [] };
    case 'internal':
      return { rcode: 'NXDOMAIN' };
    case 'private': {
      // Private names are seen from inside their VPC only, and carry its region.
      if (!vpc || p.region !== vpc.region) return { rcode: 'NXDOMAIN' };
      return records(q, 'A', (await facts.hasPrivateIp(q.vpcId!, p.ip)) ? p.ip : undefined);
    }
    case 'instance': {
      if (!vpc || p.region !== vpc.region) return { rcode: 'NXDOMAIN' };
      return records(q, 'A', await facts.instanceIp(q.vpcId!, p.instanceId));
    }
    case 'public': {
      const a = await facts.publicAddress(p.ip);
      // An address that is none of ours (or not mapped): a real EC2 name on the internet, maybe.
      if (!a) return notOurs('NXDOMAIN');
      if (a.region !== p.region || !a.dnsHostnames) return { rcode: 'NXDOMAIN' };
      return records(q, 'A', q.vpcId === a.vpcId ? a.privateIp : p.ip);
    }
    case 'reverse': {
      if (vpc && (await facts.hasPrivateIp(q.vpcId!, p.ip))) return records(q, 'PTR', privateDnsName(p.ip, vpc.region));
      const a = await facts.publicAddress(p.ip);
      if (a?.dnsHostnames) return records(q, 'PTR', publicDnsName(p.ip, a.region));
      return isLocalReverse(p.ip) ? { rcode: 'NXDOMAIN' } : notOurs('NXDOMAIN');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The store

/** The lookup the DNS server is given: EC2's names from the facts app.ts injects (the store's). */
export function dnsLookup(facts: DnsFacts, endpoints?: ReadonlySet<string>): DnsLookup {
  return (q) => resolveQuery(q, facts, endpoints);
}
