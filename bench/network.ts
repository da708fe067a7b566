// `npx tsx bench/network.ts` (root): how long the host network takes to plug and unplug an
// instance (namespace, veth, addresses, routes, sysctls, nftables elements), one after another
// and many at once, with N instances already plugged; and a metadata request through the redirect.
// Uses its own temp state folder (its own tag); removes everything it made. Prints a table; never
// fails on a number.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fixtureMetadata } from '../src/host/imds/fixture.js';
import { ImdsServer } from '../src/host/imds/server.js';
import type { PlugSpec } from '../src/host/network/host-network.js';
import { LinuxHostNetwork } from '../src/host/network/linux.js';
import { netNames } from '../src/host/network/names.js';

const N = Number(process.env.BENCH_INSTANCES ?? 100);

function spec(i: number): PlugSpec {
  const hex = i.toString(16).padStart(8, '0');
  return {
    instanceId: `i-0b0000000${hex}`,
    privateIp: `10.77.${Math.floor((i + 4) / 256)}.${(i + 4) % 256}`,
    subnetCidr: '10.77.0.0/16',
    macAddress: `02:b0:${hex.match(/../g)!.join(':')}`,
    metadataHopLimit: 1,
    vpcId: 'vpc-0bbbbbbbbbbbbbbbb',
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function curl(netns: string, url: string): Promise<number> {
  return new Promise((resolve) => spawn('ip', ['netns', 'exec', netns, 'curl', '-s', '-o', '/dev/null', '-m', '2', url], { stdio: 'ignore' }).on('close', (c) => resolve(c ?? -1)));
}

const rows: [string, number[]][] = [];
const home = mkdtempSync(join(tmpdir(), 'cumulo-bench-net-'));
const imds = new ImdsServer({ lookup: async () => fixtureMetadata() });
const port = await imds.listen(0);
const net = new LinuxHostNetwork({ home, imdsPort: port });
try {
  rows.push(['init (table, sysctls)', [await timed(() => net.init())]]);

  const seq: number[] = [];
  for (let i = 0; i < N; i++) seq.push(await timed(() => net.plug(spec(i))));
  rows.push([`plug, one after another (0 → ${N} plugged)`, seq]);

  const again: number[] = [];
  for (let i = 0; i < 20; i++) again.push(await timed(() => net.plug(spec(i))));
  rows.push(['plug again (already plugged: idempotent)', again]);

  const upd: number[] = [];
  for (let i = 0; i < 20; i++) upd.push(await timed(() => net.update({ ...spec(i), metadataHopLimit: 2 })));
  rows.push(['update (hop limit)', upd]);

  const t0 = performance.now();
  const par = await Promise.all(Array.from({ length: 20 }, (_, i) => timed(() => net.plug(spec(N + i)))));
  rows.push([`plug, 20 at once (wall ${Math.round(performance.now() - t0)} ms)`, par]);

  const reqs: number[] = [];
  for (let i = 0; i < 10; i++) reqs.push(await timed(() => curl(netNames(net.tag, spec(i).instanceId).netns, 'http://169.254.169.254/latest/meta-data/instance-id')));
  rows.push(['metadata GET from inside (incl. ip netns exec + curl)', reqs]);

  // The service alone, on loopback (fixture lookup): what a request costs the server.
  const direct = new ImdsServer({ lookup: async () => fixtureMetadata() });
  const dport = await direct.listen(0, '127.0.0.1');
  const loop: number[] = [];
  for (let i = 0; i < 1000; i++) loop.push(await timed(async () => (await fetch(`http://127.0.0.1:${dport}/latest/meta-data/instance-id`)).text()));
  await direct.close();
  rows.push(['metadata GET on loopback (server only, 1000 in a row)', loop]);

  const un: number[] = [];
  for (let i = 0; i < N; i++) un.push(await timed(() => net.unplug(spec(i).instanceId)));
  rows.push([`unplug, one after another (${N + 20} → 20 plugged)`, un]);

  const t1 = performance.now();
  const unpar = await Promise.all(Array.from({ length: 20 }, (_, i) => timed(() => net.unplug(spec(N + i).instanceId))));
  rows.push([`unplug, 20 at once (wall ${Math.round(performance.now() - t1)} ms)`, unpar]);
} finally {
  await imds.close();
  rows.push(['close (everything left)', [await timed(() => net.close())]]);
  rmSync(home, { recursive: true, force: true });
}

console.log(`\nhost network, ${N} instances (ms)\n`);
console.log(`${'operation'.padEnd(58)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'max'.padStart(7)}`);
for (const [name, xs] of rows) {
  console.log(`${name.padEnd(58)} ${pct(xs, 50).toFixed(1).padStart(7)} ${pct(xs, 95).toFixed(1).padStart(7)} ${Math.max(...xs).toFixed(1).padStart(7)}`);
}
const left = await LinuxHostNetwork.leftovers(net.tag);
console.log(`\nleft behind: ${JSON.stringify(left)}`);
