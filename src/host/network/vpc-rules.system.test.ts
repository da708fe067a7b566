// System test (root): the generated rulesets loaded into scratch namespaces, and a tiny real
// topology that proves what they mean. One "VPC" namespace routes between three "instances"
// (bare namespaces, plugged like H2's data plane: a veth each, the subnet router /32 and proxy ARP
// on the VPC end, a /32 route per private IP) and a "host" namespace on its uplink, which plays the
// internet and the metadata/DNS services and the API's endpoint. Packets are sent with busybox nc; servers are tiny node
// processes that answer "<remote address> <local address>". Everything lives in namespaces this
// file makes (random names) and goes with them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { requires } from '../../../test/requires.js';
import { tableScript } from './nft.js';
import { closedVpcTableScript, vpcTableScript, type VpcRulesOptions } from './vpc-rules.js';
import type { InterfaceSpec, SecurityGroupSpec, SgRuleSpec, VpcSpec } from './vpc-spec.js';

const needs = requires({ root: true, commands: ['ip', 'nft', 'busybox', 'node'] });

const rnd = Math.random().toString(16).slice(2, 8);
const NS = { vpc: `cu-h1test-${rnd}-v`, host: `cu-h1test-${rnd}-h`, a: `cu-h1test-${rnd}-a`, b: `cu-h1test-${rnd}-b`, c: `cu-h1test-${rnd}-c`, load: `cu-h1test-${rnd}-l` };
type Node = 'a' | 'b' | 'c' | 'host';

const opts: VpcRulesOptions = {
  metadata: { address: '169.254.128.1', port: 8775 },
  dns: { address: '169.254.128.1', port: 8776 },
  api: { address: '169.254.128.1', port: 8777 },
  uplink: 'up0',
  ifname: (eni) => `e${eni.slice(-14)}`,
};

function sh(argv: string[], input?: string): string {
  const p = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (p.status !== 0) throw new Error(`${argv.join(' ')} failed (${p.status}): ${p.stderr}`);
  return p.stdout;
}
const ipIn = (ns: string, lines: string[]) => sh(['ip', '-n', ns, '-batch', '-'], lines.join('\n') + '\n');
const inNs = (ns: string, argv: string[], input?: string) => sh(['ip', 'netns', 'exec', ns, ...argv], input);
const load = (ns: string, script: string) => inNs(ns, ['nft', '-f', '-'], script);
const sysctl = (ns: string, kv: string[]) => inNs(ns, ['sysctl', '-qw', ...kv]);

/** A named counter of the probe table in an instance namespace (what reached it, before its own stack). */
function counter(ns: string, name: string): number {
  const m = /packets (\d+)/.exec(inNs(ns, ['nft', 'list', 'counter', 'inet', 'probe', name]));
  return Number(m?.[1] ?? NaN);
}

/** Connect with busybox nc from a namespace; the server's answer, or undefined when no connection was made. */
function connect(from: Node, addr: string, port: number): Promise<string | undefined> {
  const args = ['netns', 'exec', NS[from], 'busybox', 'nc', '-w', '2', addr, String(port)];
  return new Promise((resolve) => {
    const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('close', () => {
      clearTimeout(kill);
      resolve(out.trim() || undefined);
    });
  });
}

// ── the VPC ──────────────────────────────────────────────────────────────────────────────────────
const G_WEB = 'sg-0000000000000a0eb';
const G_APP = 'sg-0000000000000a0b0';
const G_EXTRA = 'sg-0000000000000e0e0';
const G_C = 'sg-00000000000000c0c';
const tcp = (port: number, peer: { cidr?: string; groupId?: string }, to = port): SgRuleSpec => ({ protocol: 'tcp', fromPort: port, toPort: to, ...peer });
const groups = (webExtra: SgRuleSpec[] = []): SecurityGroupSpec[] => [
  // A's egress allows nothing but tcp/7000 to the pool: replies still leave (stateful).
  { groupId: G_WEB, ingress: [tcp(8080, { cidr: '10.9.0.0/16' }), tcp(80, { cidr: '0.0.0.0/0' }), ...webExtra], egress: [tcp(7000, { cidr: '198.18.0.0/16' })] },
  { groupId: G_APP, ingress: [tcp(9000, { groupId: G_C }, 9002), tcp(80, { cidr: '0.0.0.0/0' })], egress: [{ protocol: 'all', cidr: '0.0.0.0/0' }] },
  { groupId: G_EXTRA, ingress: [tcp(9100, { cidr: '10.9.1.20/32' })], egress: [] },
  { groupId: G_C, ingress: [], egress: [{ protocol: 'all', cidr: '0.0.0.0/0' }] },
];
const A: InterfaceSpec = {
  eniId: 'eni-0000000000000aaa1',
  instanceId: 'i-0000000000000aaa1',
  deviceIndex: 0,
  subnetId: 'subnet-00000000000000001',
  subnetCidr: '10.9.1.0/24',
  macAddress: '02:00:00:09:01:0a',
  privateIps: ['10.9.1.10', '10.9.1.11'],
  groups: [G_WEB],
  publicIps: [{ publicIp: '198.18.0.10', privateIp: '10.9.1.10' }],
  sourceDestCheck: true,
  metadataHopLimit: 1,
};
const B: InterfaceSpec = {
  eniId: 'eni-0000000000000bbb2',
  instanceId: 'i-0000000000000bbb2',
  deviceIndex: 0,
  subnetId: 'subnet-00000000000000002',
  subnetCidr: '10.9.2.0/24',
  macAddress: '02:00:00:09:02:0a',
  privateIps: ['10.9.2.10'],
  groups: [G_APP, G_EXTRA],
  publicIps: [{ publicIp: '198.18.0.11', privateIp: '10.9.2.10' }],
  sourceDestCheck: true,
  metadataHopLimit: 2,
};
const C: InterfaceSpec = {
  eniId: 'eni-0000000000000ccc3',
  instanceId: 'i-0000000000000ccc3',
  deviceIndex: 0,
  subnetId: 'subnet-00000000000000001',
  subnetCidr: '10.9.1.0/24',
  macAddress: '02:00:00:09:01:14',
  privateIps: ['10.9.1.20'],
  groups: [G_C],
  publicIps: [],
  sourceDestCheck: true,
  metadataHopLimit: 1,
};
const allow = (egress: boolean) => [
  { ruleNumber: 100, egress, protocol: -1, action: 'allow' as const, cidr: '0.0.0.0/0' },
  { ruleNumber: 32767, egress, protocol: -1, action: 'deny' as const, cidr: '0.0.0.0/0' },
];
function vpc(over: { webExtra?: SgRuleSpec[]; c?: Partial<InterfaceSpec>; dnsSupport?: boolean; aclDenies?: boolean } = {}): VpcSpec {
  return {
    vpcId: 'vpc-00000000000000009',
    accountId: '000000000001',
    region: 'us-east-1',
    cidrs: ['10.9.0.0/16'],
    internetGatewayId: 'igw-00000000000000009',
    dnsSupport: over.dnsSupport ?? true,
    subnets: [
      {
        subnetId: A.subnetId,
        cidr: '10.9.1.0/24',
        routes: [
          { destination: '10.9.0.0/16', target: 'local', targetId: 'local' },
          { destination: '0.0.0.0/0', target: 'internet-gateway', targetId: 'igw-00000000000000009' },
        ],
        networkAcl: { networkAclId: 'acl-1', entries: [...allow(false), ...allow(true)] },
      },
      {
        subnetId: B.subnetId,
        cidr: '10.9.2.0/24',
        routes: [{ destination: '10.9.0.0/16', target: 'local', targetId: 'local' }],
        networkAcl: {
          networkAclId: 'acl-2',
          entries: [
            ...(over.aclDenies === false
              ? []
              : [
                  { ruleNumber: 50, egress: false, protocol: 6, action: 'deny' as const, cidr: '0.0.0.0/0', portFrom: 9001, portTo: 9001 },
                  // Stateless: replies to subnet 1's ports 40000-40010 do not leave.
                  { ruleNumber: 40, egress: true, protocol: 6, action: 'deny' as const, cidr: '10.9.1.0/24', portFrom: 40000, portTo: 40010 },
                ]),
            ...allow(false),
            ...allow(true),
          ],
        },
      },
    ],
    securityGroups: groups(over.webExtra),
    interfaces: [A, B, { ...C, ...over.c }],
  };
}

needs.describe('the VPC rulesets, loaded for real (root)', () => {
  const servers: ChildProcess[] = [];
  const made: string[] = [];

  function serve(ns: string, ports: number[]): Promise<void> {
    const code = `const net=require('net');let n=0;const ports=process.argv.slice(1);for(const p of ports)net.createServer(s=>{s.on('error',()=>{});s.end(s.remoteAddress+' '+s.localAddress+'\\n')}).listen(+p,'0.0.0.0',()=>{if(++n===ports.length)console.log('ready')});`;
    const child = spawn('ip', ['netns', 'exec', ns, 'node', '-e', code, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(child);
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
      child.on('exit', (c) => reject(new Error(`server in ${ns} exited (${c})`)));
    });
  }

  beforeAll(async () => {
    for (const ns of Object.values(NS)) {
      sh(['ip', 'netns', 'add', ns]);
      made.push(ns);
    }
    // rp_filter off: what drops a forged packet must be the table, not the kernel.
    sysctl(NS.vpc, ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    sysctl(NS.host, ['net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    const eA = opts.ifname(A.eniId),
      eB = opts.ifname(B.eniId),
      eC = opts.ifname(C.eniId);
    ipIn(NS.vpc, [
      'link set lo up',
      `link add up0 type veth peer name cvh1 netns ${NS.host}`,
      `link add ${eA} type veth peer name eth0 netns ${NS.a}`,
      `link add ${eB} type veth peer name eth0 netns ${NS.b}`,
      `link add ${eC} type veth peer name eth0 netns ${NS.c}`,
      'addr add 169.254.0.2/32 dev up0',
      `addr add 10.9.1.1/32 dev ${eA}`,
      `addr add 10.9.1.1/32 dev ${eC}`,
      `addr add 10.9.2.1/32 dev ${eB}`,
      ...['up0', eA, eB, eC].map((l) => `link set ${l} up`),
      `route add 10.9.1.10/32 dev ${eA}`,
      `route add 10.9.1.11/32 dev ${eA}`,
      `route add 10.9.1.20/32 dev ${eC}`,
      `route add 10.9.2.10/32 dev ${eB}`,
      `route add 10.9.2.77/32 dev ${eB}`, // a stale route: what it carries is not B's to receive
      'route add 169.254.128.1/32 dev up0',
      // The public subnet's route table sends the rest to the uplink; the VPC's own addresses stay local.
      'rule add pref 90 to 10.9.0.0/16 lookup main',
      'rule add pref 100 from 10.9.1.0/24 lookup 101',
      'route add default via 169.254.128.1 dev up0 onlink table 101',
    ]);
    sysctl(
      NS.vpc,
      [eA, eB, eC].map((l) => `net.ipv4.conf.${l}.proxy_arp=1`),
    );
    ipIn(NS.host, [
      'link set lo up',
      'addr add 169.254.128.1/32 dev cvh1',
      'addr add 198.18.0.1/32 dev cvh1',
      'link set cvh1 up',
      'route add 198.18.0.10/32 via 169.254.0.2 dev cvh1 onlink src 198.18.0.1',
      'route add 198.18.0.11/32 via 169.254.0.2 dev cvh1 onlink src 198.18.0.1',
      'route add default via 169.254.0.2 dev cvh1 onlink',
    ]);
    for (const [ns, i, gw] of [
      [NS.a, A, '10.9.1.1'],
      [NS.b, B, '10.9.2.1'],
      [NS.c, C, '10.9.1.1'],
    ] as const) {
      ipIn(ns, ['link set lo up', ...i.privateIps.map((ip) => `addr add ${ip}/24 dev eth0`), 'link set eth0 up', `route add default via ${gw} dev eth0`]);
    }
    // C forges its source towards A's secondary address (only there, so its other traffic is honest),
    // and connects to B:9002 from ports 40000-40010 (busybox nc cannot choose its source port).
    ipIn(NS.c, ['addr add 10.9.1.99/32 dev eth0', 'route add 10.9.1.11/32 dev eth0 src 10.9.1.99']);
    load(
      NS.c,
      `table ip probe {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip daddr 10.9.2.10 tcp dport 9002 snat to 10.9.1.20:40000-40010
  }
}`,
    );
    // What reaches the instances, counted before their own stack.
    load(
      NS.a,
      `table inet probe {
  counter spoofed {}
  counter md_ttl {}
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip saddr 10.9.1.99 tcp dport 8080 counter name spoofed
    ip saddr 169.254.169.254 tcp sport 80 ip ttl 1 counter name md_ttl
  }
}`,
    );
    load(
      NS.b,
      `table inet probe {
  counter stale {}
  counter md_ttl {}
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip daddr 10.9.2.77 counter name stale
    ip saddr 169.254.169.254 tcp sport 80 ip ttl 2 counter name md_ttl
  }
}`,
    );
    await Promise.all([serve(NS.a, [80, 8080, 8081]), serve(NS.b, [80, 9000, 9001, 9002, 9100]), serve(NS.host, [7000, 7001, 8775, 8776, 8777])]);
  });

  afterAll(() => {
    for (const s of servers) s.kill('SIGKILL');
    for (const ns of made) spawnSync('ip', ['netns', 'del', ns]);
  });

  /** [from, address, port, answer (undefined: no connection)] */
  type Case = [Node, string, number, string | undefined];
  async function matrix(cases: [string, ...Case][]): Promise<void> {
    const got = await Promise.all(cases.map(([, from, addr, port]) => connect(from, addr, port)));
    const rows = (answers: (string | undefined)[]) => cases.map(([name], i) => `${name}: ${answers[i] ?? '-'}`);
    expect(rows(got)).toEqual(rows(cases.map((c) => c[4])));
  }

  test('the first table: security groups, ACLs, gateway, NAT, metadata, DNS and the API endpoint', async () => {
    load(NS.vpc, closedVpcTableScript()); // what plug leaves, replaced by the first applyVpc
    load(NS.vpc, vpcTableScript(vpc(), opts));
    await matrix([
      ['group reference, across subnets', 'c', '10.9.2.10', 9000, '10.9.1.20 10.9.2.10'],
      ['ACL deny before the group allow', 'c', '10.9.2.10', 9001, undefined],
      ['ACLs are stateless: the reply to a denied port does not leave', 'c', '10.9.2.10', 9002, undefined],
      ['a second group adds up', 'c', '10.9.2.10', 9100, '10.9.1.20 10.9.2.10'],
      ['egress rules of the sender count', 'a', '10.9.2.10', 9000, undefined],
      ['same subnet; the reply leaves though egress allows nothing (stateful)', 'c', '10.9.1.10', 8080, '10.9.1.20 10.9.1.10'],
      ['across subnets', 'b', '10.9.1.10', 8080, '10.9.2.10 10.9.1.10'],
      ['a port no rule allows', 'b', '10.9.1.10', 8081, undefined],
      ['a secondary private IP', 'b', '10.9.1.11', 8080, '10.9.2.10 10.9.1.11'],
      ['the host reaches a public IP (1:1 NAT)', 'host', '198.18.0.10', 80, '198.18.0.1 10.9.1.10'],
      ['the host is not in the rule of 8080', 'host', '198.18.0.10', 8080, undefined],
      ['an elastic IP in a private subnet is unreachable', 'host', '198.18.0.11', 80, undefined],
      ['private addresses are not reachable from the uplink', 'host', '10.9.1.10', 80, undefined],
      ['out through the gateway, SNATed to the public IP', 'a', '198.18.0.1', 7000, '198.18.0.10 198.18.0.1'],
      ['out, but not allowed by egress', 'a', '198.18.0.1', 7001, undefined],
      ['no public IP, no internet', 'c', '198.18.0.1', 7000, undefined],
      ['a private subnet has no internet, elastic IP or not', 'b', '198.18.0.1', 7000, undefined],
      ['metadata, exempt from egress rules; the remote address names the interface', 'a', '169.254.169.254', 80, '10.9.1.10 169.254.128.1'],
      ['metadata from a private subnet', 'b', '169.254.169.254', 80, '10.9.2.10 169.254.128.1'],
      ['DNS at the VPC base + 2', 'c', '10.9.0.2', 53, '10.9.1.20 169.254.128.1'],
      ['DNS at 169.254.169.253', 'c', '169.254.169.253', 53, '10.9.1.20 169.254.128.1'],
      ['the API endpoint at the VPC base + 2, port 443, exempt from egress rules', 'a', '10.9.0.2', 443, '10.9.1.10 169.254.128.1'],
      ['the API endpoint from a private subnet', 'b', '10.9.0.2', 443, '10.9.2.10 169.254.128.1'],
      ['not at 169.254.169.253:443', 'c', '169.254.169.253', 443, undefined],
      ['base + 2 on any other port', 'c', '10.9.0.2', 8777, undefined],
      ['the host end is not reachable directly', 'c', '169.254.128.1', 8775, undefined],
      ["the endpoint's port on the host end directly", 'c', '169.254.128.1', 8777, undefined],
      ['a forged source is dropped', 'c', '10.9.1.11', 8080, undefined],
      ["a destination that is not the interface's is dropped", 'c', '10.9.2.77', 80, undefined],
    ]);
    expect(counter(NS.a, 'spoofed')).toBe(0);
    expect(counter(NS.b, 'stale')).toBe(0);
    // Metadata answers arrive with the interface's hop limit as TTL.
    expect(counter(NS.a, 'md_ttl')).toBeGreaterThan(0);
    expect(counter(NS.b, 'md_ttl')).toBeGreaterThan(0);
  });

  test('a new table replaces the old one at once: rules added, source/dest check off, DNS off, ACL entries gone', async () => {
    load(NS.vpc, vpcTableScript(vpc({ webExtra: [tcp(8081, { cidr: '10.9.0.0/16' })], c: { sourceDestCheck: false }, dnsSupport: false, aclDenies: false }), opts));
    await matrix([
      ['the added rule', 'b', '10.9.1.10', 8081, '10.9.2.10 10.9.1.10'],
      ['the ACL entries removed', 'c', '10.9.2.10', 9001, '10.9.1.20 10.9.2.10'],
      ['the replies to ports 40000-40010 leave again', 'c', '10.9.2.10', 9002, '10.9.1.20 10.9.2.10'],
      ['DNS support off', 'c', '10.9.0.2', 53, undefined],
      ['and with it the API endpoint at base + 2', 'c', '10.9.0.2', 443, undefined],
      ['metadata still', 'c', '169.254.169.254', 80, '10.9.1.20 169.254.128.1'],
      ['still not from the uplink', 'host', '198.18.0.10', 8080, undefined],
      // The forged SYN now reaches A (its answer has no way back: the connection still fails).
      ['a forged source without source/dest check', 'c', '10.9.1.11', 8080, undefined],
    ]);
    expect(counter(NS.a, 'spoofed')).toBeGreaterThan(0);
  });

  test('a closed table forwards nothing; the next table opens again', async () => {
    load(NS.vpc, closedVpcTableScript());
    await matrix([
      ['between instances', 'c', '10.9.1.10', 8080, undefined],
      ['metadata', 'a', '169.254.169.254', 80, undefined],
      ['from the host', 'host', '198.18.0.10', 80, undefined],
    ]);
    load(NS.vpc, vpcTableScript(vpc(), opts));
    await matrix([['between instances', 'c', '10.9.1.10', 8080, '10.9.1.20 10.9.1.10']]);
  });

  test('the host table: uplinks reach only the metadata, DNS and API endpoint ports of the host', async () => {
    load(NS.host, tableScript({ table: 'cumulo_h1t', uplinkPattern: 'cvh1*', imdsPort: 8775, dnsPort: 8776, apiPort: 8777, egress: false }));
    await matrix([
      ['a host service', 'a', '198.18.0.1', 7000, undefined],
      ['metadata', 'a', '169.254.169.254', 80, '10.9.1.10 169.254.128.1'],
      ['DNS', 'c', '10.9.0.2', 53, '10.9.1.20 169.254.128.1'],
      ['the API endpoint', 'c', '10.9.0.2', 443, '10.9.1.20 169.254.128.1'],
      ['the host reaches a public IP (replies come back in)', 'host', '198.18.0.10', 80, '198.18.0.1 10.9.1.10'],
    ]);
    // Loading again (a server restart) is idempotent.
    load(NS.host, tableScript({ table: 'cumulo_h1t', uplinkPattern: 'cvh1*', imdsPort: 8775, dnsPort: 8776, apiPort: 8777, egress: true }));
    expect(inNs(NS.host, ['nft', 'list', 'table', 'inet', 'cumulo_h1t'])).toContain('masquerade');
  });

  test('big tables load in one transaction: a group with 1,000 rules, a VPC with 1,000 interfaces', () => {
    const many: SgRuleSpec[] = Array.from({ length: 1000 }, (_, i) => tcp(1000 + i, { cidr: `10.${i % 250}.${i >> 2}.0/24` }));
    const big = vpc();
    big.securityGroups[0] = { ...big.securityGroups[0]!, ingress: many };
    const ifaces: InterfaceSpec[] = Array.from({ length: 1000 }, (_, i) => ({
      ...C,
      eniId: `eni-${(0x100000 + i).toString(16).padStart(17, '0')}`,
      privateIps: [`10.9.${4 + (i >> 8)}.${i & 255}`],
      groups: i % 2 ? [G_WEB] : [G_APP, G_EXTRA],
      publicIps: i % 3 ? [] : [{ publicIp: `198.18.${8 + (i >> 8)}.${i & 255}`, privateIp: `10.9.${4 + (i >> 8)}.${i & 255}` }],
      metadataHopLimit: 1 + (i % 3),
    }));
    big.interfaces = [...big.interfaces, ...ifaces];
    const script = vpcTableScript(big, opts);
    const t0 = performance.now();
    load(NS.load, script);
    load(NS.load, script); // and replaces itself
    const ms = performance.now() - t0;
    console.log(`two loads of a table with ${script.split('\n').length} lines (${(script.length / 1024).toFixed(0)} KiB): ${ms.toFixed(0)} ms`);
    const listed = inNs(NS.load, ['nft', 'list', 'table', 'inet', 'vpc']);
    expect(listed).toContain(`"${opts.ifname(ifaces[999]!.eniId)}"`);
    expect(inNs(NS.load, ['nft', 'list', 'chain', 'inet', 'vpc', 'sg_0000000000000a0eb_in']).match(/accept/g)!.length).toBeGreaterThan(100);
  });
});
