// The server's own life as an operator meets it, with real processes: `npm start` stopped by a
// signal to npm, a port already in use, `cumulo stop`. The built CLI (dist/) is what runs, as in
// test/cli.test.ts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from './harness.js';
import { hostObjects } from './host-leaks.js';
import { portOpen, until } from './runc-harness.js';
import { hostTag } from '../src/host/tag.js';
import { processAlive } from '../src/lib/process.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'cli', 'main.js');

const homes: string[] = [];
const children: ChildProcess[] = [];
const servers: Server[] = [];

function newHome(): string {
  const h = mkdtempSync(join(tmpdir(), 'cumulo-life-'));
  homes.push(h);
  return h;
}

function envFor(home: string, port: number, driver = 'fake'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CUMULO_') && !k.startsWith('npm_')) env[k] = v;
  return { ...env, CUMULO_HOME: home, CUMULO_PORT: String(port), CUMULO_DRIVER: driver };
}

function run(args: string[], env: NodeJS.ProcessEnv, timeout = 60_000): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env, timeout }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, out: stdout + stderr });
    });
  });
}

/** Starts a process and waits for the server's "serving" line in its output. */
async function started(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; log: () => string }> {
  let log = '';
  const proc = spawn(cmd, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(proc);
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await until(`the server to serve:\n${log}`, async () => {
    if (proc.exitCode !== null) throw new Error(`${cmd} ${args.join(' ')} exited ${proc.exitCode}:\n${log}`);
    return log.includes('serving the EC2 API on');
  }, 60_000);
  return { proc, log: () => log };
}

/** The pid in the state folder's lock: the server process itself, whatever started it. */
function serverPid(home: string): number {
  return Number(readFileSync(join(home, 'server.pid'), 'utf8').trim());
}

/** Gone, or a zombie its parent has yet to reap (it holds nothing any more). */
function gone(pid: number): boolean {
  if (!processAlive(pid)) return true;
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

beforeAll(() => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm test\` (it builds first) or \`npm run build\`.`);
});

afterEach(async () => {
  for (const p of children.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const s of servers.splice(0)) s.close();
  for (const h of homes.splice(0)) {
    // A server that outlived its test would be this test's failure; it must not outlive the run.
    try {
      const pid = serverPid(h);
      if (!gone(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // no lock left
    }
    rmSync(h, { recursive: true, force: true });
  }
});

describe('`npm start`', () => {
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    test(`${sig} to the npm process stops the server: process gone, port closed, lock released`, async () => {
      const home = newHome();
      const port = await freePort();
      const { proc, log } = await started('npm', ['start'], envFor(home, port));
      const pid = serverPid(home);
      expect(pid).not.toBe(proc.pid); // npm's grandchild: the signal has to reach it
      expect(await portOpen('127.0.0.1', port)).toBe(true);
      process.kill(proc.pid!, sig);
      await until(`the server (pid ${pid}) to exit after ${sig} to npm:\n${log()}`, async () => gone(pid), 30_000);
      expect(await portOpen('127.0.0.1', port)).toBe(false);
      expect(existsSync(join(home, 'server.pid'))).toBe(false); // it stopped, not died: it let go of the folder
      expect(log()).toMatch(sig === 'SIGTERM' ? /cumulo: SIGTERM, stopping/ : /cumulo: (npm start exited|SIGTERM), stopping/);
    });
  }
});

describe('a port already in use', () => {
  test('is a clear error and an exit with non-zero status, with nothing made on the host', async () => {
    const home = newHome();
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    // The host driver (runc), so that a start which got further would mount the volume store and
    // make its nftables table: none of it may be there after the failed start.
    const tag = hostTag(home);
    const r = await run(['start'], envFor(home, port, 'runc'));
    expect(r.signal, `killed by the test's timeout: the server hung\n${r.out}`).toBeNull();
    expect(r.code).toBe(1);
    expect(r.out).toContain(`cumulo: 127.0.0.1:${port} is already in use`);
    expect(r.out).toContain('CUMULO_PORT');
    expect(r.out).not.toContain('serving the EC2 API');
    const left = Object.entries(hostObjects()).flatMap(([kind, xs]) => (xs as string[]).filter((x) => x.includes(home) || x.includes(tag)).map((x) => `${kind}: ${x}`));
    expect(left).toEqual([]);
    expect(existsSync(join(home, 'server.pid'))).toBe(false);
    // The same folder starts on a free port afterwards (nothing half-made in the way).
    const again = await started(process.execPath, [main, 'start'], envFor(home, await freePort()));
    expect(await run(['stop'], envFor(home, 0))).toMatchObject({ code: 0 });
    await until('the second server to exit', async () => again.proc.exitCode !== null, 30_000);
  });
});

describe('`cumulo stop`', () => {
  test('stops the server of the state folder and waits until it has exited', async () => {
    const home = newHome();
    const port = await freePort();
    const { proc, log } = await started(process.execPath, [main, 'start'], envFor(home, port));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const r = await run(['stop'], envFor(home, 0));
    expect(r, log()).toMatchObject({ code: 0 });
    expect(r.out).toContain(`stopping the server (pid ${proc.pid}) of ${home}`);
    expect(r.out).toContain('cumulo: stopped');
    // When `stop` returns the server is gone: no waiting needed here.
    expect(gone(proc.pid!)).toBe(true);
    expect(await exited).toBe(0);
    expect(await portOpen('127.0.0.1', port)).toBe(false);
    expect(log()).toContain('cumulo: SIGTERM, stopping');
  });

  test('with no server running: a clear message and status 1', async () => {
    const home = newHome();
    const r = await run(['stop'], envFor(home, 0));
    expect(r).toMatchObject({ code: 1 });
    expect(r.out).toContain(`cumulo: no server is running for ${home}`);
    // A lock left by a server that died (its pid is not alive) names no server either.
    writeFileSync(join(home, 'server.pid'), String(2 ** 22 + 7));
    expect(await run(['stop'], envFor(home, 0))).toMatchObject({ code: 1 });
  });

  test('another folder\'s server is left alone', async () => {
    const a = newHome();
    const b = newHome();
    const { proc } = await started(process.execPath, [main, 'start'], envFor(a, await freePort()));
    expect(await run(['stop'], envFor(b, 0))).toMatchObject({ code: 1 });
    expect(gone(proc.pid!)).toBe(false);
    expect(await run(['stop'], envFor(a, 0))).toMatchObject({ code: 0 });
  });
});
