// LXCFS (Debian's lxcfs) shows each instance its own /proc/meminfo, /proc/uptime, /proc/cpuinfo,
// /proc/stat, /proc/loadavg… computed from the cgroup of the process that reads them: `free`,
// `uptime` and `top` inside tell the instance's size and uptime, not the host's. One daemon per
// server, its FUSE filesystem at /run/cumulo/<tag>/lxcfs, bound over those files in every
// instance. It runs detached, so instances keep their view across a server restart; it stops with
// the last instance.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMountPoint } from './userns.js';
import { run } from './runtime.js';

/** The files of its proc/ that runc may bind over /proc (runc's own list of what LXCFS serves). */
export const LXCFS_PROC_FILES = ['cpuinfo', 'diskstats', 'loadavg', 'meminfo', 'stat', 'swaps', 'uptime', 'slabinfo'] as const;

/** The bind mounts of an instance's config.json. */
export function lxcfsMounts(dir: string): { destination: string; type: string; source: string; options: string[] }[] {
  return LXCFS_PROC_FILES.map((f) => ({ destination: `/proc/${f}`, type: 'bind', source: join(dir, 'proc', f), options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] }));
}

export class Lxcfs {
  constructor(
    /** Its mount point. */
    readonly dir: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  private get pidFile(): string {
    return `${this.dir}.pid`;
  }

  async running(): Promise<boolean> {
    // Asked off the event loop: a FUSE daemon that hangs must not hang the server with it.
    return (
      (await isMountPoint(this.dir)) &&
      (await access(join(this.dir, 'proc', 'meminfo')).then(
        () => true,
        () => false,
      ))
    );
  }

  /** Mounted and serving (started when it is not; a dead one's mount is cleared first). */
  async ensure(): Promise<void> {
    if (await this.running()) return;
    await this.stop();
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    // -l: a load average per instance. lxcfs forks into the background once its mount is up.
    const child = spawn('lxcfs', ['-l', '-p', this.pidFile, this.dir], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.unref();
    for (let i = 0; i < 250; i++) {
      if (await this.running()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`lxcfs did not mount ${this.dir}: ${stderr.trim().split('\n').slice(-3).join(' ') || 'no error given'}`);
  }

  /** Unmount and end the daemon (idempotent). */
  async stop(): Promise<void> {
    while (await isMountPoint(this.dir)) {
      await run('umount', [this.dir]).catch(async (e: Error) => {
        this.log(`lxcfs: ${e.message}; detaching lazily`);
        await run('umount', ['-l', this.dir]);
      });
    }
    const pid = Number((await readFile(this.pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 1) {
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      if (comm === 'lxcfs') {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone already
        }
        for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
      }
    }
    await rm(this.pidFile, { force: true });
    await rmdir(this.dir).catch(() => undefined); // an empty mount point, nothing else
  }
}
