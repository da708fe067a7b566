// The iproute2 batches of plugging an instance, built by pure functions (table-tested in ip.test.ts).
// Every line is idempotent (`replace`) except creating the namespace and the veth pair, which the
// caller emits only for what is missing, so plugging twice gives the same result.
import { addressAt, parseCidrLoose, parseIp } from '../../lib/cidr.js';
import type { PlugSpec } from './host-network.js';
import type { NetNames } from './names.js';

export interface Addressing {
  ip: string;
  prefix: number;
  /** The subnet's router: its network address + 1, as in a VPC (172.31.0.1 for 172.31.0.0/20). */
  gateway: string;
  mac: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Checks the spec and derives the addresses; throws on anything malformed (it ends up in commands). */
export function addressing(spec: Pick<PlugSpec, 'privateIp' | 'subnetCidr' | 'macAddress'>): Addressing {
  const subnet = parseCidrLoose(spec.subnetCidr);
  if (!subnet || subnet.family !== 4) throw new Error(`bad subnet CIDR: ${spec.subnetCidr}`);
  if (subnet.prefix > 28) throw new Error(`subnet ${spec.subnetCidr} is smaller than a VPC allows (/28)`);
  const ip = parseIp(spec.privateIp);
  if (!ip || ip.family !== 4) throw new Error(`bad private IPv4 address: ${spec.privateIp}`);
  const mac = spec.macAddress.toLowerCase();
  if (!MAC.test(mac)) throw new Error(`bad MAC address: ${spec.macAddress}`);
  const gateway = addressAt(subnet, 1n);
  if (spec.privateIp === gateway) throw new Error(`${spec.privateIp} is the subnet's router address`);
  return { ip: spec.privateIp, prefix: subnet.prefix, gateway, mac };
}

/** Host side, step 1: what is missing, then the settings that identify the pair. */
export function hostCreateLines(n: NetNames, a: Addressing, instanceId: string, missing: { netns: boolean; veth: boolean }): string[] {
  return [
    ...(missing.netns ? [`netns add ${n.netns}`] : []),
    ...(missing.veth ? [`link add ${n.veth} type veth peer name eth0 address ${a.mac} netns ${n.netns}`] : []),
    // The alias names the instance: how the metadata service and adoption after a restart find it.
    `link set dev ${n.veth} alias ${instanceId}`,
    `addr replace ${a.gateway}/32 dev ${n.veth}`,
  ];
}

/** Inside the namespace: eth0 with the instance's address, its default route via the router. */
export function namespaceLines(a: Addressing): string[] {
  return [
    `link set dev lo up`,
    `addr replace ${a.ip}/${a.prefix} dev eth0`,
    `link set dev eth0 up`,
    `route replace default via ${a.gateway} dev eth0`,
  ];
}

/** Host side, step 2 (after the sysctls): up, and the /32 route that makes the address the instance's. */
export function hostUpLines(n: NetNames, a: Addressing): string[] {
  return [`link set dev ${n.veth} up`, `route replace ${a.ip}/32 dev ${n.veth} src ${a.gateway}`];
}

/** Deleting the host end deletes both ends (and the route); the namespace goes last. */
export function unplugLines(n: NetNames, present: { netns: boolean; veth: boolean }): string[] {
  return [...(present.veth ? [`link del dev ${n.veth}`] : []), ...(present.netns ? [`netns del ${n.netns}`] : [])];
}

/** An IPv4 address from /proc/net/route's little-endian hex. */
export function routeHexToIp(h: string): string {
  const n = parseInt(h, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

/** Host routes to single addresses (/32) through interfaces with this prefix, from /proc/net/route. */
export function hostRoutes(procNetRoute: string, ifPrefix: string): { ip: string; iface: string }[] {
  const out: { ip: string; iface: string }[] = [];
  for (const line of procNetRoute.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !f[0]!.startsWith(ifPrefix) || f[7] !== 'FFFFFFFF') continue;
    out.push({ ip: routeHexToIp(f[1]!), iface: f[0]! });
  }
  return out;
}
