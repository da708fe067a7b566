// The host's mount table, read from /proc/self/mountinfo (exact device numbers and unescaped
// paths, which /proc/mounts and `mount` output do not give).
import { readFile } from 'node:fs/promises';
import { CommandError, run } from './exec.js';
import { realish } from './paths.js';

export interface MountEntry {
  id: number;
  parentId: number;
  /** "major:minor" of the mounted device, e.g. "7:3" for /dev/loop3. */
  devNo: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

// Paths in mountinfo escape space, tab, newline and backslash as octal: "/a\040b" is "/a b".
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse mountinfo: `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0) continue;
    out.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      devNo: f[2],
      mountPoint: unescape(f[4]),
      fsType: f[dash + 1],
      source: unescape(f[dash + 2]),
    });
  }
  return out;
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

/**
 * The mounts to take down, children first, so that every mount at or under one of `points`
 * goes: mountinfo lists a mount after its parent, so reverse order unmounts leaves first.
 */
export function mountsToUnmount(mounts: MountEntry[], points: string[]): MountEntry[] {
  return mounts.filter((m) => points.some((p) => isUnder(m.mountPoint, p))).reverse();
}

/**
 * umount, waiting out a short "target is busy": a mount namespace that a container or
 * `ip netns exec` is being set up in holds a copy of every host mount (our parents are private,
 * so unmounts do not propagate to it) until it pivots away, a few milliseconds later. A mount
 * still busy after busyTimeoutMs is a real holder, and an error. Not mounted is fine.
 */
export async function umount(path: string, busyTimeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      await run('umount', [path]);
      return;
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      if (/not mounted|no mount point/i.test(e.stderr)) return;
      if (!/busy/i.test(e.stderr) || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Unmount everything at or under the given mount points (deepest first). */
export async function unmountTree(points: string[]): Promise<void> {
  if (!points.length) return;
  for (const m of mountsToUnmount(await readMounts(), points)) await umount(m.mountPoint);
}

/** Mounts of the store under `home`: for the leak check after tests. */
export async function listMountsUnder(home: string): Promise<MountEntry[]> {
  const dir = await realish(home);
  return (await readMounts()).filter((m) => isUnder(m.mountPoint, dir));
}
