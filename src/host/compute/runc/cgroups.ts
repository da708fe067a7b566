// What the host allows the instances' cgroups: the open-files limit runc can give, and the parents
// runc leaves behind.
import { readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The hard limit of open files this process has: runc cannot give an instance more. */
export async function hostNofileHard(): Promise<number> {
  try {
    const text = await readFile('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+\S+\s+(\S+)/m.exec(text);
    const n = m ? Number(m[1]) : NaN;
    return Number.isFinite(n) ? Math.min(n, 524288) : 524288;
  } catch {
    return 1024;
  }
}

/** runc removes an instance's cgroups but not the parent it made in every hierarchy. */
export async function removeCgroupParents(parent: string): Promise<void> {
  let roots: string[] = [];
  try {
    roots = (await readdir('/sys/fs/cgroup')).map((d) => join('/sys/fs/cgroup', d));
  } catch {
    return;
  }
  for (const r of roots) await rmdir(join(r, parent)).catch(() => undefined);
}
