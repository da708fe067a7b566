// Helpers of the system tests that boot real instances (root): a server with the runc driver, SSH
// with a key pair, waiting for states, fetching pages from instances, running a command "inside" an
// instance's network, and the names of the VPC data plane's host objects.
//
// The host reaches an instance only through its public IP (private addresses are never routed on
// the host), and only when the instance's security groups allow it.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { connect } from 'node:net';
import ssh2 from 'ssh2';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { hostTag } from '../src/host/tag.js';
import { freePort, raiseQuotas } from './harness.js';
import { requires } from './requires.js';

const { Client } = ssh2;

/** Suites with real instances: root and the runc driver's tools (test/requires.ts: under CI=true, missing ones fail). */
export const needsInstances = requires({ root: true, commands: ['runc', 'conmon', 'ip', 'nft', 'mkfs.ext4', 'mkfs.xfs', 'losetup', 'busybox', 'dropbear'] });

export interface RuncServer {
  app: App;
  ec2: EC2Client;
  stop(): Promise<void>;
}

/**
 * A server with the runc driver on `home`; stop() removes every instance and host object (unless
 * keepHost). Its public pool is one of 198.19.0-99.0/24 picked by the home (see publicPoolFor)
 * unless opts.env names one.
 */
export async function startRuncServer(home: string, opts: { keepHost?: boolean; env?: Record<string, string>; log?: (l: string) => void } = {}): Promise<RuncServer> {
  const pool = publicPoolFor(parseInt(hostTag(home), 16) % 100);
  // CPU is time-shared: the suites' idle instances may overcommit a small machine's cores further
  // than the product's default (8 vCPUs a core) would admit.
  const config = loadConfig({ CUMULO_HOME: home, CUMULO_PORT: '0', CUMULO_DRIVER: 'runc', CUMULO_PUBLIC_IPV4_POOL: pool, CUMULO_CPU_OVERCOMMIT: '64', ...opts.env });
  const app = await startApp(config, { log: opts.log ?? ((l) => process.stderr.write(`[server] ${l}\n`)), cleanupHost: !opts.keepHost });
  // The admin's quotas are raised in the store: servers started later on this home keep them.
  await raiseQuotas(app.db, app.admin.accountId);
  const ec2 = clientFor(app.url, app.admin);
  try {
    await imageAvailable(ec2, 'cumulo-minimal-x86_64-*');
  } catch (e) {
    await app.stop();
    throw e;
  }
  return { app, ec2, stop: () => app.stop() };
}

/**
 * The id of the built-in image named like `pattern`, once it is available: a server builds the
 * built-in images it lacks at start, and they are pending until then (seconds for the minimal
 * image, minutes for Debian on a machine without the shared cache).
 */
export async function imageAvailable(ec2: EC2Client, pattern: string, ms = 120_000): Promise<string> {
  return until(
    `the image ${pattern} to be available`,
    async () => {
      const img = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [pattern] }] }))).Images?.[0];
      if (img?.State === 'failed') throw new Error(`${pattern}: its build failed: ${img.StateReason?.Message}`);
      return img?.State === 'available' ? img.ImageId! : undefined;
    },
    ms,
    250,
  );
}

export function clientFor(url: string, admin: { accessKeyId: string; secretAccessKey: string }): EC2Client {
  return new EC2Client({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey }, maxAttempts: 1 });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(every);
  }
}

export async function describe1(ec2: EC2Client, id: string): Promise<Instance> {
  const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return r.Reservations![0]!.Instances![0]!;
}

export function waitState(ec2: EC2Client, id: string, state: string, ms = 60_000): Promise<Instance> {
  return until(
    `${id} to be ${state}`,
    async () => {
      const i = await describe1(ec2, id);
      return i.State?.Name === state ? i : undefined;
    },
    ms,
    100,
  );
}

/** GET http://ip:port/path from the host; the body, or undefined if nothing answers. */
export function httpGet(ip: string, path = '/', port = 80, timeoutMs = 2000): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Run one command over SSH with the key pair; stdout, stderr and the exit code. */
export function ssh(ip: string, user: string, privateKey: string, command: string, timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const conn = new Client();
    const timer = setTimeout(() => {
      conn.end();
      reject(new Error(`ssh ${user}@${ip} ${command}: timed out`));
    }, timeoutMs);
    conn
      .on('ready', () => {
        conn.exec(command, (err, stream) => {
          if (err) {
            clearTimeout(timer);
            conn.end();
            return reject(err);
          }
          let stdout = '';
          let stderr = '';
          let code = -1;
          stream.on('data', (d: Buffer) => (stdout += d.toString()));
          stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          stream.on('exit', (c: number | null, signal?: string) => (code = c ?? (signal ? 128 : -1)));
          stream.on('close', () => {
            clearTimeout(timer);
            conn.end();
            resolve({ code, stdout, stderr });
          });
        });
      })
      .on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      })
      .connect({ host: ip, port: 22, username: user, privateKey, readyTimeout: timeoutMs });
  });
}

/** Is something listening on ip:port? */
export function portOpen(ip: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: ip, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('timeout', () => done(false));
    sock.once('error', () => done(false));
  });
}

/**
 * A public IPv4 pool of its own for one suite: the host routes each public IP to one VPC, so two
 * servers running at once (parallel test files, a benchmark) must not hand out the same addresses.
 * From 198.19.0.0/16 (benchmarking space, never routed on the internet); `slot` picks the /24:
 * 0-99 by state folder (startRuncServer's default), 100-149 instances-runc, 150-199 vpc-dataplane,
 * 200-249 bench:net, 250-252 isolation, 253-255 nat-instance.
 */
export function publicPoolFor(slot: number): string {
  return `198.19.${slot % 256}.0/24`;
}

/** Names of the host objects of the VPC data plane (src/host/network/host-network.ts). */
export function dataPlaneNames(home: string) {
  const tag = hostTag(home);
  return {
    tag,
    /** The instance's own network namespace (eth0, eth1… inside). */
    instanceNetns: (instanceId: string) => `cu-${tag}-${instanceId.slice(-8)}`,
    /** The VPC router's namespace. */
    vpcNetns: (vpcId: string) => `cu-${tag}-vpc-${vpcId.replace(/^vpc-/, '')}`,
    /** The host end of the VPC's uplink. */
    uplink: (vpcId: string) => `cv${tag}${vpcId.slice(-8)}`,
    /** The VPC-side end of an interface's veth (inside the VPC namespace). */
    eniLink: (eniId: string) => `e${eniId.slice(-14)}`,
  };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command (argv) on the host; never throws for a non-zero exit. */
export function hostRun(argv: string[], timeoutMs = 15_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 124) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * Run a command of the host (a shell line, or argv) inside the instance's network namespace: what it sends leaves
 * the instance's eth0 with the instance's own addresses, as if sent from inside it (the host's
 * curl, and busybox's nc, nslookup and ping).
 */
export function inInstance(home: string, instanceId: string, cmd: string | string[], timeoutMs = 15_000): Promise<CommandResult> {
  const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
  return hostRun(['ip', 'netns', 'exec', dataPlaneNames(home).instanceNetns(instanceId), ...argv], timeoutMs);
}

/** The page at http://ip/ fetched from inside the instance (trimmed), or undefined when nothing answers. */
export async function pageFrom(home: string, instanceId: string, ip: string, timeoutS = 2): Promise<string | undefined> {
  // curl, not busybox wget: Debian's busybox 1.35 wget crashes with -T, and without it a dropped SYN waits minutes.
  const r = await inInstance(home, instanceId, ['curl', '-s', '-m', String(timeoutS), `http://${ip}/`], (timeoutS + 5) * 1000);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** The host's route to an address goes into one of this server's VPC uplinks (so probing it stays on the machine). */
export function routedToUplink(home: string, ip: string): boolean {
  try {
    const out = execFileSync('ip', ['-o', 'route', 'get', ip], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const dev = / dev (\S+)/.exec(out)?.[1];
    return !!dev && dev.startsWith(`cv${hostTag(home)}`);
  } catch {
    return false; // unreachable, blackhole, prohibit: no route
  }
}

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string | null>;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** Send the signal (SIGKILL by default) and wait for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The environment startRuncServer gives a server on `home` (its own public pool), for a process. */
export function runcServerEnv(home: string): Record<string, string> {
  return {
    CUMULO_HOME: home,
    CUMULO_DRIVER: 'runc',
    CUMULO_PUBLIC_IPV4_POOL: publicPoolFor(parseInt(hostTag(home), 16) % 100),
    CUMULO_CPU_OVERCOMMIT: '64',
  };
}

/** Every server process started here and not ended: a suite's afterAll kills what is left (killServers). */
const spawned = new Set<ServerProcess>();

/**
 * `cumulo start` in a process of its own on `home` (so that a test can SIGKILL it mid-work and
 * start another on the same state folder, as an operator's restart would), with the runc driver
 * and the suites' overcommit. Its output is appended to `logFile` when given.
 */
export async function spawnServer(home: string, opts: { env?: Record<string, string>; logFile?: string } = {}): Promise<ServerProcess> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const port = await freePort();
  // One process, not the tsx wrapper: the wrapper runs the server as its child, which a SIGKILL of
  // the wrapper would leave running (still writing to the store).
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'start'], {
    env: { ...process.env, ...runcServerEnv(home), ...opts.env, CUMULO_HOME: home, CUMULO_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string | null>((r) => proc.once('exit', (code, signal) => r(code ?? signal)));
  const file = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  let log = '';
  const take = (d: Buffer) => {
    log += d.toString();
    file?.write(d);
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  const server: ServerProcess = {
    proc,
    url: `http://127.0.0.1:${port}`,
    exited,
    output: () => log,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
  spawned.add(server);
  void exited.then(() => {
    spawned.delete(server);
    file?.end();
  });
  await until(
    'the server to serve',
    async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`server exited (${proc.exitCode ?? proc.signalCode}): ${log}`);
      return log.includes('serving the EC2 API on');
    },
    120_000,
  );
  return server;
}

/** SIGKILL every server process spawnServer started that still runs (a suite's afterAll). */
export async function killServers(): Promise<void> {
  await Promise.all([...spawned].map((s) => s.kill('SIGKILL')));
}

/** The containers runc has for the server of `home`, with their status. */
export async function runcContainers(home: string): Promise<{ id: string; status: string; pid: number }[]> {
  const r = await hostRun(['runc', '--root', join(home, 'runc'), 'list', '--format', 'json']);
  if (r.code !== 0) throw new Error(`runc list: ${r.stderr}`);
  return ((JSON.parse(r.stdout || 'null') as { id: string; status: string; pid: number }[] | null) ?? []).map((c) => ({ id: c.id, status: c.status, pid: c.pid }));
}

/**
 * Does the guest of this instance really run: runc says its container is running, and its PID 1 is
 * the guest's init (a container made but never started has runc's own init there, waiting).
 */
export async function guestRuns(home: string, instanceId: string): Promise<boolean> {
  const r = await hostRun(['runc', '--root', join(home, 'runc'), 'state', instanceId]);
  if (r.code !== 0) return false;
  const st = JSON.parse(r.stdout) as { status: string; pid: number };
  if (st.status !== 'running' || !(st.pid > 0)) return false;
  let comm = '';
  try {
    comm = readFileSync(`/proc/${st.pid}/comm`, 'utf8').trim();
  } catch {
    return false; // gone
  }
  return comm !== '' && !comm.startsWith('runc');
}
