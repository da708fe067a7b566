// A filesystem frozen (fsfreeze) for an instant, e.g. a running instance's root while its volume is
// reflink-cloned for a snapshot, and never left frozen:
//
//   - a marker file names the mount before `fsfreeze -f` and goes after `-u`: a server that
//     starts after a crash thaws what a marker names (thawLeftover);
//   - a deadman process (its own session, so it outlives a SIGKILLed server) thaws the mount after
//     deadmanMs even if no server ever comes back; it is killed after our own thaw;
//   - a freeze and the step inside it get timeoutMs together: past that, the call fails and the
//     mount is thawed at once (or as soon as a stuck `fsfreeze -f` returns), whatever the step does.
import { spawn } from 'node:child_process';
import { open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CommandError, run } from './exec.js';

export interface FreezeOptions {
  /** How long `fsfreeze -f` and the step together may take (default 10 s). */
  timeoutMs?: number;
  /** The deadman thaws after this long whatever happened to this process (default 60 s, or twice timeoutMs). */
  deadmanMs?: number;
}

export class FreezeTimeoutError extends Error {}

interface Marker {
  path: string;
  /** The deadman's pid (its process group). */
  deadman?: number;
}

/** What the deadman runs as: its argv[0], so a later server knows its own deadman from any other process. */
const DEADMAN_NAME = 'cumulo-thaw';

/** Cleanups still running after a timed-out freeze, by marker file: the next freeze waits for them. */
const unfinished = new Map<string, Promise<void>>();

/** Write a small file so that it survives a crash (its folder's entry too). */
async function writeDurable(file: string, content: string): Promise<void> {
  const fh = await open(file, 'w', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** `fsfreeze -u`; a mount that is not frozen is fine. */
export async function thaw(path: string): Promise<void> {
  try {
    await run('fsfreeze', ['-u', path]);
  } catch (e) {
    // Not frozen (EINVAL), or no longer there (a host reboot emptied /run): nothing to thaw.
    if (e instanceof CommandError && /Invalid argument|No such file or directory/.test(e.stderr)) return;
    throw e;
  }
}

function startDeadman(path: string, ms: number): number | undefined {
  const child = spawn('sh', ['-c', 'sleep "$1" && exec fsfreeze -u "$2"', DEADMAN_NAME, (ms / 1000).toFixed(3), path], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
  return child.pid;
}

/** Kill a deadman (its process group: the shell and its sleep), only if that pid is still ours. */
async function stopDeadman(pid: number | undefined, path: string): Promise<void> {
  if (!pid) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const argv = cmdline.split('\0');
  if (!argv.includes(DEADMAN_NAME) || !argv.includes(path)) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

async function readMarker(marker: string): Promise<Marker | undefined> {
  try {
    const m = JSON.parse(await readFile(marker, 'utf8')) as Marker;
    return typeof m.path === 'string' ? m : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Torn or unreadable: the marker was written before the freeze, so nothing was frozen by it
    // unless its path is readable; drop it.
    return { path: '' };
  }
}

/**
 * Thaw what a marker left by a crash names, stop its deadman and remove the marker. Returns the
 * path thawed, if any. Call before anything else touches the mount (a write to a frozen
 * filesystem blocks).
 */
export async function thawLeftover(marker: string): Promise<string | undefined> {
  await unfinished.get(marker);
  const m = await readMarker(marker);
  if (!m) return undefined;
  if (m.path) await thaw(m.path);
  await stopDeadman(m.deadman, m.path);
  await rm(marker, { force: true });
  return m.path || undefined;
}

/**
 * Run fn while the filesystem mounted at `path` is frozen. `marker` is a file on durable storage
 * (not on the frozen filesystem) that names the freeze while it lasts.
 */
export async function whileFrozen<T>(marker: string, path: string, fn: () => Promise<T>, opts: FreezeOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadmanMs = opts.deadmanMs ?? Math.max(60_000, timeoutMs * 2);
  await thawLeftover(marker);
  const deadman = startDeadman(path, deadmanMs);
  let freeze: Promise<unknown> = Promise.resolve();
  const cleanup = async () => {
    // A thaw sent before a slow `fsfreeze -f` returns would be undone by it: wait for the freeze.
    await freeze.catch(() => undefined);
    await thaw(path);
    await stopDeadman(deadman, path);
    await rm(marker, { force: true });
  };
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    await writeDurable(marker, JSON.stringify({ path, deadman } satisfies Marker));
    freeze = run('fsfreeze', ['-f', path]);
    const work = freeze.then(() => fn());
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new FreezeTimeoutError(`freezing ${path} and the step inside took more than ${timeoutMs} ms: thawed and given up`));
      }, timeoutMs);
    });
    work.catch(() => undefined); // its outcome no longer matters once the limit has passed
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
    if (timedOut) {
      // Not waited for: a stuck `fsfreeze -f` must not hold the caller; the next freeze of this marker waits.
      const p = cleanup()
        .catch(() => undefined)
        .finally(() => unfinished.delete(marker));
      unfinished.set(marker, p);
    } else {
      await cleanup();
    }
  }
}
