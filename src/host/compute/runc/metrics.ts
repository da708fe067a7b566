// Per-instance counters read on the host, never asked of the guest: CPU time, memory and tasks from
// the instance's cgroups, disk I/O from its root volume's block device, network from the host end of
// its veth. Counters only (monotonic where the kernel's are); rates are the reader's business, as
// CloudWatch derives CPUUtilization and NetworkIn from samples.
import { readFile, stat } from 'node:fs/promises';
import { netNames } from '../../network/names.js';
import type { InstanceCounters } from '../driver.js';

export type { InstanceCounters };

const CG = '/sys/fs/cgroup';

async function num(path: string): Promise<number> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}

/** `key value` lines (memory.stat, memory.oom_control). */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) out[k] = Number(v);
  }
  return out;
}

/** /sys/block/<dev>/stat: reads, merged, sectors, ms, writes, merged, sectors, ms, … (sectors of 512 bytes). */
export function parseBlockStat(text: string): { readOps: number; readBytes: number; writeOps: number; writeBytes: number } {
  const f = text.trim().split(/\s+/).map(Number);
  return { readOps: f[0] ?? 0, readBytes: (f[2] ?? 0) * 512, writeOps: f[4] ?? 0, writeBytes: (f[6] ?? 0) * 512 };
}

async function text(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

export async function readCounters(opts: { cgroup: string; tag: string; instanceId: string; rootfs?: string }): Promise<InstanceCounters> {
  const cg = (ctrl: string, file: string) => `${CG}/${ctrl}/${opts.cgroup}/${file}`;
  const veth = netNames(opts.tag, opts.instanceId).veth;
  const net = (f: string) => num(`/sys/class/net/${veth}/statistics/${f}`);
  let disk = { readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0 };
  if (opts.rootfs) {
    // The root volume is a loop device of its own: its stats are the volume's I/O, page cache and all.
    const st = await stat(opts.rootfs).catch(() => undefined);
    if (st) {
      const major = Math.floor(st.dev / 256) & 0xfff; // Linux's new_encode_dev, for majors below 4096
      const minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
      const s = await text(`/sys/dev/block/${major}:${minor}/stat`);
      if (s) disk = parseBlockStat(s);
    }
  }
  const [cpuNs, usage, limit, memStat, oom, pids, rxB, txB, rxP, txP] = await Promise.all([
    num(cg('cpuacct', 'cpuacct.usage')),
    num(cg('memory', 'memory.usage_in_bytes')),
    num(cg('memory', 'memory.limit_in_bytes')),
    text(cg('memory', 'memory.stat')),
    text(cg('memory', 'memory.oom_control')),
    num(cg('pids', 'pids.current')),
    net('rx_bytes'),
    net('tx_bytes'),
    net('rx_packets'),
    net('tx_packets'),
  ]);
  const ms = parseKeyValues(memStat);
  return {
    cpuNs,
    memoryBytes: usage,
    memoryRssBytes: (ms.total_rss ?? ms.rss ?? 0) + (ms.total_shmem ?? ms.shmem ?? 0),
    memoryLimitBytes: limit,
    oomKills: parseKeyValues(oom).oom_kill ?? 0,
    pids,
    diskReadBytes: disk.readBytes,
    diskWriteBytes: disk.writeBytes,
    diskReadOps: disk.readOps,
    diskWriteOps: disk.writeOps,
    // The host end receives what the instance sends.
    netInBytes: txB,
    netOutBytes: rxB,
    netInPackets: txP,
    netOutPackets: rxP,
  };
}

/** /proc/net/dev: the eth<n> counters summed, as the instance sees them (In is what it received). */
export function parseNetDev(text: string): Pick<InstanceCounters, 'netInBytes' | 'netOutBytes' | 'netInPackets' | 'netOutPackets'> {
  const out = { netInBytes: 0, netOutBytes: 0, netInPackets: 0, netOutPackets: 0 };
  for (const line of text.split('\n')) {
    const m = /^\s*(eth\d+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out.netInBytes += f[0] ?? 0;
    out.netInPackets += f[1] ?? 0;
    out.netOutBytes += f[8] ?? 0;
    out.netOutPackets += f[9] ?? 0;
  }
  return out;
}
