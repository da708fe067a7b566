// System test (root): the real LinuxHostNetwork and metadata service with fake "instances" (bare
// network namespaces, no containers). Each namespace asks 169.254.169.254 and gets its own answers;
// a forged source gets none; VPCs are kept apart; and nothing is left behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixtureMetadata } from '../imds/fixture.js';
import type { InstanceMetadata } from '../imds/metadata.js';
import { ImdsServer } from '../imds/server.js';
import type { PlugSpec } from './host-network.js';
import { LinuxHostNetwork } from './linux.js';
import { netNames } from './names.js';

const canRun = process.getuid?.() === 0 && ['ip', 'nft', 'curl'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

// One host has one routing table: private addresses must not collide with other servers' instances
// (tests run in parallel), so this file's subnets are random.
const n = 100 + Math.floor(Math.random() * 150);
const A: PlugSpec = { instanceId: 'i-0a0000000000000a1', privateIp: `10.${n}.0.11`, subnetCidr: `10.${n}.0.0/20`, macAddress: '02:00:00:0a:00:01', metadataHopLimit: 1, vpcId: 'vpc-0aaaaaaaaaaaaaaaa' };
// Same VPC, another subnet.
const B: PlugSpec = { instanceId: 'i-0b0000000000000b2', privateIp: `10.${n}.16.12`, subnetCidr: `10.${n}.16.0/20`, macAddress: '02:00:00:0b:00:02', metadataHopLimit: 2, vpcId: 'vpc-0aaaaaaaaaaaaaaaa' };
// Another VPC.
const C: PlugSpec = { instanceId: 'i-0c0000000000000c3', privateIp: `10.${n + 1}.0.13`, subnetCidr: `10.${n + 1}.0.0/24`, macAddress: '02:00:00:0c:00:03', metadataHopLimit: 1, vpcId: 'vpc-0cccccccccccccccc' };

describe.skipIf(!canRun)('LinuxHostNetwork and the metadata service (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-net-'));
  let net: LinuxHostNetwork;
  let imds: ImdsServer;
  let hostServer: Server;
  let imdsPort = 0;
  const children: ChildProcess[] = [];
  const metadata = new Map<string, InstanceMetadata>();
  const ns = (s: PlugSpec) => netNames(net.tag, s.instanceId).netns;

  /** curl inside an instance's namespace: [exit code, body]. Never spawnSync: the servers answering live in this process. */
  function curlIn(s: PlugSpec | undefined, args: string[], timeoutS = 2): Promise<[number, string]> {
    const argv = [...(s ? ['netns', 'exec', ns(s)] : []), 'curl', '-s', '-m', String(timeoutS), ...args];
    return new Promise((resolve) => {
      const child = spawn(argv[0] === 'curl' ? 'curl' : 'ip', argv[0] === 'curl' ? argv.slice(1) : argv, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code) => resolve([code ?? -1, out]));
    });
  }
  const imdsGet = (s: PlugSpec, path: string, headers: string[] = []) => curlIn(s, [...headers.flatMap((h) => ['-H', h]), `http://169.254.169.254${path}`]);

  beforeAll(async () => {
    imds = new ImdsServer({
      lookup: async (ip) => {
        const id = await net.instanceAt(ip);
        return id ? metadata.get(id) : undefined;
      },
    });
    imdsPort = await imds.listen(0);
    net = new LinuxHostNetwork({ home, imdsPort });
    for (const s of [A, B, C]) metadata.set(s.instanceId, fixtureMetadata({ instanceId: s.instanceId, privateIp: s.privateIp }));
    await net.init();
    for (const s of [A, B, C]) {
      const { netnsPath } = await net.plug(s);
      expect(netnsPath).toBe(`/run/netns/${ns(s)}`);
    }
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    hostServer?.close();
    await imds?.close();
    try {
      await net?.close();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('each instance gets its own metadata at 169.254.169.254', async () => {
    for (const s of [A, B, C]) expect(await imdsGet(s, '/latest/meta-data/instance-id')).toEqual([0, s.instanceId]);
    expect(await imdsGet(A, '/latest/meta-data/local-ipv4')).toEqual([0, A.privateIp]);
  });

  test('IMDSv2 through the redirect: a token for one instance is refused for another', async () => {
    const [, tok] = await curlIn(A, ['-X', 'PUT', '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 60', 'http://169.254.169.254/latest/api/token']);
    expect(tok).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
    expect(await imdsGet(A, '/latest/meta-data/instance-id', [`X-aws-ec2-metadata-token: ${tok}`])).toEqual([0, A.instanceId]);
    const [, status] = await curlIn(B, ['-o', '/dev/null', '-w', '%{http_code}', '-H', `X-aws-ec2-metadata-token: ${tok}`, 'http://169.254.169.254/latest/meta-data/instance-id']);
    expect(status).toBe('401');
  });

  test('the instance side: eth0 with its MAC and address, default route via the subnet router', () => {
    const link = spawnSync('ip', ['-n', ns(B), '-j', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    const [eth0] = JSON.parse(link.stdout) as { address: string; addr_info: { local: string; prefixlen: number }[] }[];
    expect(eth0!.address).toBe(B.macAddress);
    expect(eth0!.addr_info.filter((a) => a.local.includes('.'))).toMatchObject([{ local: B.privateIp, prefixlen: 20 }]);
    const route = spawnSync('ip', ['-n', ns(B), 'route', 'show', 'default'], { encoding: 'utf8' }).stdout;
    expect(route).toContain(`default via 10.${n}.16.1 dev eth0`);
  });

  test('a forged source address gets no answer', async () => {
    // A claims B's address. Had the host accepted the SYN, its SYN-ACK would go to B (the route to
    // B's address): count what B receives from the metadata address meanwhile.
    const synAcks = () => {
      const out = spawnSync('ip', ['netns', 'exec', ns(B), 'nft', 'list', 'chain', 'ip', 'spoof', 'input'], { encoding: 'utf8' }).stdout;
      return Number(/packets (\d+)/.exec(out)?.[1] ?? -1);
    };
    spawnSync('ip', ['netns', 'exec', ns(B), 'nft', '-f', '-'], {
      input: 'table ip spoof {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr 169.254.169.254 tcp flags & (syn | ack) == syn | ack counter\n }\n}\n',
    });
    spawnSync('ip', ['-n', ns(A), 'addr', 'add', `${B.privateIp}/32`, 'dev', 'eth0']);
    try {
      expect(synAcks()).toBe(0);
      const [code, body] = await curlIn(A, ['--interface', B.privateIp, 'http://169.254.169.254/latest/meta-data/instance-id'], 1);
      expect(code).not.toBe(0);
      expect(body).toBe('');
      expect(synAcks()).toBe(0);
    } finally {
      spawnSync('ip', ['-n', ns(A), 'addr', 'del', `${B.privateIp}/32`, 'dev', 'eth0']);
      spawnSync('ip', ['netns', 'exec', ns(B), 'nft', 'delete', 'table', 'ip', 'spoof']);
    }
  });

  test('metadata answers leave with TTL = the hop limit, which update() changes in place', async () => {
    const count = (s: PlugSpec, ttl: number) => {
      const out = spawnSync('ip', ['netns', 'exec', ns(s), 'nft', 'list', 'chain', 'ip', 'probe', 'input'], { encoding: 'utf8' }).stdout;
      const m = new RegExp(`ip ttl ${ttl} counter packets (\\d+)`).exec(out);
      return m ? Number(m[1]) : -1;
    };
    const probe = (s: PlugSpec, ttls: number[]) =>
      spawnSync('ip', ['netns', 'exec', ns(s), 'nft', '-f', '-'], {
        input: `table ip probe {\n chain input {\n  type filter hook input priority 0; policy accept;\n${ttls.map((t) => `  ip saddr 169.254.169.254 tcp sport 80 ip ttl ${t} counter`).join('\n')}\n }\n}\n`,
      });
    probe(A, [1, 5]);
    probe(B, [2]);
    await imdsGet(A, '/latest/meta-data/instance-id');
    await imdsGet(B, '/latest/meta-data/instance-id');
    expect(count(A, 1)).toBeGreaterThan(0);
    expect(count(B, 2)).toBeGreaterThan(0);
    await net.update({ ...A, metadataHopLimit: 5 });
    await imdsGet(A, '/latest/meta-data/instance-id');
    expect(count(A, 5)).toBeGreaterThan(0);
    await net.update(A);
  });

  test('instances of one VPC talk (through the host), other VPCs cannot, and the host reaches them all', async () => {
    // A tiny web server inside B and inside C.
    for (const s of [B, C]) {
      const child = spawn('ip', ['netns', 'exec', ns(s), process.execPath, '-e', `require('http').createServer((q, r) => r.end('${s.instanceId}')).listen(8080, '0.0.0.0', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    }
    expect(await curlIn(A, [`http://${B.privateIp}:8080/`])).toEqual([0, B.instanceId]);
    expect((await curlIn(A, [`http://${C.privateIp}:8080/`], 1))[0]).not.toBe(0);
    expect((await curlIn(C, [`http://${B.privateIp}:8080/`], 1))[0]).not.toBe(0);
    // The host reaches every instance (SSH, health checks).
    for (const s of [B, C]) {
      expect(await curlIn(undefined, [`http://${s.privateIp}:8080/`])).toEqual([0, s.instanceId]);
    }
  });

  test('instances cannot reach the host\'s other services', async () => {
    hostServer = createServer((_, r) => r.end('host')).listen(0, '0.0.0.0');
    await new Promise((r) => hostServer.once('listening', r));
    const port = (hostServer.address() as AddressInfo).port;
    expect(await curlIn(undefined, [`http://127.0.0.1:${port}/`])).toEqual([0, 'host']);
    expect((await curlIn(A, [`http://10.${n}.0.1:${port}/`], 1))[0]).not.toBe(0);
  });

  test('a table changed behind its back is repaired from what it really holds', async () => {
    const { veth } = netNames(net.tag, A.instanceId);
    spawnSync('nft', ['delete', 'element', 'inet', net.table, 'hop_limit', `{ "${veth}" }`]);
    await net.update({ ...A, metadataHopLimit: 3 });
    const hop = spawnSync('nft', ['list', 'map', 'inet', net.table, 'hop_limit'], { encoding: 'utf8' }).stdout;
    expect(hop).toContain(`"${veth}" : jump ttl_3`);
    await net.update(A);
    expect(await imdsGet(A, '/latest/meta-data/instance-id')).toEqual([0, A.instanceId]);
  });

  test('plugging again changes nothing and keeps the instance reachable', async () => {
    const before = spawnSync('ip', ['-j', 'link', 'show', 'dev', netNames(net.tag, A.instanceId).veth], { encoding: 'utf8' }).stdout;
    expect(await net.plug(A)).toEqual({ netnsPath: `/run/netns/${ns(A)}` });
    const after = spawnSync('ip', ['-j', 'link', 'show', 'dev', netNames(net.tag, A.instanceId).veth], { encoding: 'utf8' }).stdout;
    expect(JSON.parse(after)[0].ifindex).toBe(JSON.parse(before)[0].ifindex);
    expect(await imdsGet(A, '/latest/meta-data/instance-id')).toEqual([0, A.instanceId]);
    expect(await net.plugged()).toEqual(expect.arrayContaining([A.instanceId, B.instanceId, C.instanceId]));
  });

  test('a plug that fails midway unwinds every step; an address in use is refused', async () => {
    const D: PlugSpec = { instanceId: 'i-0d0000000000000d4', privateIp: `10.${n}.0.14`, subnetCidr: `10.${n}.0.0/20`, macAddress: '01:00:00:0d:00:04', metadataHopLimit: 1 };
    const names = netNames(net.tag, D.instanceId);
    // A multicast MAC passes the format check; the kernel refuses it after the namespace exists.
    await expect(net.plug(D)).rejects.toThrow();
    expect(existsSync(`/run/netns/${names.netns}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${names.veth}`)).toBe(false);
    await expect(net.plug({ ...D, macAddress: '02:00:00:0d:00:04', privateIp: B.privateIp, subnetCidr: B.subnetCidr })).rejects.toThrow(/already in use/);
    expect(existsSync(`/run/netns/${names.netns}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${names.veth}`)).toBe(false);
  });

  test('a restarted server adopts what is plugged: elements, identity and all', async () => {
    const again = new LinuxHostNetwork({ home, imdsPort });
    await again.init();
    expect(await again.instanceAt(B.privateIp)).toBe(B.instanceId);
    expect(await imdsGet(B, '/latest/meta-data/instance-id')).toEqual([0, B.instanceId]);
    expect(await curlIn(A, [`http://${B.privateIp}:8080/`])).toEqual([0, B.instanceId]);
  });

  test('sweep removes what no known instance owns: a half-made plug, a stray element', async () => {
    const E = 'i-0e0000000000000e5';
    const names = netNames(net.tag, E);
    // What a crash between the steps of a plug leaves: a namespace, a veth without its alias, an element.
    spawnSync('ip', ['netns', 'add', names.netns]);
    spawnSync('ip', ['link', 'add', names.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', names.netns]);
    spawnSync('nft', ['add', 'element', 'inet', net.table, 'hop_limit', `{ "${names.veth}" : jump ttl_1 }`]);
    const gone = await net.sweep([A.instanceId, B.instanceId, C.instanceId]);
    expect(gone.sort()).toEqual([names.netns, names.veth].sort());
    expect(await LinuxHostNetwork.leftovers(net.tag)).toMatchObject({ links: expect.not.arrayContaining([names.veth]), netns: expect.not.arrayContaining([names.netns]) });
    expect(spawnSync('nft', ['list', 'table', 'inet', net.table], { encoding: 'utf8' }).stdout).not.toContain(names.veth);
    expect(await imdsGet(A, '/latest/meta-data/instance-id')).toEqual([0, A.instanceId]);
  });

  test('unplug removes everything it made, and can be repeated', async () => {
    const names = netNames(net.tag, C.instanceId);
    await net.unplug(C.instanceId);
    await net.unplug(C.instanceId);
    expect(existsSync(`/run/netns/${names.netns}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${names.veth}`)).toBe(false);
    expect(spawnSync('nft', ['list', 'table', 'inet', net.table], { encoding: 'utf8' }).stdout).not.toContain(names.veth);
    expect(await net.instanceAt(C.privateIp)).toBeUndefined();
  });

  test('close leaves no namespace, link or table behind', async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await net.close();
    expect(await LinuxHostNetwork.leftovers(net.tag)).toEqual({ netns: [], links: [], table: false });
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(`cu-${net.tag}-`);
  });
});
