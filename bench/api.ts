// `npm run bench`: how fast the API answers. The server runs in a child process (the built
// `cumulo start`, fake driver, its own temp state folder) so the load generator never shares its
// event loop. Prints tables; never fails on a number.
//
//   (a) requests/s of a small Describe (DescribeAvailabilityZones) with 1, 8 and 32 clients on
//       keep-alive connections; requests are pre-signed once and replayed (valid for 15 minutes),
//       so the client side costs almost nothing
//   (b) DescribeInstances full listing with 1,000 and 10,000 instances: client latency and the
//       server's own time (its Server-Timing header)
//   (c) RunInstances MinCount=MaxCount=100: time to the answer, and until all 100 are running
//   (d) IAM policy evaluation per request (bench/policy.ts), against (b)'s DescribeInstances time
//   (e) IAM authorization's cost: the same requests signed by an IAM user (a group holding
//       AmazonEC2ReadOnlyAccess, an inline policy with conditions) against the root user, whose
//       requests skip evaluation — target: under 5% of a DescribeInstances of 1,000 instances
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
// @ts-expect-error: a plain .mjs script, shared with npm start (no type declarations)
import { serverNodeFlags } from '../scripts/ensure.mjs';
import { freePort } from '../test/harness.js';
import { policyBench } from './policy.js';
import { printTable } from './tables.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mainJs = join(root, 'dist', 'cli', 'main.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const REGION = 'us-east-1';

// ---------------------------------------------------------------------------------------------
// The server, in its own process.

interface Server {
  child: ChildProcess;
  port: number;
  home: string;
  creds: { accessKeyId: string; secretAccessKey: string };
  implemented: Set<string>;
}

async function startServer(): Promise<Server> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` (npm run bench builds first)`);
  const home = mkdtempSync(join(tmpdir(), 'cumulo-bench-'));
  const port = await freePort();
  // The fake driver runs nothing: a host as big as the 10,000 instances the bench launches.
  const env = { ...process.env, CUMULO_HOME: home, CUMULO_PORT: String(port), CUMULO_DRIVER: 'fake', CUMULO_HOST_VCPUS: '1000000', CUMULO_HOST_MEMORY_MIB: '1000000000' };
  const child = spawn(process.execPath, [...serverNodeFlags, mainJs, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  const deadline = Date.now() + 30_000;
  while (!log.includes('serving the EC2 API on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`cumulo start failed:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // … and an admin whose vCPU quota (5 on a new AWS account) holds them.
  const limits = spawnSync(process.execPath, [mainJs, 'accounts', 'limits', 'admin', '--set', 'running-on-demand-standard-vcpus=1000000'], { env, encoding: 'utf8' });
  if (limits.status !== 0) throw new Error(`cumulo accounts limits failed:\n${limits.stderr}`);
  const out = spawnSync(process.execPath, [mainJs, 'env'], { env, encoding: 'utf8' });
  const vars: Record<string, string> = {};
  for (const m of out.stdout.matchAll(/^export (\w+)=(.*)$/gm)) vars[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  const registry = (await import(pathToFileURL(join(root, 'dist', 'services', 'registry.js')).href)) as {
    serviceRegistry(): Map<string, { handlers: Record<string, unknown> }>;
  };
  return {
    child,
    port,
    home,
    creds: { accessKeyId: vars.AWS_ACCESS_KEY_ID!, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY! },
    implemented: new Set(Object.keys(registry.serviceRegistry().get('ec2')?.handlers ?? {})),
  };
}

async function stopServer(s: Server): Promise<number | null> {
  const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
  s.child.kill('SIGTERM');
  const code = await exited;
  rmSync(s.home, { recursive: true, force: true });
  return code;
}

// ---------------------------------------------------------------------------------------------
// Requests: signed once, sent raw.

interface Signed {
  headers: Record<string, string>;
  body: Buffer;
}

let server: Server;

type Creds = Server['creds'];

async function sign(params: [string, string][], creds: Creds = server.creds, service = 'ec2'): Promise<Signed> {
  const body = Buffer.from(params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
  const signer = new SignatureV4({ credentials: creds, region: REGION, service, sha256: Hash.bind(null, 'sha256'), uriEscapePath: true, applyChecksum: false });
  const req = new HttpRequest({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: server.port,
    path: '/',
    headers: { host: `127.0.0.1:${server.port}`, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  const out = await signer.sign(req);
  return { headers: { ...(out.headers as Record<string, string>), 'content-length': String(body.length) }, body };
}

interface Answer {
  status: number;
  text: string;
  ms: number;
  /** The server's own time from Server-Timing: app;dur=… */
  serverMs?: number;
}

function send(agent: Agent, r: Signed, keepBody = true): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/', agent, headers: r.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => keepBody && chunks.push(c));
      res.on('end', () => {
        const timing = /app;dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''));
        resolve({
          status: res.statusCode ?? 0,
          text: keepBody ? Buffer.concat(chunks).toString('utf8') : '',
          ms: performance.now() - t0,
          serverMs: timing ? Number(timing[1]) : undefined,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

async function call(params: [string, string][], creds: Creds = server.creds): Promise<Answer> {
  const agent = new Agent({ keepAlive: false });
  const a = await send(agent, await sign([...params, ['Version', '2016-11-15']], creds));
  agent.destroy();
  return a;
}

/** An IAM call as the root user (Query protocol, signed for iam). */
async function iamCall(params: [string, string][]): Promise<Answer> {
  const agent = new Agent({ keepAlive: false });
  const a = await send(agent, await sign([...params, ['Version', '2010-05-08']], server.creds, 'iam'));
  agent.destroy();
  if (a.status !== 200) throw new Error(`IAM ${params[0]![1]}: ${errorCode(a.text)}: ${/<Message>([^<]*)/.exec(a.text)?.[1]}`);
  return a;
}

function pairs(prefix: string, values: string[]): [string, string][] {
  return values.map((v, i) => [`${prefix}.${i + 1}`, v]);
}

const xmlAll = (text: string, tag: string) => [...text.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]!);
const errorCode = (text: string) => /<Code>([^<]+)<\/Code>/.exec(text)?.[1];

// ---------------------------------------------------------------------------------------------
// Numbers and tables.

function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));

// ---------------------------------------------------------------------------------------------
// (a) throughput of a small Describe

/** One client's p50 round trip of DescribeAvailabilityZones: (d)'s stricter yardstick. */
let smallDescribeMs: number | undefined;

async function throughput(): Promise<void> {
  const rows = await throughputRows(server.creds);
  printTable(
    `(a) DescribeAvailabilityZones, pre-signed, keep-alive, ${SECONDS} s per row — target ≥ 2,000 requests/s`,
    ['clients', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs target'],
    rows,
  );
}

async function throughputRows(creds: Creds, clientCounts = [1, 8, 32]): Promise<string[][]> {
  const signed = await sign(
    [
      ['Action', 'DescribeAvailabilityZones'],
      ['Version', '2016-11-15'],
    ],
    creds,
  );
  const rows: string[][] = [];
  for (const clients of clientCounts) {
    const agent = new Agent({ keepAlive: true, maxSockets: clients });
    // Warm up: open the connections, let the JIT settle.
    const warmEnd = performance.now() + 500;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < warmEnd) await send(agent, signed, false);
      }),
    );
    const lat: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < end) {
          const a = await send(agent, signed, false);
          if (a.status !== 200) errors++;
          lat.push(a.ms);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const rps = lat.length / secs;
    agent.destroy();
    if (clients === 1) smallDescribeMs = quantile(lat, 0.5);
    rows.push([String(clients), String(lat.length), rps.toFixed(0), ms(quantile(lat, 0.5)), ms(quantile(lat, 0.99)), String(errors), rps >= 2000 ? 'meets' : 'below']);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Instances: where to launch them, and how to count them.

let imageId: string | undefined;
let subnetId: string | undefined;

async function prepareLaunch(): Promise<string | undefined> {
  const need = ['RunInstances', 'DescribeInstances', 'DescribeImages'].filter((op) => !server.implemented.has(op));
  if (need.length) return `${need.join(', ')} not registered yet`;
  const images = await call([
    ['Action', 'DescribeImages'],
    ['Filter.1.Name', 'name'],
    ['Filter.1.Value.1', 'cumulo-minimal-x86_64-*'],
  ]);
  imageId = xmlAll(images.text, 'imageId')[0];
  if (!imageId) return `no cumulo-minimal image (${errorCode(images.text) ?? images.status})`;
  // 10,000 instances need more addresses than a default /20 subnet has: one /16 subnet holds them.
  if (server.implemented.has('CreateVpc') && server.implemented.has('CreateSubnet')) {
    const vpc = await call([
      ['Action', 'CreateVpc'],
      ['CidrBlock', '10.0.0.0/16'],
    ]);
    const vpcId = xmlAll(vpc.text, 'vpcId')[0];
    if (vpcId) {
      const subnet = await call([
        ['Action', 'CreateSubnet'],
        ['VpcId', vpcId],
        ['CidrBlock', '10.0.0.0/16'],
      ]);
      subnetId = xmlAll(subnet.text, 'subnetId')[0];
    }
  }
  return undefined;
}

async function runInstances(count: number): Promise<{ answer: Answer; ids: string[] }> {
  const answer = await call([
    ['Action', 'RunInstances'],
    ['ImageId', imageId!],
    ['InstanceType', 't3.nano'],
    ['MinCount', String(count)],
    ['MaxCount', String(count)],
    ...(subnetId ? ([['SubnetId', subnetId]] as [string, string][]) : []),
  ]);
  if (answer.status !== 200) throw new Error(`RunInstances: ${errorCode(answer.text)}: ${/<Message>([^<]*)/.exec(answer.text)?.[1]}`);
  return { answer, ids: [...new Set(xmlAll(answer.text, 'instanceId'))] };
}

/** Instance ids → state names, following NextToken. */
async function states(ids?: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let token: string | undefined;
  do {
    const a = await call([['Action', 'DescribeInstances'], ...(ids ? pairs('InstanceId', ids) : []), ...(token ? ([['NextToken', token]] as [string, string][]) : [])]);
    const ids2 = xmlAll(a.text, 'instanceId');
    // Each instance's first <name> inside <instanceState> is its state.
    const st = [...a.text.matchAll(/<instanceState><code>\d+<\/code><name>([^<]+)<\/name><\/instanceState>/g)].map((m) => m[1]!);
    ids2.forEach((id, i) => out.set(id, st[i] ?? '?'));
    token = /<nextToken>([^<]+)<\/nextToken>/.exec(a.text)?.[1];
  } while (token);
  return out;
}

async function waitRunning(ids?: string[], timeoutMs = 600_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const s = await states(ids);
    const pending = [...s.values()].filter((x) => x === 'pending').length;
    if (pending === 0 && s.size > 0) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${pending} instances still pending after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---------------------------------------------------------------------------------------------
// (c) RunInstances of 100

async function launch100(skip?: string): Promise<void> {
  if (skip) {
    printTable('(c) RunInstances MinCount=MaxCount=100', ['measure', 'ms'], [[`skipped: ${skip}`, '–']]);
    return;
  }
  const t0 = performance.now();
  const { answer, ids } = await runInstances(100);
  const answered = performance.now() - t0;
  const running = await waitRunning(ids);
  printTable(
    '(c) RunInstances MinCount=MaxCount=100 (fake driver)',
    ['measure', 'ms'],
    [
      ['time to the answer (client)', ms(answered)],
      ['  of which server (Server-Timing)', ms(answer.serverMs)],
      [`time until all ${ids.length} are running`, ms(answered + running)],
    ],
  );
}

// ---------------------------------------------------------------------------------------------
// (b) DescribeInstances full listing

/** The server's p50 for a listing of 1,000 instances: (d)'s yardstick. */
let describe1000Ms: number | undefined;

async function listing(skip?: string): Promise<void> {
  const head = ['instances in store', 'listings', 'p50 ms', 'p99 ms', 'server p50 ms', 'server p99 ms', 'pages', 'vs target'];
  if (skip) {
    printTable('(b) DescribeInstances full listing', head, [[`skipped: ${skip}`, '', '', '', '', '', '', '']]);
    return;
  }
  const rows: string[][] = [];
  let have = (await states()).size;
  for (const [target, rounds] of [
    [1000, 30],
    [10000, 10],
  ] as const) {
    try {
      while (have < target) {
        have += (await runInstances(Math.min(100, target - have))).ids.length;
        if (have % 1000 === 0) process.stderr.write(`  … ${have} instances\n`);
      }
      await waitRunning(undefined);
    } catch (e) {
      rows.push([`${target}: could not fill (${(e as Error).message})`, '', '', '', '', '', '', '']);
      break;
    }
    const lat: number[] = [];
    const srv: number[] = [];
    let pages = 0;
    let count = 0;
    for (let i = 0; i < rounds; i++) {
      let token: string | undefined;
      let total = 0;
      let server = 0;
      let n = 0;
      pages = 0;
      do {
        const a = await call([['Action', 'DescribeInstances'], ...(token ? ([['NextToken', token]] as [string, string][]) : [])]);
        total += a.ms;
        server += a.serverMs ?? NaN;
        n += (a.text.match(/<instanceId>/g) ?? []).length;
        pages++;
        token = /<nextToken>([^<]+)<\/nextToken>/.exec(a.text)?.[1];
      } while (token);
      lat.push(total);
      srv.push(server);
      count = n;
    }
    if (target === 1000) describe1000Ms = quantile(srv, 0.5);
    const verdict = target === 1000 ? (quantile(srv, 0.5) < 50 ? 'meets' : 'below') : '';
    rows.push([String(count), String(rounds), ms(quantile(lat, 0.5)), ms(quantile(lat, 0.99)), ms(quantile(srv, 0.5)), ms(quantile(srv, 0.99)), String(pages), verdict]);
    if (target === 1000) atThousand = await authorizationCost(rounds);
  }
  printTable('(b) DescribeInstances, all instances, no MaxResults — target: 1,000 instances < 50 ms server-side', head, rows);
  atThousand?.();
}

/** Printed after (b): measured while the store holds 1,000 instances. */
let atThousand: (() => void) | undefined;

// ---------------------------------------------------------------------------------------------
// (e) IAM authorization's cost, end to end

async function listingServerMs(rounds: number, creds: Creds): Promise<number[]> {
  const srv: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const a = await call([['Action', 'DescribeInstances']], creds);
    if (a.status !== 200) throw new Error(`DescribeInstances as ${creds.accessKeyId}: ${errorCode(a.text)}`);
    srv.push(a.serverMs ?? NaN);
  }
  return srv;
}

async function authorizationCost(rounds: number): Promise<() => void> {
  // A reader: a group with AWS's AmazonEC2ReadOnlyAccess, and an inline policy with conditions.
  await iamCall([
    ['Action', 'CreateGroup'],
    ['GroupName', 'bench-readers'],
  ]);
  await iamCall([
    ['Action', 'AttachGroupPolicy'],
    ['GroupName', 'bench-readers'],
    ['PolicyArn', 'arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess'],
  ]);
  await iamCall([
    ['Action', 'CreateUser'],
    ['UserName', 'bench-reader'],
  ]);
  await iamCall([
    ['Action', 'AddUserToGroup'],
    ['GroupName', 'bench-readers'],
    ['UserName', 'bench-reader'],
  ]);
  const inline = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['ec2:Describe*', 'ec2:Get*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] }, Bool: { 'aws:SecureTransport': 'false' } },
      },
      { Effect: 'Deny', Action: 'ec2:*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '10.0.0.0/8'] } } },
    ],
  };
  await iamCall([
    ['Action', 'PutUserPolicy'],
    ['UserName', 'bench-reader'],
    ['PolicyName', 'conditions'],
    ['PolicyDocument', JSON.stringify(inline)],
  ]);
  const key = await iamCall([
    ['Action', 'CreateAccessKey'],
    ['UserName', 'bench-reader'],
  ]);
  const reader = { accessKeyId: xmlAll(key.text, 'AccessKeyId')[0]!, secretAccessKey: xmlAll(key.text, 'SecretAccessKey')[0]! };

  await listingServerMs(3, reader); // warm: the policies are gathered once, then cached
  const rootMs: number[] = [];
  const userMs: number[] = [];
  // Interleaved, so drift in the machine's load falls on both alike.
  for (let i = 0; i < rounds; i++) {
    rootMs.push(...(await listingServerMs(1, server.creds)));
    userMs.push(...(await listingServerMs(1, reader)));
  }
  const rootThroughput = await throughputRows(server.creds, [8]);
  const userThroughput = await throughputRows(reader, [8]);
  return () => {
    const r50 = quantile(rootMs, 0.5);
    const u50 = quantile(userMs, 0.5);
    const extra = u50 - r50;
    printTable(
      `(e) IAM authorization's cost, end to end — DescribeInstances of 1,000 instances, server time, ${rounds} interleaved rounds; target: authorization under 5% of it`,
      ['signed by', 'server p50 ms', 'server p99 ms', 'authorization ms (p50 difference)', 'share', 'vs target'],
      [
        ['root user (no evaluation)', ms(r50), ms(quantile(rootMs, 0.99)), '', '', ''],
        ['IAM user (group + inline, conditions)', ms(u50), ms(quantile(userMs, 0.99)), ms(extra), `${((100 * extra) / r50).toFixed(1)}%`, extra / r50 < 0.05 ? 'meets' : 'below'],
      ],
    );
    printTable(
      `(e) DescribeAvailabilityZones req/s with 8 clients, ${SECONDS} s per row: root user against an IAM user`,
      ['signed by', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
      [
        ['root user', ...rootThroughput[0]!.slice(1, 6)],
        ['IAM user', ...userThroughput[0]!.slice(1, 6)],
      ],
    );
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  server = await startServer();
  console.log(`cumulo bench: server pid ${server.child.pid} on 127.0.0.1:${server.port} (fake driver), node ${process.version}`);
  try {
    await throughput();
    const skip = await prepareLaunch();
    await launch100(skip);
    await listing(skip);
  } finally {
    const code = await stopServer(server);
    console.log(`\nserver stopped (exit ${code})`);
  }
  // In this process, with the server stopped: the evaluator alone, on an idle event loop.
  policyBench(describe1000Ms, smallDescribeMs);
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).stack ?? e}`);
  // A benchmark reports; it does not fail the build on a number. A crash is still a crash.
  process.exitCode = 1;
});
