// Watching an instance's init from the host: conmon (its monitor) writes how the init ended into
// the exit folder and then exits; runc is asked only when conmon cannot say.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runc } from './runtime.js';

export function fileExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Monitor {
  constructor(
    private readonly rt: () => Runc,
    private readonly exitDir: string,
    private readonly dirOf: (id: string) => string,
  ) {}

  /**
   * Until the init has ended (and conmon has said how) or ms have passed. conmon's exit file says so
   * at once (a stat every 20 ms); runc is asked only for a container whose conmon is gone.
   */
  async waitExit(id: string, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    for (let i = 0; ; i++) {
      if (await fileExists(join(this.exitDir, id))) return true;
      if (i % 25 === 24 && !(await this.monitorAlive(id))) {
        const st = await this.rt().state(id);
        if (!st || st.status === 'stopped') return true;
      }
      if (Date.now() >= end) return false;
      await sleep(20);
    }
  }

  /** Until the instance's conmon is gone (it has written how the init ended) or ms have passed. */
  async waitMonitorGone(id: string, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while ((await this.monitorAlive(id)) && Date.now() < end) await sleep(20);
  }

  /** Is the instance's conmon still there (it writes the exit file, then exits)? */
  async monitorAlive(id: string): Promise<boolean> {
    const pid = Number((await readFile(join(this.dirOf(id), 'conmon.pid'), 'utf8').catch(() => '')).trim());
    if (!pid) return false;
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    // A zombie (its parent, a server now gone, never reaped it) is not there.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return stat.includes('conmon') && !/\) [ZX] /.test(stat);
  }

  async exitOf(id: string): Promise<{ code: number; at: Date } | undefined> {
    const file = join(this.exitDir, id);
    try {
      const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
      const code = Number(text.trim());
      return Number.isFinite(code) && text.trim() !== '' ? { code, at: st.mtime } : undefined;
    } catch {
      return undefined;
    }
  }
}
