// `npm run bench:launch` (root): how fast real instances come up with the runc driver, and what an
// idle one costs the host. The server runs in a child process (the built `cumulo start`, its own
// temp state folder and VPC), so probing never shares its event loop. Prints tables; never fails on
// a number.
//
//   (a) per image (minimal, Debian), 20 launches one after another and 20 at once (one
//       RunInstances of 20): p50/p95 from the RunInstances call to
//         answered     RunInstances returned (p50 only)
//         running      DescribeInstances says so
//         user data    its user data has run (it opens port 8080; probed from the host)
//         port 22      sshd accepts connections
//   (b) 100 idle minimal instances: host memory per instance, split into what the instance's own
//       processes use (its cgroup) and what the host spends beyond that (conmon, kernel objects,
//       the server's rows and watchers)
//   (c) the minimal image built from scratch (an empty cache), as a server does at its start
//       (BENCH_LAUNCH_ONLY=build: only this, no server)
//   (d) StopInstances → `stopped` of running minimal instances, one after another (the guest's
//       init asked to power off, not killed)
//
// Probes go only to addresses whose /32 route points into a veth of this server: never off the
// machine (an address without its route yet would follow the default route).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeInstancesCommand,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { startApp } from '../src/app.js';
import { BuiltinImageStore } from '../src/host/images/builtin-store.js';
import { builtinImages } from '../src/services/ec2/images/builtin.js';
import { imageAvailable, portOpen, sleep } from '../test/runc-harness.js';
import { spawnServer, type BenchServer } from './server.js';
import { loadConfig } from '../src/config.js';
import { hostTag } from '../src/host/tag.js';
import { uplinkPrefix } from '../src/host/network/names.js';

const N = Number(process.env.BENCH_LAUNCHES ?? 20);
const IDLE = Number(process.env.BENCH_IDLE_INSTANCES ?? 100);
const IMAGES = (process.env.BENCH_IMAGES ?? 'minimal,debian').split(',').filter(Boolean);
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

// ---------------------------------------------------------------------------------------------
// The server, in its own process.

// ---------------------------------------------------------------------------------------------
// Probes.

/** The host's /32 routes through our uplinks (public IPs), from /proc/net/route: the addresses it is safe to probe. */
function routedAddresses(prefix: string): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !f[0]!.startsWith(prefix) || f[7] !== 'FFFFFFFF') continue;
    const n = parseInt(f[1]!, 16);
    out.add([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.'));
  }
  return out;
}

interface Times {
  /** RunInstances answered (the API's own share). */
  answered?: number;
  running?: number;
  userData?: number;
  port22?: number;
}

/** Launch `count` instances in one RunInstances and time each one's milestones from the call. */
async function launch(s: BenchServer, imageId: string, subnetId: string, count: number, instanceType: _InstanceType): Promise<{ ids: string[]; times: Times[] }> {
  // Its own web server on 8080 is the user data's "done".
  const userData = Buffer.from(
    '#!/bin/sh\nmkdir -p /tmp/ud && echo done > /tmp/ud/index.html\n(command -v httpd >/dev/null && httpd -p 8080 -h /tmp/ud) || busybox httpd -p 8080 -h /tmp/ud\n',
  ).toString('base64');
  const prefix = uplinkPrefix(hostTag(s.home));
  const t0 = performance.now();
  const r = await s.ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: instanceType, MinCount: count, MaxCount: count, SubnetId: subnetId, UserData: userData }));
  const answered = performance.now() - t0;
  const ids = r.Instances!.map((i) => i.InstanceId!);
  // The host reaches instances through their public IPs (the subnet maps one at launch).
  const ips = new Map(r.Instances!.map((i) => [i.InstanceId!, i.PublicIpAddress!]));
  const times = new Map<string, Times>(ids.map((id) => [id, { answered }]));
  const done = () => [...times.values()].every((t) => t.running !== undefined && t.userData !== undefined && t.port22 !== undefined);
  const deadline = Date.now() + 600_000;
  let lastDescribe = 0;
  while (!done() && Date.now() < deadline) {
    const now = performance.now() - t0;
    if (performance.now() - lastDescribe > 20 && [...times.values()].some((t) => t.running === undefined)) {
      lastDescribe = performance.now();
      const d = await s.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      const at = performance.now() - t0;
      for (const i of d.Reservations!.flatMap((x) => x.Instances!)) {
        const t = times.get(i.InstanceId!)!;
        if (t.running === undefined && i.State?.Name === 'running') t.running = at;
        if (i.State?.Name === 'terminated') throw new Error(`${i.InstanceId} failed to launch: ${i.StateReason?.Message}\n${s.log().slice(-3000)}`);
      }
    }
    const routed = routedAddresses(prefix);
    await Promise.all(
      ids.map(async (id) => {
        const t = times.get(id)!;
        const ip = ips.get(id)!;
        if (!routed.has(ip)) return;
        const [p22, p8080] = await Promise.all([t.port22 === undefined ? portOpen(ip, 22, 200) : true, t.userData === undefined ? portOpen(ip, 8080, 200) : true]);
        const at = performance.now() - t0;
        if (p22 && t.port22 === undefined) t.port22 = at;
        if (p8080 && t.userData === undefined) t.userData = at;
      }),
    );
    if (performance.now() - t0 - now < 5) await sleep(5);
  }
  if (!done()) throw new Error(`instances did not come up in 10 minutes:\n${s.log().slice(-3000)}`);
  return { ids, times: ids.map((id) => times.get(id)!) };
}

async function terminate(s: BenchServer, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) await s.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids.slice(i, i + 500) }));
  const deadline = Date.now() + 300_000;
  for (;;) {
    const d = await s.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    if (d.Reservations!.flatMap((x) => x.Instances!).every((i) => i.State?.Name === 'terminated')) return;
    if (Date.now() > deadline) throw new Error('instances did not terminate');
    await sleep(200);
  }
}

function pct(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))]!;
}

const ms = (n: number) => `${n.toFixed(0)} ms`;

// ---------------------------------------------------------------------------------------------
// Memory.

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}
/** `free`'s "used" with tmpfs counted as used: what the host cannot reclaim. */
const hostUsed = () => {
  const m = meminfo();
  return m.MemTotal! - m.MemFree! - m.Buffers! - m.Cached! - (m.SReclaimable ?? 0) + (m.Shmem ?? 0);
};
const hostCache = () => {
  const m = meminfo();
  return m.Buffers! + m.Cached! - (m.Shmem ?? 0);
};

function statusKb(pid: string, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size: shared pages (conmon's libraries) split among the processes sharing them. */
function pss(pid: string): number {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function conmons(): string[] {
  return readdirSync('/proc').filter(
    (p) =>
      /^\d+$/.test(p) &&
      (() => {
        try {
          return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'conmon';
        } catch {
          return false;
        }
      })(),
  );
}

function cgroupMemory(tag: string): { usage: number; rss: number; cache: number; kmem: number; count: number } {
  const dir = `/sys/fs/cgroup/memory/cumulo_${tag}`;
  let usage = 0,
    rss = 0,
    cache = 0,
    kmem = 0,
    count = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir).filter((d) => d.startsWith('i-'));
  } catch {
    return { usage, rss, cache, kmem, count };
  }
  for (const d of entries) {
    count++;
    usage += Number(readFileSync(join(dir, d, 'memory.usage_in_bytes'), 'utf8'));
    kmem += Number(readFileSync(join(dir, d, 'memory.kmem.usage_in_bytes'), 'utf8'));
    const st = readFileSync(join(dir, d, 'memory.stat'), 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(st)?.[1] ?? 0);
    rss += get('total_rss') + get('total_shmem');
    cache += get('total_cache') - get('total_shmem');
  }
  return { usage, rss, cache, kmem, count };
}

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;

// ---------------------------------------------------------------------------------------------

/** (c): the minimal image from an empty cache, a few times (moved from images.system.test.ts). */
async function buildMinimal(home: string): Promise<void> {
  const source = builtinImages.find((i) => i.source.builtin === 'minimal')!.source;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const cache = join(home, `build-${i}`);
    const store = new BuiltinImageStore({ home: cache, cacheDir: cache });
    const t0 = performance.now();
    await store.ensure(source);
    times.push(performance.now() - t0);
    rmSync(cache, { recursive: true, force: true });
  }
  printTable(
    ['the minimal image built from scratch', 'runs', 'p50', 'max'],
    [['busybox, dropbear, the guest init; mkfs.ext4 -d of 1 GiB', String(times.length), ms(pct(times, 50)), ms(Math.max(...times))]],
  );
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:launch runs real instances: run it as root');
  const home = mkdtempSync(join(tmpdir(), 'cumulo-bench-launch-'));
  if (process.env.BENCH_LAUNCH_ONLY === 'build') {
    try {
      await buildMinimal(home);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    return;
  }
  let s: BenchServer | undefined;
  try {
    // Idle instances use a sliver of the memory and CPU their type promises: the host admits the
    // IDLE of them only with overcommit (the product's default: 8 vCPUs a core, memory 1:1).
    s = await spawnServer(home, { env: { CUMULO_INSTANCE_POLL_MS: '5000', CUMULO_CPU_OVERCOMMIT: '256', CUMULO_MEMORY_OVERCOMMIT: '8' } });
    const net = `10.${200 + (process.pid % 50)}`;
    const vpc = await s.ec2.send(new CreateVpcCommand({ CidrBlock: `${net}.0.0/16` }));
    const vpcId = vpc.Vpc!.VpcId!;
    const subnetId = (await s.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `${net}.0.0/20`, AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    // A public subnet: an internet gateway, the default route to it, public IPs at launch, and the
    // default group open on 22 and 8080 to the host.
    const igw = (await s.ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await s.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
    const main = (await s.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).RouteTables![0]!.RouteTableId!;
    await s.ec2.send(new CreateRouteCommand({ RouteTableId: main, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    await s.ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
    const sg = (await s.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).SecurityGroups![0]!.GroupId!;
    await s.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: sg,
        IpPermissions: [22, 8080].map((p) => ({ IpProtocol: 'tcp', FromPort: p, ToPort: p, IpRanges: [{ CidrIp: '0.0.0.0/0' }] })),
      }),
    );
    const amis: Record<string, string> = {};
    // The server builds the built-in images it lacks at start; they are pending until then.
    for (const [name, filter] of [
      ['minimal', 'cumulo-minimal-x86_64-*'],
      ['debian', 'debian-12-amd64-*'],
    ] as const) {
      if (IMAGES.includes(name)) amis[name] = await imageAvailable(s.ec2, filter, 1_800_000);
    }

    console.log(`\ncumulo bench:launch — runc driver, ${N} launches per row, t3.micro, user data starts a web server on 8080\n`);
    const rows: string[][] = [];
    const stopRows: string[][] = [];
    for (const image of IMAGES) {
      // The first launch builds the image and copies its snapshot into the volume store: not timed.
      process.stderr.write(`warming up ${image} (builds the image on first use)…\n`);
      const warm = await launch(s, amis[image]!, subnetId, 1, 't3.micro');
      await terminate(s, warm.ids);

      process.stderr.write(`${image}: ${N} launches one after another…\n`);
      const seq: Times[] = [];
      const seqIds: string[] = [];
      for (let i = 0; i < N; i++) {
        const r = await launch(s, amis[image]!, subnetId, 1, 't3.micro');
        seq.push(...r.times);
        seqIds.push(...r.ids);
      }
      if (image === 'minimal') {
        // (d) a graceful stop, one after another (moved from driver.system.test.ts).
        const stops: number[] = [];
        for (const id of seqIds.slice(0, 5)) {
          const t0 = performance.now();
          await s.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
          for (const deadline = Date.now() + 120_000; ; await sleep(20)) {
            const d = await s.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
            if (d.Reservations![0]!.Instances![0]!.State?.Name === 'stopped') break;
            if (Date.now() > deadline) throw new Error(`${id} did not stop in 2 minutes`);
          }
          stops.push(performance.now() - t0);
        }
        stopRows.push([image, String(stops.length), ms(pct(stops, 50)), ms(Math.max(...stops))]);
      }
      await terminate(s, seqIds);
      process.stderr.write(`${image}: ${N} launches at once…\n`);
      const par = await launch(s, amis[image]!, subnetId, N, 't3.micro');
      await terminate(s, par.ids);
      for (const [mode, t] of [
        ['one after another', seq],
        ['at once', par.times],
      ] as const) {
        const col = (k: keyof Times) => t.map((x) => x[k]!);
        rows.push([image, mode, ms(pct(col('answered'), 50)), ...(['running', 'userData', 'port22'] as const).flatMap((k) => [ms(pct(col(k), 50)), ms(pct(col(k), 95))])]);
      }
    }
    const head = ['image', 'launches', 'answered p50', 'running p50', 'p95', 'user data p50', 'p95', 'port 22 p50', 'p95'];
    if (rows.length) printTable(head, rows);
    console.log('targets: minimal port 22 under 500 ms p50; Debian under 3 s (EC2: 15-20 s; Firecracker boots a guest in 125 ms)\n');
    if (stopRows.length) printTable(['image', 'stops', 'StopInstances → stopped p50', 'max'], stopRows);
    await buildMinimal(home);

    // (b) idle memory.
    process.stderr.write(`memory: ${IDLE} idle minimal instances…\n`);
    const tag = hostTag(home);
    const serverPid = String(s.child.pid);
    await sleep(2000);
    const before = { host: hostUsed(), cache: hostCache(), server: statusKb(serverPid, 'VmRSS') };
    const ids: string[] = [];
    for (let i = 0; i < IDLE; i += 25) ids.push(...(await launch(s, amis.minimal!, subnetId, Math.min(25, IDLE - i), 't3.nano')).ids);
    await sleep(10_000); // idle: boots done, nothing in flight
    const after = { host: hostUsed(), cache: hostCache(), server: statusKb(serverPid, 'VmRSS') };
    const cg = cgroupMemory(tag);
    const mons = conmons();
    const conmonPss = mons.reduce((a, p) => a + pss(p), 0);
    const conmonRss = mons.reduce((a, p) => a + statusKb(p, 'VmRSS'), 0);
    const n = cg.count || IDLE;
    const perHost = (after.host - before.host) / n;
    const beyond = perHost - (cg.rss + cg.kmem) / n;
    printTable(
      [`per idle minimal instance (${n} running, t3.nano)`, 'memory'],
      [
        ['host memory used, not reclaimable (free\'s "used" + tmpfs)', MiB(perHost)],
        ["  the instance's processes: rss + shmem (its cgroup)", MiB(cg.rss / n)],
        ["  the instance's kernel memory: page tables, slab, sockets (its cgroup)", MiB(cg.kmem / n)],
        ["  beyond the instance's own (used − both)", MiB(beyond)],
        [`    of which conmon (PSS; RSS ${MiB(conmonRss / Math.max(1, mons.length))} counts shared libraries whole)`, MiB(conmonPss / Math.max(1, mons.length))],
        ['    of which the server process (RSS growth)', MiB((after.server - before.server) / n)],
        ['  (bottom-up, without kernel objects: conmon PSS + server growth)', MiB(conmonPss / Math.max(1, mons.length) + (after.server - before.server) / n)],
        ['page cache, reclaimable: its binaries read from its own volume (cgroup)', MiB(cg.cache / n)],
        ['  host page cache growth', MiB((after.cache - before.cache) / n)],
      ],
    );
    console.log('target: under 5 MiB of host memory per idle minimal instance beyond its own processes');
    console.log('(host-wide figures: other activity on the machine during the run shows up in them)\n');
    await terminate(s, ids);
  } finally {
    if (s) {
      s.child.kill('SIGTERM');
      await new Promise((r) => s!.child.once('exit', r));
    }
    // A server with cleanup removes every instance and host object the bench made.
    const app = await startApp(loadConfig({ CUMULO_HOME: home, CUMULO_PORT: '0', CUMULO_DRIVER: 'runc' }), { log: () => {}, cleanupHost: true });
    await app.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

function printTable(head: string[], rows: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + w.map((x, i) => (i === 0 ? '-'.repeat(x + 2) : '-'.repeat(x + 1) + ':')).join('|') + '|');
  for (const r of rows) console.log(line(r));
  console.log('');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
