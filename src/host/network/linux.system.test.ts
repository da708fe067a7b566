// System test (root): the real LinuxHostNetwork with hand-written VPC specs and fake "instances"
// (bare network namespaces with busybox listening, no containers), plus the real metadata service
// and resolver, and a stand-in for the API's endpoint. Two VPCs use the same CIDR, and an instance of
// each the same private address: each stays itself (public IPs, metadata, DNS, the API endpoint at
// base+2:443 and nothing else of the host), neither reaches the other's private addresses; hot
// attach and detach, secondary IPs, adoption by a new server, removal; and nothing is left behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { requires } from '../../../test/requires.js';
import { DnsServer } from '../dns/server.js';
import { fixtureMetadata } from '../imds/fixture.js';
import { ImdsServer } from '../imds/server.js';
import { LinuxHostNetwork } from './linux.js';
import { eniLink, instanceNetns, uplinkName, vpcNetns } from './names.js';
import type { InterfaceSpec, SecurityGroupSpec, SubnetSpec, VpcSpec } from './vpc-spec.js';

const needs = requires({ root: true, commands: ['ip', 'nft', 'curl', 'busybox'] });

// Private addresses never reach the host's routing table: any CIDR will do, the same in both VPCs.
// Public addresses are routed on the host: a pool of this file's own.
const POOL = `198.19.${200 + (process.pid % 50)}.0/24`;
const P = (n: number) => POOL.replace(/0\/24$/, String(n));

const VPC_A = 'vpc-0a00000000000000a';
const VPC_B = 'vpc-0b00000000000000b';
const VPC_C = 'vpc-0c00000000000000c';
const SG = 'sg-0f00000000000000f';
const open: SecurityGroupSpec = { groupId: SG, ingress: [{ protocol: 'all', cidr: '0.0.0.0/0' }], egress: [{ protocol: 'all', cidr: '0.0.0.0/0' }] };
const acl = {
  networkAclId: 'acl-0f00000000000000f',
  entries: [
    { ruleNumber: 100, egress: false, protocol: -1, action: 'allow' as const, cidr: '0.0.0.0/0' },
    { ruleNumber: 100, egress: true, protocol: -1, action: 'allow' as const, cidr: '0.0.0.0/0' },
    { ruleNumber: 32767, egress: false, protocol: -1, action: 'deny' as const, cidr: '0.0.0.0/0' },
    { ruleNumber: 32767, egress: true, protocol: -1, action: 'deny' as const, cidr: '0.0.0.0/0' },
  ],
};
const subnets = (igw: string): SubnetSpec[] => [
  {
    subnetId: 'subnet-0e0000000000000e1',
    cidr: '10.77.0.0/24',
    routes: [
      { destination: '10.77.0.0/16', target: 'local', targetId: 'local' },
      { destination: '0.0.0.0/0', target: 'internet-gateway', targetId: igw },
    ],
    networkAcl: acl,
  },
  { subnetId: 'subnet-0e0000000000000e2', cidr: '10.77.1.0/24', routes: [{ destination: '10.77.0.0/16', target: 'local', targetId: 'local' }], networkAcl: acl },
];
const vpc = (vpcId: string, interfaces: InterfaceSpec[]): VpcSpec => ({
  vpcId,
  accountId: '123456789012',
  region: 'us-east-1',
  cidrs: ['10.77.0.0/16'],
  internetGatewayId: `igw-${vpcId.slice(4)}`,
  dnsSupport: true,
  subnets: subnets(`igw-${vpcId.slice(4)}`),
  securityGroups: [open],
  interfaces,
});
let macs = 0;
const nic = (instanceId: string, eniId: string, deviceIndex: number, privateIps: string[], publicIps: string[] = []): InterfaceSpec => ({
  eniId,
  instanceId,
  deviceIndex,
  subnetId: privateIps[0]!.startsWith('10.77.1.') ? 'subnet-0e0000000000000e2' : 'subnet-0e0000000000000e1',
  subnetCidr: privateIps[0]!.startsWith('10.77.1.') ? '10.77.1.0/24' : '10.77.0.0/24',
  macAddress: `02:00:00:77:00:${(++macs).toString(16).padStart(2, '0')}`,
  privateIps,
  groups: [SG],
  publicIps: publicIps.map((p) => ({ publicIp: p, privateIp: privateIps[0]! })),
  sourceDestCheck: true,
  metadataHopLimit: 1,
});

const A1 = 'i-0aaaaaaaa000000a1';
const A2 = 'i-0aaaaaaaa000000a2';
const A3 = 'i-0aaaaaaaa000000a3';
const B1 = 'i-0bbbbbbbb000000b1';
const C1 = 'i-0cccccccc000000c1';
const a1 = nic(A1, 'eni-0e00000000000a1e0', 0, ['10.77.0.10'], [P(2)]);
const a1eth1 = nic(A1, 'eni-0e00000000000a1e1', 1, ['10.77.1.20']);
const a2 = nic(A2, 'eni-0e00000000000a2e0', 0, ['10.77.0.11']);
const a3 = nic(A3, 'eni-0e00000000000a3e0', 0, ['10.77.1.30'], [P(4)]);
// The same private address as A1, in the other VPC.
const b1 = nic(B1, 'eni-0e00000000000b1e0', 0, ['10.77.0.10'], [P(3)]);

/** A command, asynchronously (the servers answering live in this process): exit code and stdout. */
function sh(argv: string[], timeoutMs = 8000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

needs.describe('LinuxHostNetwork: the VPC data plane (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-net-'));
  let net: LinuxHostNetwork;
  let imds: ImdsServer;
  let dns: DnsServer;
  let ports = { imds: 0, dns: 0, api: 0, other: 0 };
  /** The API's endpoint (a TCP stand-in: it says who connected where), and some other service of the host (the API's own port). */
  let endpoint: Server;
  let other: Server;
  const listeners: ChildProcess[] = [];
  /** (vpc, private IP) → instance: what the store would say. */
  const holders = new Map<string, string>([
    [`${VPC_A} 10.77.0.10`, A1],
    [`${VPC_A} 10.77.0.11`, A2],
    [`${VPC_B} 10.77.0.10`, B1],
  ]);
  const ns = (id: string) => instanceNetns(net.tag, id);
  const ipj = <T>(netns: string | undefined, args: string[]) =>
    JSON.parse(spawnSync('ip', [...(netns ? ['-n', netns] : []), '-j', ...args], { encoding: 'utf8' }).stdout || '[]') as T;

  /** Connect to ip:8080 (from inside an instance's namespace, or from the host): what the listener said, '' when nothing answered. */
  async function hello(from: string | undefined, ip: string): Promise<string> {
    const nc = ['busybox', 'nc', '-w', '1', ip, '8080'];
    const r = await sh(from ? ['ip', 'netns', 'exec', ns(from), ...nc] : nc, 4000);
    return r.out.trim();
  }

  async function listen(id: string): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', ns(id), 'busybox', 'nc', '-ll', '-p', '8080', '-e', 'echo', id], { stdio: 'ignore' });
    listeners.push(child);
    for (let i = 0; i < 50; i++) {
      if ((await hello(id, '127.0.0.1')) === id) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no listener in ${id}`);
  }

  const metadata = (id: string) => sh(['ip', 'netns', 'exec', ns(id), 'curl', '-s', '-m', '3', 'http://169.254.169.254/latest/meta-data/instance-id']);

  beforeAll(async () => {
    imds = new ImdsServer({
      lookup: async (ip, local) => {
        const id = holders.get(`${net.vpcAt(local)} ${ip}`);
        return id ? fixtureMetadata({ instanceId: id, privateIp: ip }) : undefined;
      },
    });
    dns = new DnsServer({
      lookup: async (q) => ({
        rcode: 'NOERROR',
        answers: [{ name: q.name, type: 'A', data: q.vpcId === VPC_A ? '10.77.9.1' : q.vpcId === VPC_B ? '10.77.9.2' : '10.77.9.9', ttl: 60 }],
      }),
      vpcAt: (a) => net.vpcAt(a),
    });
    const tcp = (answer: (s: Socket) => string) =>
      new Promise<[Server, number]>((resolve) => {
        const srv = createServer((s) => {
          s.on('error', () => undefined);
          s.end(answer(s));
        });
        srv.listen(0, '0.0.0.0', () => resolve([srv, (srv.address() as { port: number }).port]));
      });
    const [e, apiPort] = await tcp((s) => `endpoint ${s.remoteAddress} ${s.localAddress}\n`);
    const [o, otherPort] = await tcp(() => 'other\n');
    endpoint = e;
    other = o;
    ports = { imds: await imds.listen(0, '0.0.0.0'), dns: await dns.listen(0, '0.0.0.0'), api: apiPort, other: otherPort };
    net = new LinuxHostNetwork({ home, imdsPort: ports.imds, dnsPort: ports.dns, apiPort: ports.api, publicPool: POOL, egress: false, onUplink: () => dns.refresh() });
    await net.init();
    // Plugged before their VPC's first apply (a launch can overtake its vpc.sync): closed until then.
    for (const [id, vpcId, enis] of [
      [A1, VPC_A, [a1]],
      [A2, VPC_A, [a2]],
      [B1, VPC_B, [b1]],
    ] as const) {
      expect(await net.plug({ instanceId: id, vpcId, interfaces: [...enis] })).toEqual({ netnsPath: `/run/netns/${ns(id)}` });
    }
    for (const id of [A1, A2, B1]) await listen(id);
    expect(await hello(A2, '10.77.0.10')).toBe(''); // closed: nothing forwarded yet
    await net.applyVpc(vpc(VPC_A, [a1, a2]));
    await net.applyVpc(vpc(VPC_B, [b1]));
  });

  afterAll(async () => {
    for (const c of listeners) c.kill('SIGKILL');
    await imds?.close();
    await dns?.close();
    endpoint?.close();
    other?.close();
    try {
      await net?.close();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('each instance has its namespace with eth0 (its MAC, its address, default via the subnet router); each VPC its namespace and uplink', () => {
    const [eth0] = ipj<{ address: string; addr_info: { family: string; local: string; prefixlen: number }[] }[]>(ns(A2), ['addr', 'show', 'dev', 'eth0']);
    expect(eth0!.address).toBe(a2.macAddress);
    expect(eth0!.addr_info.filter((a) => a.family === 'inet')).toMatchObject([{ local: '10.77.0.11', prefixlen: 24 }]);
    expect(spawnSync('ip', ['-n', ns(A2), 'route', 'show', 'default'], { encoding: 'utf8' }).stdout).toContain('default via 10.77.0.1 dev eth0');
    // Not forwarding, as a booted Linux starts (the host does forward; a new namespace copies that).
    expect(spawnSync('ip', ['netns', 'exec', ns(A2), 'cat', '/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).stdout.trim()).toBe('0');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
    for (const v of [VPC_A, VPC_B]) {
      const n = net.vpcNames(v);
      expect(n.netns).toBe(vpcNetns(net.tag, v));
      expect(existsSync(`/run/netns/${n.netns}`)).toBe(true);
      expect(n.uplink).toBe(uplinkName(net.tag, v));
      expect(n.hostEnd).toMatch(/^169\.254\.(1[2-9]\d|2[0-5]\d)\.\d+$/);
      expect(net.vpcAt(n.hostEnd!)).toBe(v);
      expect(ipj<{ ifalias?: string }[]>(undefined, ['link', 'show', 'dev', n.uplink])[0]!.ifalias).toBe(v);
      const [up] = ipj<{ addr_info: { local: string }[] }[]>(undefined, ['addr', 'show', 'dev', n.uplink]);
      expect(up!.addr_info.map((a) => a.local)).toEqual(expect.arrayContaining([n.hostEnd, P(1)]));
      expect(spawnSync('ip', ['rule', 'show', 'table', String(n.table)], { encoding: 'utf8' }).stdout).toContain(`from ${n.hostEnd} lookup ${n.table}`);
    }
    const links = ipj<{ ifname: string; ifalias?: string }[]>(vpcNetns(net.tag, VPC_A), ['link', 'show']);
    expect(links.find((l) => l.ifname === eniLink(a1.eniId))?.ifalias).toBe(`${A1}/${a1.eniId}/eth0`);
    expect(net.vpcNames(VPC_A).hostEnd).not.toBe(net.vpcNames(VPC_B).hostEnd);
  });

  test('the host reaches each instance at its public IP: the same private address in two VPCs is two instances', async () => {
    expect(await hello(undefined, P(2))).toBe(A1);
    expect(await hello(undefined, P(3))).toBe(B1);
    // Private addresses are never routed to a VPC on the host.
    const via = spawnSync('ip', ['-j', 'route', 'get', '10.77.0.10'], { encoding: 'utf8' }).stdout;
    expect(via).not.toContain(`"cv${net.tag}`);
  });

  test('instances of one VPC reach each other; another VPC only through public IPs, from an instance that has one', async () => {
    expect(await hello(A2, '10.77.0.10')).toBe(A1);
    expect(await hello(A1, '10.77.0.11')).toBe(A2);
    // 10.77.0.11 is A2's in VPC A; VPC B has no such interface.
    expect(await hello(B1, '10.77.0.11')).toBe('');
    // Public to public: A1 (public IP) reaches B1's; A2 (none) reaches nothing outside.
    expect(await hello(A1, P(3))).toBe(B1);
    expect(await hello(A2, P(3))).toBe('');
  });

  test('metadata: each instance gets its own at 169.254.169.254, the two at the same address too', async () => {
    expect(await metadata(A1)).toEqual({ code: 0, out: A1 });
    expect(await metadata(B1)).toEqual({ code: 0, out: B1 });
    expect(await metadata(A2)).toEqual({ code: 0, out: A2 });
  });

  test('DNS: the resolver at base+2 (in the subnet: answered by ARP) and 169.254.169.253 knows which VPC asks', async () => {
    const ask = async (id: string, server: string) => (await sh(['ip', 'netns', 'exec', ns(id), 'busybox', 'nslookup', 'x.ec2.internal', server])).out;
    expect(await ask(A1, '10.77.0.2')).toContain('10.77.9.1');
    expect(await ask(B1, '10.77.0.2')).toContain('10.77.9.2');
    expect(await ask(A2, '169.254.169.253')).toContain('10.77.9.1');
  });

  test("the API endpoint at base+2:443 reaches the host's endpoint (its local address names the VPC); nothing else of the host is reached", async () => {
    const connect = async (id: string, ip: string, port: number) => (await sh(['ip', 'netns', 'exec', ns(id), 'busybox', 'nc', '-w', '1', ip, String(port)], 4000)).out.trim();
    const hostEnd = (v: string) => net.vpcNames(v).hostEnd!;
    expect(await connect(A1, '10.77.0.2', 443)).toBe(`endpoint 10.77.0.10 ${hostEnd(VPC_A)}`);
    expect(await connect(A2, '10.77.0.2', 443)).toBe(`endpoint 10.77.0.11 ${hostEnd(VPC_A)}`); // no public IP needed
    expect(await connect(B1, '10.77.0.2', 443)).toBe(`endpoint 10.77.0.10 ${hostEnd(VPC_B)}`);
    // Not at the other resolver address, nor on base+2's other ports, nor the host end's port directly.
    expect(await connect(A1, '169.254.169.253', 443)).toBe('');
    expect(await connect(A1, '10.77.0.2', ports.api)).toBe('');
    expect(await connect(A1, hostEnd(VPC_A), ports.api)).toBe('');
    // Another service of the host (the API's own port), at every host address, even from an instance
    // with a public IP and a group that allows everything.
    const hostAddrs = Object.entries(networkInterfaces())
      .filter(([name]) => !name.startsWith('cv'))
      .flatMap(([, list]) => (list ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address));
    expect(hostAddrs.length).toBeGreaterThan(1); // lo and at least one more
    for (const ip of [...hostAddrs, P(1), hostEnd(VPC_A), '10.77.0.1', '10.77.0.2']) {
      expect([ip, await connect(A1, ip, ports.other)]).toEqual([ip, '']);
    }
    // The host itself reaches it (the table closes it only to the VPCs).
    expect((await sh(['busybox', 'nc', '-w', '1', '127.0.0.1', String(ports.other)], 4000)).out.trim()).toBe('other');
  });

  test('applying the same spec again runs nothing', async () => {
    const before = net.commands;
    await net.applyVpc(vpc(VPC_A, [a1, a2]));
    await net.applyVpc(vpc(VPC_B, [b1]));
    expect(net.commands - before).toBe(0);
  });

  test('hot attach: eth1 appears inside the running instance, in the private subnet, and answers from it', async () => {
    const before = net.commands;
    await net.applyVpc(vpc(VPC_A, [a1, a1eth1, a2]));
    // The rules, the VPC namespace, the instance: one process each.
    expect(net.commands - before).toBe(3);
    const [eth1] = ipj<{ address: string; addr_info: { family: string; local: string; prefixlen: number }[] }[]>(ns(A1), ['addr', 'show', 'dev', 'eth1']);
    expect(eth1!.address).toBe(a1eth1.macAddress);
    expect(eth1!.addr_info.filter((a) => a.family === 'inet')).toMatchObject([{ local: '10.77.1.20', prefixlen: 24 }]);
    expect(spawnSync('ip', ['-n', ns(A1), 'rule', 'show'], { encoding: 'utf8' }).stdout).toContain('from 10.77.1.20 lookup 10001');
    expect(await hello(A2, '10.77.1.20')).toBe(A1);
    expect(await hello(A2, '10.77.0.10')).toBe(A1);
  });

  test('a secondary private IP: on eth0 inside and routed to it; removed again', async () => {
    await net.applyVpc(vpc(VPC_A, [{ ...a1, privateIps: ['10.77.0.10', '10.77.0.50'] }, a1eth1, a2]));
    expect(spawnSync('ip', ['-n', ns(A1), 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout).toContain('10.77.0.50/24');
    expect(await hello(A2, '10.77.0.50')).toBe(A1);
    await net.applyVpc(vpc(VPC_A, [a1, a1eth1, a2]));
    expect(spawnSync('ip', ['-n', ns(A1), 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout).not.toContain('10.77.0.50');
    expect(await hello(A2, '10.77.0.50')).toBe('');
  });

  test('hot detach: eth1 goes from the instance, with its rule', async () => {
    await net.applyVpc(vpc(VPC_A, [a1, a2]));
    expect(spawnSync('ip', ['-n', ns(A1), 'link', 'show', 'dev', 'eth1']).status).not.toBe(0);
    expect(spawnSync('ip', ['-n', ns(A1), 'rule', 'show'], { encoding: 'utf8' }).stdout).not.toContain('10001');
    expect(ipj<{ ifname: string }[]>(vpcNetns(net.tag, VPC_A), ['link', 'show']).map((l) => l.ifname)).not.toContain(eniLink(a1eth1.eniId));
    expect(await hello(A2, '10.77.1.20')).toBe('');
    expect(await hello(undefined, P(2))).toBe(A1);
  });

  test('an elastic IP of an instance in a private subnet does not reach it', async () => {
    await net.plug({ instanceId: A3, vpcId: VPC_A, interfaces: [a3] });
    await listen(A3);
    await net.applyVpc(vpc(VPC_A, [a1, a2, a3]));
    expect(await hello(A2, '10.77.1.30')).toBe(A3);
    expect(await hello(undefined, P(4))).toBe('');
    await net.unplug(A3);
    await net.applyVpc(vpc(VPC_A, [a1, a2]));
    expect(spawnSync('ip', ['route', 'show', `${P(4)}/32`], { encoding: 'utf8' }).stdout.trim()).toBe('');
  });

  test('a public IP taken away: its host route goes, and the instance is no longer reached there', async () => {
    await net.applyVpc(vpc(VPC_A, [{ ...a1, publicIps: [] }, a2]));
    expect(spawnSync('ip', ['route', 'show', `${P(2)}/32`], { encoding: 'utf8' }).stdout.trim()).toBe('');
    expect(await hello(undefined, P(2))).toBe('');
    await net.applyVpc(vpc(VPC_A, [a1, a2]));
    expect(spawnSync('ip', ['route', 'show', `${P(2)}/32`], { encoding: 'utf8' }).stdout).toContain(`dev ${uplinkName(net.tag, VPC_A)}`);
    expect(await hello(undefined, P(2))).toBe(A1);
  });

  test('a restarted server adopts what is there: uplinks, instances; an apply rewrites little', async () => {
    const again = new LinuxHostNetwork({ home, imdsPort: ports.imds, dnsPort: ports.dns, apiPort: ports.api, publicPool: POOL, egress: false });
    await again.init();
    expect(again.vpcAt(net.vpcNames(VPC_A).hostEnd!)).toBe(VPC_A);
    expect(again.vpcAt(net.vpcNames(VPC_B).hostEnd!)).toBe(VPC_B);
    expect(await again.plugged()).toEqual({ vpcs: [VPC_A, VPC_B], instances: [A1, A2, B1].sort() });
    const before = again.commands;
    await again.applyVpc(vpc(VPC_A, [a1, a2]));
    // The rules (not known after a restart); the routes replaced once on the host and in the VPC; each
    // instance's namespace read, then its routes replaced once.
    expect(again.commands - before).toBeLessThanOrEqual(7);
    const settled = again.commands;
    await again.applyVpc(vpc(VPC_A, [a1, a2]));
    expect(again.commands).toBe(settled);
    expect(again.vpcNames(VPC_A).hostEnd).toBe(net.vpcNames(VPC_A).hostEnd);
    expect(await hello(A2, '10.77.0.10')).toBe(A1);
    expect(await hello(undefined, P(2))).toBe(A1);
    expect(await metadata(A1)).toEqual({ code: 0, out: A1 });
  });

  test('a plug that fails midway unwinds every step, its new VPC namespace included', async () => {
    // Two interfaces at device index 0: the second pair cannot be made (eth0 exists in the instance).
    const c1 = nic(C1, 'eni-0e00000000000c1e0', 0, ['10.77.0.13']);
    const c2 = nic(C1, 'eni-0e00000000000c1e1', 0, ['10.77.0.12']);
    await expect(net.plug({ instanceId: C1, vpcId: VPC_C, interfaces: [c1, c2] })).rejects.toThrow();
    expect(existsSync(`/run/netns/${ns(C1)}`)).toBe(false);
    expect(existsSync(`/run/netns/${vpcNetns(net.tag, VPC_C)}`)).toBe(false);
    expect((await net.plugged()).instances).not.toContain(C1);
    // Into an existing VPC: its other instances do not notice.
    await expect(net.plug({ instanceId: C1, vpcId: VPC_A, interfaces: [c1, c2] })).rejects.toThrow();
    expect(existsSync(`/run/netns/${ns(C1)}`)).toBe(false);
    expect(ipj<{ ifname: string }[]>(vpcNetns(net.tag, VPC_A), ['link', 'show']).map((l) => l.ifname)).not.toContain(eniLink(c1.eniId));
    expect(await hello(A2, '10.77.0.10')).toBe(A1);
  });

  test('a VPC applied before its instance is plugged (the sync overtook the launch): the plug alone connects it', async () => {
    const c1 = nic(C1, 'eni-0e00000000000c1e0', 0, ['10.77.0.10'], [P(5)]);
    await net.applyVpc(vpc(VPC_C, [c1]));
    expect(existsSync(`/run/netns/${vpcNetns(net.tag, VPC_C)}`)).toBe(true);
    expect(existsSync(`/run/netns/${ns(C1)}`)).toBe(false);
    await net.plug({ instanceId: C1, vpcId: VPC_C, interfaces: [c1] });
    await listen(C1);
    expect(await hello(undefined, P(5))).toBe(C1);
    const before = net.commands;
    await net.applyVpc(vpc(VPC_C, [c1]));
    expect(net.commands - before).toBe(0);
    await net.unplug(C1);
    await net.applyVpc(vpc(VPC_C, []));
    expect(existsSync(`/run/netns/${vpcNetns(net.tag, VPC_C)}`)).toBe(false);
  });

  test("unplug removes the instance's namespace and its pairs, and can be repeated", async () => {
    await net.unplug(A2);
    await net.unplug(A2);
    expect(existsSync(`/run/netns/${ns(A2)}`)).toBe(false);
    expect(ipj<{ ifname: string }[]>(vpcNetns(net.tag, VPC_A), ['link', 'show']).map((l) => l.ifname)).not.toContain(eniLink(a2.eniId));
    expect((await net.plugged()).instances).toEqual([A1, B1].sort());
    await net.applyVpc(vpc(VPC_A, [a1]));
    expect(await hello(undefined, P(2))).toBe(A1);
  });

  test('a spec without interfaces removes the VPC: namespace, uplink, rule, routes', async () => {
    const n = net.vpcNames(VPC_B);
    await net.applyVpc(vpc(VPC_B, []));
    expect(existsSync(`/run/netns/${n.netns}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${n.uplink}`)).toBe(false);
    expect(spawnSync('ip', ['rule', 'show'], { encoding: 'utf8' }).stdout).not.toContain(`lookup ${n.table}`);
    expect(spawnSync('ip', ['route', 'show', 'table', String(n.table)], { encoding: 'utf8' }).stdout.trim()).toBe('');
    expect(spawnSync('ip', ['route', 'show', `${P(3)}/32`], { encoding: 'utf8' }).stdout.trim()).toBe('');
    expect(net.vpcAt(n.hostEnd!)).toBeUndefined();
    expect(await hello(undefined, P(2))).toBe(A1);
    await net.removeVpc(VPC_B); // again: nothing to do
  });

  test('close leaves no namespace, link, table, rule or route behind', async () => {
    for (const c of listeners.splice(0)) c.kill('SIGKILL');
    await net.close();
    expect(await LinuxHostNetwork.leftovers(net.tag)).toEqual({ netns: [], links: [], table: false, rules: [], routes: [] });
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(`cu-${net.tag}-`);
  });
});
