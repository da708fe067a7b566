// System test (root, real): a mounted ext4 frozen with fsfreeze for a step, and never left frozen:
// thawed after the step, after a step that takes too long, after the process that froze it is
// SIGKILLed (by the next one, from the marker, or by the deadman if none comes).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FreezeTimeoutError, thawLeftover, whileFrozen } from './freeze.js';
import { run } from './exec.js';

const isRoot = process.getuid?.() === 0;
const here = dirname(fileURLToPath(import.meta.url));

/** Is the filesystem at path frozen? A second freeze of a frozen one fails with EBUSY. */
async function isFrozen(path: string): Promise<boolean> {
  try {
    await run('fsfreeze', ['-f', path]);
  } catch (e) {
    if (/Device or resource busy/.test((e as Error).message)) return true;
    throw e;
  }
  await run('fsfreeze', ['-u', path]);
  return false;
}

/** Deadman processes (freeze.ts) that name this path. */
function deadmen(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv.includes('cumulo-thaw') && argv.includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!isRoot)('fsfreeze never left frozen (root)', () => {
  let home: string;
  let mnt: string;
  let marker: string;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'cumulo-freeze-'));
    mnt = join(home, 'mnt');
    mkdirSync(mnt);
    execFileSync('truncate', ['-s', '64M', join(home, 'fs.img')]);
    execFileSync('mkfs.ext4', ['-q', join(home, 'fs.img')]);
    execFileSync('mount', ['-o', 'loop', join(home, 'fs.img'), mnt]);
    marker = join(home, 'frozen');
  });

  afterAll(async () => {
    try {
      await run('fsfreeze', ['-u', mnt]).catch(() => undefined);
      execFileSync('umount', [mnt]);
      for (const pid of deadmen(mnt)) process.kill(-pid, 'SIGKILL');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('frozen for the step, with its marker and deadman; thawed after, nothing left', async () => {
    const seen = await whileFrozen(marker, mnt, async () => ({
      frozen: await isFrozen(mnt),
      marker: JSON.parse(readFileSync(marker, 'utf8')) as { path: string; deadman: number },
      deadmen: deadmen(mnt),
    }));
    expect(seen.frozen).toBe(true);
    expect(seen.marker.path).toBe(mnt);
    expect(seen.deadmen).toEqual([seen.marker.deadman]);
    expect(await isFrozen(mnt)).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(deadmen(mnt)).toEqual([]);
  });

  it('a step that fails: thawed, the error passed on', async () => {
    await expect(whileFrozen(marker, mnt, () => Promise.reject(new Error('clone failed')))).rejects.toThrow('clone failed');
    expect(await isFrozen(mnt)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('a step that takes too long: given up and thawed while it still runs', async () => {
    let finish!: () => void;
    const stuck = new Promise<void>((r) => (finish = r));
    await expect(whileFrozen(marker, mnt, () => stuck, { timeoutMs: 300 })).rejects.toBeInstanceOf(FreezeTimeoutError);
    // Thawed while the step has not ended (the cleanup does not wait for it).
    await vi.waitFor(async () => expect(await isFrozen(mnt)).toBe(false), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(existsSync(marker)).toBe(false), { timeout: 10_000, interval: 50 });
    expect(deadmen(mnt)).toEqual([]);
    finish();
  });

  /** A process that freezes the mount with a step that never ends, SIGKILLed once frozen. */
  async function crashWhileFrozen(opts: { deadmanMs?: number } = {}): Promise<void> {
    const script = `
      import { whileFrozen } from ${JSON.stringify(join(here, 'freeze.ts'))};
      await whileFrozen(${JSON.stringify(marker)}, ${JSON.stringify(mnt)}, () => { process.stdout.write('frozen\\n'); return new Promise(() => {}); }, { timeoutMs: 600000, deadmanMs: ${opts.deadmanMs ?? 600000} });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('frozen') && resolve());
      child.once('exit', (code) => reject(new Error(`the freezing process exited ${code} before freezing`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await isFrozen(mnt)).toBe(true);
    expect(existsSync(marker)).toBe(true);
  }

  it('a SIGKILL while frozen: the marker tells the next process what to thaw, and its deadman goes', async () => {
    await crashWhileFrozen();
    expect(deadmen(mnt)).toHaveLength(1);
    expect(await thawLeftover(marker)).toBe(mnt);
    expect(await isFrozen(mnt)).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(deadmen(mnt)).toEqual([]);
    expect(await thawLeftover(marker)).toBeUndefined();
  });

  it('a SIGKILL while frozen and no process after it: the deadman thaws', async () => {
    await crashWhileFrozen({ deadmanMs: 2_000 });
    await vi.waitFor(async () => expect(await isFrozen(mnt)).toBe(false), { timeout: 30_000, interval: 100 });
    await vi.waitFor(() => expect(deadmen(mnt)).toEqual([]), { timeout: 10_000, interval: 100 });
    // The marker of a freeze the deadman ended: thawing again is harmless.
    expect(await thawLeftover(marker)).toBe(mnt);
    expect(await isFrozen(mnt)).toBe(false);
  });
});
