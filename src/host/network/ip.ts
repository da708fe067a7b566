// The iproute2 side of the VPC data plane, as pure functions (table-tested in ip.test.ts): what each
// namespace should hold (host, VPC, instance), what it holds (parsed from `ip -j`), and the batch
// of lines that takes the one to the other.
//
// Every managed thing is an IpObject keyed by what identifies it in the kernel (the key of a route is
// its table and destination: what `route replace` overwrites). A diff against the last known state
// gives the lines: removals first (rules, routes, addresses, links), then additions (links,
// aliases, addresses, up, routes, rules). With nothing changed there is nothing to run.
//
// VPC namespace (the "VPC router"):
//   rule 1000: from <subnet> lookup <subnet table>   its routes: igw → via the host end, instance or
//                              interface → via its private IP on its veth, blackholes; the VPC's
//                              CIDRs (local routes) and the host end `throw` (on to main)
//   rule 2000: lookup main     main: the VPC's CIDRs (unreachable), a /32 per private IP of each
//                              ENI (dev e…), the uplink's host end (dev up0)
// so the VPC's own addresses are local unless a subnet's table has a more specific route (to an
// appliance: EC2's middlebox routing), and what leaves the VPC follows the subnet's table.
import { addressAt, formatCidr, ipInCidr, numberToIpv4, parseCidrLoose, parseIp, type Cidr } from '../../lib/cidr.js';
import { eniLink, UPLINK_BLOCK_BASE, UPLINK_BLOCK_SIZE } from './names.js';
import type { InterfaceSpec, VpcSpec } from './vpc-spec.js';

/** The VPC namespace's end of the uplink, and its address (the same in every VPC namespace). */
export const UPLINK = 'up0';
export const UPLINK_ADDRESS = '169.254.0.2';
/** Host: `from <uplink host end> lookup <the VPC's host table>`. */
export const HOST_RULE_PREF = 1000;
/** VPC namespace: the VPC's own addresses (main), after the subnets' tables (their local routes throw to it). */
export const VPC_MAIN_PREF = 2000;
/** VPC namespace: `from <subnet> lookup <its table>`. */
export const SUBNET_PREF = 1000;
/** Instance namespace: table and rule preference of eth<n> (n ≥ 1) are this + n: replies leave by the interface they belong to. */
export const DEVICE_TABLE_BASE = 10000;
const DEVICE_TABLE_MAX = DEVICE_TABLE_BASE + 999;

export type Kind = 'link' | 'alias' | 'addr' | 'up' | 'route' | 'rule';
const ORDER: Record<Kind, number> = { link: 0, alias: 1, addr: 2, up: 3, route: 4, rule: 5 };

export interface IpObject {
  kind: Kind;
  /** What identifies it in the kernel. */
  key: string;
  /**
   * The lines that make it (idempotent where iproute2 allows). A line starting with '-' may fail
   * (a removal of what may not be there). Empty: unknown (read back from the kernel): made again
   * when wanted (routes: `replace` is idempotent).
   */
  add: string[];
  /** The line that removes it; '' when nothing has to (it goes with its link, or is never removed). */
  del: string;
  /** The link it lives on: it is gone when that link is deleted or made again. */
  dev?: string;
  /** The device it belongs to (for a partial apply: one instance's interfaces). Defaults to dev. */
  owner?: string;
}

export type ObjectSet = Map<string, IpObject>;

export function objectSet(objs: Iterable<IpObject>): ObjectSet {
  const m: ObjectSet = new Map();
  for (const o of objs) m.set(o.key, o);
  return m;
}

const ownerOf = (o: IpObject) => o.owner ?? o.dev;

// ---------------------------------------------------------------------------------------------
// Checked values: everything below ends up in a command line.

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const ALIAS = /^[A-Za-z0-9_./:,-]{1,200}$/;
const NETNS = /^[A-Za-z0-9_.-]{1,64}$/;

function ipv4(s: string, what: string): string {
  const p = parseIp(s);
  if (!p || p.family !== 4) throw new Error(`bad ${what}: ${s}`);
  return s;
}

function cidr4(s: string, what: string): Cidr {
  const c = parseCidrLoose(s);
  if (!c || c.family !== 4) throw new Error(`bad ${what}: ${s}`);
  return c;
}

function name(s: string): string {
  if (!NAME.test(s)) throw new Error(`bad interface name: ${s}`);
  return s;
}

/** `10.0.1.5` → `10.0.1.5/32`, `default` → `0.0.0.0/0`: one spelling for keys. */
export function normalizeDst(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  return dst.includes('/') ? formatCidr(cidr4(dst, 'destination')) : `${ipv4(dst, 'destination')}/32`;
}

/** A subnet's route table in its VPC namespace: its network address as a number (subnets of a VPC never overlap). */
export function subnetTable(subnetCidr: string): number {
  const c = cidr4(subnetCidr, 'subnet CIDR');
  const t = Number(c.network);
  if (t < 256) throw new Error(`subnet ${subnetCidr} cannot be a VPC subnet`);
  return t;
}

export interface Addressing {
  /** Primary first. */
  ips: string[];
  prefix: number;
  subnet: string;
  /** The subnet's router: its network address + 1, as in a VPC (172.31.0.1 for 172.31.0.0/20). */
  gateway: string;
  mac: string;
}

/** Checks an interface and derives its addresses; throws on anything malformed. */
export function addressing(eni: Pick<InterfaceSpec, 'privateIps' | 'subnetCidr' | 'macAddress'>): Addressing {
  const subnet = parseCidrLoose(eni.subnetCidr);
  if (!subnet || subnet.family !== 4) throw new Error(`bad subnet CIDR: ${eni.subnetCidr}`);
  if (subnet.prefix > 28) throw new Error(`subnet ${eni.subnetCidr} is smaller than a VPC allows (/28)`);
  if (!eni.privateIps.length) throw new Error(`an interface in ${eni.subnetCidr} has no private address`);
  const gateway = addressAt(subnet, 1n);
  for (const ip of eni.privateIps) {
    ipv4(ip, 'private IPv4 address');
    if (!ipInCidr(ip, subnet)) throw new Error(`${ip} is not in its subnet ${eni.subnetCidr}`);
    if (ip === gateway) throw new Error(`${ip} is the subnet's router address`);
  }
  const mac = eni.macAddress.toLowerCase();
  if (!MAC.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new Error(`bad MAC address: ${eni.macAddress}`);
  return { ips: [...new Set(eni.privateIps)], prefix: subnet.prefix, subnet: formatCidr(subnet), gateway, mac };
}

// ---------------------------------------------------------------------------------------------
// Object builders

export function addrObject(dev: string, cidr: string, owner?: string): IpObject {
  return { kind: 'addr', key: `addr ${dev} ${cidr}`, add: [`addr replace ${cidr} dev ${dev}`], del: `addr del ${cidr} dev ${dev}`, dev, owner };
}

export function upObject(dev: string, owner?: string): IpObject {
  return { kind: 'up', key: `up ${dev}`, add: [`link set dev ${dev} up`], del: '', dev, owner };
}

/** A route: `spec` is what follows `route replace` but for the table. */
export function routeObject(table: string | number, dst: string, spec: string, dev?: string, owner?: string): IpObject {
  const d = normalizeDst(dst);
  const shown = d === '0.0.0.0/0' ? 'default' : d;
  const t = String(table);
  const tableArg = t === 'main' ? '' : ` table ${t}`;
  return { kind: 'route', key: `route ${t} ${d}`, add: [`route replace ${spec.replace('$DST', shown)}${tableArg}`], del: `route del ${shown}${tableArg}`, dev, owner };
}

/** A rule (`ip rule add` is not idempotent: the add removes a stale twin first, which may not be there). */
export function ruleObject(pref: number, from: string, table: string | number, owner?: string): IpObject {
  const f = from === 'all' ? 'all' : normalizeDst(from);
  const sel = `pref ${pref}${f === 'all' ? '' : ` from ${f}`} lookup ${table}`;
  return { kind: 'rule', key: `rule ${pref} ${f} ${table}`, add: [`-rule del ${sel}`, `rule add ${sel}`], del: `rule del ${sel}`, owner };
}

/** An interface's veth pair, made from inside its VPC namespace: e… here, eth<n> in the instance's namespace. */
export function eniLinkObject(eni: InterfaceSpec, instanceNetns: string, mac: string): IpObject {
  const link = eniLink(eni.eniId);
  // The alias says whose it is (adoption after a restart) and which device it is inside: a change of either makes it again.
  const alias = `${eni.instanceId}/${eni.eniId}/eth${eni.deviceIndex}`;
  if (!ALIAS.test(alias)) throw new Error(`bad interface alias: ${alias}`);
  if (!NETNS.test(instanceNetns)) throw new Error(`bad namespace name: ${instanceNetns}`);
  return {
    kind: 'link',
    key: linkKey(link, alias),
    // A pair left from before (its instance's namespace made again) goes first.
    add: [`-link del dev ${link}`, `link add name ${link} type veth peer name eth${eni.deviceIndex} netns ${instanceNetns} address ${mac}`, `link set dev ${link} alias ${alias}`],
    del: `link del dev ${link}`,
    dev: link,
  };
}

const linkKey = (link: string, alias: string) => `link ${link} ${alias}`;

/** The uplink's host end: its addresses, the rule and table that send replies back up it, the public /32 routes. */
export interface UplinkAddressing {
  vpcId: string;
  /** The host end's name (cv<tag><vpc8>). */
  uplink: string;
  /** Its address in 169.254.128.0/17. */
  hostEnd: string;
  /** The host routing table of the uplink. */
  table: number;
  /** The public pool's first address: the host as the internet. */
  poolFirst: string;
}

export function hostObjects(u: UplinkAddressing, publicIps: Iterable<string>): ObjectSet {
  const dev = name(u.uplink);
  ipv4(u.hostEnd, 'uplink address');
  ipv4(u.poolFirst, 'pool address');
  const objs: IpObject[] = [
    { kind: 'alias', key: `alias ${dev}`, add: [`link set dev ${dev} alias ${u.vpcId}`], del: '', dev },
    addrObject(dev, `${u.hostEnd}/32`),
    addrObject(dev, `${u.poolFirst}/32`),
    upObject(dev),
    routeObject(u.table, 'default', `$DST via ${UPLINK_ADDRESS} dev ${dev} onlink`, dev),
    ruleObject(HOST_RULE_PREF, u.hostEnd, u.table),
  ];
  for (const ip of publicIps) objs.push(routeObject('main', `${ipv4(ip, 'public IPv4 address')}/32`, `$DST via ${UPLINK_ADDRESS} dev ${dev} onlink src ${u.poolFirst}`, dev));
  return objectSet(objs);
}

/** A plugged interface in its VPC namespace: the pair, the subnet router address, a /32 per private IP. */
export function eniVpcObjects(eni: InterfaceSpec, instanceNetns: string): IpObject[] {
  const a = addressing(eni);
  const link = eniLink(eni.eniId);
  return [
    eniLinkObject(eni, instanceNetns, a.mac),
    addrObject(link, `${a.gateway}/32`),
    upObject(link),
    ...a.ips.map((ip) => routeObject('main', `${ip}/32`, `$DST dev ${link} src ${a.gateway}`, link)),
  ];
}

/**
 * What stays in a VPC namespace whatever its interfaces: loopback (with the resolver's base + 2),
 * up0, the VPC's own addresses, the subnets' tables. A route to an interface goes through its veth
 * only when it is plugged here (`plugged`: interface ids), else it is a blackhole.
 */
export function vpcBaseObjects(spec: VpcSpec, hostEnd: string | undefined, plugged: ReadonlySet<string> = new Set()): IpObject[] {
  const objs: IpObject[] = [upObject('lo')];
  const cidrs = spec.cidrs.map((c) => formatCidr(cidr4(c, 'VPC CIDR')));
  // Base + 2 is the VPC's resolver: local here, so that an instance whose subnet holds it gets an
  // ARP answer; its DNS is DNATed before routing.
  if (cidrs[0]) objs.push(addrObject('lo', `${addressAt(cidr4(cidrs[0], 'VPC CIDR'), 2n)}/32`));
  objs.push(ruleObject(VPC_MAIN_PREF, 'all', 'main'));
  for (const c of cidrs) objs.push(routeObject('main', c, 'unreachable $DST'));
  if (hostEnd) {
    ipv4(hostEnd, 'uplink address');
    objs.push(addrObject(UPLINK, `${UPLINK_ADDRESS}/32`), upObject(UPLINK), routeObject('main', `${hostEnd}/32`, `$DST dev ${UPLINK}`, UPLINK));
  }
  for (const s of spec.subnets) {
    const table = subnetTable(s.cidr);
    objs.push(ruleObject(SUBNET_PREF, formatCidr(cidr4(s.cidr, 'subnet CIDR')), table));
    // The VPC's own blocks and the host end (metadata and DNS are DNATed to it) go on to main,
    // unless a route of the table says otherwise (same key: it replaces the throw).
    const own = new Map<string, IpObject>();
    for (const c of cidrs) own.set(c, routeObject(table, c, 'throw $DST'));
    if (hostEnd) own.set(`${hostEnd}/32`, routeObject(table, `${hostEnd}/32`, 'throw $DST'));
    for (const r of s.routes) {
      const dst = formatCidr(cidr4(r.destination, 'route destination'));
      if (r.target === 'local') own.set(dst, routeObject(table, dst, 'throw $DST'));
      else if (r.target === 'internet-gateway' && spec.internetGatewayId && hostEnd) own.set(dst, routeObject(table, dst, `$DST via ${hostEnd} dev ${UPLINK} onlink`, UPLINK));
      else if (r.target === 'interface' && r.eniId && r.nextHop && plugged.has(r.eniId)) {
        const link = eniLink(r.eniId);
        own.set(dst, routeObject(table, dst, `$DST via ${ipv4(r.nextHop, 'next hop')} dev ${link} onlink`, link));
      } else own.set(dst, routeObject(table, dst, 'blackhole $DST'));
    }
    objs.push(...own.values());
  }
  return objs;
}

/** Everything of a VPC namespace: the base, and each plugged interface (by its instance's namespace). */
export function vpcObjects(spec: VpcSpec, hostEnd: string | undefined, plugged: { eni: InterfaceSpec; netns: string }[]): ObjectSet {
  return objectSet([...vpcBaseObjects(spec, hostEnd, new Set(plugged.map((p) => p.eni.eniId))), ...plugged.flatMap((p) => eniVpcObjects(p.eni, p.netns))]);
}

/**
 * Inside an instance: eth<n> with its addresses, up; eth0 holds the default route; eth1… have a
 * table of their own (their subnet, default via their router) chosen by source address, so that
 * replies leave by the interface the request came in on.
 */
export function instanceObjects(enis: InterfaceSpec[]): ObjectSet {
  const objs: IpObject[] = [upObject('lo')];
  for (const eni of enis) {
    const a = addressing(eni);
    const n = eni.deviceIndex;
    if (!Number.isInteger(n) || n < 0 || n > 999) throw new Error(`bad device index: ${n}`);
    const dev = `eth${n}`;
    for (const ip of a.ips) objs.push(addrObject(dev, `${ip}/${a.prefix}`));
    objs.push(upObject(dev));
    if (n === 0) {
      objs.push(routeObject('main', 'default', `$DST via ${a.gateway} dev ${dev}`, dev));
    } else {
      const t = DEVICE_TABLE_BASE + n;
      objs.push(routeObject(t, a.subnet, `$DST dev ${dev} src ${a.ips[0]}`, dev));
      objs.push(routeObject(t, 'default', `$DST via ${a.gateway} dev ${dev}`, dev));
      for (const ip of a.ips) objs.push(ruleObject(t, `${ip}/32`, t, dev));
    }
  }
  return objectSet(objs);
}

// ---------------------------------------------------------------------------------------------
// The diff

export interface DiffOptions {
  /** Only objects whose owner is here are removed (a partial apply); everything when absent. */
  owners?: Set<string>;
  /** Links known to be gone or made again elsewhere (their other end): what lived on them is gone. */
  resetDevs?: Set<string>;
  /** Links to make again even when they are there (their peer's namespace is new). */
  recreate?: Set<string>;
}

export interface Plan {
  /** The batch, in order; `optional[i]` says whether line i may fail. */
  lines: string[];
  optional: boolean[];
  /** Which object each line belongs to (for failures). */
  objects: IpObject[];
  /** The state after the batch has run. */
  next: ObjectSet;
  /** Links made and removed: what lived on their peers is gone too. */
  made: IpObject[];
  removed: IpObject[];
}

export function diffObjects(current: ObjectSet, desired: ObjectSet, o: DiffOptions = {}): Plan {
  const inScope = (x: IpObject) => !o.owners || o.owners.has(ownerOf(x) ?? '');
  const made: IpObject[] = [];
  const removed: IpObject[] = [];
  const reset = new Set(o.resetDevs ?? []);
  const dels: IpObject[] = [];
  const adds: IpObject[] = [];
  // Links first: a link made or removed takes everything that lived on it.
  for (const [k, x] of current) {
    if (x.kind !== 'link' || !inScope(x) || desired.has(k)) continue;
    dels.push(x);
    removed.push(x);
    reset.add(x.dev!);
  }
  for (const [k, x] of desired) {
    if (x.kind !== 'link') continue;
    if (current.has(k) && !o.recreate?.has(x.dev!) && !reset.has(x.dev!)) continue;
    adds.push(x);
    made.push(x);
    reset.add(x.dev!);
  }
  const gone = (x: IpObject) => x.dev !== undefined && reset.has(x.dev);
  for (const [k, x] of current) {
    if (x.kind === 'link' || gone(x) || desired.has(k) || !inScope(x) || !x.del) continue;
    dels.push(x);
  }
  for (const [k, x] of desired) {
    if (x.kind === 'link') continue;
    const cur = current.get(k);
    if (cur && !gone(cur) && cur.add.length && cur.add.join('\n') === x.add.join('\n')) continue;
    adds.push(x);
  }
  dels.sort((a, b) => ORDER[b.kind] - ORDER[a.kind]);
  adds.sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);

  const lines: string[] = [];
  const optional: boolean[] = [];
  const objects: IpObject[] = [];
  for (const x of dels) {
    lines.push(x.del);
    optional.push(true);
    objects.push(x);
  }
  for (const x of adds) {
    for (const l of x.add) {
      const opt = l.startsWith('-');
      lines.push(opt ? l.slice(1) : l);
      optional.push(opt);
      objects.push(x);
    }
  }
  // After: what was there and stays (out of scope, or nothing removes it), then what is wanted.
  const next: ObjectSet = new Map();
  for (const [k, x] of current) {
    if (desired.has(k)) continue;
    if (x.kind === 'link' ? inScope(x) : gone(x) || (inScope(x) && x.del)) continue;
    next.set(k, x);
  }
  for (const [k, x] of desired) next.set(k, x);
  return { lines, optional, objects, next, made, removed };
}

/** `ip -force -batch` says `Command failed -:<line>` for each line that failed: their numbers (1-based). */
export function failedLines(stderr: string): number[] {
  return [...stderr.matchAll(/Command failed \S*:(\d+)/g)].map((m) => Number(m[1]));
}

// ---------------------------------------------------------------------------------------------
// What a namespace holds, from `ip -j` (link show, addr show, route show table all, rule show)

interface JLink {
  ifname: string;
  flags?: string[];
  ifalias?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface JRoute {
  type?: string;
  dst: string;
  dev?: string;
  table?: string;
  protocol?: string;
}
interface JRule {
  priority: number;
  src?: string;
  srclen?: number;
  table?: string;
}

export interface Observed {
  links: JLink[];
  addrs: JLink[];
  routes: JRoute[];
  rules: JRule[];
}

/** The output of `ip -j -batch` with the four show commands above: one JSON array per line. */
export function parseObserved(out: string): Observed {
  const arrays = out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown[]);
  if (arrays.length !== 4) throw new Error(`expected 4 JSON arrays from ip, got ${arrays.length}`);
  return { links: arrays[0] as JLink[], addrs: arrays[1] as JLink[], routes: arrays[2] as JRoute[], rules: arrays[3] as JRule[] };
}

export const OBSERVE_LINES = ['link show', 'addr show', 'route show table all', 'rule show'];

const KERNEL_RULES = new Set([0, 32766, 32767]);

function routeOf(r: JRoute, owner?: string): IpObject | undefined {
  if (r.table === 'local' || r.protocol === 'kernel') return undefined;
  if (r.type && !['unicast', 'unreachable', 'blackhole', 'prohibit', 'throw'].includes(r.type)) return undefined;
  if (r.dst.includes(':')) return undefined;
  let dst: string;
  try {
    dst = normalizeDst(r.dst);
  } catch {
    return undefined;
  }
  const table = r.table ?? 'main';
  const x = routeObject(table, dst, '$DST', r.dev, owner ?? r.dev);
  return { ...x, add: [] }; // how it was made is not known: made again when wanted
}

function ruleOf(r: JRule, owner?: string): IpObject {
  const from = !r.src || r.src === 'all' ? 'all' : `${r.src}/${r.srclen ?? 32}`;
  return ruleObject(r.priority, from, r.table ?? 'main', owner);
}

function addrsOf(links: JLink[], keep: (dev: string, cidr: string) => boolean): IpObject[] {
  const out: IpObject[] = [];
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      const cidr = `${a.local}/${a.prefixlen}`;
      if (a.family === 'inet' && keep(l.ifname, cidr)) out.push(addrObject(l.ifname, cidr));
    }
  }
  return out;
}

const ENI_LINK = /^e[0-9a-f]{14}$/;

/** A VPC namespace's managed objects: everything but what the kernel made. */
export function observedVpc(o: Observed): ObjectSet {
  const objs: IpObject[] = [];
  for (const l of o.links) {
    const ours = ENI_LINK.test(l.ifname);
    if (ours) objs.push({ kind: 'link', key: linkKey(l.ifname, l.ifalias ?? ''), add: [], del: `link del dev ${l.ifname}`, dev: l.ifname });
    if ((ours || l.ifname === UPLINK || l.ifname === 'lo') && l.flags?.includes('UP')) objs.push(upObject(l.ifname));
  }
  objs.push(...addrsOf(o.addrs, (dev, cidr) => ENI_LINK.test(dev) || dev === UPLINK || (dev === 'lo' && !cidr.startsWith('127.'))));
  for (const r of o.routes) {
    const x = routeOf(r);
    if (x) objs.push(x);
  }
  for (const r of o.rules) if (!KERNEL_RULES.has(r.priority)) objs.push(ruleOf(r));
  return objectSet(objs);
}

const ETH = /^eth(\d{1,3})$/;

/** An instance namespace's managed objects: eth*'s addresses, the default route, the per-device tables and rules. */
export function observedInstance(o: Observed): ObjectSet {
  const objs: IpObject[] = [];
  for (const l of o.links) if ((ETH.test(l.ifname) || l.ifname === 'lo') && l.flags?.includes('UP')) objs.push(upObject(l.ifname));
  objs.push(...addrsOf(o.addrs, (dev) => ETH.test(dev)));
  for (const r of o.routes) {
    const t = Number(r.table);
    const ours = (r.table === undefined && r.dst === 'default') || (t >= DEVICE_TABLE_BASE && t <= DEVICE_TABLE_MAX);
    const x = ours ? routeOf(r) : undefined;
    if (x) objs.push(x);
  }
  for (const r of o.rules) {
    if (r.priority < DEVICE_TABLE_BASE || r.priority > DEVICE_TABLE_MAX) continue;
    objs.push(ruleOf(r, `eth${r.priority - DEVICE_TABLE_BASE}`));
  }
  return objectSet(objs);
}

/** The host's objects of one VPC's uplink: its alias, addresses, routes through it, the rule of its table. */
export function observedHost(o: Observed, uplink: string, table: number | undefined): ObjectSet {
  const objs: IpObject[] = [];
  for (const l of o.links) {
    if (l.ifname !== uplink) continue;
    if (l.flags?.includes('UP')) objs.push(upObject(uplink));
    if (l.ifalias) objs.push({ kind: 'alias', key: `alias ${uplink}`, add: [`link set dev ${uplink} alias ${l.ifalias}`], del: '', dev: uplink });
  }
  objs.push(...addrsOf(o.addrs, (dev) => dev === uplink));
  for (const r of o.routes) {
    if (r.dev !== uplink) continue;
    const x = routeOf(r);
    if (x) objs.push(x);
  }
  if (table !== undefined) for (const r of o.rules) if (Number(r.table) === table) objs.push(ruleOf(r));
  return objectSet(objs);
}

/** The uplinks of a server on the host: name → { vpc id (its alias), its address in 169.254.128.0/17 }. */
export function observedUplinks(o: Observed, prefix: string): Map<string, { vpcId?: string; hostEnd?: string }> {
  const out = new Map<string, { vpcId?: string; hostEnd?: string }>();
  for (const l of o.addrs) {
    if (!l.ifname.startsWith(prefix)) continue;
    const hostEnd = (l.addr_info ?? []).find((a) => a.family === 'inet' && a.prefixlen === 32 && uplinkIndex(a.local) !== undefined)?.local;
    out.set(l.ifname, { vpcId: l.ifalias, hostEnd });
  }
  return out;
}

/** Every IPv4 address on the host's interfaces (`ip -j addr show`). */
export function hostAddresses(addrs: JLink[]): Set<string> {
  const s = new Set<string>();
  for (const l of addrs) for (const a of l.addr_info ?? []) if (a.family === 'inet') s.add(a.local);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Uplink addresses: 169.254.128.0/17, unique on the host (several servers share it)

const RESERVED = new Set(['169.254.169.253', '169.254.169.254', '169.254.169.123', '169.254.170.2']);

/** The index of an address in 169.254.128.0/17 (undefined outside it, or at its ends). */
export function uplinkIndex(ip: string): number | undefined {
  const p = parseIp(ip);
  if (!p || p.family !== 4) return undefined;
  const i = Number(p.value) - UPLINK_BLOCK_BASE;
  return i >= 1 && i < UPLINK_BLOCK_SIZE - 1 ? i : undefined;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The first free address after a start derived from tag and VPC (the same VPC gets the same one
 * when it is free, and servers rarely race for one). Skips the metadata, resolver and time
 * service addresses, and .0/.255 of each /24.
 */
export function pickUplinkAddress(tag: string, vpcId: string, used: Set<string>): { address: string; index: number } {
  const span = UPLINK_BLOCK_SIZE - 2;
  const start = fnv1a(`${tag}/${vpcId}`) % span;
  for (let k = 0; k < span; k++) {
    const index = ((start + k) % span) + 1;
    const address = numberToIpv4(UPLINK_BLOCK_BASE + index);
    const last = index & 255;
    if (last === 0 || last === 255 || RESERVED.has(address) || used.has(address)) continue;
    return { address, index };
  }
  throw new Error('no free uplink address left in 169.254.128.0/17');
}

/** The public pool's first address: the host as the internet sees it. */
export function poolFirstAddress(pool: string): string {
  const c = cidr4(pool, 'public IPv4 pool');
  if (c.prefix > 30) throw new Error(`the public IPv4 pool ${pool} is too small`);
  return addressAt(c, 1n);
}
