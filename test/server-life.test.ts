// The server's own life as an operator meets it, with real processes: `npm start` stopped by a
// signal to npm, a port already in use, `cumulo stop`. The built CLI (dist/) is what runs, as in
// test/cli.test.ts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { DescribeImagesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { errorOf, freePort } from './harness.js';
import { hostObjects } from './host-leaks.js';
import { requires } from './requires.js';
import { clientFor, portOpen, publicPoolFor, until } from './runc-harness.js';
import { BuiltinImageStore } from '../src/host/images/builtin-store.js';
import { hostTag } from '../src/host/tag.js';
import { builtinImages } from '../src/services/ec2/images/builtin.js';
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
  await until(
    `the server to serve:\n${log}`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`${cmd} ${args.join(' ')} exited ${proc.exitCode}:\n${log}`);
      return log.includes('serving the EC2 API on');
    },
    60_000,
  );
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

/** Servers with the runc driver (host state: the volume store, the nftables table): root and its tools. */
const canBuild = requires({ root: true, commands: ['runc', 'conmon', 'ip', 'nft', 'mkfs.ext4', 'mkfs.xfs', 'busybox', 'dropbear'] });

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

  test("another folder's server is left alone", async () => {
    const a = newHome();
    const b = newHome();
    const { proc } = await started(process.execPath, [main, 'start'], envFor(a, await freePort()));
    expect(await run(['stop'], envFor(b, 0))).toMatchObject({ code: 1 });
    expect(gone(proc.pid!)).toBe(false);
    expect(await run(['stop'], envFor(a, 0))).toMatchObject({ code: 0 });
  });
});

canBuild.describe('a signal while the host is being set up (root)', () => {
  test('SIGTERM as soon as the port answers: the start finishes, then the server stops cleanly, leaving nothing on the host', async () => {
    const home = newHome();
    const port = await freePort();
    const env = {
      ...envFor(home, port, 'runc'),
      CUMULO_IMAGE_CACHE: process.env.CUMULO_IMAGE_CACHE ?? '/var/cache/cumulo/images',
      CUMULO_PUBLIC_IPV4_POOL: publicPoolFor(200 + (process.pid % 50)),
    };
    let log = '';
    const proc = spawn(process.execPath, [main, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    await until(
      `the port to open:\n${log}`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`cumulo start exited ${proc.exitCode}:\n${log}`);
        return portOpen('127.0.0.1', port);
      },
      60_000,
      10,
    );
    proc.kill('SIGTERM');
    expect(await exited, log).toBe(0);
    expect(log).toContain('cumulo: SIGTERM, stopping');
    expect(existsSync(join(home, 'server.pid'))).toBe(false);
    const tag = hostTag(home);
    const left = Object.entries(hostObjects()).flatMap(([kind, xs]) => (xs as string[]).filter((x) => x.includes(home) || x.includes(tag)).map((x) => `${kind}: ${x}`));
    expect(left).toEqual([]);
  });
});

// The minimal image built for real (seconds). The Debian image is put in this test's own cache as
// already built (a manifest and a marker), so that nothing is fetched.

canBuild.describe('a built-in image not built yet (root)', () => {
  test('is pending (RunInstances refused as EC2 refuses a pending AMI), its build shown in `cumulo images` and the log, then available', async () => {
    const home = newHome();
    const cache = join(home, 'cache');
    const [minimal, debian] = builtinImages;
    const key = new BuiltinImageStore({ home, cacheDir: cache }).key(debian!.source);
    mkdirSync(join(cache, key), { recursive: true });
    writeFileSync(join(cache, key, 'manifest.json'), JSON.stringify({ builtin: 'debian-12', version: debian!.source.version, sizeGiB: 8, sshUser: 'admin' }));
    writeFileSync(join(cache, key, 'root.ext4'), '');
    writeFileSync(join(cache, key, 'done'), 'test\n');
    // The minimal image's build lock, held by this (live) process: the server's build waits for
    // it, so the image is pending for as long as the test needs to look.
    const minimalKey = new BuiltinImageStore({ home, cacheDir: cache }).key(minimal!.source);
    const lock = join(cache, `.${minimalKey}.lock`);
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));

    const port = await freePort();
    const env = { ...envFor(home, port, 'runc'), CUMULO_IMAGE_CACHE: cache, CUMULO_PUBLIC_IPV4_POOL: publicPoolFor(200 + (process.pid % 50)) };
    let log = '';
    const proc = spawn(process.execPath, [main, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    // The port is served before the host is set up, with the images' states already said.
    await until(
      `the port to open:\n${log}`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`cumulo start exited ${proc.exitCode}:\n${log}`);
        return portOpen('127.0.0.1', port);
      },
      60_000,
      20,
    );
    const creds = Object.fromEntries(
      (await run(['env'], env)).out.split('\n').flatMap((l) => {
        const m = /^export (AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=(.*)$/.exec(l);
        return m ? [[m[1]!, m[2]!]] : [];
      }),
    );
    const ec2 = clientFor(`http://127.0.0.1:${port}`, { accessKeyId: creds.AWS_ACCESS_KEY_ID!, secretAccessKey: creds.AWS_SECRET_ACCESS_KEY! });
    const stateOf = async (name: string) => (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images?.[0]?.State;
    expect(await stateOf(debian!.name)).toBe('available');
    expect(await stateOf(minimal!.name)).toBe('pending');
    const imageId = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [minimal!.name] }] }))).Images![0]!.ImageId!;
    const refused = await errorOf(ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 })));
    expect(refused.name).toBe('InvalidAMIID.Unavailable');
    expect(refused.message).toBe(`AMI '${imageId}' is pending, and cannot be run`);
    // Its build under way (waiting for the lock), in `cumulo images` and in the server's log.
    await until(`the build to wait for the lock:\n${log}`, async () => log.includes(`images: ${minimal!.name}: waiting for another process (pid ${process.pid})`), 60_000, 50);
    const building = await run(['images'], env);
    expect(building.out).toContain(`${minimal!.name}\tpending: building: waiting for another process (pid ${process.pid}) building ${minimalKey}`);
    expect(building.out).toContain(`${debian!.name}\t${join(cache, key)}/root.ext4`);
    expect(await stateOf(minimal!.name)).toBe('pending');
    rmSync(lock, { recursive: true });
    await until(`${minimal!.name} to be available:\n${log}`, async () => (await stateOf(minimal!.name)) === 'available', 120_000, 100);
    expect(log).toContain(`images: ${minimal!.name} is not built yet: building it (pending until it is done)`);
    expect(log).toMatch(new RegExp(`images: ${minimal!.name}: building minimal-`));
    expect(log).toContain(`images: ${minimal!.name} is available`);
    const listed = await run(['images'], env);
    expect(listed.out).toContain(`${minimal!.name}\t${join(cache)}/minimal-`);
    expect(await run(['stop'], env)).toMatchObject({ code: 0 });
  });
});
