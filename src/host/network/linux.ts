// HostNetwork on Linux: one network namespace per VPC (the "VPC router") and one per instance,
// joined by veth pairs; the diagram is in host-network.ts, the iproute2 objects in ip.ts, the rules
// in vpc-rules.ts (each VPC namespace) and nft.ts (the host).
//
// What each namespace holds is kept in memory as the last state written (read back from the kernel
// once after a restart, or after a batch failed), so that applying a VPC whose spec did not change
// runs nothing, and a change runs one `ip -batch` per namespace it touches and one nft transaction.
// The work on one VPC (apply, remove, plugging and unplugging its instances) runs in call order.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { Revert } from '../revert.js';
import { hostTag } from '../tag.js';
import { ipPlan, ipShow, nft, run } from './exec.js';
import type { PartInfo } from '../part.js';
import type { VpcNetwork } from './part.js';
import type { HostNetwork, HostNetworkOptions, PlugSpec } from './host-network.js';
import {
  addressing,
  diffObjects,
  eniVpcObjects,
  hostAddresses,
  hostObjects,
  HOST_RULE_PREF,
  instanceObjects,
  OBSERVE_LINES,
  objectSet,
  observedHost,
  observedInstance,
  observedUplinks,
  observedVpc,
  parseObserved,
  pickUplinkAddress,
  poolFirstAddress,
  uplinkIndex,
  UPLINK,
  vpcObjects,
  type DiffOptions,
  type IpObject,
  type ObjectSet,
  type Observed,
  type Plan,
  type UplinkAddressing,
} from './ip.js';
import {
  checkVpcId,
  eniLink,
  hostTableId,
  instanceNetns,
  netnsPath,
  netnsPrefix,
  shortId,
  tableName,
  tagOfTable,
  uplinkName,
  uplinkPrefix,
  vethPrefix,
  vpcOfNetns,
  vpcNetns,
} from './names.js';
import { tableScript } from './nft.js';
import { closedVpcTableScript, vpcTableScript } from './vpc-rules.js';
import type { InterfaceSpec, VpcSpec } from './vpc-spec.js';

export interface LinuxHostNetworkOptions extends HostNetworkOptions {
  /** Called when an uplink address appears (the DNS server binds a UDP socket to each). */
  onUplink?: () => void;
  log?: (line: string) => void;
}

export interface Leftovers {
  netns: string[];
  links: string[];
  table: boolean;
  /** Host ip rules pointing at this server's routing tables. */
  rules: string[];
  /** Host routes in this server's tables or through its links. */
  routes: string[];
}

interface VpcState {
  vpcId: string;
  netns: string;
  uplink: string;
  /** The uplink's addresses and table, once it exists. */
  addressing?: UplinkAddressing;
  /** The nft script last loaded (undefined: not known), and what it was made from. */
  nft?: string;
  nftSpec?: string;
  /** up0 was made again: what lived on it is gone. */
  uplinkMade?: boolean;
}

const SYS_NET = '/sys/class/net';

// Inside a VPC namespace: it routes; rp_filter is off (a reply of the resolver comes back from base+2,
// which is "unreachable" here) because anti-spoofing is nftables' job; veths made in it later get
// proxy ARP and no IPv6 from the defaults.
const VPC_SYSCTLS = [
  'net.ipv4.ip_forward=1',
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  'net.ipv4.conf.default.proxy_arp=1',
  'net.ipv6.conf.all.disable_ipv6=1',
  'net.ipv6.conf.default.disable_ipv6=1',
];

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Like Promise.all, but waits for every promise before rethrowing the first failure (nothing left running behind an unwind). */
async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

const ethOf = (eni: Pick<InterfaceSpec, 'deviceIndex'>) => `eth${eni.deviceIndex}`;

/** A VPC-side link object's alias: <instance id>/<eni id>/eth<n>. */
function aliasOf(link: IpObject): { instanceId: string; eniId: string; eth: string } | undefined {
  const [instanceId, eniId, eth] = (link.key.split(' ')[2] ?? '').split('/');
  return instanceId && eniId && eth ? { instanceId, eniId, eth } : undefined;
}

export class LinuxHostNetwork implements HostNetwork, VpcNetwork {
  readonly tag: string;
  readonly table: string;
  private readonly opts: LinuxHostNetworkOptions;
  private readonly poolFirst: string;
  private ready?: Promise<void>;
  private vpcs = new Map<string, VpcState>();
  /** What each namespace holds, as last written or read: by netns name, and `host:<vpc id>` for a VPC's objects on the host. */
  private cache = new Map<string, ObjectSet>();
  /** Instance → its VPC, for the instances plugged here. */
  private instances = new Map<string, string>();
  /** Uplink host-end address → VPC. */
  private byAddress = new Map<string, string>();
  private queues = new Map<string, Promise<unknown>>();
  /** What the last full apply of a namespace was built from, and the state it left (the same object: nothing happened since). */
  private applied = new Map<string, { signature: string; state: ObjectSet }>();

  /** Processes run so far (tests and benchmarks: an apply with nothing changed runs none). */
  commands = 0;

  constructor(opts: LinuxHostNetworkOptions) {
    for (const p of [opts.imdsPort, opts.dnsPort]) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`bad port: ${p}`);
    this.opts = opts;
    this.tag = hostTag(opts.home);
    this.table = tableName(this.tag);
    this.poolFirst = poolFirstAddress(opts.publicPool);
  }

  private plan(lines: string[], optional: boolean[], netns?: string): Promise<void> {
    this.commands++;
    return ipPlan(lines, optional, netns);
  }

  private show(commands: string[], netns?: string): Promise<string> {
    this.commands++;
    return ipShow(commands, netns);
  }

  private nftIn(script: string, netns?: string): Promise<string> {
    this.commands++;
    return nft(script, netns);
  }

  private cmd(command: string, args: string[]): Promise<string> {
    this.commands++;
    return run(command, args);
  }

  info(): PartInfo {
    return {
      name: 'linux',
      description: 'VPC data plane of namespaces, veth pairs, routes and nftables (security groups, NACLs, NAT)',
      features: ['vpc', 'security-groups', 'network-acls', 'nat', 'hot-attach'],
    };
  }

  /** Idempotent, and free after the first call: the other methods call it. */
  init(): Promise<void> {
    this.ready ??= this.setup().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async setup(): Promise<void> {
    // The host forwards between the uplinks (public IPs of one VPC reached from another).
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
    await sharedNetnsDir();
    await this.nftIn(
      tableScript({ table: this.table, uplinkPattern: `${uplinkPrefix(this.tag)}*`, imdsPort: this.opts.imdsPort, dnsPort: this.opts.dnsPort, egress: this.opts.egress }),
    );
    await this.adopt();
  }

  /** What a previous server left: VPC namespaces, their uplinks and interfaces (a restart keeps instances running). */
  private async adopt(): Promise<void> {
    this.vpcs.clear();
    this.cache.clear();
    this.applied.clear();
    this.instances.clear();
    this.byAddress.clear();
    const host = parseObserved(await this.show(OBSERVE_LINES));
    const netns = existsSync('/run/netns') ? await readdir('/run/netns') : [];
    for (const ns of netns) {
      const vpcId = vpcOfNetns(this.tag, ns);
      if (vpcId) this.state(vpcId);
    }
    const stale: string[] = [];
    for (const [link, u] of observedUplinks(host, uplinkPrefix(this.tag))) {
      const vs = u.vpcId && /^vpc-[0-9a-f]{8,17}$/.test(u.vpcId) ? this.vpcs.get(u.vpcId) : undefined;
      const index = u.hostEnd ? uplinkIndex(u.hostEnd) : undefined;
      if (!vs || vs.uplink !== link || !u.hostEnd || index === undefined) {
        stale.push(`link del dev ${link}`); // half made, or its namespace is gone
        continue;
      }
      vs.addressing = { vpcId: vs.vpcId, uplink: link, hostEnd: u.hostEnd, table: hostTableId(this.tag, index), poolFirst: this.poolFirst };
      this.byAddress.set(u.hostEnd, vs.vpcId);
      this.cache.set(`host:${vs.vpcId}`, observedHost(host, link, vs.addressing.table));
    }
    // Rules of tables no uplink of ours holds any more.
    const tables = new Set([...this.vpcs.values()].flatMap((v) => (v.addressing ? [v.addressing.table] : [])));
    for (const r of host.rules) {
      const t = Number(r.table);
      if (tagOfTable(t) === this.tag && !tables.has(t)) stale.push(`rule del pref ${r.priority}${r.src && r.src !== 'all' ? ` from ${r.src}/${r.srclen ?? 32}` : ''} lookup ${t}`);
    }
    if (stale.length)
      await this.plan(
        stale,
        stale.map(() => true),
      );
    await settleAll([...this.vpcs.values()].map((vs) => this.current(vs.netns, () => this.observeVpc(vs))));
  }

  private state(vpcId: string): VpcState {
    let vs = this.vpcs.get(vpcId);
    if (!vs) {
      vs = { vpcId, netns: vpcNetns(this.tag, vpcId), uplink: uplinkName(this.tag, vpcId) };
      this.vpcs.set(vpcId, vs);
    }
    return vs;
  }

  /** The work on one key (a VPC) runs in call order. */
  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }

  // -------------------------------------------------------------------------------------------
  // What the namespaces hold

  private async observeVpc(vs: VpcState): Promise<ObjectSet> {
    const objs = observedVpc(parseObserved(await this.show(OBSERVE_LINES, vs.netns)));
    for (const x of objs.values()) {
      const a = x.kind === 'link' ? aliasOf(x) : undefined;
      if (a && /^i-[0-9a-f]{8,17}$/.test(a.instanceId)) this.instances.set(a.instanceId, vs.vpcId);
    }
    return objs;
  }

  private async observeHost(vs: VpcState): Promise<ObjectSet> {
    return observedHost(parseObserved(await this.show(OBSERVE_LINES)), vs.uplink, vs.addressing?.table);
  }

  /** A namespace that is gone: nothing is known of it any more. */
  private forget(key: string): void {
    this.cache.delete(key);
    this.applied.delete(key);
  }

  private async current(key: string, observe: () => Promise<ObjectSet>): Promise<ObjectSet> {
    let cur = this.cache.get(key);
    if (!cur) {
      cur = await observe();
      this.cache.set(key, cur);
    }
    return cur;
  }

  /**
   * Take one namespace (or a VPC's part of the host) from what it holds to what `desired` builds:
   * one batch, or nothing. With a signature of what the objects are built from, nothing is even
   * built when the last apply had the same one and the namespace has not changed since.
   */
  private async applyObjects(
    key: string,
    netns: string | undefined,
    desired: () => ObjectSet,
    observe: () => Promise<ObjectSet>,
    o: DiffOptions = {},
    signature?: string,
  ): Promise<Plan | undefined> {
    const cur = await this.current(key, observe);
    const last = this.applied.get(key);
    if (signature !== undefined && last?.signature === signature && last.state === cur && !o.resetDevs?.size && !o.recreate?.size) return undefined;
    const plan = diffObjects(cur, desired(), o);
    if (plan.lines.length) {
      this.cache.delete(key); // not known while the batch runs, nor after it failed: read again next time
      this.applied.delete(key);
      await this.plan(plan.lines, plan.optional, netns);
    }
    this.cache.set(key, plan.next);
    if (signature !== undefined) this.applied.set(key, { signature, state: plan.next });
    else this.applied.delete(key);
    return plan;
  }

  // -------------------------------------------------------------------------------------------
  // VPCs

  applyVpc(spec: VpcSpec): Promise<void> {
    checkVpcId(spec.vpcId);
    return this.serial(spec.vpcId, () => this.doApply(spec));
  }

  private async doApply(spec: VpcSpec): Promise<void> {
    await this.init();
    if (!spec.interfaces.length) return this.doRemove(spec.vpcId);
    for (const eni of spec.interfaces) {
      addressing(eni);
      eniLink(eni.eniId);
      shortId(eni.instanceId);
    }
    const vs = this.state(spec.vpcId);
    const fresh = await this.ensureVpcNetns(vs, false);
    const u = await this.ensureUplink(vs, fresh);
    const publicIps = spec.interfaces.flatMap((i) => i.publicIps.map((p) => p.publicIp));
    await this.applyObjects(
      `host:${vs.vpcId}`,
      undefined,
      () => hostObjects(u, publicIps),
      () => this.observeHost(vs),
      {},
      JSON.stringify([u, publicIps]),
    );
    if (vs.uplinkMade) await this.checkUplinkAddress(vs, u);

    // The rules before the links: an interface is never up without its rules.
    const specSig = JSON.stringify([spec, u.hostEnd]);
    if (specSig !== vs.nftSpec || vs.nft === undefined) {
      const script = vpcTableScript(spec, {
        metadata: { address: u.hostEnd, port: this.opts.imdsPort },
        dns: { address: u.hostEnd, port: this.opts.dnsPort },
        uplink: UPLINK,
        ifname: eniLink,
      });
      if (script !== vs.nft) {
        vs.nft = undefined;
        await this.nftIn(script, vs.netns);
        vs.nft = script;
      }
      vs.nftSpec = specSig;
    }

    // Interfaces whose instance has its namespace here are plugged (hot attach); the others of the VPC's namespace go (hot detach).
    const plugged = spec.interfaces
      .filter((eni) => existsSync(netnsPath(instanceNetns(this.tag, eni.instanceId))))
      .map((eni) => ({ eni, netns: instanceNetns(this.tag, eni.instanceId) }));
    const plan = await this.applyObjects(
      vs.netns,
      vs.netns,
      () => vpcObjects(spec, u.hostEnd, plugged),
      () => this.observeVpc(vs),
      vs.uplinkMade ? { resetDevs: new Set([UPLINK]) } : {},
      JSON.stringify([specSig, plugged.map((p) => p.netns)]),
    );
    vs.uplinkMade = false;

    // Inside the instances: eth<n> of the pairs made or removed just now are new or gone.
    const resets = new Map<string, Set<string>>();
    for (const x of [...(plan?.made ?? []), ...(plan?.removed ?? [])]) {
      const a = aliasOf(x);
      if (!a) continue;
      if (!resets.has(a.instanceId)) resets.set(a.instanceId, new Set());
      resets.get(a.instanceId)!.add(a.eth);
    }
    for (const p of plugged) this.instances.set(p.eni.instanceId, vs.vpcId);
    const ids = new Set([...resets.keys(), ...plugged.map((p) => p.eni.instanceId), ...[...this.instances].filter(([, v]) => v === vs.vpcId).map(([id]) => id)]);
    await settleAll(
      [...ids].map(async (id) => {
        const ns = instanceNetns(this.tag, id);
        if (!existsSync(netnsPath(ns))) return;
        const enis = plugged.filter((p) => p.eni.instanceId === id).map((p) => p.eni);
        await this.applyObjects(
          ns,
          ns,
          () => instanceObjects(enis),
          () => this.observeInstance(ns),
          { resetDevs: resets.get(id) },
          JSON.stringify(enis),
        );
      }),
    );
  }

  private async observeInstance(ns: string): Promise<ObjectSet> {
    return observedInstance(parseObserved(await this.show(OBSERVE_LINES, ns)));
  }

  /** The VPC's namespace, made when missing (closed: nothing forwarded until its rules come). Returns whether it was made. */
  private async ensureVpcNetns(vs: VpcState, closed: boolean): Promise<boolean> {
    if (existsSync(netnsPath(vs.netns))) {
      await this.current(vs.netns, () => this.observeVpc(vs));
      return false;
    }
    // Whatever was known of a namespace that is gone is gone with it.
    this.cache.delete(vs.netns);
    vs.nft = undefined;
    vs.nftSpec = undefined;
    await this.cmd('ip', ['netns', 'add', vs.netns]);
    try {
      await this.cmd('ip', ['netns', 'exec', vs.netns, 'sysctl', '-q', '-w', ...VPC_SYSCTLS]);
      if (closed) {
        const script = closedVpcTableScript();
        await this.nftIn(script, vs.netns);
        vs.nft = script;
      }
    } catch (e) {
      await this.cmd('ip', ['netns', 'del', vs.netns]).catch(() => undefined);
      throw e;
    }
    this.cache.set(vs.netns, new Map());
    return true;
  }

  /**
   * The uplink: made when missing, with an address of 169.254.128.0/17 no interface of the host
   * has (several servers share the block). Uplinks are made one at a time in this process.
   */
  private async ensureUplink(vs: VpcState, freshNetns: boolean): Promise<UplinkAddressing> {
    const dev = vs.uplink;
    const present = existsSync(`${SYS_NET}/${dev}`);
    if (present) {
      const owner = await readText(`${SYS_NET}/${dev}/ifalias`);
      if (owner && owner !== vs.vpcId) throw new Error(`${dev} belongs to ${owner}, not ${vs.vpcId} (their ids end alike)`);
      if (vs.addressing && !freshNetns) return vs.addressing;
    }
    return this.serial('uplinks', async () => {
      const host = parseObserved(await this.show(OBSERVE_LINES));
      if (present && !freshNetns) {
        const hostEnd = observedUplinks(host, uplinkPrefix(this.tag)).get(dev)?.hostEnd;
        const index = hostEnd ? uplinkIndex(hostEnd) : undefined;
        if (hostEnd && index !== undefined) {
          vs.addressing = { vpcId: vs.vpcId, uplink: dev, hostEnd, table: hostTableId(this.tag, index), poolFirst: this.poolFirst };
          this.byAddress.set(hostEnd, vs.vpcId);
          this.cache.set(`host:${vs.vpcId}`, observedHost(host, dev, vs.addressing.table));
          return vs.addressing;
        }
      }
      // Make it (again: half made, or its peer went with an old namespace).
      if (vs.addressing) this.byAddress.delete(vs.addressing.hostEnd);
      const used = hostAddresses(host.addrs);
      const { address, index } = pickUplinkAddress(this.tag, vs.vpcId, used);
      const u: UplinkAddressing = { vpcId: vs.vpcId, uplink: dev, hostEnd: address, table: hostTableId(this.tag, index), poolFirst: this.poolFirst };
      const lines = [...(present ? [`link del dev ${dev}`] : []), `link add name ${dev} type veth peer name ${UPLINK} netns ${vs.netns}`];
      await this.plan(
        lines,
        lines.map((_, i) => present && i === 0),
      );
      const v6 = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
      if (existsSync(v6)) await writeFile(v6, '1');
      vs.addressing = u;
      vs.uplinkMade = true;
      // Only a stale rule of this table can be there: the objects are made from scratch.
      this.cache.set(`host:${vs.vpcId}`, observedHost(host, dev, u.table));
      this.byAddress.set(address, vs.vpcId);
      return u;
    });
  }

  /** Two servers may have picked the same address at once: the uplink with the higher index gives way (made again on the next apply). */
  private async checkUplinkAddress(vs: VpcState, u: UplinkAddressing): Promise<void> {
    const out = JSON.parse(await this.cmd('ip', ['-json', '-4', 'addr', 'show'])) as Observed['addrs'];
    const holders = out.filter((l) => (l.addr_info ?? []).some((a) => a.local === u.hostEnd)) as (Observed['addrs'][number] & { ifindex: number })[];
    const mine = holders.find((l) => l.ifname === u.uplink);
    if (holders.length > 1 && mine && holders.some((l) => l.ifindex < mine.ifindex)) {
      await this.cmd('ip', ['link', 'del', 'dev', u.uplink]).catch(() => undefined);
      this.byAddress.delete(u.hostEnd);
      vs.addressing = undefined;
      this.cache.delete(`host:${vs.vpcId}`);
      throw new Error(`${u.hostEnd} was taken by another uplink at the same time; ${vs.vpcId} will get another`);
    }
    this.opts.onUplink?.();
  }

  removeVpc(vpcId: string): Promise<void> {
    checkVpcId(vpcId);
    return this.serial(vpcId, async () => {
      await this.init();
      await this.doRemove(vpcId);
    });
  }

  private async doRemove(vpcId: string): Promise<void> {
    const vs = this.state(vpcId);
    const hasNetns = existsSync(netnsPath(vs.netns));
    if (hasNetns) {
      // The pairs first, so that the instances' ends go now (a namespace's devices go some time after it).
      const cur = await this.current(vs.netns, () => this.observeVpc(vs));
      const links = [...cur.values()].filter((x) => x.kind === 'link').map((x) => x.del);
      if (links.length)
        await this.plan(
          links,
          links.map(() => true),
          vs.netns,
        );
    }
    const lines: string[] = [];
    if (existsSync(`${SYS_NET}/${vs.uplink}`)) lines.push(`link del dev ${vs.uplink}`);
    if (vs.addressing) lines.push(`rule del pref ${HOST_RULE_PREF} from ${vs.addressing.hostEnd}/32 lookup ${vs.addressing.table}`);
    if (hasNetns) lines.push(`netns del ${vs.netns}`);
    if (lines.length)
      await this.plan(
        lines,
        lines.map(() => true),
      );
    for (const [id, v] of this.instances) if (v === vpcId) this.forget(instanceNetns(this.tag, id)); // their eth<n> went
    this.forget(vs.netns);
    this.forget(`host:${vpcId}`);
    if (vs.addressing) this.byAddress.delete(vs.addressing.hostEnd);
    this.vpcs.delete(vpcId);
    if (existsSync(netnsPath(vs.netns)) || existsSync(`${SYS_NET}/${vs.uplink}`)) throw new Error(`removing ${vpcId} left ${vs.netns} or ${vs.uplink} behind`);
  }

  vpcAt(localAddress: string): string | undefined {
    return this.byAddress.get(localAddress);
  }

  // -------------------------------------------------------------------------------------------
  // Instances

  instanceNetnsPath(instanceId: string): string {
    return netnsPath(instanceNetns(this.tag, instanceId));
  }

  plug(spec: PlugSpec): Promise<{ netnsPath: string }> {
    checkVpcId(spec.vpcId);
    return this.serial(spec.vpcId, () => this.doPlug(spec));
  }

  private async doPlug(spec: PlugSpec): Promise<{ netnsPath: string }> {
    await this.init();
    const id = spec.instanceId;
    const ns = instanceNetns(this.tag, id);
    for (const eni of spec.interfaces) {
      if (eni.instanceId !== id) throw new Error(`${eni.eniId} is attached to ${eni.instanceId}, not ${id}`);
      addressing(eni);
    }
    const twin = [...this.instances.keys()].find((other) => other !== id && shortId(other) === shortId(id));
    if (twin) throw new Error(`${ns} belongs to ${twin}, not ${id} (their ids end alike)`);
    const known = this.instances.get(id);
    if (known && known !== spec.vpcId) throw new Error(`${id} is plugged in ${known}, not ${spec.vpcId}`);

    const revert = new Revert();
    try {
      const vs = this.state(spec.vpcId);
      if (await this.ensureVpcNetns(vs, true)) revert.add(() => this.doRemove(vs.vpcId));
      const fresh = !existsSync(netnsPath(ns));
      if (fresh) {
        this.cache.delete(ns);
        await this.cmd('ip', ['netns', 'add', ns]);
        revert.add(() => this.cmd('ip', ['netns', 'del', ns]).then(() => void this.cache.delete(ns)));
        this.cache.set(ns, new Map());
      }
      this.instances.set(id, spec.vpcId);
      revert.add(() => void (known ? undefined : this.instances.delete(id)));
      const links = spec.interfaces.map((e) => eniLink(e.eniId));
      // Pairs this plug makes go again if it fails (a failed batch says nothing of what it made).
      const had = new Set(fresh ? [] : [...(await this.current(vs.netns, () => this.observeVpc(vs))).values()].filter((x) => x.kind === 'link').map((x) => x.dev!));
      revert.add(() =>
        this.removeLinks(
          vs,
          links.filter((l) => !had.has(l)),
        ),
      );
      const plan = await this.applyObjects(
        vs.netns,
        vs.netns,
        () => objectSet(spec.interfaces.flatMap((e) => eniVpcObjects(e, ns))),
        () => this.observeVpc(vs),
        {
          owners: new Set(links),
          recreate: fresh ? new Set(links) : undefined,
        },
      );
      const eths = spec.interfaces.map(ethOf);
      const made = new Set(plan!.made.map((x) => aliasOf(x)?.eth ?? ''));
      // Never configured yet: it starts as a booted Linux does, not forwarding (a new namespace copies
      // the host's settings, and the host forwards). The guest may turn it on (a NAT instance).
      const configured = [...(await this.current(ns, () => this.observeInstance(ns))).values()].some((x) => x.kind === 'addr');
      if (!configured) await this.cmd('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
      await this.applyObjects(
        ns,
        ns,
        () => instanceObjects(spec.interfaces),
        () => this.observeInstance(ns),
        {
          owners: new Set(['lo', ...eths]),
          resetDevs: new Set(eths.filter((e) => made.has(e))),
        },
      );
      revert.release();
    } catch (e) {
      await revert.unwind();
      throw e;
    }
    return { netnsPath: netnsPath(ns) };
  }

  /** Delete some interfaces' pairs in a VPC's namespace (both ends go at once). */
  private async removeLinks(vs: VpcState, names: string[]): Promise<void> {
    if (!names.length || !existsSync(netnsPath(vs.netns))) return;
    const lines = names.map((n) => `link del dev ${n}`);
    await this.plan(
      lines,
      lines.map(() => true),
      vs.netns,
    );
    const cur = this.cache.get(vs.netns);
    if (!cur) return;
    const gone = new Set(names);
    // A new state (not the same object): the next full apply looks again.
    this.cache.set(vs.netns, new Map([...cur].filter(([, x]) => !(x.dev && gone.has(x.dev)))));
  }

  unplug(instanceId: string): Promise<void> {
    shortId(instanceId);
    const vpcId = this.instances.get(instanceId);
    return this.serial(vpcId ?? `instance:${instanceId}`, async () => {
      await this.init();
      const vpc = this.instances.get(instanceId);
      const vs = vpc ? this.vpcs.get(vpc) : undefined;
      if (vs && existsSync(netnsPath(vs.netns))) {
        const cur = await this.current(vs.netns, () => this.observeVpc(vs));
        const mine = [...cur.values()].filter((x) => x.kind === 'link' && aliasOf(x)?.instanceId === instanceId).map((x) => x.dev!);
        await this.removeLinks(vs, mine);
      }
      const ns = instanceNetns(this.tag, instanceId);
      if (existsSync(netnsPath(ns))) await this.cmd('ip', ['netns', 'del', ns]);
      this.forget(ns);
      this.instances.delete(instanceId);
      if (existsSync(netnsPath(ns))) throw new Error(`unplugging ${instanceId} left ${ns} behind`);
    });
  }

  async plugged(): Promise<{ vpcs: string[]; instances: string[] }> {
    await this.init();
    return {
      vpcs: [...this.vpcs.values()]
        .filter((v) => existsSync(netnsPath(v.netns)))
        .map((v) => v.vpcId)
        .sort(),
      instances: [...this.instances.keys()].filter((id) => existsSync(netnsPath(instanceNetns(this.tag, id)))).sort(),
    };
  }

  async vpcsPresent(): Promise<string[]> {
    return (await this.plugged()).vpcs;
  }

  /** The names of one VPC's objects here (tests, benchmarks). */
  vpcNames(vpcId: string): { netns: string; uplink: string; hostEnd?: string; table?: number } {
    const vs = this.vpcs.get(vpcId);
    return { netns: vpcNetns(this.tag, vpcId), uplink: uplinkName(this.tag, vpcId), hostEnd: vs?.addressing?.hostEnd, table: vs?.addressing?.table };
  }

  /** Without cleanup (a server stop with instances up) everything stays for the next server; direct callers (tests) clean up. */
  async close(opts: { cleanup?: boolean } = { cleanup: true }): Promise<void> {
    if (!opts.cleanup) return;
    // A namespace is destroyed by the kernel after `netns del` returns (its veths go with it a moment
    // later), and a plug may be finishing while we close: sweep until nothing is left.
    let after = await LinuxHostNetwork.leftovers(this.tag);
    const left = (l: Leftovers) => l.links.length || l.netns.length || l.table || l.rules.length || l.routes.length;
    for (let round = 0; round < 30 && left(after); round++) {
      if (round) await new Promise((r) => setTimeout(r, 100));
      const lines = [
        ...after.links.map((l) => `link del dev ${l}`),
        ...after.rules.map((r) => `rule del ${r}`),
        // Routes of our tables outlive nothing but their links; a table whose link is gone is emptied here.
        ...(after.links.length ? [] : after.routes.map((r) => `route del ${r}`)),
        ...after.netns.map((ns) => `netns del ${ns}`),
      ];
      if (lines.length)
        await this.plan(
          lines,
          lines.map(() => true),
        ).catch(() => undefined);
      if (after.table) await this.cmd('nft', ['delete', 'table', 'inet', this.table]).catch(() => undefined);
      after = await LinuxHostNetwork.leftovers(this.tag);
    }
    this.vpcs.clear();
    this.cache.clear();
    this.applied.clear();
    this.instances.clear();
    this.byAddress.clear();
    this.ready = undefined;
    if (left(after)) throw new Error(`closing the host network left ${JSON.stringify(after)}`);
  }

  /** Every namespace, link, table, rule and route of this tag: a leak check, and what close() removes. */
  static async leftovers(tag: string): Promise<Leftovers> {
    const netns = existsSync('/run/netns') ? (await readdir('/run/netns')).filter((n) => n.startsWith(netnsPrefix(tag))) : [];
    const links = (await readdir(SYS_NET)).filter((l) => l.startsWith(vethPrefix(tag)) || l.startsWith(uplinkPrefix(tag)));
    const tables = await run('nft', ['list', 'tables']);
    const out = (await ipShow(['rule show', 'route show table all'])).split('\n').filter((l) => l.trim());
    const rules = JSON.parse(out[0] ?? '[]') as { priority: number; src?: string; srclen?: number; table?: string }[];
    const routes = JSON.parse(out[1] ?? '[]') as { type?: string; dst: string; dev?: string; table?: string }[];
    const ours = (dev?: string) => !!dev && (dev.startsWith(vethPrefix(tag)) || dev.startsWith(uplinkPrefix(tag)));
    return {
      netns,
      links,
      table: tables.split('\n').some((l) => l.trim() === `table inet ${tableName(tag)}`),
      rules: rules
        .filter((r) => tagOfTable(Number(r.table)) === tag)
        .map((r) => `pref ${r.priority}${r.src && r.src !== 'all' ? ` from ${r.src}/${r.srclen ?? 32}` : ''} lookup ${r.table}`),
      routes: routes
        .filter((r) => tagOfTable(Number(r.table)) === tag || (r.table !== 'local' && ours(r.dev)))
        .map((r) => `${r.type && r.type !== 'unicast' ? `${r.type} ` : ''}${r.dst}${r.table ? ` table ${r.table}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`),
    };
  }
}

/**
 * /run/netns as `ip netns add` makes it on first use: a mount point of its own (a bind of itself),
 * shared. The driver mounts instances' namespaces there itself (made inside their user
 * namespaces); one mounted before the first `ip netns add` of the boot would be buried under the
 * bind that command then makes, out of reach of `ip netns del` for good. Under a lock, as
 * servers start together.
 */
async function sharedNetnsDir(): Promise<void> {
  await mkdir('/run/netns', { recursive: true, mode: 0o755 });
  await run('flock', ['/run/netns', 'sh', '-c', 'mountpoint -q /run/netns || mount --bind /run/netns /run/netns; mount --make-shared /run/netns']);
}
