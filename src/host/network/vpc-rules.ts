// The nftables table of one VPC's namespace (`inet vpc`), built as text from a VpcSpec by pure
// functions (table-tested in vpc-rules.test.ts, loaded for real in vpc-rules.system.test.ts).
//
// Everything between instances, and between instances and the uplink, is routed through the VPC
// namespace, so one table sees every packet with conntrack. An `accept` ends only the base chain it
// is in (a `drop` ends everything), so each concern has its own base chain and "allowed" means
// "falls through to the next one":
//
//   prerouting  (filter, mangle -150)  IPv6 and unknown interfaces out; anti-spoofing of sources;
//                                      marks metadata/DNS flows (ct mark 0x1: never filtered);
//                                      security groups, EGRESS of the sending interface
//   dnat        (nat, dstnat)          169.254.169.254:80 → metadata; VPC base+2 / 169.254.169.253
//                                      :53 → DNS; VPC base+2:443 → the API's endpoint; public IP →
//                                      private IP (from the uplink)
//   acl         (filter, filter - 10)  what may cross the uplink (public mapping, gateway route);
//                                      network ACLs at subnet boundaries (stateless, rule-number
//                                      order: allow → return, deny → drop)
//   forward     (filter, filter)       metadata answers' TTL; anti-spoofing of destinations;
//                                      security groups, INGRESS of the receiving interface
//   snat        (nat, srcnat)          private IP → public IP (to the uplink)
//   input       (filter, filter)       the namespace itself answers ping and nothing else
//
// Per-interface dispatch is one verdict-map lookup (`iifname vmap @…`), so the cost of a packet does
// not grow with the number of interfaces; rules with the same protocol and ports share one CIDR set.
import { createHash } from 'node:crypto';
import { addressAt, contains, formatCidr, formatIp, ipv4ToNumber, numberToIpv4, parseCidrLoose, type Cidr } from '../../lib/cidr.js';
import { AMAZON_DNS_LINK_LOCAL, type InterfaceSpec, type NaclEntrySpec, type SgRuleSpec, type SubnetSpec, type VpcSpec } from './vpc-spec.js';

export const METADATA_ADDRESS = '169.254.169.254';
export const MAX_HOP_LIMIT = 64;
export const VPC_TABLE = 'vpc';
/** ct mark of metadata, DNS and API endpoint flows: exempt from security groups, ACLs and the uplink's checks. */
const EXEMPT = '0x00000001';

export interface VpcRulesOptions {
  /** DNAT target of 169.254.169.254:80 (the VPC uplink's host-end address, the IMDS port). */
  metadata: { address: string; port: number };
  /** DNAT target of <VPC base+2>:53 and 169.254.169.253:53, udp and tcp. */
  dns: { address: string; port: number };
  /** DNAT target of <VPC base+2>:443, tcp: the API's endpoint (as an interface VPC endpoint with private DNS). */
  api: { address: string; port: number };
  /** The uplink inside the VPC namespace ('up0'). */
  uplink: string;
  /** The ENI's veth name inside the VPC namespace, e.g. 'e' + last 14 hex digits. */
  ifname(eniId: string): string;
}

// ── IPv4 blocks (the arithmetic is src/lib/cidr.ts's) ─────────────────────────────────────────────

/** An IPv4 CIDR, a bare address being a /32, with host bits cleared (nft wants a network address); throws on a malformed one. */
function parseBlock(cidr: string): Cidr {
  const c = typeof cidr === 'string' ? parseCidrLoose(cidr.includes('/') ? cidr : `${cidr}/32`) : undefined;
  if (!c || c.family !== 4) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  return c;
}

/** A dotted quad, checked (it ends up in a script). */
const ipv4 = (ip: string) => numberToIpv4(ipv4ToNumber(ip));

const blockText = (b: Cidr) => (b.prefix === 32 ? formatIp(4, b.network) : formatCidr(b));
const isIpv4Cidr = (c: string) => !c.includes(':');

/**
 * The IPv4 CIDRs (IPv6 ones left out) with host bits cleared and the ones inside another dropped,
 * sorted: what an nft interval set accepts (no overlapping elements). Throws on a malformed one.
 */
export function mergeCidrs(cidrs: string[]): string[] {
  const blocks = cidrs
    .filter(isIpv4Cidr)
    .map(parseBlock)
    .sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : a.prefix - b.prefix));
  const out: Cidr[] = [];
  for (const b of blocks) {
    const last = out[out.length - 1];
    if (last && contains(last, b)) continue; // sorted, blocks nest or are disjoint: only the last can hold it
    out.push(b);
  }
  return out.map(blockText);
}

/** Port ranges merged (overlapping or adjacent ones joined), sorted. */
export function mergeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

// ── names (nft identifiers) ───────────────────────────────────────────────────────────────────────

const ident = (id: string) => id.replace(/^[a-z]+-/, '').replace(/[^A-Za-z0-9_]/g, '_');
export const sgChain = (groupId: string, dir: 'in' | 'out') => `sg_${ident(groupId)}_${dir}`;
export const sgMembers = (groupId: string) => `sgm_${ident(groupId)}`;
export const aclChain = (subnetId: string, dir: 'in' | 'out') => `acl_${ident(subnetId)}_${dir}`;
export const subnetIfaces = (subnetId: string) => `sn_${ident(subnetId)}`;
const listChain = (groups: string[], dir: 'in' | 'out') => `gl_${createHash('sha256').update(groups.join(',')).digest('hex').slice(0, 16)}_${dir}`;

function checkIfname(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`bad interface name: ${name}`);
  return name;
}

const q = (s: string) => JSON.stringify(s);
const list = (items: string[]) => (items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`);

function setDecl(name: string, type: string, elements: string[], flags?: string): string {
  const f = flags ? ` flags ${flags};` : '';
  const e = elements.length ? ` elements = { ${elements.join(', ')} };` : '';
  return `  set ${name} { type ${type};${f}${e} }`;
}

function mapDecl(name: string, type: string, elements: string[]): string {
  const e = elements.length ? ` elements = { ${elements.join(', ')} };` : '';
  return `  map ${name} { type ${type};${e} }`;
}

function chainDecl(name: string, rules: string[], base?: string): string {
  const body = [...(base ? [base] : []), ...rules].map((r) => `    ${r}`);
  return [`  chain ${name} {`, ...body, `  }`].join('\n');
}

// ── protocol matches ──────────────────────────────────────────────────────────────────────────────

type L4 = { kind: 'all' } | { kind: 'ports'; proto: 'tcp' | 'udp'; range: [number, number] } | { kind: 'icmp'; type: number; code: number } | { kind: 'number'; n: number };

function validPort(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 65535;
}

function l4Of(protocol: SgRuleSpec['protocol'] | string, from: number | undefined, to: number | undefined): L4 {
  const p = typeof protocol === 'string' && /^-?\d+$/.test(protocol) ? Number(protocol) : protocol;
  if (p === 'all' || p === -1) return { kind: 'all' };
  const name = p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 1 ? 'icmp' : p;
  if (name === 'tcp' || name === 'udp') {
    if (!validPort(from)) return { kind: 'ports', proto: name, range: [0, 65535] };
    const hi = validPort(to) ? Math.max(from, to) : from;
    return { kind: 'ports', proto: name, range: [from, hi] };
  }
  if (name === 'icmp') {
    const type = Number.isInteger(from) && from! >= 0 && from! <= 255 ? from! : -1;
    const code = type >= 0 && Number.isInteger(to) && to! >= 0 && to! <= 255 ? to! : -1;
    return { kind: 'icmp', type, code };
  }
  if (typeof name === 'number' && Number.isInteger(name) && name >= 0 && name <= 255) return { kind: 'number', n: name };
  throw new Error(`bad protocol: ${String(protocol)}`);
}

function portsText(proto: string, ranges: [number, number][]): string {
  if (ranges.length === 1 && ranges[0]![0] === 0 && ranges[0]![1] === 65535) return `meta l4proto ${proto}`;
  return `${proto} dport ${list(ranges.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)))}`;
}

function l4Text(l: L4, ranges?: [number, number][]): string {
  switch (l.kind) {
    case 'all':
      return '';
    case 'ports':
      return portsText(l.proto, ranges ?? [l.range]);
    case 'icmp':
      return l.type < 0 ? 'meta l4proto icmp' : `icmp type ${l.type}${l.code >= 0 ? ` icmp code ${l.code}` : ''}`;
    case 'number':
      return `meta l4proto ${l.n}`;
  }
}

/** What identifies a rule's protocol except its ports: rules with the same key merge their ports. */
function l4Key(l: L4): string {
  return l.kind === 'ports' ? l.proto : l.kind === 'icmp' ? `icmp:${l.type}:${l.code}` : l.kind === 'number' ? `n:${l.n}` : 'all';
}

const join = (...parts: string[]) => parts.filter(Boolean).join(' ');

// ── security groups ───────────────────────────────────────────────────────────────────────────────

/**
 * The rules of one direction of one group, compacted: CIDR peers with the same protocol and ports
 * share one anonymous set, then TCP/UDP rules with the same CIDR set share one port set; a rule
 * referencing a group matches the group's member set. Every match is `accept`.
 */
export function sgRules(rules: SgRuleSpec[], dir: 'in' | 'out'): string[] {
  const peer = dir === 'in' ? 'ip saddr' : 'ip daddr';
  // 1. CIDR peers by (protocol, ports); group peers by (protocol, group), their port ranges merged.
  const byL4 = new Map<string, { l4: L4; cidrs: string[] }>();
  const byGroup = new Map<string, { l4: L4; groupId: string; ranges: [number, number][] }>();
  for (const r of rules) {
    const l4 = l4Of(r.protocol, r.fromPort, r.toPort);
    if (r.groupId) {
      const k = `${l4Key(l4)}|${r.groupId}`;
      const e = byGroup.get(k);
      if (e) {
        if (l4.kind === 'ports') e.ranges.push(l4.range);
      } else byGroup.set(k, { l4, groupId: r.groupId, ranges: l4.kind === 'ports' ? [l4.range] : [] });
    } else if (r.cidr && isIpv4Cidr(r.cidr)) {
      const k = l4.kind === 'ports' ? `${l4.proto}:${l4.range[0]}-${l4.range[1]}` : l4Key(l4);
      const e = byL4.get(k);
      if (e) e.cidrs.push(r.cidr);
      else byL4.set(k, { l4, cidrs: [r.cidr] });
    }
  }
  // 2. TCP/UDP entries with the same CIDR set: one rule with a port set.
  const merged = new Map<string, { l4: L4; cidrs: string[]; ranges: [number, number][] }>();
  for (const { l4, cidrs } of byL4.values()) {
    const set = mergeCidrs(cidrs);
    const k = `${l4Key(l4)}|${set.join(',')}`;
    const e = merged.get(k);
    if (e && l4.kind === 'ports') e.ranges.push(l4.range);
    else if (!e) merged.set(k, { l4, cidrs: set, ranges: l4.kind === 'ports' ? [l4.range] : [] });
  }
  const out: string[] = [];
  for (const { l4, cidrs, ranges } of merged.values()) {
    const anywhere = cidrs.includes('0.0.0.0/0');
    const text = join(anywhere ? '' : `${peer} ${list(cidrs)}`, l4Text(l4, l4.kind === 'ports' ? mergeRanges(ranges) : undefined), 'accept');
    if (text === 'accept') return ['accept']; // all traffic, anywhere: nothing else matters
    out.push(text);
  }
  for (const { l4, groupId, ranges } of byGroup.values()) {
    out.push(join(`${peer} @${sgMembers(groupId)}`, l4Text(l4, l4.kind === 'ports' ? mergeRanges(ranges) : undefined), 'accept'));
  }
  return [...new Set(out)];
}

// ── network ACLs ──────────────────────────────────────────────────────────────────────────────────

/** One ACL entry as a rule: first match wins; allow returns to the base chain, deny drops. */
export function naclRule(e: NaclEntrySpec): string {
  const l4 = l4Of(e.protocol, e.protocol === 1 ? e.icmpType : e.portFrom, e.protocol === 1 ? e.icmpCode : e.portTo);
  const block = mergeCidrs([e.cidr]);
  const addr = block[0] === '0.0.0.0/0' ? '' : `${e.egress ? 'ip daddr' : 'ip saddr'} ${block[0]}`;
  return join(addr, l4Text(l4), e.action === 'allow' ? 'return' : 'drop');
}

/** The entries of one direction, in rule-number order, then the implicit deny of EC2's '*' entry. */
export function naclRules(entries: NaclEntrySpec[], egress: boolean): string[] {
  const mine = entries.filter((e) => e.egress === egress && isIpv4Cidr(e.cidr)).sort((a, b) => a.ruleNumber - b.ruleNumber);
  const out: string[] = [];
  for (const e of mine) {
    const rule = naclRule(e);
    out.push(rule);
    if (rule === 'return' || rule === 'drop') return out; // matches everything: later entries never count
  }
  return [...out, 'drop'];
}

// ── the table ─────────────────────────────────────────────────────────────────────────────────────

function igwCidrs(spec: VpcSpec, subnet: SubnetSpec): string[] {
  if (!spec.internetGatewayId) return [];
  return mergeCidrs(subnet.routes.filter((r) => r.target === 'internet-gateway').map((r) => r.destination));
}

function hopLimit(i: InterfaceSpec): number {
  const h = i.metadataHopLimit;
  return Number.isInteger(h) ? Math.min(MAX_HOP_LIMIT, Math.max(1, h)) : 1;
}

/** The VPC's Amazon-provided resolver: base of its primary CIDR + 2. */
export function vpcResolver(spec: VpcSpec): string {
  if (!spec.cidrs[0]) throw new Error(`${spec.vpcId} has no IPv4 CIDR`);
  return addressAt(parseBlock(spec.cidrs[0]), 2n);
}

/** One nft transaction that replaces the whole `inet vpc` table of a VPC namespace atomically (run with `ip netns exec <ns> nft -f -`). */
export function vpcTableScript(spec: VpcSpec, o: VpcRulesOptions): string {
  const up = q(checkIfname(o.uplink));
  for (const t of [o.metadata, o.dns, o.api]) {
    ipv4ToNumber(t.address);
    if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new Error(`bad port: ${t.port}`);
  }
  const resolver = vpcResolver(spec);
  const ifs = spec.interfaces.map((i) => ({ i, name: checkIfname(o.ifname(i.eniId)) }));

  // Sets of facts.
  const addrs = ifs.flatMap(({ i, name }) => i.privateIps.map((ip) => `${q(name)} . ${ipv4(ip)}`));
  const pubToPriv = new Map<string, string>();
  const privToPub = new Map<string, string>();
  for (const { i } of ifs) {
    for (const m of i.publicIps) {
      const pub = ipv4(m.publicIp);
      const priv = ipv4(m.privateIp);
      if (!pubToPriv.has(pub) && !privToPub.has(priv)) {
        pubToPriv.set(pub, priv);
        privToPub.set(priv, pub);
      }
    }
  }
  const groupIds = new Set<string>();
  for (const g of spec.securityGroups) {
    groupIds.add(g.groupId);
    for (const r of [...g.ingress, ...g.egress]) if (r.groupId) groupIds.add(r.groupId);
  }
  const members = (g: string) => [...new Set(spec.interfaces.filter((i) => i.groups.includes(g)).flatMap((i) => i.privateIps.map((ip) => ipv4(ip))))];

  const sets: string[] = [
    setDecl('ifaces', 'ifname', [q('lo'), up, ...ifs.map(({ name }) => q(name))]),
    setDecl(
      'enis',
      'ifname',
      ifs.map(({ name }) => q(name)),
    ),
    setDecl(
      'checked',
      'ifname',
      ifs.filter(({ i }) => i.sourceDestCheck).map(({ name }) => q(name)),
    ),
    setDecl('addrs', 'ifname . ipv4_addr', [...new Set(addrs)]),
    setDecl('vpc_cidrs', 'ipv4_addr', mergeCidrs(spec.cidrs), 'interval'),
    setDecl('public_ips', 'ipv4_addr', [...pubToPriv.keys()]),
    setDecl('nat_sources', 'ipv4_addr', [...privToPub.keys()]),
    mapDecl(
      'public_to_private',
      'ipv4_addr : ipv4_addr',
      [...pubToPriv].map(([a, b]) => `${a} : ${b}`),
    ),
    mapDecl(
      'private_to_public',
      'ipv4_addr : ipv4_addr',
      [...privToPub].map(([a, b]) => `${a} : ${b}`),
    ),
    ...[...groupIds].map((g) => setDecl(sgMembers(g), 'ipv4_addr', members(g))),
  ];

  // Leaf chains: TTLs, groups, then the interfaces' group lists, then the subnets' ACLs.
  const hops = [...new Set(ifs.map(({ i }) => hopLimit(i)))].sort((a, b) => a - b);
  const chains: string[] = hops.map((h) => chainDecl(`ttl_${h}`, [`ip ttl set ${h}`]));
  for (const g of spec.securityGroups) {
    chains.push(chainDecl(sgChain(g.groupId, 'in'), sgRules(g.ingress, 'in')));
    chains.push(chainDecl(sgChain(g.groupId, 'out'), sgRules(g.egress, 'out')));
  }
  const known = new Set(spec.securityGroups.map((g) => g.groupId));
  // An interface is allowed what one of its groups allows: jump to each; the base chain drops after.
  const dispatch = (dir: 'in' | 'out') => {
    const elements: string[] = [];
    const lists = new Map<string, string[]>();
    for (const { i, name } of ifs) {
      const groups = [...new Set(i.groups.filter((g) => known.has(g)))];
      if (!groups.length) continue; // no group: nothing allowed
      const chain = groups.length === 1 ? sgChain(groups[0]!, dir) : listChain(groups, dir);
      if (groups.length > 1) lists.set(chain, groups);
      elements.push(`${q(name)} : jump ${chain}`);
    }
    for (const [chain, groups] of lists)
      chains.push(
        chainDecl(
          chain,
          groups.map((g) => `jump ${sgChain(g, dir)}`),
        ),
      );
    return elements;
  };
  const sgIn = dispatch('in');
  const sgOut = dispatch('out');

  const subnets = new Map(spec.subnets.map((s) => [s.subnetId, s]));
  // An interface's subnet missing from the spec (a builder error) crosses no boundary: no routes, no entries.
  for (const { i } of ifs)
    if (!subnets.has(i.subnetId)) subnets.set(i.subnetId, { subnetId: i.subnetId, cidr: i.subnetCidr, routes: [], networkAcl: { networkAclId: '', entries: [] } });
  for (const s of subnets.values()) {
    const names = ifs.filter(({ i }) => i.subnetId === s.subnetId).map(({ name }) => q(name));
    sets.push(setDecl(subnetIfaces(s.subnetId), 'ifname', names));
    const igw = igwCidrs(spec, s);
    // The gateway only for peers its route table sends there (a private subnet's elastic IP is unreachable).
    const gateway = (addr: 'ip daddr' | 'ip saddr', ifname: 'oifname' | 'iifname') =>
      igw.includes('0.0.0.0/0') ? [] : igw.length ? [`${ifname} ${up} ${addr} != { ${igw.join(', ')} } drop`] : [`${ifname} ${up} drop`];
    chains.push(
      chainDecl(aclChain(s.subnetId, 'out'), [`oifname @${subnetIfaces(s.subnetId)} return`, ...gateway('ip daddr', 'oifname'), ...naclRules(s.networkAcl.entries, true)]),
    );
    chains.push(
      chainDecl(aclChain(s.subnetId, 'in'), [`iifname @${subnetIfaces(s.subnetId)} return`, ...gateway('ip saddr', 'iifname'), ...naclRules(s.networkAcl.entries, false)]),
    );
  }

  const maps = [
    mapDecl(
      'hop_limit',
      'ifname : verdict',
      ifs.map(({ i, name }) => `${q(name)} : jump ttl_${hopLimit(i)}`),
    ),
    mapDecl('sg_egress', 'ifname : verdict', sgOut),
    mapDecl('sg_ingress', 'ifname : verdict', sgIn),
    mapDecl(
      'subnet_egress',
      'ifname : verdict',
      ifs.map(({ i, name }) => `${q(name)} : jump ${aclChain(i.subnetId, 'out')}`),
    ),
    mapDecl(
      'subnet_ingress',
      'ifname : verdict',
      ifs.map(({ i, name }) => `${q(name)} : jump ${aclChain(i.subnetId, 'in')}`),
    ),
  ];

  const md = `${o.metadata.address}:${o.metadata.port}`;
  const dnsAt = `${o.dns.address}:${o.dns.port}`;
  const apiAt = `${o.api.address}:${o.api.port}`;
  const dnsAddrs = `{ ${resolver}, ${AMAZON_DNS_LINK_LOCAL} }`;
  const special = `{ ${METADATA_ADDRESS}, ${AMAZON_DNS_LINK_LOCAL}, ${resolver} }`;
  const base = [
    chainDecl(
      'prerouting',
      [
        'meta nfproto ipv6 drop',
        'iifname != @ifaces drop',
        'iifname "lo" accept',
        `iifname ${up} ip saddr @vpc_cidrs drop`,
        'iifname @checked iifname . ip saddr != @addrs drop',
        // Metadata and DNS: only from an interface's own address (even without source/dest check), never filtered.
        `iifname . ip saddr @addrs ip daddr ${METADATA_ADDRESS} tcp dport 80 ct mark set ${EXEMPT}`,
        ...(spec.dnsSupport
          ? [
              `iifname . ip saddr @addrs ip daddr ${dnsAddrs} meta l4proto { tcp, udp } th dport 53 ct mark set ${EXEMPT}`,
              `iifname . ip saddr @addrs ip daddr ${resolver} tcp dport 443 ct mark set ${EXEMPT}`,
            ]
          : []),
        `ct mark ${EXEMPT} accept`,
        `iifname @enis ip daddr ${special} drop`,
        'ct state established,related accept',
        'iifname vmap @sg_egress',
        'iifname @enis drop',
      ],
      'type filter hook prerouting priority mangle; policy accept;',
    ),
    chainDecl(
      'prerouting_nat',
      [
        `ct mark ${EXEMPT} ip daddr ${METADATA_ADDRESS} tcp dport 80 dnat ip to ${md}`,
        ...(spec.dnsSupport
          ? [
              `ct mark ${EXEMPT} ip daddr ${dnsAddrs} meta l4proto { tcp, udp } th dport 53 dnat ip to ${dnsAt}`,
              `ct mark ${EXEMPT} ip daddr ${resolver} tcp dport 443 dnat ip to ${apiAt}`,
            ]
          : []),
        `iifname ${up} dnat ip to ip daddr map @public_to_private`,
      ],
      'type nat hook prerouting priority dstnat; policy accept;',
    ),
    chainDecl(
      'forward_acl',
      [
        `ct mark ${EXEMPT} accept`,
        'oifname != @ifaces drop',
        `iifname ${up} oifname ${up} drop`,
        // The uplink carries only public addresses: sources with a public IP (SNATed below), and from it only
        // connections to a public IP (or replies).
        `oifname ${up} ip saddr != @nat_sources drop`,
        `oifname ${up} ip daddr @vpc_cidrs drop`,
        `oifname ${up} ip daddr 169.254.0.0/16 drop`,
        `iifname ${up} ct direction original ct original ip daddr != @public_ips drop`,
        'iifname vmap @subnet_egress',
        'oifname vmap @subnet_ingress',
      ],
      'type filter hook forward priority filter - 10; policy accept;',
    ),
    chainDecl(
      'forward',
      [
        // Metadata answers reach the interface with its hop limit as TTL (a container behind it gets nothing).
        `ct mark ${EXEMPT} ct direction reply ct original ip daddr ${METADATA_ADDRESS} oifname vmap @hop_limit`,
        `ct mark ${EXEMPT} accept`,
        'oifname @checked oifname . ip daddr != @addrs drop',
        'ct state established,related accept',
        'oifname vmap @sg_ingress',
        'oifname @enis drop',
      ],
      'type filter hook forward priority filter; policy accept;',
    ),
    chainDecl(
      'postrouting_nat',
      [`ct mark ${EXEMPT} accept`, `oifname ${up} snat ip to ip saddr map @private_to_public`],
      'type nat hook postrouting priority srcnat; policy accept;',
    ),
    chainDecl('input', ['iifname "lo" accept', 'ct state established,related accept', 'icmp type echo-request accept'], 'type filter hook input priority filter; policy drop;'),
  ];

  return [replaceTable(), `table inet ${VPC_TABLE} {`, ...sets, ...chains, ...maps, ...base, '}'].join('\n') + '\n';
}

/** Declare-then-delete: nft 1.0.6 has no `destroy`, and deleting a missing table fails the transaction. */
function replaceTable(): string {
  return `table inet ${VPC_TABLE} {}\ndelete table inet ${VPC_TABLE}`;
}

/** A closed table (everything forwarded is dropped; nothing NATed): what a VPC netns gets before its first applyVpc. */
export function closedVpcTableScript(): string {
  return (
    [
      replaceTable(),
      `table inet ${VPC_TABLE} {`,
      chainDecl('prerouting', ['meta nfproto ipv6 drop'], 'type filter hook prerouting priority mangle; policy accept;'),
      chainDecl('forward', [], 'type filter hook forward priority filter; policy drop;'),
      chainDecl('input', ['iifname "lo" accept'], 'type filter hook input priority filter; policy drop;'),
      '}',
    ].join('\n') + '\n'
  );
}
