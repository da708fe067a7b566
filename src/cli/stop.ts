// `cumulo stop`: stops the server of a state folder (the pid in its lock, src/state-lock.ts) and
// waits until it has let go of the folder, as `npm start`'s Ctrl-C would.
import type { Config } from '../config.js';
import { readFileSync } from 'node:fs';
import { processAlive } from '../lib/process.js';
import { lockHolder } from '../state-lock.js';

export interface StopOptions {
  /** How long the server may take to stop (it stops its controllers and lets go of the host). */
  timeoutMs?: number;
  out?: (line: string) => void;
}

export async function stopCommand(config: Config, args: string[], opts: StopOptions = {}): Promise<number> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const i = args.indexOf('--timeout');
  const timeoutMs = i >= 0 ? Number(args[i + 1]) * 1000 : (opts.timeoutMs ?? 120_000);
  if (!(timeoutMs > 0)) throw new Error('--timeout needs a number of seconds');
  const pid = lockHolder(config.home);
  if (pid === undefined) {
    out(`cumulo: no server is running for ${config.home}`);
    return 1;
  }
  out(`cumulo: stopping the server (pid ${pid}) of ${config.home}`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (running(pid)) {
    if (Date.now() > deadline) {
      out(`cumulo: the server (pid ${pid}) is still stopping after ${timeoutMs / 1000} s; its log says why (kill -KILL ${pid} stops it at once)`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  out('cumulo: stopped');
  return 0;
}

/** Alive and not a zombie that its parent has yet to reap (it has let go of everything). */
function running(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
