// What the Linux data plane's namespaces hold, kept in memory as the last state written (read back
// from the kernel once after a restart, or after a batch failed), the per-VPC call queues, and the
// counted runners of ip and nft; shared by LinuxHostNetwork and the modules doing its work.
import { ipPlan, ipShow, nft, run } from './exec.js';
import type { LinuxHostNetworkOptions } from './linux.js';
import {
  diffObjects,
  OBSERVE_LINES,
  observedHost,
  observedInstance,
  observedVpc,
  parseObserved,
  type DiffOptions,
  type IpObject,
  type ObjectSet,
  type Plan,
  type UplinkAddressing,
} from './ip.js';
import { uplinkName, vpcNetns } from './names.js';
import type { InterfaceSpec } from './vpc-spec.js';

export interface VpcState {
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

/** Like Promise.all, but waits for every promise before rethrowing the first failure (nothing left running behind an unwind). */
export async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export const ethOf = (eni: Pick<InterfaceSpec, 'deviceIndex'>) => `eth${eni.deviceIndex}`;

/** A VPC-side link object's alias: <instance id>/<eni id>/eth<n>. */
export function aliasOf(link: IpObject): { instanceId: string; eniId: string; eth: string } | undefined {
  const [instanceId, eniId, eth] = (link.key.split(' ')[2] ?? '').split('/');
  return instanceId && eniId && eth ? { instanceId, eniId, eth } : undefined;
}

export class NetnsState {
  readonly vpcs = new Map<string, VpcState>();
  /** What each namespace holds, as last written or read: by netns name, and `host:<vpc id>` for a VPC's objects on the host. */
  readonly cache = new Map<string, ObjectSet>();
  /** Instance → its VPC, for the instances plugged here. */
  readonly instances = new Map<string, string>();
  /** Uplink host-end address → VPC. */
  readonly byAddress = new Map<string, string>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** What the last full apply of a namespace was built from, and the state it left (the same object: nothing happened since). */
  readonly applied = new Map<string, { signature: string; state: ObjectSet }>();

  /** Processes run so far (tests and benchmarks: an apply with nothing changed runs none). */
  commands = 0;

  constructor(
    readonly tag: string,
    readonly opts: LinuxHostNetworkOptions,
    readonly poolFirst: string,
  ) {}

  plan(lines: string[], optional: boolean[], netns?: string): Promise<void> {
    this.commands++;
    return ipPlan(lines, optional, netns);
  }

  show(commands: string[], netns?: string): Promise<string> {
    this.commands++;
    return ipShow(commands, netns);
  }

  nftIn(script: string, netns?: string): Promise<string> {
    this.commands++;
    return nft(script, netns);
  }

  cmd(command: string, args: string[]): Promise<string> {
    this.commands++;
    return run(command, args);
  }

  /** Nothing known any more (a restart's adoption, a close). */
  clear(): void {
    this.vpcs.clear();
    this.cache.clear();
    this.applied.clear();
    this.instances.clear();
    this.byAddress.clear();
  }

  state(vpcId: string): VpcState {
    let vs = this.vpcs.get(vpcId);
    if (!vs) {
      vs = { vpcId, netns: vpcNetns(this.tag, vpcId), uplink: uplinkName(this.tag, vpcId) };
      this.vpcs.set(vpcId, vs);
    }
    return vs;
  }

  /** The work on one key (a VPC) runs in call order. */
  serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
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

  async observeVpc(vs: VpcState): Promise<ObjectSet> {
    const objs = observedVpc(parseObserved(await this.show(OBSERVE_LINES, vs.netns)));
    for (const x of objs.values()) {
      const a = x.kind === 'link' ? aliasOf(x) : undefined;
      if (a && /^i-[0-9a-f]{8,17}$/.test(a.instanceId)) this.instances.set(a.instanceId, vs.vpcId);
    }
    return objs;
  }

  async observeHost(vs: VpcState): Promise<ObjectSet> {
    return observedHost(parseObserved(await this.show(OBSERVE_LINES)), vs.uplink, vs.addressing?.table);
  }

  async observeInstance(ns: string): Promise<ObjectSet> {
    return observedInstance(parseObserved(await this.show(OBSERVE_LINES, ns)));
  }

  /** A namespace that is gone: nothing is known of it any more. */
  forget(key: string): void {
    this.cache.delete(key);
    this.applied.delete(key);
  }

  async current(key: string, observe: () => Promise<ObjectSet>): Promise<ObjectSet> {
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
  async applyObjects(
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
}
