// A VPC's namespace (the "VPC router") and its uplink to the host, made when missing.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { hostAddresses, OBSERVE_LINES, observedHost, observedUplinks, parseObserved, pickUplinkAddress, uplinkIndex, UPLINK, type Observed, type UplinkAddressing } from './ip.js';
import { SYS_NET } from './leftovers.js';
import { hostTableId, netnsPath, uplinkPrefix } from './names.js';
import type { NetnsState, VpcState } from './netns-state.js';
import { closedVpcTableScript } from './vpc-rules.js';

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

/** The VPC's namespace, made when missing (closed: nothing forwarded until its rules come). Returns whether it was made. */
export async function ensureVpcNetns(s: NetnsState, vs: VpcState, closed: boolean): Promise<boolean> {
  if (existsSync(netnsPath(vs.netns))) {
    await s.current(vs.netns, () => s.observeVpc(vs));
    return false;
  }
  // Whatever was known of a namespace that is gone is gone with it.
  s.cache.delete(vs.netns);
  vs.nft = undefined;
  vs.nftSpec = undefined;
  await s.cmd('ip', ['netns', 'add', vs.netns]);
  try {
    await s.cmd('ip', ['netns', 'exec', vs.netns, 'sysctl', '-q', '-w', ...VPC_SYSCTLS]);
    if (closed) {
      const script = closedVpcTableScript();
      await s.nftIn(script, vs.netns);
      vs.nft = script;
    }
  } catch (e) {
    await s.cmd('ip', ['netns', 'del', vs.netns]).catch(() => undefined);
    throw e;
  }
  s.cache.set(vs.netns, new Map());
  return true;
}

/**
 * The uplink: made when missing, with an address of 169.254.128.0/17 no interface of the host
 * has (several servers share the block). Uplinks are made one at a time in this process.
 */
export async function ensureUplink(s: NetnsState, vs: VpcState, freshNetns: boolean): Promise<UplinkAddressing> {
  const dev = vs.uplink;
  const present = existsSync(`${SYS_NET}/${dev}`);
  if (present) {
    const owner = await readText(`${SYS_NET}/${dev}/ifalias`);
    if (owner && owner !== vs.vpcId) throw new Error(`${dev} belongs to ${owner}, not ${vs.vpcId} (their ids end alike)`);
    if (vs.addressing && !freshNetns) return vs.addressing;
  }
  return s.serial('uplinks', async () => {
    const host = parseObserved(await s.show(OBSERVE_LINES));
    if (present && !freshNetns) {
      const hostEnd = observedUplinks(host, uplinkPrefix(s.tag)).get(dev)?.hostEnd;
      const index = hostEnd ? uplinkIndex(hostEnd) : undefined;
      if (hostEnd && index !== undefined) {
        vs.addressing = { vpcId: vs.vpcId, uplink: dev, hostEnd, table: hostTableId(s.tag, index), poolFirst: s.poolFirst };
        s.byAddress.set(hostEnd, vs.vpcId);
        s.cache.set(`host:${vs.vpcId}`, observedHost(host, dev, vs.addressing.table));
        return vs.addressing;
      }
    }
    // Make it (again: half made, or its peer went with an old namespace).
    if (vs.addressing) s.byAddress.delete(vs.addressing.hostEnd);
    const used = hostAddresses(host.addrs);
    const { address, index } = pickUplinkAddress(s.tag, vs.vpcId, used);
    const u: UplinkAddressing = { vpcId: vs.vpcId, uplink: dev, hostEnd: address, table: hostTableId(s.tag, index), poolFirst: s.poolFirst };
    const lines = [...(present ? [`link del dev ${dev}`] : []), `link add name ${dev} type veth peer name ${UPLINK} netns ${vs.netns}`];
    await s.plan(
      lines,
      lines.map((_, i) => present && i === 0),
    );
    const v6 = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
    if (existsSync(v6)) await writeFile(v6, '1');
    vs.addressing = u;
    vs.uplinkMade = true;
    // Only a stale rule of this table can be there: the objects are made from scratch.
    s.cache.set(`host:${vs.vpcId}`, observedHost(host, dev, u.table));
    s.byAddress.set(address, vs.vpcId);
    return u;
  });
}

/** Two servers may have picked the same address at once: the uplink with the higher index gives way (made again on the next apply). */
export async function checkUplinkAddress(s: NetnsState, vs: VpcState, u: UplinkAddressing): Promise<void> {
  const out = JSON.parse(await s.cmd('ip', ['-json', '-4', 'addr', 'show'])) as Observed['addrs'];
  const holders = out.filter((l) => (l.addr_info ?? []).some((a) => a.local === u.hostEnd)) as (Observed['addrs'][number] & { ifindex: number })[];
  const mine = holders.find((l) => l.ifname === u.uplink);
  if (holders.length > 1 && mine && holders.some((l) => l.ifindex < mine.ifindex)) {
    await s.cmd('ip', ['link', 'del', 'dev', u.uplink]).catch(() => undefined);
    s.byAddress.delete(u.hostEnd);
    vs.addressing = undefined;
    s.cache.delete(`host:${vs.vpcId}`);
    throw new Error(`${u.hostEnd} was taken by another uplink at the same time; ${vs.vpcId} will get another`);
  }
  s.opts.onUplink?.();
}
