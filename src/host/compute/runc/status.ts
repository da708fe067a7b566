// EC2's status checks of a runc instance, observed on the host (never asked of the guest, which may lie):
//
//   system    the host's part: runc holds the container, the instance's network namespace is
//             there, and so are its VPC's namespace, uplink and the VPC end of its primary
//             interface (administratively up)
//   instance  the guest's part: its init is alive (not gone, a zombie, stopped by a signal or
//             frozen), its eth0 is up with a carrier, and it answers an ARP probe sent from the
//             VPC router's end of the link (the kernel answers ARP below any security group)
//
// Cheap: two `ip` calls and one `busybox arping` (busybox-static is a host package already).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { exec } from '../../exec.js';
import { addressing } from '../../network/ip.js';
import { eniLink, netnsPath, uplinkName, vpcNetns } from '../../network/names.js';
import type { InterfaceSpec } from '../../network/vpc-spec.js';
import type { CheckOutcome } from '../driver.js';
import type { ContainerState } from './runtime.js';

const passed: CheckOutcome = { status: 'passed' };
const failed = (reason: string): CheckOutcome => ({ status: 'failed', reason });
const unknown = (reason: string): CheckOutcome => ({ status: 'insufficient-data', reason });

/** The state letter of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
export function procState(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  return close < 0 ? undefined : stat.slice(close + 2, close + 3) || undefined;
}

/** Why a process in this state is not running the guest (undefined: it is alive). */
export function deadState(state: string | undefined): string | undefined {
  if (state === undefined) return 'its init is gone';
  if (state === 'Z' || state === 'X' || state === 'x') return 'its init has exited';
  if (state === 'T' || state === 't') return 'its init is stopped by a signal';
  return undefined;
}

/** `ip -json link show dev X`: whether the link exists, is set up, and has a carrier. */
export function linkState(json: string): { exists: boolean; up: boolean; carrier: boolean } {
  let links: { flags?: string[] }[] = [];
  try {
    links = JSON.parse(json || '[]') as { flags?: string[] }[];
  } catch {
    links = [];
  }
  const flags = links[0]?.flags;
  if (!flags) return { exists: false, up: false, carrier: false };
  return { exists: true, up: flags.includes('UP'), carrier: flags.includes('LOWER_UP') };
}

async function showLink(netns: string, dev: string): Promise<{ exists: boolean; up: boolean; carrier: boolean }> {
  const r = await exec('ip', ['-n', netns, '-json', 'link', 'show', 'dev', dev], { okCodes: [0, 1], timeoutMs: 5_000 });
  return r.code === 0 ? linkState(r.stdout) : { exists: false, up: false, carrier: false };
}

export interface StatusProbe {
  tag: string;
  instanceId: string;
  /** The instance's network namespace, by name (under /run/netns). */
  instanceNetns: string;
  vpcId?: string;
  /** Its primary interface (device index 0). */
  primary?: InterfaceSpec;
  /** What runc says of the container (undefined: runc does not have it). */
  container?: ContainerState;
}

export async function probeStatus(p: StatusProbe): Promise<{ system: CheckOutcome; instance: CheckOutcome }> {
  const system = await systemCheck(p);
  const guest = await initCheck(p.container);
  if (guest.status !== 'passed') return { system, instance: guest };
  if (!existsSync(netnsPath(p.instanceNetns))) return { system, instance: unknown('its network namespace is gone') };
  const eth0 = await showLink(p.instanceNetns, 'eth0');
  if (!eth0.exists) return { system, instance: failed('eth0 is gone from the instance') };
  if (!eth0.up) return { system, instance: failed('eth0 is down inside the instance') };
  // Without the host's side of the path, the guest cannot be probed: not known, not failed.
  if (system.status !== 'passed' || !p.primary || !p.vpcId) return { system, instance: unknown('no network path to probe the guest') };
  const a = addressing(p.primary);
  const r = await exec(
    'ip',
    ['netns', 'exec', vpcNetns(p.tag, p.vpcId), 'busybox', 'arping', '-q', '-f', '-c', '2', '-w', '2', '-I', eniLink(p.primary.eniId), '-s', a.gateway, a.ips[0]!],
    { okCodes: [0, 1], timeoutMs: 10_000 },
  );
  if (r.code !== 0) return { system, instance: failed(`${a.ips[0]} on eth0 does not answer ARP from its subnet router`) };
  return { system, instance: passed };
}

async function systemCheck(p: StatusProbe): Promise<CheckOutcome> {
  if (!p.container || p.container.status === 'stopped') return failed('the container runtime does not hold the instance');
  if (!existsSync(netnsPath(p.instanceNetns))) return failed('its network namespace is gone');
  if (!p.vpcId || !p.primary) return failed('it has no network interface on this host');
  const vpcNs = vpcNetns(p.tag, p.vpcId);
  if (!existsSync(netnsPath(vpcNs))) return failed(`the data plane of ${p.vpcId} (${vpcNs}) is gone`);
  const uplink = uplinkName(p.tag, p.vpcId);
  if (!existsSync(`/sys/class/net/${uplink}`)) return failed(`the uplink ${uplink} of ${p.vpcId} is gone`);
  const link = eniLink(p.primary.eniId);
  const end = await showLink(vpcNs, link);
  if (!end.exists) return failed(`the VPC end ${link} of its primary interface is gone`);
  if (!end.up) return failed(`the VPC end ${link} of its primary interface is down`);
  return passed;
}

async function initCheck(c: ContainerState | undefined): Promise<CheckOutcome> {
  const stat = c && c.pid > 0 ? await readFile(`/proc/${c.pid}/stat`, 'utf8').catch(() => '') : '';
  return initOutcome(c, stat);
}

/** The instance check's first part, from what runc says and the init's /proc/<pid>/stat ('' when unreadable). */
export function initOutcome(c: Pick<ContainerState, 'status' | 'pid'> | undefined, stat: string): CheckOutcome {
  if (!c || c.status === 'stopped') return failed('its init is not running');
  // A container made but never started (a server killed between `runc create` and `runc start`).
  if (c.status === 'created' || c.status === 'creating') return failed('its init was never started');
  if (c.status === 'paused') return failed('the instance is frozen');
  if (!(c.pid > 0)) return failed('its init is gone');
  const dead = deadState(stat ? procState(stat) : undefined);
  return dead ? failed(dead) : passed;
}
