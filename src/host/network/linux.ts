// HostNetwork on Linux: one named network namespace and veth pair per instance, routed (not
// bridged) through the host; the rules are in nft.ts, the iproute2 batches in ip.ts.
//
//   instance netns: eth0 172.31.0.11/20, default via 172.31.0.1
//        │ veth
//   host: cu<tag><id8>  172.31.0.1/32 (the subnet's router), proxy_arp, strict rp_filter,
//         route 172.31.0.11/32 dev cu<tag><id8>; the veth's alias is the instance id
//
// Instances of one subnet reach each other through the host (proxy ARP answers for the peers), so
// each instance is alone on its link: it cannot see or spoof another's traffic.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Revert } from '../revert.js';
import { hostTag } from '../tag.js';
import { ipBatch, nft, run } from './exec.js';
import type { HostNetwork, PlugSpec } from './host-network.js';
import { addressing, hostCreateLines, hostRoutes, hostUpLines, namespaceLines, unplugLines } from './ip.js';
import { netNames, netnsPath, netnsPrefix, shortId, tableName, vethPrefix } from './names.js';
import { deleteFoundScript, elementScript, MAX_HOP_LIMIT, parseElements, tableScript, vpcMark, type InstanceElements } from './nft.js';

export interface LinuxHostNetworkOptions {
  home: string;
  /** The port the metadata service listens on (0.0.0.0): the redirect target of 169.254.169.254:80. */
  imdsPort: number;
}

export interface Leftovers {
  netns: string[];
  links: string[];
  table: boolean;
}

const SYS_NET = '/sys/class/net';

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export class LinuxHostNetwork implements HostNetwork {
  readonly tag: string;
  readonly table: string;
  private readonly imdsPort: number;
  private ready?: Promise<void>;
  /** What the table holds per veth, as last written or read back; a failed transaction reloads it. */
  private elements = new Map<string, InstanceElements>();
  /** Element changes waiting for the next nft transaction (one runs at a time), by veth. */
  private pending = new Map<string, { after: InstanceElements | undefined; waiters: { resolve: () => void; reject: (e: unknown) => void }[] }>();
  private flushing = false;
  /** The work on one instance runs in call order. */
  private instanceQueues = new Map<string, Promise<unknown>>();

  constructor(opts: LinuxHostNetworkOptions) {
    if (!Number.isInteger(opts.imdsPort) || opts.imdsPort < 1 || opts.imdsPort > 65535) throw new Error(`bad metadata port: ${opts.imdsPort}`);
    this.tag = hostTag(opts.home);
    this.table = tableName(this.tag);
    this.imdsPort = opts.imdsPort;
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
    // Instances of one host talk through it; the forward chain keeps their packets on the host.
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
    await nft(tableScript({ table: this.table, vethPattern: `${vethPrefix(this.tag)}*`, imdsPort: this.imdsPort }));
    await this.reloadElements();
  }

  private async reloadElements(): Promise<ReturnType<typeof parseElements>> {
    const found = parseElements(await run('nft', ['-j', 'list', 'table', 'inet', this.table]));
    this.elements.clear();
    for (const [veth, e] of found) {
      const whole = e.mark !== undefined && e.hopLimit !== undefined && e.members?.length === 1 && e.members[0] === e.mark;
      if (whole) this.elements.set(veth, { mark: e.mark!, hopLimit: e.hopLimit! });
    }
    return found;
  }

  private serial<T>(instanceId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.instanceQueues.get(instanceId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.instanceQueues.set(instanceId, tail);
    void tail.then(() => {
      if (this.instanceQueues.get(instanceId) === tail) this.instanceQueues.delete(instanceId);
    });
    return next;
  }

  /**
   * Take one veth's elements to `after`. Changes asked for while a transaction runs are coalesced
   * into the next one (an nft process costs ~15 ms; twenty launches at once share a few).
   */
  private setElements(veth: string, after: InstanceElements | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const p = this.pending.get(veth);
      if (p) {
        p.after = after;
        p.waiters.push({ resolve, reject });
      } else this.pending.set(veth, { after, waiters: [{ resolve, reject }] });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.size) {
        const batch = [...this.pending];
        this.pending.clear();
        const script = batch.map(([veth, p]) => elementScript(this.table, veth, this.elements.get(veth), p.after)).join('');
        let ok = true;
        try {
          if (script) await nft(script);
        } catch {
          ok = false;
        }
        for (const [veth, p] of batch) {
          try {
            // The batch failed as a whole: the cache disagrees with the table somewhere. Each veth
            // on its own, from what the table really holds.
            if (!ok) await this.repairElements(veth, p.after);
            if (p.after) this.elements.set(veth, p.after);
            else this.elements.delete(veth);
            for (const w of p.waiters) w.resolve();
          } catch (e) {
            for (const w of p.waiters) w.reject(e);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async repairElements(veth: string, after: InstanceElements | undefined): Promise<void> {
    const found = (await this.reloadElements()).get(veth);
    const script = (found ? deleteFoundScript(this.table, veth, found) : '') + elementScript(this.table, veth, undefined, after);
    if (script) await nft(script);
  }

  plug(spec: PlugSpec): Promise<{ netnsPath: string }> {
    return this.serial(spec.instanceId, () => this.doPlug(spec));
  }

  private async doPlug(spec: PlugSpec): Promise<{ netnsPath: string }> {
    await this.init();
    const n = netNames(this.tag, spec.instanceId);
    const a = addressing(spec);
    const elements = elementsOf(spec);
    const missing = { netns: !existsSync(netnsPath(n.netns)), veth: !existsSync(`${SYS_NET}/${n.veth}`) };
    if (!missing.veth) {
      const owner = await readText(`${SYS_NET}/${n.veth}/ifalias`);
      if (owner && owner !== spec.instanceId) throw new Error(`${n.veth} belongs to ${owner}, not ${spec.instanceId} (their ids end alike)`);
    }
    // One host, one routing table: an address another interface holds cannot be this instance's.
    const holder = hostRoutes(await readFile('/proc/net/route', 'utf8'), '').find((r) => r.ip === a.ip && r.iface !== n.veth);
    if (holder) throw new Error(`${a.ip} is already in use on this host (${holder.iface})`);

    const revert = new Revert();
    try {
      if (missing.netns) revert.add(() => this.removeNetns(n.netns));
      if (missing.veth) revert.add(() => this.removeLink(n.veth));
      await ipBatch(hostCreateLines(n, a, spec.instanceId, missing));
      const conf = `/proc/sys/net/ipv4/conf/${n.veth}`;
      await writeFile(`${conf}/proxy_arp`, '1');
      await writeFile(`${conf}/rp_filter`, '1');
      const v6 = `/proc/sys/net/ipv6/conf/${n.veth}/disable_ipv6`;
      if (existsSync(v6)) await writeFile(v6, '1');
      if (missing.veth) revert.add(() => this.setElements(n.veth, undefined));
      // Independent steps, each a process of its own: side by side.
      await settleAll([this.setElements(n.veth, elements), ipBatch(namespaceLines(a), { netns: n.netns })]);
      await ipBatch(hostUpLines(n, a));
      revert.release();
    } catch (e) {
      await revert.unwind();
      throw e;
    }
    return { netnsPath: netnsPath(n.netns) };
  }

  update(spec: PlugSpec): Promise<void> {
    return this.serial(spec.instanceId, async () => {
      await this.init();
      const { veth } = netNames(this.tag, spec.instanceId);
      if (!existsSync(`${SYS_NET}/${veth}`)) return; // not plugged: plug() applies it
      await this.setElements(veth, elementsOf(spec));
    });
  }

  unplug(instanceId: string): Promise<void> {
    return this.serial(instanceId, async () => {
      await this.init();
      const n = netNames(this.tag, instanceId);
      const owner = await readText(`${SYS_NET}/${n.veth}/ifalias`);
      if (owner && owner !== instanceId) return; // another instance's pair: not ours to remove
      const present = { netns: existsSync(netnsPath(n.netns)), veth: existsSync(`${SYS_NET}/${n.veth}`) };
      const lines = unplugLines(n, present);
      await settleAll([lines.length ? ipBatch(lines, { force: true }).catch(() => undefined) : undefined, this.setElements(n.veth, undefined)]);
      if (existsSync(`${SYS_NET}/${n.veth}`) || existsSync(netnsPath(n.netns))) throw new Error(`unplugging ${instanceId} left ${n.veth} or ${n.netns} behind`);
    });
  }

  private async removeLink(veth: string): Promise<void> {
    if (existsSync(`${SYS_NET}/${veth}`)) await run('ip', ['link', 'del', 'dev', veth]);
  }

  private async removeNetns(netns: string): Promise<void> {
    if (existsSync(netnsPath(netns))) await run('ip', ['netns', 'del', netns]);
  }

  /**
   * The instance whose interface holds this address on the host: the /32 route to it goes through
   * that instance's veth, and strict reverse-path filtering drops any packet from that address
   * arriving on another. So the source address of a connection names the instance, unforgeably.
   */
  instanceAt(ip: string): Promise<string | undefined> {
    return instanceAtAddress(this.tag, ip);
  }

  /** Instances plugged on this host by this server (adoption after a restart). */
  async plugged(): Promise<string[]> {
    const out: string[] = [];
    for (const link of await ourLinks(this.tag)) {
      const id = await readText(`${SYS_NET}/${link}/ifalias`);
      if (id && ownsLink(id, link, this.tag)) out.push(id);
    }
    return out;
  }

  /**
   * Remove every namespace, link and element of this server that belongs to none of these
   * instances: what a crash mid-plug or a lost unplug left (adoption after a restart, before any
   * plug). Returns what went.
   */
  async sweep(keep: Iterable<string>): Promise<string[]> {
    await this.init();
    const kept = new Set([...keep].map((id) => shortId(id)));
    const left = await LinuxHostNetwork.leftovers(this.tag);
    const links = left.links.filter((l) => !kept.has(l.slice(vethPrefix(this.tag).length)));
    const netns = left.netns.filter((ns) => !kept.has(ns.slice(netnsPrefix(this.tag).length)));
    const lines = [...links.map((l) => `link del dev ${l}`), ...netns.map((ns) => `netns del ${ns}`)];
    if (lines.length) await ipBatch(lines, { force: true }).catch(() => undefined);
    const stale = [...(await this.reloadElements()).keys()].filter((v) => !kept.has(v.slice(vethPrefix(this.tag).length)));
    for (const v of stale) {
      await this.repairElements(v, undefined); // deletes whatever the table holds, whole or not
      this.elements.delete(v);
    }
    return [...new Set([...links, ...netns, ...stale])];
  }

  async close(): Promise<void> {
    // A namespace is destroyed by the kernel after `netns del` returns (its veth peer goes with it a
    // moment later), and a plug may be finishing while we close: sweep until nothing is left.
    let after = await LinuxHostNetwork.leftovers(this.tag);
    for (let round = 0; round < 20 && (after.links.length || after.netns.length || after.table); round++) {
      if (round) await new Promise((r) => setTimeout(r, 100));
      const lines = [...after.links.map((l) => `link del dev ${l}`), ...after.netns.map((ns) => `netns del ${ns}`)];
      if (lines.length) await ipBatch(lines, { force: true }).catch(() => undefined);
      if (after.table) await run('nft', ['delete', 'table', 'inet', this.table]).catch(() => undefined);
      after = await LinuxHostNetwork.leftovers(this.tag);
    }
    this.elements.clear();
    this.ready = undefined;
    if (after.links.length || after.netns.length || after.table) throw new Error(`closing the host network left ${JSON.stringify(after)}`);
  }

  /** Every namespace, link and table with this tag in its name: a leak check, and what close() removes. */
  static async leftovers(tag: string): Promise<Leftovers> {
    const netns = existsSync('/run/netns') ? (await readdir('/run/netns')).filter((n) => n.startsWith(netnsPrefix(tag))) : [];
    const tables = await run('nft', ['list', 'tables']);
    return { netns, links: await ourLinks(tag), table: tables.split('\n').some((l) => l.trim() === `table inet ${tableName(tag)}`) };
  }
}

/** LinuxHostNetwork.instanceAt without the object: what the metadata service of a server with this tag asks. */
export async function instanceAtAddress(tag: string, ip: string): Promise<string | undefined> {
  const route = hostRoutes(await readFile('/proc/net/route', 'utf8'), vethPrefix(tag)).find((r) => r.ip === ip);
  return route ? readText(`${SYS_NET}/${route.iface}/ifalias`) : undefined;
}

async function ourLinks(tag: string): Promise<string[]> {
  return (await readdir(SYS_NET)).filter((l) => l.startsWith(vethPrefix(tag)));
}

function ownsLink(id: string, link: string, tag: string): boolean {
  try {
    return link === `${vethPrefix(tag)}${shortId(id)}`;
  } catch {
    return false;
  }
}

/** Like Promise.all, but waits for every promise before rethrowing the first failure (nothing left running behind an unwind). */
async function settleAll(ps: (Promise<unknown> | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function elementsOf(spec: PlugSpec): InstanceElements {
  const hop = spec.metadataHopLimit;
  if (!Number.isInteger(hop) || hop < 1 || hop > MAX_HOP_LIMIT) throw new Error(`bad metadata hop limit: ${hop}`);
  return { mark: vpcMark(spec.vpcId), hopLimit: hop };
}
