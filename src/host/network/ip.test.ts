import { describe, expect, test } from 'vitest';
import {
  addressing,
  diffObjects,
  eniVpcObjects,
  failedLines,
  hostObjects,
  instanceObjects,
  normalizeDst,
  objectSet,
  observedHost,
  observedInstance,
  observedUplinks,
  observedVpc,
  parseObserved,
  pickUplinkAddress,
  poolFirstAddress,
  subnetTable,
  uplinkIndex,
  vpcObjects,
  type IpObject,
  type ObjectSet,
} from './ip.js';
import { eniLink, hostTableId, instanceNetns, tagOfTable, uplinkName, vpcNetns, vpcOfNetns } from './names.js';
import type { InterfaceSpec, VpcSpec } from './vpc-spec.js';

const eni = (over: Partial<InterfaceSpec> = {}): InterfaceSpec => ({
  eniId: 'eni-0123456789abcdef0',
  instanceId: 'i-0123456789abcdef0',
  deviceIndex: 0,
  subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
  subnetCidr: '172.31.0.0/20',
  macAddress: '02:AB:cd:00:00:01',
  privateIps: ['172.31.0.11'],
  groups: ['sg-0123456789abcdef0'],
  publicIps: [],
  sourceDestCheck: true,
  metadataHopLimit: 1,
  ...over,
});

const spec = (over: Partial<VpcSpec> = {}): VpcSpec => ({
  vpcId: 'vpc-0123456789abcdef0',
  accountId: '123456789012',
  region: 'us-east-1',
  cidrs: ['172.31.0.0/16'],
  internetGatewayId: 'igw-0123456789abcdef0',
  dnsSupport: true,
  subnets: [
    {
      subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
      cidr: '172.31.0.0/20',
      routes: [
        { destination: '172.31.0.0/16', target: 'local', targetId: 'local' },
        { destination: '0.0.0.0/0', target: 'internet-gateway', targetId: 'igw-0123456789abcdef0' },
      ],
      networkAcl: { networkAclId: 'acl-1', entries: [] },
    },
    {
      subnetId: 'subnet-0bbbbbbbbbbbbbbb2',
      cidr: '172.31.16.0/20',
      routes: [
        { destination: '172.31.0.0/16', target: 'local', targetId: 'local' },
        { destination: '10.9.0.0/16', target: 'blackhole', targetId: 'pcx-1' },
      ],
      networkAcl: { networkAclId: 'acl-1', entries: [] },
    },
  ],
  securityGroups: [],
  interfaces: [eni()],
  ...over,
});

const lines = (set: ObjectSet) => diffObjects(new Map(), set).lines;

describe('names', () => {
  test('carry the tag; links fit IFNAMSIZ; ids are checked', () => {
    expect(instanceNetns('ab12', 'i-0123456789abcdef0')).toBe('cu-ab12-9abcdef0');
    expect(vpcNetns('ab12', 'vpc-0123456789abcdef0')).toBe('cu-ab12-vpc-0123456789abcdef0');
    expect(vpcOfNetns('ab12', 'cu-ab12-vpc-0123456789abcdef0')).toBe('vpc-0123456789abcdef0');
    expect(vpcOfNetns('ab12', 'cu-ab12-9abcdef0')).toBeUndefined();
    expect(vpcOfNetns('ab12', 'cu-ff00-vpc-0123456789abcdef0')).toBeUndefined();
    expect(uplinkName('ab12', 'vpc-0123456789abcdef0')).toBe('cvab129abcdef0');
    expect(eniLink('eni-0123456789abcdef0')).toBe('e3456789abcdef0');
    expect(eniLink('eni-0123456789abcdef0')).toHaveLength(15);
    expect(uplinkName('ab12', 'vpc-0123456789abcdef0').length).toBeLessThanOrEqual(15);
    for (const bad of ['vpc-0123; rm -rf /', 'vpc-XYZ', 'i-0123']) expect(() => vpcNetns('ab12', bad)).toThrow();
    expect(() => eniLink('eni-12 3')).toThrow();
    expect(() => instanceNetns('ab12', 'i-0123; reboot')).toThrow();
  });

  test('host tables: the tag and the uplink index, read back', () => {
    const t = hostTableId('ab12', 5);
    expect(t).toBe((0x80000000 | (0xab12 << 15) | 5) >>> 0);
    expect(tagOfTable(t)).toBe('ab12');
    expect(tagOfTable(hostTableId('ffff', 32766))).toBe('ffff');
    expect(hostTableId('ffff', 32766)).toBeLessThan(2 ** 32);
    expect(tagOfTable(254)).toBeUndefined();
    expect(tagOfTable(Number('main'))).toBeUndefined();
    expect(() => hostTableId('ab12', 0)).toThrow();
    expect(() => hostTableId('xyz!', 1)).toThrow();
  });
});

describe('addressing', () => {
  test("the router is the subnet network + 1; the prefix is the subnet's; primary first", () => {
    expect(addressing(eni({ privateIps: ['172.31.0.11', '172.31.0.12'] }))).toEqual({
      ips: ['172.31.0.11', '172.31.0.12'],
      prefix: 20,
      subnet: '172.31.0.0/20',
      gateway: '172.31.0.1',
      mac: '02:ab:cd:00:00:01',
    });
    expect(addressing(eni({ privateIps: ['10.0.1.200'], subnetCidr: '10.0.1.128/25' })).gateway).toBe('10.0.1.129');
  });
  const bad: [string, Partial<InterfaceSpec>][] = [
    ['an IPv6 subnet', { subnetCidr: '2001:db8::/64' }],
    ['a malformed subnet', { subnetCidr: '172.31.0.0' }],
    ['a subnet below /28', { subnetCidr: '172.31.0.0/30' }],
    ['a malformed address', { privateIps: ['172.31.0.256'] }],
    ['an address outside the subnet', { privateIps: ['172.31.99.1'] }],
    ['no address', { privateIps: [] }],
    ['a malformed MAC (it would end up in a command)', { macAddress: '02:00:00:00:00:01; reboot' }],
    ['a multicast MAC', { macAddress: '01:00:00:00:00:01' }],
    ['the router address itself', { privateIps: ['172.31.0.1'] }],
  ];
  test.each(bad)('refuses %s', (_, over) => expect(() => addressing(eni(over))).toThrow());
});

describe('values', () => {
  test('destinations have one spelling', () => {
    expect(normalizeDst('default')).toBe('0.0.0.0/0');
    expect(normalizeDst('10.0.1.5')).toBe('10.0.1.5/32');
    expect(normalizeDst('10.0.1.5/16')).toBe('10.0.0.0/16');
    expect(() => normalizeDst('10.0.0.0/16 dev eth0')).toThrow();
  });
  test("a subnet's table is its network address", () => {
    expect(subnetTable('10.0.1.0/24')).toBe(0x0a000100);
    expect(subnetTable('172.31.16.0/20')).toBe(0xac1f1000);
  });
  test("the pool's first address is the host", () => {
    expect(poolFirstAddress('198.18.0.0/16')).toBe('198.18.0.1');
    expect(poolFirstAddress('198.19.7.0/24')).toBe('198.19.7.1');
    expect(() => poolFirstAddress('198.18.0.0/31')).toThrow();
  });
});

describe('uplink addresses', () => {
  test('from 169.254.128.0/17, stable for a VPC, never a used or reserved one', () => {
    const a = pickUplinkAddress('ab12', 'vpc-0123456789abcdef0', new Set());
    expect(uplinkIndex(a.address)).toBe(a.index);
    expect(a.address).toMatch(/^169\.254\.(1[2-9]\d|2[0-5]\d)\.\d+$/);
    expect(pickUplinkAddress('ab12', 'vpc-0123456789abcdef0', new Set())).toEqual(a);
    const b = pickUplinkAddress('ab12', 'vpc-0123456789abcdef0', new Set([a.address]));
    expect(b.address).not.toBe(a.address);
    expect(pickUplinkAddress('cd34', 'vpc-0123456789abcdef0', new Set()).address).not.toBe(a.address);
  });
  test('skips the metadata and resolver addresses and .0/.255', () => {
    const used = new Set<string>();
    for (let i = 0; i < 600; i++) used.add(pickUplinkAddress('ab12', 'vpc-0fffffffffffffff0', used).address);
    expect(used.has('169.254.169.254')).toBe(false);
    expect([...used].some((x) => /\.(0|255)$/.test(x))).toBe(false);
  });
  test('index only inside the block', () => {
    expect(uplinkIndex('169.254.128.1')).toBe(1);
    expect(uplinkIndex('169.254.128.0')).toBeUndefined();
    expect(uplinkIndex('169.254.0.2')).toBeUndefined();
    expect(uplinkIndex('198.18.0.1')).toBeUndefined();
  });
});

const u = { vpcId: 'vpc-0123456789abcdef0', uplink: 'cvab129abcdef0', hostEnd: '169.254.200.7', table: hostTableId('ab12', 18439), poolFirst: '198.18.0.1' };

describe('host objects of a VPC', () => {
  test("the uplink, its addresses, the replies' table and rule, a /32 per public IP", () => {
    expect(lines(hostObjects(u, ['198.18.0.5']))).toEqual([
      'link set dev cvab129abcdef0 alias vpc-0123456789abcdef0',
      'addr replace 169.254.200.7/32 dev cvab129abcdef0',
      'addr replace 198.18.0.1/32 dev cvab129abcdef0',
      'link set dev cvab129abcdef0 up',
      `route replace default via 169.254.0.2 dev cvab129abcdef0 onlink table ${u.table}`,
      'route replace 198.18.0.5/32 via 169.254.0.2 dev cvab129abcdef0 onlink src 198.18.0.1',
      `rule del pref 1000 from 169.254.200.7/32 lookup ${u.table}`,
      `rule add pref 1000 from 169.254.200.7/32 lookup ${u.table}`,
    ]);
  });
  test('a public IP gone: only its route is removed; nothing changed: nothing runs', () => {
    const before = hostObjects(u, ['198.18.0.5', '198.18.0.6']);
    expect(diffObjects(before, hostObjects(u, ['198.18.0.6'])).lines).toEqual(['route del 198.18.0.5/32']);
    expect(diffObjects(before, before).lines).toEqual([]);
  });
  test('refuses what is not an address', () => {
    expect(() => hostObjects(u, ['198.18.0.5; reboot'])).toThrow();
    expect(() => hostObjects({ ...u, uplink: 'cv ab' }, [])).toThrow();
  });
});

describe('VPC namespace objects', () => {
  const ns = 'cu-ab12-9abcdef0';
  test("base: loopback with base+2, the subnets' tables by their routes, then main with the VPC unreachable", () => {
    const l = lines(vpcObjects(spec(), u.hostEnd, []));
    expect(l).toEqual([
      'addr replace 172.31.0.2/32 dev lo',
      'addr replace 169.254.0.2/32 dev up0',
      'link set dev lo up',
      'link set dev up0 up',
      'route replace unreachable 172.31.0.0/16',
      'route replace 169.254.200.7/32 dev up0',
      // The VPC's own blocks and the host end go on to main unless a route is more specific.
      `route replace throw 172.31.0.0/16 table ${0xac1f0000}`,
      `route replace throw 169.254.200.7/32 table ${0xac1f0000}`,
      `route replace default via 169.254.200.7 dev up0 onlink table ${0xac1f0000}`,
      `route replace throw 172.31.0.0/16 table ${0xac1f1000}`,
      `route replace throw 169.254.200.7/32 table ${0xac1f1000}`,
      `route replace blackhole 10.9.0.0/16 table ${0xac1f1000}`,
      'rule del pref 2000 lookup main',
      'rule add pref 2000 lookup main',
      `rule del pref 1000 from 172.31.0.0/20 lookup ${0xac1f0000}`,
      `rule add pref 1000 from 172.31.0.0/20 lookup ${0xac1f0000}`,
      `rule del pref 1000 from 172.31.16.0/20 lookup ${0xac1f1000}`,
      `rule add pref 1000 from 172.31.16.0/20 lookup ${0xac1f1000}`,
    ]);
  });
  test('a gateway route without an attached gateway is a blackhole (no subnet is public)', () => {
    const l = lines(vpcObjects(spec({ internetGatewayId: undefined }), u.hostEnd, []));
    expect(l).toContain(`route replace blackhole default table ${0xac1f0000}`);
    expect(l.some((x) => x.includes('via 169.254.200.7') && x.includes('table'))).toBe(false);
  });
  test('a route to an interface: via its private IP on its veth while it is plugged here, else a blackhole', () => {
    const base = spec();
    const routed: typeof base = {
      ...base,
      subnets: base.subnets.map((s, n) =>
        n === 1
          ? {
              ...s,
              routes: [
                ...s.routes,
                { destination: '0.0.0.0/0', target: 'interface' as const, targetId: 'i-0123456789abcdef0', eniId: 'eni-0123456789abcdef0', nextHop: '172.31.0.11' },
                // More specific than the VPC's block (middlebox routing): it wins over the throw to main.
                { destination: '172.31.0.0/20', target: 'interface' as const, targetId: 'eni-0123456789abcdef0', eniId: 'eni-0123456789abcdef0', nextHop: '172.31.0.11' },
              ],
            }
          : s,
      ),
    };
    const a = eni({ privateIps: ['172.31.0.11'] });
    const plugged = lines(vpcObjects(routed, u.hostEnd, [{ eni: a, netns: ns }]));
    expect(plugged).toContain(`route replace default via 172.31.0.11 dev e3456789abcdef0 onlink table ${0xac1f1000}`);
    expect(plugged).toContain(`route replace 172.31.0.0/20 via 172.31.0.11 dev e3456789abcdef0 onlink table ${0xac1f1000}`);
    expect(plugged).toContain(`route replace throw 172.31.0.0/16 table ${0xac1f1000}`);
    const unplugged = lines(vpcObjects(routed, u.hostEnd, []));
    expect(unplugged).toContain(`route replace blackhole default table ${0xac1f1000}`);
    expect(unplugged).toContain(`route replace blackhole 172.31.0.0/20 table ${0xac1f1000}`);
    expect(unplugged.some((l) => l.includes('e3456789abcdef0'))).toBe(false);
    // Unplugged later: its routes (on its veth) go with the pair, and the next apply makes them blackholes.
    const after = diffObjects(vpcObjects(routed, u.hostEnd, [{ eni: a, netns: ns }]), vpcObjects(routed, u.hostEnd, []));
    expect(after.lines).toContain(`route replace blackhole default table ${0xac1f1000}`);
  });
  test('a plugged interface: its pair (made from here), the router address, a /32 per private IP', () => {
    const e = eni({ deviceIndex: 1, privateIps: ['172.31.0.11', '172.31.0.12'] });
    expect(lines(objectSet(eniVpcObjects(e, ns)))).toEqual([
      'link del dev e3456789abcdef0',
      `link add name e3456789abcdef0 type veth peer name eth1 netns ${ns} address 02:ab:cd:00:00:01`,
      'link set dev e3456789abcdef0 alias i-0123456789abcdef0/eni-0123456789abcdef0/eth1',
      'addr replace 172.31.0.1/32 dev e3456789abcdef0',
      'link set dev e3456789abcdef0 up',
      'route replace 172.31.0.11/32 dev e3456789abcdef0 src 172.31.0.1',
      'route replace 172.31.0.12/32 dev e3456789abcdef0 src 172.31.0.1',
    ]);
  });
});

describe('instance namespace objects', () => {
  test('eth0: addresses, up, the default route', () => {
    expect(lines(instanceObjects([eni({ privateIps: ['172.31.0.11', '172.31.0.12'] })]))).toEqual([
      'addr replace 172.31.0.11/20 dev eth0',
      'addr replace 172.31.0.12/20 dev eth0',
      'link set dev lo up',
      'link set dev eth0 up',
      'route replace default via 172.31.0.1 dev eth0',
    ]);
  });
  test('eth1: its own table chosen by its source addresses', () => {
    const l = lines(instanceObjects([eni({ deviceIndex: 1, subnetCidr: '172.31.16.0/20', privateIps: ['172.31.16.5', '172.31.16.6'] })]));
    expect(l).toEqual([
      'addr replace 172.31.16.5/20 dev eth1',
      'addr replace 172.31.16.6/20 dev eth1',
      'link set dev lo up',
      'link set dev eth1 up',
      'route replace 172.31.16.0/20 dev eth1 src 172.31.16.5 table 10001',
      'route replace default via 172.31.16.1 dev eth1 table 10001',
      'rule del pref 10001 from 172.31.16.5/32 lookup 10001',
      'rule add pref 10001 from 172.31.16.5/32 lookup 10001',
      'rule del pref 10001 from 172.31.16.6/32 lookup 10001',
      'rule add pref 10001 from 172.31.16.6/32 lookup 10001',
    ]);
  });
  test('a secondary IP removed: its address and rule go', () => {
    const two = instanceObjects([eni({ deviceIndex: 1, subnetCidr: '172.31.16.0/20', privateIps: ['172.31.16.5', '172.31.16.6'] })]);
    const one = instanceObjects([eni({ deviceIndex: 1, subnetCidr: '172.31.16.0/20', privateIps: ['172.31.16.5'] })]);
    expect(diffObjects(two, one).lines).toEqual(['rule del pref 10001 from 172.31.16.6/32 lookup 10001', 'addr del 172.31.16.6/20 dev eth1']);
  });
});

describe('diff', () => {
  const ns = 'cu-ab12-9abcdef0';
  const a = eni();
  const b = eni({ eniId: 'eni-0bbbbbbbbbbbbbbb2', instanceId: 'i-0bbbbbbbbbbbbbbb2', macAddress: '02:00:00:00:00:02', privateIps: ['172.31.0.12'] });
  const both = vpcObjects(spec({ interfaces: [a, b] }), u.hostEnd, [
    { eni: a, netns: ns },
    { eni: b, netns: 'cu-ab12-bbbbbbb2' },
  ]);

  test('hot detach: the pair goes, and with it everything that lived on it (no line for those)', () => {
    const onlyA = vpcObjects(spec({ interfaces: [a] }), u.hostEnd, [{ eni: a, netns: ns }]);
    const plan = diffObjects(both, onlyA);
    expect(plan.lines).toEqual([`link del dev ${eniLink(b.eniId)}`]);
    expect(plan.removed.map((x) => x.dev)).toEqual([eniLink(b.eniId)]);
    expect([...plan.next.keys()].some((k) => k.includes(eniLink(b.eniId)))).toBe(false);
    expect(diffObjects(plan.next, onlyA).lines).toEqual([]);
  });

  test('hot attach: the pair and its settings, nothing else', () => {
    const onlyA = vpcObjects(spec({ interfaces: [a] }), u.hostEnd, [{ eni: a, netns: ns }]);
    const plan = diffObjects(onlyA, both);
    expect(plan.made.map((x) => x.dev)).toEqual([eniLink(b.eniId)]);
    expect(plan.lines.every((l) => l.includes(eniLink(b.eniId)) || l.includes('172.31.0.12'))).toBe(true);
  });

  test('the same interface at another device index (or instance) is made again', () => {
    const moved = vpcObjects(spec({ interfaces: [a, { ...b, deviceIndex: 2 }] }), u.hostEnd, [
      { eni: a, netns: ns },
      { eni: { ...b, deviceIndex: 2 }, netns: 'cu-ab12-bbbbbbb2' },
    ]);
    const plan = diffObjects(both, moved);
    expect(plan.lines[0]).toBe(`link del dev ${eniLink(b.eniId)}`);
    expect(plan.lines).toContain(`link add name ${eniLink(b.eniId)} type veth peer name eth2 netns cu-ab12-bbbbbbb2 address 02:00:00:00:00:02`);
    expect(plan.lines).toContain(`addr replace 172.31.0.1/32 dev ${eniLink(b.eniId)}`);
  });

  test("a partial apply (one instance's plug) removes only what that instance owns", () => {
    const cur = objectSet([...both.values(), { kind: 'route', key: 'route main 9.9.9.9/32', add: [], del: 'route del 9.9.9.9/32' } as IpObject]);
    const plan = diffObjects(cur, objectSet(eniVpcObjects(a, ns)), { owners: new Set([eniLink(a.eniId)]) });
    expect(plan.lines).toEqual([]);
    expect(plan.next.has('route main 9.9.9.9/32')).toBe(true);
    expect(plan.next.size).toBe(cur.size);
  });

  test('recreate: a pair whose peer namespace is new is made again, with its settings', () => {
    const cur = objectSet(eniVpcObjects(a, ns));
    const plan = diffObjects(cur, cur, { recreate: new Set([eniLink(a.eniId)]) });
    expect(plan.lines).toEqual(lines(cur));
  });

  test('reset devices: what lived on a link made elsewhere is made again', () => {
    const cur = instanceObjects([a]);
    const plan = diffObjects(cur, cur, { resetDevs: new Set(['eth0']) });
    expect(plan.lines).toEqual(['addr replace 172.31.0.11/20 dev eth0', 'link set dev eth0 up', 'route replace default via 172.31.0.1 dev eth0']);
  });

  test('read back (how a route was made is not known): routes are replaced once, rules and addresses are not', () => {
    const observed = new Map([...instanceObjects([a])].map(([k, x]) => [k, x.kind === 'route' ? { ...x, add: [] } : x]));
    expect(diffObjects(observed, instanceObjects([a])).lines).toEqual(['route replace default via 172.31.0.1 dev eth0']);
  });

  test('removals may fail (already gone); additions must not, except the stale-twin removal of a rule', () => {
    const plan = diffObjects(instanceObjects([eni({ deviceIndex: 1, privateIps: ['172.31.0.11', '172.31.0.12'] })]), instanceObjects([eni({ deviceIndex: 1 })]));
    expect(plan.optional.every(Boolean)).toBe(true);
    const add = diffObjects(new Map(), instanceObjects([eni({ deviceIndex: 1 })]));
    expect(add.lines.filter((_, i) => add.optional[i])).toEqual(['rule del pref 10001 from 172.31.0.11/32 lookup 10001']);
  });

  test('ip -force numbers the failed lines', () => {
    expect(failedLines('Error: FIB table does not exist.\nCommand failed -:1\nCannot find device "x"\nCommand failed -:3\n')).toEqual([1, 3]);
    expect(failedLines('')).toEqual([]);
  });
});

describe('read back from `ip -j`', () => {
  const vpcOut = [
    JSON.stringify([
      { ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'] },
      { ifname: 'up0', flags: ['BROADCAST', 'UP'] },
      { ifname: 'e3456789abcdef0', flags: ['BROADCAST', 'UP'], ifalias: 'i-0123456789abcdef0/eni-0123456789abcdef0/eth0' },
      { ifname: 'e0000000000000b', flags: ['BROADCAST'] },
    ]),
    JSON.stringify([
      {
        ifname: 'lo',
        addr_info: [
          { family: 'inet', local: '127.0.0.1', prefixlen: 8 },
          { family: 'inet', local: '172.31.0.2', prefixlen: 32 },
          { family: 'inet6', local: '::1', prefixlen: 128 },
        ],
      },
      { ifname: 'up0', addr_info: [{ family: 'inet', local: '169.254.0.2', prefixlen: 32 }] },
      { ifname: 'e3456789abcdef0', addr_info: [{ family: 'inet', local: '172.31.0.1', prefixlen: 32 }] },
    ]),
    JSON.stringify([
      { dst: 'default', gateway: '169.254.200.7', dev: 'up0', table: String(0xac1f0000), flags: ['onlink'] },
      { type: 'blackhole', dst: '10.9.0.0/16', table: String(0xac1f1000), flags: [] },
      { type: 'unreachable', dst: '172.31.0.0/16', flags: [] },
      { dst: '172.31.0.11', dev: 'e3456789abcdef0', scope: 'link', prefsrc: '172.31.0.1', flags: [] },
      { dst: '169.254.200.7', dev: 'up0', scope: 'link', flags: [] },
      { type: 'local', dst: '172.31.0.1', dev: 'e3456789abcdef0', table: 'local', protocol: 'kernel', flags: [] },
      { type: 'local', dst: '::1', dev: 'lo', table: 'local', protocol: 'kernel', flags: [] },
    ]),
    JSON.stringify([
      { priority: 0, src: 'all', table: 'local' },
      { priority: 2000, src: 'all', table: 'main' },
      { priority: 1000, src: '172.31.0.0', srclen: 20, table: String(0xac1f0000) },
      { priority: 1000, src: '172.31.16.0', srclen: 20, table: String(0xac1f1000) },
      { priority: 32766, src: 'all', table: 'main' },
      { priority: 32767, src: 'all', table: 'default' },
    ]),
  ].join('\n');

  test('a VPC namespace as written reads back as the same keys: nothing but route replaces to run', () => {
    const observed = observedVpc(parseObserved(vpcOut));
    const a = eni();
    const desired = vpcObjects(spec(), u.hostEnd, [{ eni: a, netns: 'cu-ab12-9abcdef0' }]);
    const plan = diffObjects(observed, desired);
    // e0000000000000b is no interface of the spec: removed. Routes are replaced (how they were made is not read back).
    expect(plan.lines.filter((l) => !l.startsWith('route replace'))).toEqual(['link del dev e0000000000000b']);
    expect(plan.made).toEqual([]);
    expect(diffObjects(plan.next, desired).lines).toEqual([]);
  });

  test('an instance namespace: its eth*, the default route, the device tables and rules only', () => {
    const out = [
      JSON.stringify([
        { ifname: 'lo', flags: ['UP'] },
        { ifname: 'eth0', flags: ['UP'] },
        { ifname: 'docker0', flags: ['UP'] },
      ]),
      JSON.stringify([
        {
          ifname: 'eth0',
          addr_info: [
            { family: 'inet', local: '172.31.0.11', prefixlen: 20 },
            { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
          ],
        },
        { ifname: 'docker0', addr_info: [{ family: 'inet', local: '172.17.0.1', prefixlen: 16 }] },
      ]),
      JSON.stringify([
        { dst: 'default', gateway: '172.31.0.1', dev: 'eth0', flags: [] },
        { dst: '172.17.0.0/16', dev: 'docker0', protocol: 'kernel', flags: [] },
        { dst: '192.168.0.0/16', dev: 'docker0', flags: [] },
        { dst: 'default', gateway: '172.31.16.1', dev: 'eth1', table: '10001', flags: [] },
      ]),
      JSON.stringify([
        { priority: 0, src: 'all', table: 'local' },
        { priority: 500, src: '1.2.3.4', table: '7' },
        { priority: 10001, src: '172.31.16.5', table: '10001' },
        { priority: 32766, src: 'all', table: 'main' },
      ]),
    ].join('\n');
    const o = observedInstance(parseObserved(out));
    expect([...o.keys()].sort()).toEqual(
      ['addr eth0 172.31.0.11/20', 'route 10001 0.0.0.0/0', 'route main 0.0.0.0/0', 'rule 10001 172.31.16.5/32 10001', 'up eth0', 'up lo'].sort(),
    );
    // Only eth0 now: eth1's rule goes (its routes went with eth1).
    const plan = diffObjects(o, instanceObjects([eni()]), { resetDevs: new Set(['eth1']) });
    expect(plan.lines).toEqual(['rule del pref 10001 from 172.31.16.5/32 lookup 10001', 'route replace default via 172.31.0.1 dev eth0']);
  });

  test("the host: a server's uplinks with their VPC and address; one VPC's routes and rule", () => {
    const out = [
      JSON.stringify([
        { ifname: 'cvab129abcdef0', flags: ['UP'], ifalias: 'vpc-0123456789abcdef0' },
        { ifname: 'eth0', flags: ['UP'] },
      ]),
      JSON.stringify([
        { ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.1.1.1', prefixlen: 24 }] },
        {
          ifname: 'cvab129abcdef0',
          ifalias: 'vpc-0123456789abcdef0',
          addr_info: [
            { family: 'inet', local: '169.254.200.7', prefixlen: 32 },
            { family: 'inet', local: '198.18.0.1', prefixlen: 32 },
          ],
        },
        { ifname: 'cvcd3400000001', addr_info: [{ family: 'inet', local: '169.254.131.9', prefixlen: 32 }] },
      ]),
      JSON.stringify([
        { dst: 'default', gateway: '10.1.1.254', dev: 'eth0', flags: [] },
        { dst: 'default', gateway: '169.254.0.2', dev: 'cvab129abcdef0', table: String(u.table), flags: ['onlink'] },
        { dst: '198.18.0.5', gateway: '169.254.0.2', dev: 'cvab129abcdef0', prefsrc: '198.18.0.1', flags: ['onlink'] },
        { dst: '198.18.0.9', gateway: '169.254.0.2', dev: 'cvcd3400000001', flags: ['onlink'] },
        { type: 'local', dst: '169.254.200.7', dev: 'cvab129abcdef0', table: 'local', protocol: 'kernel', flags: [] },
      ]),
      JSON.stringify([
        { priority: 0, src: 'all', table: 'local' },
        { priority: 1000, src: '169.254.200.7', table: String(u.table) },
        { priority: 1000, src: '169.254.131.9', table: '1234' },
      ]),
    ].join('\n');
    const o = parseObserved(out);
    expect(observedUplinks(o, 'cvab12')).toEqual(new Map([['cvab129abcdef0', { vpcId: 'vpc-0123456789abcdef0', hostEnd: '169.254.200.7' }]]));
    const h = observedHost(o, u.uplink, u.table);
    expect(diffObjects(h, hostObjects(u, ['198.18.0.5'])).lines).toEqual([
      `route replace default via 169.254.0.2 dev cvab129abcdef0 onlink table ${u.table}`,
      'route replace 198.18.0.5/32 via 169.254.0.2 dev cvab129abcdef0 onlink src 198.18.0.1',
    ]);
    expect(diffObjects(h, hostObjects(u, [])).lines).toEqual(['route del 198.18.0.5/32', `route replace default via 169.254.0.2 dev cvab129abcdef0 onlink table ${u.table}`]);
  });

  test('ip output that is not four arrays is refused', () => {
    expect(() => parseObserved('[]\n[]\n')).toThrow();
  });
});
