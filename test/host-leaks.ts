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
  loopDevices: string[];
  mounts: string[];
  cgroups: string[];
  monitors: string[];
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

export function hostObjects(): HostObjects {
  const netns = safe(() => readdirSync('/run/netns').filter((n) => /^cu-[0-9a-f]{4}-/.test(n)), []);
  const links = safe(() => readdirSync('/sys/class/net').filter((n) => /^cu[0-9a-f]{4}/.test(n)), []);
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
  const monitors = safe(
    () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .flatMap((p) => {
          const cmd = safe(() => readFileSync(`/proc/${p}/cmdline`, 'utf8'), '').split('\0');
          const stat = safe(() => readFileSync(`/proc/${p}/stat`, 'utf8'), '');
          if (/\) Z /.test(stat)) return []; // a zombie holds nothing
          return cmd[0]?.endsWith('conmon') && cmd.some((a) => /^i-[0-9a-f]{17}$/.test(a)) ? [`${p} ${cmd.join(' ').slice(0, 200)}`] : [];
        }),
    [],
  );
  return { netns, links, nftTables, loopDevices, mounts, cgroups, monitors };
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
