// Plugging an instance into its VPC: its own namespace, and one veth pair per interface between it
// and the VPC's namespace; and unplugging it.
import { existsSync } from 'node:fs';
import { Revert } from '../revert.js';
import type { PlugSpec } from './host-network.js';
import { addressing, eniVpcObjects, instanceObjects, objectSet } from './ip.js';
import { eniLink, instanceNetns, netnsPath, shortId } from './names.js';
import { aliasOf, ethOf, type NetnsState, type VpcState } from './netns-state.js';
import { ensureVpcNetns } from './vpc-router.js';

/** Plug an instance (in its VPC's queue, after init); `removeVpc` undoes a VPC namespace this plug made. */
export async function plugInstance(s: NetnsState, spec: PlugSpec, removeVpc: (vpcId: string) => Promise<void>): Promise<{ netnsPath: string }> {
  const id = spec.instanceId;
  const ns = instanceNetns(s.tag, id);
  for (const eni of spec.interfaces) {
    if (eni.instanceId !== id) throw new Error(`${eni.eniId} is attached to ${eni.instanceId}, not ${id}`);
    addressing(eni);
  }
  const twin = [...s.instances.keys()].find((other) => other !== id && shortId(other) === shortId(id));
  if (twin) throw new Error(`${ns} belongs to ${twin}, not ${id} (their ids end alike)`);
  const known = s.instances.get(id);
  if (known && known !== spec.vpcId) throw new Error(`${id} is plugged in ${known}, not ${spec.vpcId}`);

  const revert = new Revert();
  try {
    const vs = s.state(spec.vpcId);
    if (await ensureVpcNetns(s, vs, true)) revert.add(() => removeVpc(vs.vpcId));
    const fresh = !existsSync(netnsPath(ns));
    if (fresh) {
      s.cache.delete(ns);
      await s.cmd('ip', ['netns', 'add', ns]);
      revert.add(() => s.cmd('ip', ['netns', 'del', ns]).then(() => void s.cache.delete(ns)));
      s.cache.set(ns, new Map());
    }
    s.instances.set(id, spec.vpcId);
    revert.add(() => void (known ? undefined : s.instances.delete(id)));
    const links = spec.interfaces.map((e) => eniLink(e.eniId));
    // Pairs this plug makes go again if it fails (a failed batch says nothing of what it made).
    const had = new Set(fresh ? [] : [...(await s.current(vs.netns, () => s.observeVpc(vs))).values()].filter((x) => x.kind === 'link').map((x) => x.dev!));
    revert.add(() =>
      removeLinks(
        s,
        vs,
        links.filter((l) => !had.has(l)),
      ),
    );
    const plan = await s.applyObjects(
      vs.netns,
      vs.netns,
      () => objectSet(spec.interfaces.flatMap((e) => eniVpcObjects(e, ns))),
      () => s.observeVpc(vs),
      {
        owners: new Set(links),
        recreate: fresh ? new Set(links) : undefined,
      },
    );
    const eths = spec.interfaces.map(ethOf);
    const made = new Set(plan!.made.map((x) => aliasOf(x)?.eth ?? ''));
    // Never configured yet: it starts as a booted Linux does, not forwarding (a new namespace copies
    // the host's settings, and the host forwards). The guest may turn it on (a NAT instance).
    const configured = [...(await s.current(ns, () => s.observeInstance(ns))).values()].some((x) => x.kind === 'addr');
    if (!configured) await s.cmd('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
    await s.applyObjects(
      ns,
      ns,
      () => instanceObjects(spec.interfaces),
      () => s.observeInstance(ns),
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
export async function removeLinks(s: NetnsState, vs: VpcState, names: string[]): Promise<void> {
  if (!names.length || !existsSync(netnsPath(vs.netns))) return;
  const lines = names.map((n) => `link del dev ${n}`);
  await s.plan(
    lines,
    lines.map(() => true),
    vs.netns,
  );
  const cur = s.cache.get(vs.netns);
  if (!cur) return;
  const gone = new Set(names);
  // A new state (not the same object): the next full apply looks again.
  s.cache.set(vs.netns, new Map([...cur].filter(([, x]) => !(x.dev && gone.has(x.dev)))));
}

/** Unplug an instance (in its VPC's queue, after init): its pairs, then its namespace. */
export async function unplugInstance(s: NetnsState, instanceId: string): Promise<void> {
  const vpc = s.instances.get(instanceId);
  const vs = vpc ? s.vpcs.get(vpc) : undefined;
  if (vs && existsSync(netnsPath(vs.netns))) {
    const cur = await s.current(vs.netns, () => s.observeVpc(vs));
    const mine = [...cur.values()].filter((x) => x.kind === 'link' && aliasOf(x)?.instanceId === instanceId).map((x) => x.dev!);
    await removeLinks(s, vs, mine);
  }
  const ns = instanceNetns(s.tag, instanceId);
  if (existsSync(netnsPath(ns))) await s.cmd('ip', ['netns', 'del', ns]);
  s.forget(ns);
  s.instances.delete(instanceId);
  if (existsSync(netnsPath(ns))) throw new Error(`unplugging ${instanceId} left ${ns} behind`);
}
