// HostNetwork on Linux: one network namespace per VPC (the "VPC router") and one per instance,
// joined by veth pairs; the diagram is in host-network.ts, the iproute2 objects in ip.ts, the rules
// in vpc-rules.ts (each VPC namespace) and nft.ts (the host).
//
// What each namespace holds is kept in memory as the last state written (read back from the kernel
// once after a restart, or after a batch failed), so that applying a VPC whose spec did not change
// runs nothing, and a change runs one `ip -batch` per namespace it touches and one nft transaction.
// The work on one VPC (apply, remove, plugging and unplugging its instances) runs in call order.
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { hostTag } from '../tag.js';
import type { PartInfo } from '../part.js';
import type { VpcNetwork } from './part.js';
import type { HostNetwork, HostNetworkOptions, PlugSpec } from './host-network.js';
import {
  addressing,
  hostObjects,
  HOST_RULE_PREF,
  instanceObjects,
  OBSERVE_LINES,
  observedHost,
  observedUplinks,
  parseObserved,
  poolFirstAddress,
  uplinkIndex,
  UPLINK,
  vpcObjects,
} from './ip.js';
import { plugInstance, unplugInstance } from './instance-plug.js';
import { leftovers, sharedNetnsDir, SYS_NET, type Leftovers } from './leftovers.js';
import { checkVpcId, eniLink, hostTableId, instanceNetns, netnsPath, shortId, tableName, tagOfTable, uplinkName, uplinkPrefix, vpcOfNetns, vpcNetns } from './names.js';
import { aliasOf, NetnsState, settleAll } from './netns-state.js';
import { tableScript } from './nft.js';
import { vpcTableScript } from './vpc-rules.js';
import { checkUplinkAddress, ensureUplink, ensureVpcNetns } from './vpc-router.js';
import type { VpcSpec } from './vpc-spec.js';

export type { Leftovers } from './leftovers.js';

export interface LinuxHostNetworkOptions extends HostNetworkOptions {
  /** Called when an uplink address appears (the DNS server binds a UDP socket to each). */
  onUplink?: () => void;
  log?: (line: string) => void;
}

export class LinuxHostNetwork implements HostNetwork, VpcNetwork {
  readonly tag: string;
  readonly table: string;
  private readonly opts: LinuxHostNetworkOptions;
  private readonly poolFirst: string;
  private ready?: Promise<void>;
  /** What the namespaces hold, the per-VPC queues and the counted runners of ip and nft. */
  private readonly s: NetnsState;

  /** Processes run so far (tests and benchmarks: an apply with nothing changed runs none). */
  get commands(): number {
    return this.s.commands;
  }
  set commands(n: number) {
    this.s.commands = n;
  }

  constructor(opts: LinuxHostNetworkOptions) {
    for (const p of [opts.imdsPort, opts.dnsPort, opts.apiPort]) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`bad port: ${p}`);
    this.opts = opts;
    this.tag = hostTag(opts.home);
    this.table = tableName(this.tag);
    this.poolFirst = poolFirstAddress(opts.publicPool);
    this.s = new NetnsState(this.tag, opts, this.poolFirst);
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
    await this.s.nftIn(
      tableScript({
        table: this.table,
        uplinkPattern: `${uplinkPrefix(this.tag)}*`,
        imdsPort: this.opts.imdsPort,
        dnsPort: this.opts.dnsPort,
        apiPort: this.opts.apiPort,
        egress: this.opts.egress,
      }),
    );
    await this.adopt();
  }

  /** What a previous server left: VPC namespaces, their uplinks and interfaces (a restart keeps instances running). */
  private async adopt(): Promise<void> {
    this.s.clear();
    const host = parseObserved(await this.s.show(OBSERVE_LINES));
    const netns = existsSync('/run/netns') ? await readdir('/run/netns') : [];
    for (const ns of netns) {
      const vpcId = vpcOfNetns(this.tag, ns);
      if (vpcId) this.s.state(vpcId);
    }
    const stale: string[] = [];
    for (const [link, u] of observedUplinks(host, uplinkPrefix(this.tag))) {
      const vs = u.vpcId && /^vpc-[0-9a-f]{8,17}$/.test(u.vpcId) ? this.s.vpcs.get(u.vpcId) : undefined;
      const index = u.hostEnd ? uplinkIndex(u.hostEnd) : undefined;
      if (!vs || vs.uplink !== link || !u.hostEnd || index === undefined) {
        stale.push(`link del dev ${link}`); // half made, or its namespace is gone
        continue;
      }
      vs.addressing = { vpcId: vs.vpcId, uplink: link, hostEnd: u.hostEnd, table: hostTableId(this.tag, index), poolFirst: this.poolFirst };
      this.s.byAddress.set(u.hostEnd, vs.vpcId);
      this.s.cache.set(`host:${vs.vpcId}`, observedHost(host, link, vs.addressing.table));
    }
    // Rules of tables no uplink of ours holds any more.
    const tables = new Set([...this.s.vpcs.values()].flatMap((v) => (v.addressing ? [v.addressing.table] : [])));
    for (const r of host.rules) {
      const t = Number(r.table);
      if (tagOfTable(t) === this.tag && !tables.has(t)) stale.push(`rule del pref ${r.priority}${r.src && r.src !== 'all' ? ` from ${r.src}/${r.srclen ?? 32}` : ''} lookup ${t}`);
    }
    if (stale.length)
      await this.s.plan(
        stale,
        stale.map(() => true),
      );
    await settleAll([...this.s.vpcs.values()].map((vs) => this.s.current(vs.netns, () => this.s.observeVpc(vs))));
  }

  // -------------------------------------------------------------------------------------------
  // VPCs

  applyVpc(spec: VpcSpec): Promise<void> {
    checkVpcId(spec.vpcId);
    return this.s.serial(spec.vpcId, () => this.doApply(spec));
  }

  private async doApply(spec: VpcSpec): Promise<void> {
    await this.init();
    if (!spec.interfaces.length) return this.doRemove(spec.vpcId);
    for (const eni of spec.interfaces) {
      addressing(eni);
      eniLink(eni.eniId);
      shortId(eni.instanceId);
    }
    const vs = this.s.state(spec.vpcId);
    const fresh = await ensureVpcNetns(this.s, vs, false);
    const u = await ensureUplink(this.s, vs, fresh);
    const publicIps = spec.interfaces.flatMap((i) => i.publicIps.map((p) => p.publicIp));
    await this.s.applyObjects(
      `host:${vs.vpcId}`,
      undefined,
      () => hostObjects(u, publicIps),
      () => this.s.observeHost(vs),
      {},
      JSON.stringify([u, publicIps]),
    );
    if (vs.uplinkMade) await checkUplinkAddress(this.s, vs, u);

    // The rules before the links: an interface is never up without its rules.
    const specSig = JSON.stringify([spec, u.hostEnd]);
    if (specSig !== vs.nftSpec || vs.nft === undefined) {
      const script = vpcTableScript(spec, {
        metadata: { address: u.hostEnd, port: this.opts.imdsPort },
        dns: { address: u.hostEnd, port: this.opts.dnsPort },
        api: { address: u.hostEnd, port: this.opts.apiPort },
        uplink: UPLINK,
        ifname: eniLink,
      });
      if (script !== vs.nft) {
        vs.nft = undefined;
        await this.s.nftIn(script, vs.netns);
        vs.nft = script;
      }
      vs.nftSpec = specSig;
    }

    // Interfaces whose instance has its namespace here are plugged (hot attach); the others of the VPC's namespace go (hot detach).
    const plugged = spec.interfaces
      .filter((eni) => existsSync(netnsPath(instanceNetns(this.tag, eni.instanceId))))
      .map((eni) => ({ eni, netns: instanceNetns(this.tag, eni.instanceId) }));
    const plan = await this.s.applyObjects(
      vs.netns,
      vs.netns,
      () => vpcObjects(spec, u.hostEnd, plugged),
      () => this.s.observeVpc(vs),
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
    for (const p of plugged) this.s.instances.set(p.eni.instanceId, vs.vpcId);
    const ids = new Set([...resets.keys(), ...plugged.map((p) => p.eni.instanceId), ...[...this.s.instances].filter(([, v]) => v === vs.vpcId).map(([id]) => id)]);
    await settleAll(
      [...ids].map(async (id) => {
        const ns = instanceNetns(this.tag, id);
        if (!existsSync(netnsPath(ns))) return;
        const enis = plugged.filter((p) => p.eni.instanceId === id).map((p) => p.eni);
        await this.s.applyObjects(
          ns,
          ns,
          () => instanceObjects(enis),
          () => this.s.observeInstance(ns),
          { resetDevs: resets.get(id) },
          JSON.stringify(enis),
        );
      }),
    );
  }

  removeVpc(vpcId: string): Promise<void> {
    checkVpcId(vpcId);
    return this.s.serial(vpcId, async () => {
      await this.init();
      await this.doRemove(vpcId);
    });
  }

  private async doRemove(vpcId: string): Promise<void> {
    const vs = this.s.state(vpcId);
    const hasNetns = existsSync(netnsPath(vs.netns));
    if (hasNetns) {
      // The pairs first, so that the instances' ends go now (a namespace's devices go some time after it).
      const cur = await this.s.current(vs.netns, () => this.s.observeVpc(vs));
      const links = [...cur.values()].filter((x) => x.kind === 'link').map((x) => x.del);
      if (links.length)
        await this.s.plan(
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
      await this.s.plan(
        lines,
        lines.map(() => true),
      );
    for (const [id, v] of this.s.instances) if (v === vpcId) this.s.forget(instanceNetns(this.tag, id)); // their eth<n> went
    this.s.forget(vs.netns);
    this.s.forget(`host:${vpcId}`);
    if (vs.addressing) this.s.byAddress.delete(vs.addressing.hostEnd);
    this.s.vpcs.delete(vpcId);
    if (existsSync(netnsPath(vs.netns)) || existsSync(`${SYS_NET}/${vs.uplink}`)) throw new Error(`removing ${vpcId} left ${vs.netns} or ${vs.uplink} behind`);
  }

  vpcAt(localAddress: string): string | undefined {
    return this.s.byAddress.get(localAddress);
  }

  // -------------------------------------------------------------------------------------------
  // Instances

  instanceNetnsPath(instanceId: string): string {
    return netnsPath(instanceNetns(this.tag, instanceId));
  }

  plug(spec: PlugSpec): Promise<{ netnsPath: string }> {
    checkVpcId(spec.vpcId);
    return this.s.serial(spec.vpcId, async () => {
      await this.init();
      return plugInstance(this.s, spec, (vpcId) => this.doRemove(vpcId));
    });
  }

  unplug(instanceId: string): Promise<void> {
    shortId(instanceId);
    const vpcId = this.s.instances.get(instanceId);
    return this.s.serial(vpcId ?? `instance:${instanceId}`, async () => {
      await this.init();
      await unplugInstance(this.s, instanceId);
    });
  }

  async plugged(): Promise<{ vpcs: string[]; instances: string[] }> {
    await this.init();
    return {
      vpcs: [...this.s.vpcs.values()]
        .filter((v) => existsSync(netnsPath(v.netns)))
        .map((v) => v.vpcId)
        .sort(),
      instances: [...this.s.instances.keys()].filter((id) => existsSync(netnsPath(instanceNetns(this.tag, id)))).sort(),
    };
  }

  async vpcsPresent(): Promise<string[]> {
    return (await this.plugged()).vpcs;
  }

  /** The names of one VPC's objects here (tests, benchmarks). */
  vpcNames(vpcId: string): { netns: string; uplink: string; hostEnd?: string; table?: number } {
    const vs = this.s.vpcs.get(vpcId);
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
        await this.s
          .plan(
            lines,
            lines.map(() => true),
          )
          .catch(() => undefined);
      if (after.table) await this.s.cmd('nft', ['delete', 'table', 'inet', this.table]).catch(() => undefined);
      after = await LinuxHostNetwork.leftovers(this.tag);
    }
    this.s.clear();
    this.ready = undefined;
    if (left(after)) throw new Error(`closing the host network left ${JSON.stringify(after)}`);
  }

  /** Every namespace, link, table, rule and route of this tag: a leak check, and what close() removes. */
  static leftovers(tag: string): Promise<Leftovers> {
    return leftovers(tag);
  }
}
