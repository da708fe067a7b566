import { describe, expect, test } from 'vitest';
import { closedVpcTableScript, mergeCidrs, mergeRanges, naclRules, sgRules, vpcResolver, vpcTableScript, type VpcRulesOptions } from './vpc-rules.js';
import type { InterfaceSpec, NaclEntrySpec, SgRuleSpec, SubnetSpec, VpcSpec } from './vpc-spec.js';

const opts: VpcRulesOptions = {
  metadata: { address: '169.254.130.7', port: 8775 },
  dns: { address: '169.254.130.7', port: 8776 },
  api: { address: '169.254.130.7', port: 8777 },
  uplink: 'up0',
  ifname: (eni) => `e${eni.slice(-14)}`,
};

/** The rules of one chain of a script, without its hook line. */
function chain(script: string, name: string): string[] {
  const m = new RegExp(`\\n  chain ${name} \\{\\n((?:    [^\\n]*\\n)*)  \\}`).exec(script);
  if (!m) throw new Error(`no chain ${name} in:\n${script}`);
  return m[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('type '));
}
function hook(script: string, name: string): string {
  const m = new RegExp(`\\n  chain ${name} \\{\\n\\s*(type [^\\n]*)`).exec(script);
  return m?.[1] ?? '';
}
/** The declaration line of a set or map. */
function decl(script: string, name: string): string {
  const m = new RegExp(`\\n  (?:set|map) ${name} \\{[^\\n]*\\}`).exec(script);
  if (!m) throw new Error(`no set ${name}`);
  return m[0].trim();
}

describe('mergeCidrs and mergeRanges', () => {
  test.each([
    [
      ['10.0.0.0/8', '10.1.0.0/16', '192.168.1.0/24'],
      ['10.0.0.0/8', '192.168.1.0/24'],
    ],
    [
      ['192.168.1.7/24', '10.0.0.5/32', '10.0.0.5'],
      ['10.0.0.5', '192.168.1.0/24'],
    ],
    [['10.0.0.0/16', '0.0.0.0/0'], ['0.0.0.0/0']],
    [['2001:db8::/32', '10.0.0.0/24'], ['10.0.0.0/24']],
    [
      ['10.0.0.0/25', '10.0.0.128/25'],
      ['10.0.0.0/25', '10.0.0.128/25'],
    ],
  ])('%j → %j', (input, out) => expect(mergeCidrs(input)).toEqual(out));

  test('refuses what is not a CIDR (it would end up in a script)', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.256/8', '10.0.0.0/8; flush ruleset', '10.0.0/8']) expect(() => mergeCidrs([bad])).toThrow();
  });

  test('ranges: overlapping and adjacent ones join', () => {
    expect(
      mergeRanges([
        [80, 90],
        [22, 22],
        [91, 100],
        [85, 86],
        [443, 443],
      ]),
    ).toEqual([
      [22, 22],
      [80, 100],
      [443, 443],
    ]);
  });
});

describe('sgRules', () => {
  const cases: [string, SgRuleSpec[], 'in' | 'out', string[]][] = [
    ['tcp/22 from 10.0.0.0/8', [{ protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.0.0.0/8' }], 'in', ['ip saddr 10.0.0.0/8 tcp dport 22 accept']],
    ['egress matches the destination', [{ protocol: 'udp', fromPort: 53, toPort: 53, cidr: '10.0.0.2/32' }], 'out', ['ip daddr 10.0.0.2 udp dport 53 accept']],
    ['a port range', [{ protocol: 'tcp', fromPort: 1000, toPort: 2000, cidr: '10.0.0.0/8' }], 'in', ['ip saddr 10.0.0.0/8 tcp dport 1000-2000 accept']],
    [
      'CIDRs of rules with the same protocol and ports share a set',
      [
        { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '192.168.0.0/16' },
        { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.0.0.0/8' },
        { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.9.0.0/16' },
      ],
      'in',
      ['ip saddr { 10.0.0.0/8, 192.168.0.0/16 } tcp dport 22 accept'],
    ],
    [
      'ports of rules with the same CIDRs share a set',
      [
        { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.0.0.0/8' },
        { protocol: 'tcp', fromPort: 80, toPort: 90, cidr: '10.0.0.0/8' },
        { protocol: 'tcp', fromPort: 91, toPort: 100, cidr: '10.0.0.0/8' },
        { protocol: 'udp', fromPort: 22, toPort: 22, cidr: '10.0.0.0/8' },
      ],
      'in',
      ['ip saddr 10.0.0.0/8 tcp dport { 22, 80-100 } accept', 'ip saddr 10.0.0.0/8 udp dport 22 accept'],
    ],
    [
      'all ports of a protocol',
      [
        { protocol: 'tcp', fromPort: 0, toPort: 65535, cidr: '10.0.0.0/8' },
        { protocol: 'udp', cidr: '10.0.0.0/8' },
        { protocol: 'tcp', fromPort: -1, toPort: -1, cidr: '192.168.0.0/16' },
      ],
      'in',
      ['ip saddr { 10.0.0.0/8, 192.168.0.0/16 } meta l4proto tcp accept', 'ip saddr 10.0.0.0/8 meta l4proto udp accept'],
    ],
    [
      'icmp: type and code, -1 is any',
      [
        { protocol: 'icmp', fromPort: 8, toPort: -1, cidr: '0.0.0.0/0' },
        { protocol: 'icmp', fromPort: 3, toPort: 4, cidr: '10.0.0.0/8' },
        { protocol: 'icmp', fromPort: -1, toPort: -1, cidr: '10.2.0.0/16' },
      ],
      'in',
      ['icmp type 8 accept', 'ip saddr 10.0.0.0/8 icmp type 3 icmp code 4 accept', 'ip saddr 10.2.0.0/16 meta l4proto icmp accept'],
    ],
    [
      'a protocol by number (ports do not apply); 6 is tcp',
      [
        { protocol: 47, cidr: '10.0.0.0/8' },
        { protocol: 6, fromPort: 443, toPort: 443, cidr: '10.0.0.0/8' },
      ],
      'in',
      ['ip saddr 10.0.0.0/8 meta l4proto 47 accept', 'ip saddr 10.0.0.0/8 tcp dport 443 accept'],
    ],
    ['all traffic from a CIDR', [{ protocol: 'all', cidr: '10.0.0.0/8' }], 'in', ['ip saddr 10.0.0.0/8 accept']],
    [
      'all traffic anywhere (the default egress rule) makes the rest moot',
      [
        { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.0.0.0/8' },
        { protocol: 'all', cidr: '0.0.0.0/0' },
        { protocol: 'udp', fromPort: 53, toPort: 53, groupId: 'sg-0aaaaaaaaaaaaaaaa' },
      ],
      'out',
      ['accept'],
    ],
    [
      'a referenced group matches its member set; its rules merge their ports',
      [
        { protocol: 'tcp', fromPort: 22, toPort: 22, groupId: 'sg-0aaaaaaaaaaaaaaaa' },
        { protocol: 'tcp', fromPort: 80, toPort: 80, groupId: 'sg-0aaaaaaaaaaaaaaaa' },
        { protocol: 'all', groupId: 'sg-0bbbbbbbbbbbbbbbb' },
      ],
      'in',
      ['ip saddr @sgm_0aaaaaaaaaaaaaaaa tcp dport { 22, 80 } accept', 'ip saddr @sgm_0bbbbbbbbbbbbbbbb accept'],
    ],
    ['IPv6 CIDRs are left out', [{ protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '::/0' }], 'in', []],
    ['no rules: nothing allowed', [], 'in', []],
  ];
  test.each(cases)('%s', (_, rules, dir, out) => expect(sgRules(rules, dir)).toEqual(out));

  test('1,000 rules stay compact: distinct ports from one CIDR, or distinct CIDRs on one port, are one rule', () => {
    const ports = Array.from({ length: 1000 }, (_, i): SgRuleSpec => ({ protocol: 'tcp', fromPort: 2000 + 2 * i, toPort: 2000 + 2 * i, cidr: '10.0.0.0/8' }));
    const byPort = sgRules(ports, 'in');
    expect(byPort).toHaveLength(1);
    expect(byPort[0]).toMatch(/^ip saddr 10\.0\.0\.0\/8 tcp dport \{ 2000, 2002, .* 3998 \} accept$/);
    const cidrs = Array.from({ length: 1000 }, (_, i): SgRuleSpec => ({ protocol: 'tcp', fromPort: 22, toPort: 22, cidr: `10.${i >> 8}.${i & 255}.0/24` }));
    const byCidr = sgRules(cidrs, 'in');
    expect(byCidr).toHaveLength(1);
    expect(byCidr[0]!.split(', ')).toHaveLength(1000);
  });

  test('refuses a protocol it cannot express', () => {
    expect(() => sgRules([{ protocol: 300, cidr: '10.0.0.0/8' }], 'in')).toThrow();
  });
});

describe('naclRules', () => {
  const e = (ruleNumber: number, action: 'allow' | 'deny', over: Partial<NaclEntrySpec> = {}): NaclEntrySpec => ({
    ruleNumber,
    egress: false,
    protocol: -1,
    action,
    cidr: '0.0.0.0/0',
    ...over,
  });
  const cases: [string, NaclEntrySpec[], boolean, string[]][] = [
    ['the default ACL: allow all, then the catch-all is never reached', [e(32767, 'deny'), e(100, 'allow')], false, ['return']],
    [
      'rule-number order, first match wins: allow returns, deny drops',
      [
        e(32767, 'deny'),
        e(100, 'allow'),
        e(90, 'deny', { protocol: 6, portFrom: 22, portTo: 22, cidr: '10.0.2.0/24' }),
        e(80, 'allow', { protocol: 6, portFrom: 22, portTo: 22, cidr: '10.0.2.7/32' }),
      ],
      false,
      ['ip saddr 10.0.2.7 tcp dport 22 return', 'ip saddr 10.0.2.0/24 tcp dport 22 drop', 'return'],
    ],
    [
      'egress entries match the destination; ingress ones are left out',
      [e(10, 'deny', { egress: true, protocol: 17, portFrom: 1024, portTo: 65535, cidr: '192.0.2.0/24' }), e(20, 'allow', { egress: false })],
      true,
      ['ip daddr 192.0.2.0/24 udp dport 1024-65535 drop', 'drop'],
    ],
    [
      'icmp by type and code; another protocol by number',
      [e(10, 'deny', { protocol: 1, icmpType: 8, icmpCode: -1 }), e(20, 'allow', { protocol: 1, icmpType: 3, icmpCode: 4 }), e(30, 'allow', { protocol: 47 })],
      false,
      ['icmp type 8 drop', 'icmp type 3 icmp code 4 return', 'meta l4proto 47 return', 'drop'],
    ],
    ['no entries: everything crossing is dropped', [], false, ['drop']],
  ];
  test.each(cases)('%s', (_, entries, egress, out) => expect(naclRules(entries, egress)).toEqual(out));
});

// A VPC with a public and a private subnet, two groups referencing each other, and three interfaces.
const SG_WEB = 'sg-0000000000000a001';
const SG_DB = 'sg-0000000000000d002';
const allowAll = (egress: boolean): NaclEntrySpec[] => [
  { ruleNumber: 100, egress, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
  { ruleNumber: 32767, egress, protocol: -1, action: 'deny', cidr: '0.0.0.0/0' },
];
const publicSubnet: SubnetSpec = {
  subnetId: 'subnet-0000000000000a0a1',
  cidr: '10.20.1.0/24',
  routes: [
    { destination: '10.20.0.0/16', target: 'local', targetId: 'local' },
    { destination: '0.0.0.0/0', target: 'internet-gateway', targetId: 'igw-0123456789abcdef0' },
  ],
  networkAcl: { networkAclId: 'acl-1', entries: [...allowAll(false), ...allowAll(true)] },
};
const privateSubnet: SubnetSpec = {
  subnetId: 'subnet-0000000000000b0b2',
  cidr: '10.20.2.0/24',
  routes: [{ destination: '10.20.0.0/16', target: 'local', targetId: 'local' }],
  networkAcl: {
    networkAclId: 'acl-2',
    entries: [{ ruleNumber: 50, egress: false, protocol: 6, action: 'deny', cidr: '10.20.1.0/24', portFrom: 5432, portTo: 5432 }, ...allowAll(false), ...allowAll(true)],
  },
};
const web: InterfaceSpec = {
  eniId: 'eni-0000000000000aaa1',
  instanceId: 'i-0000000000000aaa1',
  deviceIndex: 0,
  subnetId: publicSubnet.subnetId,
  subnetCidr: publicSubnet.cidr,
  macAddress: '02:00:00:00:0a:01',
  privateIps: ['10.20.1.10', '10.20.1.11'],
  groups: [SG_WEB],
  publicIps: [
    { publicIp: '198.18.0.10', privateIp: '10.20.1.10' },
    { publicIp: '198.18.0.11', privateIp: '10.20.1.11' },
  ],
  sourceDestCheck: true,
  metadataHopLimit: 1,
};
const db: InterfaceSpec = {
  eniId: 'eni-0000000000000bbb2',
  instanceId: 'i-0000000000000bbb2',
  deviceIndex: 0,
  subnetId: privateSubnet.subnetId,
  subnetCidr: privateSubnet.cidr,
  macAddress: '02:00:00:00:0b:02',
  privateIps: ['10.20.2.10'],
  groups: [SG_DB, SG_WEB],
  publicIps: [{ publicIp: '198.18.0.12', privateIp: '10.20.2.10' }],
  sourceDestCheck: true,
  metadataHopLimit: 2,
};
const nat: InterfaceSpec = {
  eniId: 'eni-0000000000000ccc3',
  instanceId: 'i-0000000000000ccc3',
  deviceIndex: 0,
  subnetId: publicSubnet.subnetId,
  subnetCidr: publicSubnet.cidr,
  macAddress: '02:00:00:00:0c:03',
  privateIps: ['10.20.1.20'],
  groups: [],
  publicIps: [],
  sourceDestCheck: false,
  metadataHopLimit: 1,
};
const spec: VpcSpec = {
  vpcId: 'vpc-0123456789abcdef0',
  accountId: '000000000001',
  region: 'us-east-1',
  cidrs: ['10.20.0.0/16', '10.21.0.0/16'],
  internetGatewayId: 'igw-0123456789abcdef0',
  dnsSupport: true,
  subnets: [publicSubnet, privateSubnet],
  securityGroups: [
    { groupId: SG_WEB, ingress: [{ protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '0.0.0.0/0' }], egress: [{ protocol: 'all', cidr: '0.0.0.0/0' }] },
    { groupId: SG_DB, ingress: [{ protocol: 'tcp', fromPort: 5432, toPort: 5432, groupId: SG_WEB }], egress: [] },
  ],
  interfaces: [web, db, nat],
};

describe('vpcTableScript', () => {
  const s = vpcTableScript(spec, opts);
  const W = '"e0000000000aaa1"';
  const D = '"e0000000000bbb2"';
  const N = '"e0000000000ccc3"';

  test('replaces the whole table in one transaction', () => {
    expect(s.split('\n').slice(0, 3)).toEqual(['table inet vpc {}', 'delete table inet vpc', 'table inet vpc {']);
  });

  test('each concern is its own base chain: SG egress before DNAT, ACLs before SG ingress', () => {
    expect(hook(s, 'prerouting')).toBe('type filter hook prerouting priority mangle; policy accept;');
    expect(hook(s, 'prerouting_nat')).toBe('type nat hook prerouting priority dstnat; policy accept;');
    expect(hook(s, 'forward_acl')).toBe('type filter hook forward priority filter - 10; policy accept;');
    expect(hook(s, 'forward')).toBe('type filter hook forward priority filter; policy accept;');
    expect(hook(s, 'postrouting_nat')).toBe('type nat hook postrouting priority srcnat; policy accept;');
    expect(hook(s, 'input')).toBe('type filter hook input priority filter; policy drop;');
  });

  test('anti-spoofing: only interfaces with source/dest check, by interface . address', () => {
    expect(decl(s, 'checked')).toBe(`set checked { type ifname; elements = { ${W}, ${D} }; }`);
    expect(decl(s, 'addrs')).toBe(`set addrs { type ifname . ipv4_addr; elements = { ${W} . 10.20.1.10, ${W} . 10.20.1.11, ${D} . 10.20.2.10, ${N} . 10.20.1.20 }; }`);
    expect(chain(s, 'prerouting')).toContain('iifname @checked iifname . ip saddr != @addrs drop');
    expect(chain(s, 'forward')).toContain('oifname @checked oifname . ip daddr != @addrs drop');
    expect(chain(s, 'prerouting')[0]).toBe('meta nfproto ipv6 drop');
    expect(decl(s, 'ifaces')).toBe(`set ifaces { type ifname; elements = { "lo", "up0", ${W}, ${D}, ${N} }; }`);
    expect(chain(s, 'prerouting')).toContain('iifname != @ifaces drop');
  });

  test('prerouting: spoofing, exemptions of metadata, DNS and the API endpoint, then security group egress', () => {
    expect(chain(s, 'prerouting')).toEqual([
      'meta nfproto ipv6 drop',
      'iifname != @ifaces drop',
      'iifname "lo" accept',
      'iifname "up0" ip saddr @vpc_cidrs drop',
      'iifname @checked iifname . ip saddr != @addrs drop',
      'iifname . ip saddr @addrs ip daddr 169.254.169.254 tcp dport 80 ct mark set 0x00000001',
      'iifname . ip saddr @addrs ip daddr { 10.20.0.2, 169.254.169.253 } meta l4proto { tcp, udp } th dport 53 ct mark set 0x00000001',
      'iifname . ip saddr @addrs ip daddr 10.20.0.2 tcp dport 443 ct mark set 0x00000001',
      'ct mark 0x00000001 accept',
      'iifname @enis ip daddr { 169.254.169.254, 169.254.169.253, 10.20.0.2 } drop',
      'ct state established,related accept',
      'iifname vmap @sg_egress',
      'iifname @enis drop',
    ]);
  });

  test('DNAT: metadata, DNS and the API endpoint (base+2:443 only) to the host services, public IPs to private ones', () => {
    expect(chain(s, 'prerouting_nat')).toEqual([
      'ct mark 0x00000001 ip daddr 169.254.169.254 tcp dport 80 dnat ip to 169.254.130.7:8775',
      'ct mark 0x00000001 ip daddr { 10.20.0.2, 169.254.169.253 } meta l4proto { tcp, udp } th dport 53 dnat ip to 169.254.130.7:8776',
      'ct mark 0x00000001 ip daddr 10.20.0.2 tcp dport 443 dnat ip to 169.254.130.7:8777',
      'iifname "up0" dnat ip to ip daddr map @public_to_private',
    ]);
    expect(decl(s, 'public_to_private')).toBe(
      'map public_to_private { type ipv4_addr : ipv4_addr; elements = { 198.18.0.10 : 10.20.1.10, 198.18.0.11 : 10.20.1.11, 198.18.0.12 : 10.20.2.10 }; }',
    );
    expect(decl(s, 'private_to_public')).toBe(
      'map private_to_public { type ipv4_addr : ipv4_addr; elements = { 10.20.1.10 : 198.18.0.10, 10.20.1.11 : 198.18.0.11, 10.20.2.10 : 198.18.0.12 }; }',
    );
    expect(decl(s, 'nat_sources')).toBe('set nat_sources { type ipv4_addr; elements = { 10.20.1.10, 10.20.1.11, 10.20.2.10 }; }');
    expect(chain(s, 'postrouting_nat')).toEqual(['ct mark 0x00000001 accept', 'oifname "up0" snat ip to ip saddr map @private_to_public']);
  });

  test('without DNS support the resolver addresses are not delivered, nor the API endpoint behind base+2', () => {
    const t = vpcTableScript({ ...spec, dnsSupport: false }, opts);
    expect(t).not.toContain('th dport 53');
    expect(t).not.toContain('dport 443');
    expect(t).not.toContain(':8777');
    expect(chain(t, 'prerouting')).toContain('iifname @enis ip daddr { 169.254.169.254, 169.254.169.253, 10.20.0.2 } drop');
  });

  test("the resolver is the primary CIDR's base + 2", () => {
    expect(vpcResolver({ ...spec, cidrs: ['172.31.0.0/16', '10.0.0.0/16'] })).toBe('172.31.0.2');
    expect(vpcResolver({ ...spec, cidrs: ['192.168.4.0/22'] })).toBe('192.168.4.2');
  });

  test('the uplink: only sources with a public IP, never private or link-local destinations, only to public IPs from it', () => {
    expect(chain(s, 'forward_acl')).toEqual([
      'ct mark 0x00000001 accept',
      'oifname != @ifaces drop',
      'iifname "up0" oifname "up0" drop',
      'oifname "up0" ip saddr != @nat_sources drop',
      'oifname "up0" ip daddr @vpc_cidrs drop',
      'oifname "up0" ip daddr 169.254.0.0/16 drop',
      'iifname "up0" ct direction original ct original ip daddr != @public_ips drop',
      'iifname vmap @subnet_egress',
      'oifname vmap @subnet_ingress',
    ]);
    expect(decl(s, 'vpc_cidrs')).toBe('set vpc_cidrs { type ipv4_addr; flags interval; elements = { 10.20.0.0/16, 10.21.0.0/16 }; }');
  });

  test('metadata answers get the hop limit of their interface as TTL', () => {
    expect(chain(s, 'ttl_1')).toEqual(['ip ttl set 1']);
    expect(chain(s, 'ttl_2')).toEqual(['ip ttl set 2']);
    expect(s).not.toContain('chain ttl_3');
    expect(decl(s, 'hop_limit')).toBe(`map hop_limit { type ifname : verdict; elements = { ${W} : jump ttl_1, ${D} : jump ttl_2, ${N} : jump ttl_1 }; }`);
    expect(chain(s, 'forward')[0]).toBe('ct mark 0x00000001 ct direction reply ct original ip daddr 169.254.169.254 oifname vmap @hop_limit');
  });

  test('security groups: a chain per group and direction, dispatched per interface; several groups add up', () => {
    expect(chain(s, 'sg_0000000000000a001_in')).toEqual(['tcp dport 80 accept']);
    expect(chain(s, 'sg_0000000000000a001_out')).toEqual(['accept']);
    expect(chain(s, 'sg_0000000000000d002_in')).toEqual(['ip saddr @sgm_0000000000000a001 tcp dport 5432 accept']);
    expect(chain(s, 'sg_0000000000000d002_out')).toEqual([]);
    // The referenced group's members: every private IP of its interfaces.
    expect(decl(s, 'sgm_0000000000000a001')).toBe('set sgm_0000000000000a001 { type ipv4_addr; elements = { 10.20.1.10, 10.20.1.11, 10.20.2.10 }; }');
    expect(decl(s, 'sgm_0000000000000d002')).toBe('set sgm_0000000000000d002 { type ipv4_addr; elements = { 10.20.2.10 }; }');
    const list = /"e0000000000bbb2" : jump (gl_[0-9a-f]{16}_in)/.exec(decl(s, 'sg_ingress'))![1]!;
    expect(chain(s, list)).toEqual(['jump sg_0000000000000d002_in', 'jump sg_0000000000000a001_in']);
    // One group: the map jumps to it directly; no group: no entry (the base chain drops).
    expect(decl(s, 'sg_ingress')).toContain(`${W} : jump sg_0000000000000a001_in`);
    expect(decl(s, 'sg_ingress')).not.toContain(N);
    expect(chain(s, 'forward')).toEqual([
      'ct mark 0x00000001 ct direction reply ct original ip daddr 169.254.169.254 oifname vmap @hop_limit',
      'ct mark 0x00000001 accept',
      'oifname @checked oifname . ip daddr != @addrs drop',
      'ct state established,related accept',
      'oifname vmap @sg_ingress',
      'oifname @enis drop',
    ]);
  });

  test('interfaces with the same groups share one list chain', () => {
    const twin: InterfaceSpec = { ...db, eniId: 'eni-0000000000000ddd4', privateIps: ['10.20.2.11'], publicIps: [] };
    const t = vpcTableScript({ ...spec, interfaces: [...spec.interfaces, twin] }, opts);
    expect(t.match(/chain gl_[0-9a-f]{16}_in/g)).toHaveLength(1);
  });

  test('network ACLs at subnet boundaries: the same subnet returns first; the gateway only where the route table sends there', () => {
    const pub = 'acl_0000000000000a0a1';
    const priv = 'acl_0000000000000b0b2';
    expect(decl(s, 'sn_0000000000000a0a1')).toBe(`set sn_0000000000000a0a1 { type ifname; elements = { ${W}, ${N} }; }`);
    expect(chain(s, `${pub}_out`)).toEqual(['oifname @sn_0000000000000a0a1 return', 'return']);
    expect(chain(s, `${pub}_in`)).toEqual(['iifname @sn_0000000000000a0a1 return', 'return']);
    expect(chain(s, `${priv}_out`)).toEqual(['oifname @sn_0000000000000b0b2 return', 'oifname "up0" drop', 'return']);
    expect(chain(s, `${priv}_in`)).toEqual(['iifname @sn_0000000000000b0b2 return', 'iifname "up0" drop', 'ip saddr 10.20.1.0/24 tcp dport 5432 drop', 'return']);
    expect(decl(s, 'subnet_egress')).toBe(`map subnet_egress { type ifname : verdict; elements = { ${W} : jump ${pub}_out, ${D} : jump ${priv}_out, ${N} : jump ${pub}_out }; }`);
    expect(decl(s, 'subnet_ingress')).toBe(`map subnet_ingress { type ifname : verdict; elements = { ${W} : jump ${pub}_in, ${D} : jump ${priv}_in, ${N} : jump ${pub}_in }; }`);
  });

  test('a gateway route narrower than 0.0.0.0/0 limits the peers; no gateway attached: none', () => {
    const narrow = { ...publicSubnet, routes: [{ destination: '203.0.113.0/24', target: 'internet-gateway' as const, targetId: 'igw-0123456789abcdef0' }] };
    const t = vpcTableScript({ ...spec, subnets: [narrow, privateSubnet] }, opts);
    expect(chain(t, 'acl_0000000000000a0a1_out')).toContain('oifname "up0" ip daddr != { 203.0.113.0/24 } drop');
    expect(chain(t, 'acl_0000000000000a0a1_in')).toContain('iifname "up0" ip saddr != { 203.0.113.0/24 } drop');
    const detached = vpcTableScript({ ...spec, internetGatewayId: undefined }, opts);
    expect(chain(detached, 'acl_0000000000000a0a1_out')).toContain('oifname "up0" drop');
  });

  test('an interface whose subnet is missing from the spec crosses no boundary', () => {
    const lost: InterfaceSpec = { ...nat, eniId: 'eni-0000000000000eee5', subnetId: 'subnet-0000000000000f0f9', privateIps: ['10.20.9.9'] };
    const t = vpcTableScript({ ...spec, interfaces: [...spec.interfaces, lost] }, opts);
    expect(chain(t, 'acl_0000000000000f0f9_out')).toEqual(['oifname @sn_0000000000000f0f9 return', 'oifname "up0" drop', 'drop']);
  });

  test('a VPC with no interfaces is still a valid table', () => {
    const t = vpcTableScript({ ...spec, interfaces: [] }, opts);
    expect(decl(t, 'enis')).toBe('set enis { type ifname; }');
    expect(decl(t, 'sg_ingress')).toBe('map sg_ingress { type ifname : verdict; }');
  });

  test('refuses what would break the script: a bad interface name or address', () => {
    expect(() => vpcTableScript(spec, { ...opts, ifname: () => 'e"; flush ruleset' })).toThrow();
    expect(() => vpcTableScript(spec, { ...opts, ifname: () => 'e0123456789abcdef' })).toThrow(); // > IFNAMSIZ
    expect(() => vpcTableScript({ ...spec, interfaces: [{ ...web, privateIps: ['10.20.1.300'] }] }, opts)).toThrow();
    expect(() => vpcTableScript(spec, { ...opts, metadata: { address: 'localhost', port: 1 } })).toThrow();
    expect(() => vpcTableScript(spec, { ...opts, dns: { address: '169.254.130.7', port: 0 } })).toThrow();
    expect(() => vpcTableScript(spec, { ...opts, api: { address: '169.254.130.7', port: 65536 } })).toThrow();
    expect(() => vpcTableScript(spec, { ...opts, api: { address: '169.254.130.7;', port: 443 } })).toThrow();
  });
});

describe('closedVpcTableScript', () => {
  const s = closedVpcTableScript();
  test('replaces the table with one that forwards nothing, NATs nothing, and lets nothing in', () => {
    expect(s.split('\n').slice(0, 2)).toEqual(['table inet vpc {}', 'delete table inet vpc']);
    expect(hook(s, 'forward')).toBe('type filter hook forward priority filter; policy drop;');
    expect(chain(s, 'forward')).toEqual([]);
    expect(hook(s, 'input')).toBe('type filter hook input priority filter; policy drop;');
    expect(s).not.toContain('nat hook');
    expect(chain(s, 'input')).toEqual(['iifname "lo" accept']);
  });
});
