// What cumulo servers leave on a host: every object they make carries "cumulo" or a host tag in its
// name (src/host/tag.ts), so the whole set can be listed by name. The test run's global teardown
// compares the set after the suite with the one before it (a developer's own server may be
// running) and fails the run on anything new.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HostObjects {
  netns: string[];
  links: string[];
  nftTables: string[];
  /** Host ip rules pointing at a cumulo routing table (src/host/network/names.ts: 0x80000000 and up). */
  rules: string[];
  /** Host routes in a cumulo routing table, or through a cumulo link (VPC uplinks `cv<tag>…`). */
  routes: string[];
  loopDevices: string[];
  mounts: string[];
  cgroups: string[];
  monitors: string[];
  /** qemu-storage-daemon processes exporting encrypted volumes of a cumulo state folder (their FUSE files are in `mounts`). */
  daemons: string[];
  /** A server's folder of instance mount points, /run/cumulo/<tag> (gone with its last instance). */
  runDirs: string[];
  /** lxcfs processes serving a server's instances (/run/cumulo/<tag>/lxcfs). */
  lxcfs: string[];
}

function safe<T>(fn: () => T, dflt: T): T {
  try {
    return fn();
  } catch {
    return dflt;
  }
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Live processes (not zombies: they hold nothing) whose argv matches, as "pid argv". */
function processes(match: (argv: string[]) => boolean): string[] {
  return safe(
    () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .flatMap((p) => {
          const cmd = safe(() => readFileSync(`/proc/${p}/cmdline`, 'utf8'), '').split('\0');
          if (!cmd[0] || /\) Z /.test(safe(() => readFileSync(`/proc/${p}/stat`, 'utf8'), ''))) return [];
          return match(cmd) ? [`${p} ${cmd.join(' ').slice(0, 200)}`] : [];
        }),
    [],
  );
}

export function hostObjects(): HostObjects {
  const netns = safe(() => readdirSync('/run/netns').filter((n) => /^cu-[0-9a-f]{4}-/.test(n)), []);
  // cu<tag>…: instance veths of old; cv<tag>…: the host ends of VPC uplinks.
  const ours = /^c[uv][0-9a-f]{4}/;
  const links = safe(() => readdirSync('/sys/class/net').filter((n) => ours.test(n)), []);
  const cumuloTable = (t: string | undefined) => Number(t) >= 0x80000000 && Number(t) <= 0xffffffff;
  const ipJson = <T>(args: string[]): T[] => JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) || '[]') as T[];
  const rules = safe(
    () =>
      ipJson<{ priority: number; src?: string; srclen?: number; table?: string }>(['rule', 'show'])
        .filter((r) => cumuloTable(r.table))
        .map((r) => `pref ${r.priority} from ${r.src ?? 'all'}${r.srclen ? `/${r.srclen}` : ''} lookup ${r.table}`),
    [],
  );
  const routes = safe(
    () =>
      ipJson<{ type?: string; dst: string; dev?: string; table?: string }>(['route', 'show', 'table', 'all'])
        .filter((r) => cumuloTable(r.table) || (r.table !== 'local' && !!r.dev && ours.test(r.dev)))
        .map((r) => `${r.type ?? 'unicast'} ${r.dst} table ${r.table ?? 'main'} dev ${r.dev ?? '-'}`),
    [],
  );
  const nftTables = safe(
    () =>
      execFileSync('nft', ['list', 'tables'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /cumulo/.test(l)),
    [],
  );
  const loopDevices = safe(
    () =>
      readdirSync('/sys/block')
        .filter((d) => d.startsWith('loop'))
        .flatMap((d) => {
          const f = join('/sys/block', d, 'loop', 'backing_file');
          const backing = existsSync(f) ? readFileSync(f, 'utf8').trim() : '';
          return /cumulo/.test(backing) ? [`/dev/${d} ${backing}`] : [];
        }),
    [],
  );
  const mounts = safe(
    () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => unescapeMount(l.split(' ')[4] ?? ''))
        .filter((p) => /cumulo/.test(p) || /\/run\/netns\/cu-/.test(p)),
    [],
  );
  const cgroups = safe(
    () =>
      readdirSync('/sys/fs/cgroup').flatMap((h) =>
        safe(() => readdirSync(join('/sys/fs/cgroup', h)), [] as string[])
          .filter((d) => /^cumulo_[0-9a-f]{4}$/.test(d))
          .map((d) => `${h}/${d}`),
      ),
    [],
  );
  // conmon, the monitor of each runc instance (and its instance under it).
  const monitors = processes((cmd) => cmd[0]!.endsWith('conmon') && cmd.some((a) => /^i-[0-9a-f]{17}$/.test(a)));
  const daemons = processes((cmd) => cmd[0]!.endsWith('qemu-storage-daemon') && cmd.some((a) => /cumulo/.test(a)));
  const lxcfs = processes((cmd) => cmd[0]!.endsWith('lxcfs') && cmd.some((a) => a.startsWith('/run/cumulo/')));
  const runDirs = safe(
    () =>
      readdirSync('/run/cumulo')
        .filter((n) => /^[0-9a-f]{4}$/.test(n))
        .map((n) => `/run/cumulo/${n}`),
    [],
  );
  return { netns, links, nftTables, rules, routes, loopDevices, mounts, cgroups, monitors, daemons, runDirs, lxcfs };
}

/** What is in `after` but not in `before`, by kind (empty when nothing leaked). */
export function newObjects(before: HostObjects, after: HostObjects): Partial<HostObjects> {
  const out: Partial<HostObjects> = {};
  for (const k of Object.keys(after) as (keyof HostObjects)[]) {
    const had = new Set(before[k]);
    const extra = after[k].filter((x) => !had.has(x));
    if (extra.length) out[k] = extra;
  }
  return out;
}
