// runc and conmon, the two programs behind the runc driver. runc runs a container; conmon (the
// monitor podman and CRI-O use) is its parent for the container's whole life: it reaps the
// instance's init and writes its exit status to a file, so an instance outlives the server and a
// `poweroff` or `reboot` inside it is seen even when nobody was listening.
import { spawn } from 'node:child_process';
import { CommandError, run } from '../../exec.js';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export { CommandError, run };

/** An absolute path for a command on PATH (conmon wants one for the runtime). */
export function which(cmd: string): string {
  for (const dir of (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error(`${cmd} is not installed (scripts/ensure.mjs installs it: npm start)`);
}

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  pid: number;
  bundle: string;
}

const notFound = (e: unknown) => e instanceof CommandError && /does not exist|not exist/.test(e.stderr);

export class Runc {
  readonly runc: string;
  readonly conmon: string;

  constructor(
    /** runc's state folder (`runc --root`). */
    readonly root: string,
    /** Where conmon writes `<id>` holding the exit status of each container's init. */
    readonly exitDir: string,
  ) {
    this.runc = which('runc');
    this.conmon = which('conmon');
  }

  private exec(args: string[]): Promise<string> {
    return run(this.runc, ['--root', this.root, ...args]);
  }

  async state(id: string): Promise<ContainerState | undefined> {
    try {
      return JSON.parse(await this.exec(['state', id])) as ContainerState;
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  async list(): Promise<ContainerState[]> {
    return (JSON.parse((await this.exec(['list', '--format', 'json'])) || 'null') as ContainerState[] | null) ?? [];
  }

  /** Signal the init (or, with all, every process of the container). A container that is gone is fine. */
  async kill(id: string, signal: string, all = false): Promise<void> {
    try {
      await this.exec(['kill', ...(all ? ['--all'] : []), id, signal]);
    } catch (e) {
      if (notFound(e) || (e instanceof CommandError && /not running|process already finished/.test(e.stderr))) return;
      throw e;
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await this.exec(['delete', '--force', id]);
    } catch (e) {
      if (!notFound(e)) throw e;
    }
  }

  /**
   * `runc create` under a new conmon, then `runc start`: the init runs when this resolves. The
   * container's stdout and stderr are the console file itself (conmon's passthrough), so no
   * process of the server sits between an instance and its console.
   */
  async launch(id: string, bundle: string, consoleFd: number): Promise<number> {
    const args = [
      '--cid',
      id,
      '--cuuid',
      id,
      '--name',
      id,
      '--runtime',
      this.runc,
      '--runtime-arg',
      `--root=${this.root}`,
      '--bundle',
      bundle,
      '--container-pidfile',
      join(bundle, 'init.pid'),
      '--conmon-pidfile',
      join(bundle, 'conmon.pid'),
      '--log-path',
      'passthrough',
      '--exit-dir',
      this.exitDir,
      '--log-level',
      'error',
      // One fork: conmon stays our child (we reap it) instead of double-forking to PID 1, which on
      // some hosts never reaps. It outlives the server all the same.
      '--sync',
    ];
    const child = spawn(this.conmon, args, {
      stdio: ['ignore', consoleFd, consoleFd, 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3' },
      detached: true, // its own process group: a ^C to the server is not a ^C to instances
    });
    child.unref();
    const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void; unref?: () => void };
    const pid = await new Promise<number>((resolve, reject) => {
      let buf = '';
      const done = (fn: () => void) => {
        pipe.removeAllListeners('data');
        pipe.destroy();
        fn();
      };
      pipe.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /\{[^}]*\}/.exec(buf);
        if (!m) return;
        const msg = JSON.parse(m[0]) as { data?: number; pid?: number; message?: string };
        const p = msg.pid ?? msg.data ?? -1;
        done(() => (p > 0 ? resolve(p) : reject(new Error(`runc create of ${id} failed: ${msg.message ?? 'no reason given'}`))));
      });
      child.once('error', (e) => done(() => reject(e)));
      child.once('exit', (code) => done(() => reject(new Error(`conmon for ${id} exited ${code} before the container was created`))));
    });
    await this.exec(['start', id]);
    return pid;
  }
}
