// Runs of the suite that were killed before their teardown (Ctrl-C, SIGTERM, a CI timeout) leave
// their instances and host objects behind. The next run removes them through the product itself:
// a server started on each of their state folders that holds host objects, stopped with cleanup
// (it adopts the instances, then removes them and every namespace, mount, loop device and table).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { hostTag } from '../src/host/tag.js';

/** The file in a run's folder that names the process running it (global-setup.ts writes it). */
export const RUN_OWNER = 'run.pid';

/** Whether that run still lives: the process that made its folder, or a node worker carrying it as TMPDIR. */
function runAlive(dir: string): boolean {
  try {
    process.kill(Number(readFileSync(join(dir, RUN_OWNER), 'utf8')), 0);
    return true;
  } catch {
    // No owner recorded, or it is gone: its workers may still be.
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      // Node processes only: an instance's monitor (conmon) inherits the worker's environment too.
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'node') continue;
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`TMPDIR=${dir}`)) return true;
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return false;
}

/** The public pool the state folder's server used (its addresses are in the store), if it had one. */
function poolOf(home: string): string | undefined {
  const db = new Sqlite(join(home, 'cumulo.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select pool from public_ip_pools limit 1').get() as { pool?: string } | undefined)?.pool;
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

/** Removes what dead runs under `root` left; says what it did. Throws if a state folder could not be cleaned. */
export async function sweepDeadRuns(root = tmpdir(), log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  for (const name of readdirSync(root).filter((n) => n.startsWith('cumulo-test-run-'))) {
    const dir = join(root, name);
    if (runAlive(dir)) continue;
    for (const sub of readdirSync(dir, { withFileTypes: true })) {
      const home = join(dir, sub.name);
      // Only state folders whose server made host objects (runc): /run/cumulo/<tag> is its runtime folder.
      if (!sub.isDirectory() || !existsSync(join(home, 'cumulo.db')) || !existsSync(`/run/cumulo/${hostTag(home)}`)) continue;
      log(`cumulo test: ${home} was left by a run that did not finish: removing its instances and host objects`);
      const pool = poolOf(home);
      const config = loadConfig({ CUMULO_HOME: home, CUMULO_PORT: '0', CUMULO_DRIVER: 'runc', ...(pool && { CUMULO_PUBLIC_IPV4_POOL: pool }) });
      const app = await startApp(config, { log: () => {}, cleanupHost: true });
      await app.stop();
    }
    // Never reach into a mount (a state folder of another driver could still hold one).
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '');
    if (!mounts.some((m) => m.startsWith(`${dir}/`))) rmSync(dir, { recursive: true, force: true });
  }
}
