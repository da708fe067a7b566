// `npx tsx bench/network.ts` (root): what the VPC data plane costs on the host, without containers:
// plugging and unplugging instances (namespace, veth pair, addresses, routes), applying a VPC's spec
// (first time, unchanged, one rule more, a hot attach) with N interfaces in it, and a metadata
// request through the DNAT. Counts processes as well as time. Uses its own temp state folder (its
// own tag) and public pool; removes everything it made. Prints a table; never fails on a number.
// (bench/net.ts measures the path through the API: rule change to first packet, throughput.)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fixtureMetadata } from '../src/host/imds/fixture.js';
import { ImdsServer } from '../src/host/imds/server.js';
import { LinuxHostNetwork } from '../src/host/network/linux.js';
import { instanceNetns } from '../src/host/network/names.js';
import type { InterfaceSpec, VpcSpec } from '../src/host/network/vpc-spec.js';

const N = Number(process.env.BENCH_INSTANCES ?? 100);
const VPC = 'vpc-0b0000000000000b0';
const SG = 'sg-0b0000000000000b0';
const POOL = `198.19.${240 + (process.pid % 10)}.0/24`;

function nic(i: number): InterfaceSpec {
  const hex = i.toString(16).padStart(8, '0');
  const ip = `10.77.${Math.floor((i + 4) / 256)}.${(i + 4) % 256}`;
  return {
    eniId: `eni-0b00000000${hex.slice(1)}`.slice(0, 21),
    instanceId: `i-0b0000000${hex}`,
    deviceIndex: 0,
    subnetId: 'subnet-0b0000000000000b0',
    subnetCidr: '10.77.0.0/16',
    macAddress: `02:b0:${hex.match(/../g)!.join(':')}`,
    privateIps: [ip],
    groups: [SG],
    publicIps: i < 200 ? [{ publicIp: POOL.replace(/0\/24$/, String(i + 2)), privateIp: ip }] : [],
    sourceDestCheck: true,
    metadataHopLimit: 1,
  };
}

function spec(interfaces: InterfaceSpec[], extraRules = 0): VpcSpec {
  return {
    vpcId: VPC,
    accountId: '123456789012',
    region: 'us-east-1',
    cidrs: ['10.77.0.0/16'],
    internetGatewayId: 'igw-0b0000000000000b0',
    dnsSupport: true,
    subnets: [
      {
        subnetId: 'subnet-0b0000000000000b0',
        cidr: '10.77.0.0/16',
        routes: [{ destination: '0.0.0.0/0', target: 'internet-gateway', targetId: 'igw-0b0000000000000b0' }],
        networkAcl: {
          networkAclId: 'acl-0b0000000000000b0',
          entries: [
            { ruleNumber: 100, egress: false, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
            { ruleNumber: 100, egress: true, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
          ],
        },
      },
    ],
    securityGroups: [
      {
        groupId: SG,
        ingress: [
          { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '0.0.0.0/0' },
          ...Array.from({ length: extraRules }, (_, k) => ({ protocol: 'tcp' as const, fromPort: 1000 + k, toPort: 1000 + k, cidr: '0.0.0.0/0' })),
        ],
        egress: [{ protocol: 'all', cidr: '0.0.0.0/0' }],
      },
    ],
    interfaces,
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const rows: [string, number[], number][] = [];
const home = mkdtempSync(join(tmpdir(), 'cumulo-bench-net-'));
const imds = new ImdsServer({ lookup: async () => fixtureMetadata() });
const port = await imds.listen(0);
const net = new LinuxHostNetwork({ home, imdsPort: port, dnsPort: port, apiPort: port, publicPool: POOL, egress: false });

/** Time each run of fn, and the processes it ran (per run, on average). */
async function measure(name: string, times: number, fn: (k: number) => Promise<unknown>): Promise<void> {
  const xs: number[] = [];
  const c0 = net.commands;
  for (let k = 0; k < times; k++) {
    const t = performance.now();
    await fn(k);
    xs.push(performance.now() - t);
  }
  rows.push([name, xs, (net.commands - c0) / times]);
}

function curl(netns: string, url: string): Promise<number> {
  return new Promise((resolve) => spawn('ip', ['netns', 'exec', netns, 'curl', '-s', '-o', '/dev/null', '-m', '2', url], { stdio: 'ignore' }).on('close', (c) => resolve(c ?? -1)));
}

try {
  await measure('init (host table, adoption)', 1, () => net.init());
  const enis = Array.from({ length: N + 20 }, (_, i) => nic(i));
  await measure(`plug, one after another (0 → ${N} plugged)`, N, (i) => net.plug({ instanceId: enis[i]!.instanceId, vpcId: VPC, interfaces: [enis[i]!] }));
  await measure('plug again (already plugged: idempotent)', 20, (i) => net.plug({ instanceId: enis[i]!.instanceId, vpcId: VPC, interfaces: [enis[i]!] }));
  const upto = enis.slice(0, N);
  await measure(`applyVpc, first (${N} interfaces: uplink, rules, routes)`, 1, () => net.applyVpc(spec(upto)));
  await measure('applyVpc, nothing changed', 20, () => net.applyVpc(spec(upto)));
  await measure('applyVpc, one ingress rule more each time', 20, (k) => net.applyVpc(spec(upto, k + 1)));
  await measure('applyVpc, a group of 1,000 rules (one nft transaction)', 1, () => net.applyVpc(spec(upto, 1000)));

  const t0 = performance.now();
  const par: number[] = [];
  await Promise.all(
    enis.slice(N).map(async (e) => {
      const t = performance.now();
      await net.plug({ instanceId: e.instanceId, vpcId: VPC, interfaces: [e] });
      par.push(performance.now() - t);
    }),
  );
  rows.push([`plug, 20 at once (wall ${Math.round(performance.now() - t0)} ms)`, par, NaN]);
  await measure('applyVpc, 20 interfaces attached (hot attach)', 1, () => net.applyVpc(spec(enis)));

  await measure('metadata GET from inside (incl. ip netns exec + curl)', 10, (i) =>
    curl(instanceNetns(net.tag, enis[i]!.instanceId), 'http://169.254.169.254/latest/meta-data/instance-id'),
  );

  await measure(`unplug, one after another (${N + 20} → 20 plugged)`, N, (i) => net.unplug(enis[i]!.instanceId));
  const t1 = performance.now();
  const unpar: number[] = [];
  await Promise.all(
    enis.slice(N).map(async (e) => {
      const t = performance.now();
      await net.unplug(e.instanceId);
      unpar.push(performance.now() - t);
    }),
  );
  rows.push([`unplug, 20 at once (wall ${Math.round(performance.now() - t1)} ms)`, unpar, NaN]);
  await measure('applyVpc, no interface left (removes the VPC)', 1, () => net.applyVpc(spec([])));
} finally {
  await imds.close();
  await measure('close (everything left)', 1, () => net.close());
  rmSync(home, { recursive: true, force: true });
}

console.log(`\nVPC data plane on the host, ${N} instances (ms; processes per call)\n`);
console.log(`${'operation'.padEnd(62)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'max'.padStart(7)} ${'procs'.padStart(6)}`);
for (const [name, xs, procs] of rows) {
  console.log(
    `${name.padEnd(62)} ${pct(xs, 50).toFixed(1).padStart(7)} ${pct(xs, 95).toFixed(1).padStart(7)} ${Math.max(...xs)
      .toFixed(1)
      .padStart(7)} ${(Number.isNaN(procs) ? '' : procs.toFixed(1)).padStart(6)}`,
  );
}
const left = await LinuxHostNetwork.leftovers(net.tag);
console.log(`\nleft behind: ${JSON.stringify(left)}`);
