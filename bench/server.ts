// `cumulo start` in a process of its own, for the benchmarks that measure a real server: the built
// server (dist/, as `npm start` runs it) or the source through tsx. Resolves once it serves, with an
// EC2 client of the admin account (its keys read from the store, as `cumulo env` reads them).
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client } from '@aws-sdk/client-ec2';
// @ts-expect-error: a plain .mjs script, shared with npm start (no type declarations)
import { serverNodeFlags } from '../scripts/ensure.mjs';
import { openApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { freePort, raiseQuotas } from '../test/harness.js';
import { sleep } from '../test/runc-harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchServer {
  child: ChildProcess;
  home: string;
  ec2: EC2Client;
  log: () => string;
}

export async function spawnServer(home: string, opts: { env?: Record<string, string>; fromSource?: boolean } = {}): Promise<BenchServer> {
  const { db, accounts } = await openApp(loadConfig({ CUMULO_HOME: home }));
  const admin = await accounts.ensureAdmin();
  // The benchmarks measure the server, not the admin's quotas (5 vCPUs on a new AWS account).
  await raiseQuotas(db, admin.accountId);
  await db.destroy();
  const port = await freePort();
  const entry = opts.fromSource ? ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts')] : [join(root, 'dist', 'cli', 'main.js')];
  const child = spawn(process.execPath, [...serverNodeFlags, ...entry, 'start'], {
    cwd: root,
    env: { ...process.env, ...opts.env, CUMULO_HOME: home, CUMULO_PORT: String(port), CUMULO_DRIVER: 'runc' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  // BENCH_SERVER_LOG=1: the server's log goes to stderr too (CUMULO_LOG_TIMINGS=1 adds each launch's steps).
  const echo = process.env.BENCH_SERVER_LOG === '1';
  child.stdout!.on('data', (d: Buffer) => ((log += d), echo && process.stderr.write(d)));
  child.stderr!.on('data', (d: Buffer) => ((log += d), echo && process.stderr.write(d)));
  const deadline = Date.now() + 60_000;
  while (!log.includes('serving the EC2 API on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`cumulo start failed:\n${log}`);
    await sleep(50);
  }
  const ec2 = new EC2Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    maxAttempts: 1,
  });
  return { child, home, ec2, log: () => log };
}
