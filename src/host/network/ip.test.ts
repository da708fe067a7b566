import { describe, expect, test } from 'vitest';
import { addressing, hostCreateLines, hostRoutes, hostUpLines, namespaceLines, routeHexToIp, unplugLines } from './ip.js';
import { netNames } from './names.js';

const spec = { privateIp: '172.31.0.11', subnetCidr: '172.31.0.0/20', macAddress: '02:AB:cd:00:00:01' };
const n = netNames('ab12', 'i-0123456789abcdef0');

describe('addressing', () => {
  test('the router is the subnet network + 1; the prefix is the subnet\'s', () => {
    expect(addressing(spec)).toEqual({ ip: '172.31.0.11', prefix: 20, gateway: '172.31.0.1', mac: '02:ab:cd:00:00:01' });
    expect(addressing({ ...spec, privateIp: '10.0.1.200', subnetCidr: '10.0.1.128/25' }).gateway).toBe('10.0.1.129');
  });
  const bad: [string, Partial<typeof spec>][] = [
    ['an IPv6 subnet', { subnetCidr: '2001:db8::/64' }],
    ['a malformed subnet', { subnetCidr: '172.31.0.0' }],
    ['a subnet below /28', { subnetCidr: '172.31.0.0/30' }],
    ['a malformed address', { privateIp: '172.31.0.256' }],
    ['a malformed MAC (it would end up in a command)', { macAddress: '02:00:00:00:00:01; reboot' }],
    ['the router address itself', { privateIp: '172.31.0.1' }],
  ];
  test.each(bad)('refuses %s', (_, over) => expect(() => addressing({ ...spec, ...over })).toThrow());
});

describe('names', () => {
  test('carry the tag and the last 8 hex digits; the veth fits IFNAMSIZ', () => {
    expect(n).toEqual({ netns: 'cu-ab12-9abcdef0', veth: 'cuab129abcdef0' });
    expect(n.veth.length).toBeLessThanOrEqual(15);
    expect(() => netNames('ab12', 'i-0123; rm -rf /')).toThrow();
  });
});

describe('ip batches', () => {
  const a = addressing(spec);
  test('create: only what is missing, then the idempotent settings', () => {
    expect(hostCreateLines(n, a, 'i-0123456789abcdef0', { netns: true, veth: true })).toEqual([
      'netns add cu-ab12-9abcdef0',
      'link add cuab129abcdef0 type veth peer name eth0 address 02:ab:cd:00:00:01 netns cu-ab12-9abcdef0',
      'link set dev cuab129abcdef0 alias i-0123456789abcdef0',
      'addr replace 172.31.0.1/32 dev cuab129abcdef0',
    ]);
    expect(hostCreateLines(n, a, 'i-0123456789abcdef0', { netns: false, veth: false })).toEqual([
      'link set dev cuab129abcdef0 alias i-0123456789abcdef0',
      'addr replace 172.31.0.1/32 dev cuab129abcdef0',
    ]);
  });
  test('namespace: eth0 with the address, default route via the router', () => {
    expect(namespaceLines(a)).toEqual([
      'link set dev lo up',
      'addr replace 172.31.0.11/20 dev eth0',
      'link set dev eth0 up',
      'route replace default via 172.31.0.1 dev eth0',
    ]);
  });
  test('up: the /32 route to the instance, from the router address', () => {
    expect(hostUpLines(n, a)).toEqual(['link set dev cuab129abcdef0 up', 'route replace 172.31.0.11/32 dev cuab129abcdef0 src 172.31.0.1']);
  });
  test('unplug: the veth (both ends) before the namespace, only what is there', () => {
    expect(unplugLines(n, { netns: true, veth: true })).toEqual(['link del dev cuab129abcdef0', 'netns del cu-ab12-9abcdef0']);
    expect(unplugLines(n, { netns: true, veth: false })).toEqual(['netns del cu-ab12-9abcdef0']);
    expect(unplugLines(n, { netns: false, veth: false })).toEqual([]);
  });
});

describe('/proc/net/route', () => {
  const proc = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'cuab129abcdef0\t0B001FAC\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0',
    'cuab12aaaaaaaa\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'cuff009abcdef0\t0C001FAC\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0',
  ].join('\n');
  test('addresses are little-endian hex', () => expect(routeHexToIp('0B001FAC')).toBe('172.31.0.11'));
  test('host routes of one prefix, /32 only', () => {
    expect(hostRoutes(proc, 'cuab12')).toEqual([{ ip: '172.31.0.11', iface: 'cuab129abcdef0' }]);
    expect(hostRoutes(proc, '').map((r) => r.ip)).toEqual(['172.31.0.11', '172.31.0.12']);
  });
});
