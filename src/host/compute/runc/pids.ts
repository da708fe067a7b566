// The host's pid space is not the tenants': the kernel's pid_max is raised to its 64-bit ceiling
// (Linux's default of 32,768 is what eight fork-bombed instances at 4,096 each would take), and the
// cgroup parent of every instance is capped at half of it, so all instances together can never
// take the pids the host needs to run, stop or kill them.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** PID_MAX_LIMIT on 64-bit kernels. */
export const PID_MAX_LIMIT = 4_194_304;

/** The part of pid_max that all instances together may hold. */
export function instancesPidsMax(pidMax: number): number {
  return Math.floor(pidMax / 2);
}

export async function protectHostPids(
  cgroupParent: string,
  o: { proc?: string; cgroupRoot?: string; log?: (l: string) => void } = {},
): Promise<{ pidMax: number; instancesMax: number }> {
  const file = join(o.proc ?? '/proc', 'sys/kernel/pid_max');
  let pidMax = Number((await readFile(file, 'utf8')).trim());
  if (pidMax < PID_MAX_LIMIT) {
    try {
      await writeFile(file, String(PID_MAX_LIMIT));
      pidMax = Number((await readFile(file, 'utf8')).trim());
    } catch (e) {
      o.log?.(`runc: cannot raise kernel.pid_max from ${pidMax}: ${(e as Error).message}`);
    }
  }
  const instancesMax = instancesPidsMax(pidMax);
  const dir = join(o.cgroupRoot ?? '/sys/fs/cgroup', 'pids', cgroupParent.replace(/^\/+/, ''));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'pids.max'), String(instancesMax));
  return { pidMax, instancesMax };
}
