// `npm run bench:net` (root): the VPC data plane with a real instance. The server runs in a child
// process (`cumulo start` on its own temp state folder and public pool), so probing never shares its
// event loop. Prints tables; never fails on a number.
//
//   (a) from AuthorizeSecurityGroupIngress (the call's start) to the first packet passing: a fresh
//       connection from the host to the instance's public IP every few ms until one is accepted;
//       with 10 and with 1,000 rules already in the instance's groups (p50/p90 over BENCH_RUNS).
//       The API stops at EC2's default quota of 60 rules per group (EC2 raises it on request, up
//       to 1,000 per interface): the instance is in a second group whose 990 rules are written to
//       the store directly; the measured rule goes in the first.
//       And from RevokeSecurityGroupIngress (the call's start) to the first fresh connection that
//       is no longer accepted.
//   (c) the VPC resolver (src/host/dns/server.ts, its default upstream timeout) with an upstream
//       that never answers: query → SERVFAIL, against the 5 s a glibc client waits. Runs first,
//       and alone with BENCH_NET_ONLY=dns (no instance, no root).
//   (b) TCP throughput host → instance through the full path (public IP, uplink, the VPC router's
//       NAT, security group and ACL, the interface's veth) with iperf3 (its server in the instance's
//       network namespace), against a bare veth pair between two namespaces made here, in the same
//       run (target: at least 0.9 of it).
//
// Probes go only to addresses the host routes into this server's uplinks, and to the bench's own
// namespaces: never off the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  ModifySubnetAttributeCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import dnsPacket from 'dns-packet';
import { startApp } from '../src/app.js';
import { DnsServer } from '../src/host/dns/server.js';
import { loadConfig } from '../src/config.js';
import { newId } from '../src/lib/ids.js';
import { openStore } from '../src/store/db.js';
import { hostTag } from '../src/host/tag.js';
import { dataPlaneNames, hostRun, imageAvailable, inInstance, publicPoolFor, routedToUplink, sleep } from '../test/runc-harness.js';
import { spawnServer, type BenchServer } from './server.js';
// @ts-expect-error: a plain .mjs script, shared with npm start (no type declarations)
import { benchPackages, ensurePackages, hostPackages } from '../scripts/ensure.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const SECONDS = Number(process.env.BENCH_IPERF_SECONDS ?? 5);
const IPERF_ROUNDS = Number(process.env.BENCH_IPERF_ROUNDS ?? 3);
const DNS_RUNS = Number(process.env.BENCH_DNS_RUNS ?? 5);
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

function pct(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))]!;
}

function printTable(head: string[], rows: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + w.map((x, i) => (i === 0 ? '-'.repeat(x + 2) : '-'.repeat(x + 1) + ':')).join('|') + '|');
  for (const r of rows) console.log(line(r));
  console.log('');
}

// ---------------------------------------------------------------------------------------------
// The server, in its own process.

// ---------------------------------------------------------------------------------------------
// (a) Authorize → first packet.

/** Resolves with the time the connection was accepted, or undefined (refused, dropped, timed out). */
function tryConnect(ip: string, port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: ip, port, timeout: timeoutMs });
    const done = (at: number | undefined) => {
      sock.destroy();
      resolve(at);
    };
    sock.once('connect', () => done(performance.now()));
    sock.once('timeout', () => done(undefined));
    sock.once('error', () => done(undefined));
  });
}

/**
 * Calls `authorize` and, from the same instant, opens a fresh connection every `everyMs` (a dropped
 * SYN is retransmitted only after a second, so each attempt is a new connection) until one is
 * accepted. The time from the call's start to that acceptance.
 */
async function timeToFirstPacket(ip: string, port: number, authorize: () => Promise<unknown>, everyMs = 3): Promise<number> {
  const t0 = performance.now();
  let failed: unknown;
  const call = authorize().catch((e: unknown) => (failed = e));
  let first: number | undefined;
  const inFlight: Promise<void>[] = [];
  while (first === undefined) {
    if (failed) throw failed;
    if (performance.now() - t0 > 30_000) throw new Error('no packet passed within 30 s of the Authorize call');
    inFlight.push(
      tryConnect(ip, port, 1000).then((at) => {
        if (at !== undefined && (first === undefined || at < first)) first = at;
      }),
    );
    await sleep(everyMs);
  }
  await call;
  await Promise.all(inFlight);
  if (failed) throw failed;
  return first! - t0;
}

/** Until `n` fresh connections in a row are not accepted (the rule is gone from the data plane). */
async function untilClosed(ip: string, port: number, n = 3): Promise<void> {
  const deadline = Date.now() + 30_000;
  let closed = 0;
  while (closed < n) {
    if (Date.now() > deadline) throw new Error('the revoked rule still lets connections in after 30 s');
    closed = (await tryConnect(ip, port, 200)) === undefined ? closed + 1 : 0;
  }
}

/**
 * Calls `revoke` and, from the same instant, opens fresh connections one after another until one
 * is not accepted: the time from the call's start to that attempt's start.
 */
async function timeToClosed(ip: string, port: number, revoke: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  const call = revoke();
  for (;;) {
    if (performance.now() - t0 > 30_000) throw new Error('the revoked rule still lets connections in after 30 s');
    const at = performance.now();
    if ((await tryConnect(ip, port, 200)) === undefined) {
      await call;
      return at - t0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// (c) the resolver with a dead upstream.

async function dnsDeadUpstream(): Promise<void> {
  const dead = createSocket('udp4');
  await new Promise<void>((r) => dead.bind(0, '127.0.0.1', () => r())); // bound, never answers
  const server = new DnsServer({
    lookup: async () => ({ rcode: 'FORWARD', otherwise: 'REFUSED' }),
    vpcAt: () => 'vpc-bench',
    log: () => undefined,
    egress: true,
    resolvers: [`127.0.0.1:${(dead.address() as { port: number }).port}`],
  });
  try {
    const port = await server.listen(0, '127.0.0.1');
    const times: number[] = [];
    for (let i = 0; i < DNS_RUNS; i++) {
      const q = dnsPacket.encode({ type: 'query', id: i + 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: `n${i}.example`, type: 'A', class: 'IN' }] });
      const t0 = performance.now();
      const answer = await new Promise<Buffer | undefined>((resolve) => {
        const c = createSocket('udp4');
        const t = setTimeout(() => (c.close(), resolve(undefined)), 10_000);
        c.on('message', (m) => (clearTimeout(t), c.close(), resolve(m)));
        c.send(q, port, '127.0.0.1');
      });
      const rcode = answer ? (dnsPacket.decode(answer) as { rcode?: string }).rcode : 'no answer in 10 s';
      if (rcode !== 'SERVFAIL') throw new Error(`expected SERVFAIL, got ${rcode}`);
      times.push(performance.now() - t0);
    }
    printTable(
      ['VPC resolver, upstream never answers', 'runs', 'query → SERVFAIL p50', 'max'],
      [['default upstream timeout', String(times.length), `${pct(times, 50).toFixed(0)} ms`, `${Math.max(...times).toFixed(0)} ms`]],
    );
    console.log('target: well before a client gives up (glibc: 5 s; the test waits 3 s)\n');
  } finally {
    await server.close();
    dead.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (b) iperf3.

function iperfServer(netns: string, port: number): ChildProcess {
  // `ip netns exec` execs iperf3: the child's pid is iperf3's.
  return spawn('ip', ['netns', 'exec', netns, 'iperf3', '-s', '-p', String(port)], { stdio: 'ignore' });
}

async function iperfClient(argvPrefix: string[], ip: string, port: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const r = await hostRun([...argvPrefix, 'iperf3', '-c', ip, '-p', String(port), '-t', String(SECONDS), '-J'], (SECONDS + 30) * 1000);
    try {
      const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
      const bps = j.end?.sum_received?.bits_per_second;
      if (bps) return bps;
      if (attempt >= 20) throw new Error(j.error ?? 'no result');
    } catch (e) {
      if (attempt >= 20) throw new Error(`iperf3 -c ${ip}: ${(e as Error).message}\n${r.stdout.slice(0, 500)}${r.stderr.slice(0, 500)}`);
    }
    await sleep(200); // the server is not listening yet
  }
}

const gbit = (bps: number) => `${(bps / 1e9).toFixed(2)} Gbit/s`;
const median = (xs: number[]) => pct(xs, 50);

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  process.stderr.write('(c) the resolver with a dead upstream…\n');
  await dnsDeadUpstream();
  if (process.env.BENCH_NET_ONLY === 'dns') return;
  if (process.getuid?.() !== 0) throw new Error('bench:net runs real instances: run it as root');
  ensurePackages({ ...hostPackages, ...benchPackages });
  const home = mkdtempSync(join(tmpdir(), 'cumulo-bench-net-'));
  const names = dataPlaneNames(home);
  const tag = hostTag(home);
  const pool = publicPoolFor(200 + (process.pid % 50));
  const env = { CUMULO_PUBLIC_IPV4_POOL: pool, CUMULO_INSTANCE_POLL_MS: '5000' };
  const bareA = `cu-${tag}-bench-a`;
  const bareB = `cu-${tag}-bench-b`;
  const iperfs: ChildProcess[] = [];
  let s: BenchServer | undefined;
  let instanceId: string | undefined;
  try {
    s = await spawnServer(home, { env, fromSource: true });
    const ec2 = s.ec2;
    // A public subnet: gateway, 0.0.0.0/0 to it, a public IP at launch.
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }))).Vpc!.VpcId!;
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
    const main = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'association.main', Values: ['true'] },
        ],
      }),
    );
    await ec2.send(new CreateRouteCommand({ RouteTableId: main.RouteTables![0]!.RouteTableId!, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.30.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));

    // The group: iperf3's port from the pool (the host) and 9 rules nobody matches: 10 rules.
    const groupId = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'bench', Description: 'bench:net' }))).GroupId!;
    const bulkId = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'bulk', Description: 'bench:net, 990 rules later' }))).GroupId!;
    const filler = (k: number): IpPermission => ({ IpProtocol: 'tcp', FromPort: 10_000 + k, ToPort: 10_000 + k, IpRanges: [{ CidrIp: `10.255.${k >> 8}.${k & 255}/32` }] });
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5201, ToPort: 5201, IpRanges: [{ CidrIp: pool }] }, ...Array.from({ length: 9 }, (_, k) => filler(k))],
      }),
    );

    const ami = await imageAvailable(ec2, 'cumulo-minimal-x86_64-*');
    const userData = Buffer.from('#!/bin/sh\nmkdir -p /www && echo bench > /www/index.html && busybox httpd -p 80 -h /www\n').toString('base64');
    process.stderr.write('launching the instance (builds the minimal image on first use)…\n');
    const run = await ec2.send(
      new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, SubnetId: subnetId, SecurityGroupIds: [groupId, bulkId], UserData: userData }),
    );
    instanceId = run.Instances![0]!.InstanceId!;
    const id = instanceId;
    let ip: string | undefined;
    let privateIp = '';
    for (const deadline = Date.now() + 300_000; ; await sleep(200)) {
      const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      const inst = d.Reservations![0]!.Instances![0]!;
      if (inst.State?.Name === 'running' && inst.PublicIpAddress) {
        ip = inst.PublicIpAddress;
        privateIp = inst.PrivateIpAddress!;
        break;
      }
      if (inst.State?.Name === 'terminated' || Date.now() > deadline)
        throw new Error(`the instance did not come up: ${inst.StateReason?.Message ?? inst.State?.Name}\n${s.log().slice(-3000)}`);
    }
    for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
      const up = (await inInstance(home, id, ['curl', '-s', '-m', '1', `http://${privateIp}/`])).stdout.trim() === 'bench';
      if (up && routedToUplink(home, ip)) break;
      if (Date.now() > deadline) throw new Error(`the instance's web server or its public IP route is not there\n${s.log().slice(-3000)}`);
    }

    // (a)
    const rule: IpPermission = { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: pool }] };
    const ruleset = async () => (await hostRun(['ip', 'netns', 'exec', names.vpcNetns(vpcId), 'nft', 'list', 'ruleset'])).stdout.split('\n').length;
    const measure = async (label: string): Promise<string[]> => {
      const times: number[] = [];
      const closes: number[] = [];
      for (let r = 0; r <= RUNS; r++) {
        await untilClosed(ip!, 80);
        const t = await timeToFirstPacket(ip!, 80, () => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [rule] })));
        const c = await timeToClosed(ip!, 80, () => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [rule] })));
        // the first run warms up (and, after seeding, loads the new rules)
        if (r > 0) {
          times.push(t);
          closes.push(c);
        }
      }
      const lines = await ruleset();
      return [
        label,
        String(times.length),
        `${pct(times, 50).toFixed(0)} ms`,
        `${pct(times, 90).toFixed(0)} ms`,
        `${Math.min(...times).toFixed(0)} ms`,
        `${Math.max(...times).toFixed(0)} ms`,
        `${pct(closes, 50).toFixed(0)} ms`,
        `${pct(closes, 90).toFixed(0)} ms`,
        String(lines),
      ];
    };
    process.stderr.write(`(a) Authorize → first packet, 10 rules, ${RUNS} runs…\n`);
    const rows = [await measure('10')];

    // 990 more in the second group, written to the store (the API stops at EC2's default quota of 60).
    const store = await openStore({ file: join(home, 'cumulo.db') });
    const group = await store.selectFrom('security_groups').select(['account_id', 'region']).where('id', '=', bulkId).executeTakeFirstOrThrow();
    const now = new Date().toISOString();
    const seeded = Array.from({ length: 990 }, (_, k) => ({
      id: newId('sgr'),
      group_id: bulkId,
      account_id: group.account_id,
      region: group.region,
      is_egress: 0,
      ip_protocol: 'tcp',
      from_port: 11_000 + k,
      to_port: 11_000 + k,
      cidr_ipv4: `10.254.${k >> 8}.${k & 255}/32`,
      cidr_ipv6: null,
      prefix_list_id: null,
      referenced_group_id: null,
      referenced_group_owner: null,
      description: null,
      created_at: now,
      seq: 100 + k,
    }));
    for (let k = 0; k < seeded.length; k += 100)
      await store
        .insertInto('security_group_rules')
        .values(seeded.slice(k, k + 100))
        .execute();
    await store.destroy();
    process.stderr.write(`(a) Authorize → first packet, 1,000 rules, ${RUNS} runs…\n`);
    rows.push(await measure('1,000'));
    console.log(`\ncumulo bench:net — runc driver, t3.nano, minimal image; the host connects to the instance's public IP every 3 ms\n`);
    printTable(
      ['rules in the instance’s groups', 'runs', 'Authorize → first packet p50', 'p90', 'min', 'max', 'Revoke → first refused p50', 'p90', 'VPC ruleset lines (nft)'],
      rows,
    );
    console.log('target: within a second (issue 4: "changes reach running instances within a second")\n');

    // (b)
    process.stderr.write('(b) iperf3: the full path and a bare veth pair…\n');
    await hostRun(['ip', 'netns', 'add', bareA]);
    await hostRun(['ip', 'netns', 'add', bareB]);
    const mk = await hostRun(['ip', 'link', 'add', `cu${tag}ba`, 'netns', bareA, 'type', 'veth', 'peer', 'name', `cu${tag}bb`, 'netns', bareB]);
    if (mk.code !== 0) throw new Error(`veth pair: ${mk.stderr}`);
    for (const [ns, dev, addr] of [
      [bareA, `cu${tag}ba`, '10.99.0.1/30'],
      [bareB, `cu${tag}bb`, '10.99.0.2/30'],
    ] as const) {
      await hostRun(['ip', '-n', ns, 'addr', 'add', addr, 'dev', dev]);
      await hostRun(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      await hostRun(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    iperfs.push(iperfServer(names.instanceNetns(id), 5201), iperfServer(bareB, 5201));
    const full: number[] = [];
    const bare: number[] = [];
    for (let r = 0; r < IPERF_ROUNDS; r++) {
      full.push(await iperfClient([], ip, 5201));
      bare.push(await iperfClient(['ip', 'netns', 'exec', bareA], '10.99.0.2', 5201));
    }
    const ratio = median(full) / median(bare);
    printTable(
      [`TCP host → instance, iperf3 ${SECONDS} s × ${IPERF_ROUNDS} (median)`, 'throughput', 'of the bare veth'],
      [
        ['full path: public IP, uplink, NAT, security group, ACL, interface veth', gbit(median(full)), `${ratio.toFixed(2)}×`],
        ['bare veth pair between two namespaces (same run)', gbit(median(bare)), '1.00×'],
      ],
    );
    console.log(`target: at least 0.9 of the bare veth pair — ${ratio >= 0.9 ? 'met' : 'not met'}\n`);
  } finally {
    for (const p of iperfs) if (p.exitCode === null && p.pid) process.kill(p.pid, 'SIGTERM');
    await Promise.all(iperfs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    await hostRun(['ip', 'netns', 'del', bareA]);
    await hostRun(['ip', 'netns', 'del', bareB]);
    if (s) {
      if (instanceId) await s.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })).catch(() => undefined);
      s.child.kill('SIGTERM');
      await new Promise((r) => (s!.child.exitCode !== null ? r(undefined) : s!.child.once('exit', r)));
    }
    // A server with cleanup removes every instance and host object the bench made.
    const app = await startApp(loadConfig({ CUMULO_HOME: home, CUMULO_PORT: '0', CUMULO_DRIVER: 'runc', ...env }), { log: () => {}, cleanupHost: true });
    await app.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
