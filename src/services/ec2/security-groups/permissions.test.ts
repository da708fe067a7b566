import type { IpPermission } from '@aws-sdk/client-ec2';
import { describe, expect, test } from 'vitest';
import { ApiError } from '../../errors.js';
import {
  describeForDuplicate,
  groupRules,
  legacyToPermissions,
  normalizePorts,
  normalizeProtocol,
  parsePermissions,
  toSecurityGroupRule,
  validateGroupText,
  validateRuleDescription,
  type RuleFields,
} from './permissions.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'ok';
}

describe('normalizeProtocol', () => {
  test.each([
    ['tcp', 'tcp'],
    ['TCP', 'tcp'],
    ['6', 'tcp'],
    ['17', 'udp'],
    ['1', 'icmp'],
    ['58', 'icmpv6'],
    ['icmpv6', 'icmpv6'],
    ['-1', '-1'],
    ['47', '47'],
    ['047', '47'],
    ['0', '0'],
    ['255', '255'],
  ])('%s → %s', (input, out) => expect(normalizeProtocol(input)).toBe(out));

  test.each([
    [undefined, "InvalidParameterValue: Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly."],
    ['', "InvalidParameterValue: Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly."],
    ['256', "InvalidParameterValue: Invalid value '256' for IP protocol. Unknown protocol."],
    ['all', "InvalidParameterValue: Invalid value 'all' for IP protocol. Unknown protocol."],
    ['-2', "InvalidParameterValue: Invalid value '-2' for IP protocol. Unknown protocol."],
  ])('%s is refused', (input, err) => expect(codeOf(() => normalizeProtocol(input))).toBe(err));
});

describe('normalizePorts', () => {
  test.each([
    ['tcp', 22, 22, { fromPort: 22, toPort: 22 }],
    ['udp', 0, 65535, { fromPort: 0, toPort: 65535 }],
    ['icmp', 8, 0, { fromPort: 8, toPort: 0 }],
    ['icmp', 8, -1, { fromPort: 8, toPort: -1 }],
    ['icmp', -1, -1, { fromPort: -1, toPort: -1 }],
    ['icmp', -1, 3, { fromPort: -1, toPort: -1 }],
    ['icmpv6', undefined, undefined, { fromPort: -1, toPort: -1 }],
    ['-1', 22, 80, { fromPort: null, toPort: null }],
    ['-1', undefined, undefined, { fromPort: null, toPort: null }],
    ['47', 1, 2, { fromPort: null, toPort: null }],
  ] as const)('%s %s-%s', (p, from, to, out) => expect(normalizePorts(p, from, to)).toEqual(out));

  test.each([
    ['tcp', 22, undefined, "InvalidParameterValue: Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange."],
    ['udp', undefined, undefined, "InvalidParameterValue: Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange."],
    ['tcp', -1, 22, 'InvalidPermission.Malformed: TCP/UDP port (-1) out of range'],
    ['tcp', 1, 65536, 'InvalidPermission.Malformed: TCP/UDP port (65536) out of range'],
    ['tcp', 80, 22, 'InvalidPermission.Malformed: Invalid TCP/UDP port range: from port (80) is greater than to port (22)'],
    ['icmp', undefined, undefined, "InvalidParameterValue: Invalid value 'Must specify both from and to ports with ICMP.' for portRange."],
    ['icmp', 256, 0, 'InvalidPermission.Malformed: ICMP type (256) out of range'],
    ['icmp', 3, -2, 'InvalidPermission.Malformed: ICMP code (-2) out of range'],
  ] as const)('%s %s-%s is refused', (p, from, to, err) => expect(codeOf(() => normalizePorts(p, from, to))).toBe(err));
});

describe('parsePermissions', () => {
  test('one rule per source, CIDR host bits masked, descriptions kept', () => {
    const specs = parsePermissions([
      {
        IpProtocol: '6',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '10.0.0.1/16', Description: 'office' }, { CidrIp: '0.0.0.0/0' }],
        Ipv6Ranges: [{ CidrIpv6: '2001:DB8::1/32' }],
        PrefixListIds: [{ PrefixListId: 'pl-12345678' }],
        UserIdGroupPairs: [{ GroupId: 'sg-0123456789abcdef0', UserId: '123456789012' }, { GroupName: 'web' }],
      },
    ]);
    expect(specs).toEqual([
      { protocol: 'tcp', fromPort: 22, toPort: 22, source: { cidrIpv4: '10.0.0.0/16', description: 'office' } },
      { protocol: 'tcp', fromPort: 22, toPort: 22, source: { cidrIpv4: '0.0.0.0/0', description: undefined } },
      { protocol: 'tcp', fromPort: 22, toPort: 22, source: { cidrIpv6: '2001:db8::/32', description: undefined } },
      { protocol: 'tcp', fromPort: 22, toPort: 22, source: { prefixListId: 'pl-12345678', description: undefined } },
      { protocol: 'tcp', fromPort: 22, toPort: 22, source: { group: { groupId: 'sg-0123456789abcdef0', groupName: undefined, userId: '123456789012' }, description: undefined } },
      { protocol: 'tcp', fromPort: 22, toPort: 22, source: { group: { groupId: undefined, groupName: 'web', userId: undefined }, description: undefined } },
    ]);
  });

  test.each<[string, IpPermission]>([
    ['MissingParameter: Missing source specification: include source security group or CIDR information', { IpProtocol: 'tcp', FromPort: 1, ToPort: 2 }],
    ['InvalidParameterValue: CIDR block 10.0.0.0/33 is malformed', { IpProtocol: 'tcp', FromPort: 1, ToPort: 2, IpRanges: [{ CidrIp: '10.0.0.0/33' }] }],
    ['InvalidParameterValue: CIDR block ::/0 is malformed', { IpProtocol: '-1', IpRanges: [{ CidrIp: '::/0' }] }],
    ['InvalidParameterValue: CIDR block 10.0.0.0/8 is malformed', { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '10.0.0.0/8' }] }],
    ['InvalidParameterValue: CIDR block 10.0.0.1 is malformed', { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.1' }] }],
    ['InvalidGroupId.Malformed: Invalid id: "sg-xyz" (expecting "sg-...")', { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: 'sg-xyz' }] }],
    ['InvalidPrefixListId.Malformed: Invalid id: "pl-x" (expecting "pl-...")', { IpProtocol: '-1', PrefixListIds: [{ PrefixListId: 'pl-x' }] }],
    [
      'InvalidParameterValue: Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*',
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '1.2.3.4/32', Description: 'no <tags>' }] },
    ],
  ])('%s', (err, perm) => expect(codeOf(() => parsePermissions([perm]))).toBe(err));
});

describe('legacyToPermissions', () => {
  test('CIDR form', () => {
    expect(legacyToPermissions({ CidrIp: '1.2.3.4/32', IpProtocol: 'tcp', FromPort: 80, ToPort: 80 })).toEqual([
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '1.2.3.4/32' }] },
    ]);
  });
  test('a source group name alone grants ICMP, TCP and UDP', () => {
    const perms = legacyToPermissions({ SourceSecurityGroupName: 'web' });
    expect(perms.map((p) => [p.IpProtocol, p.FromPort, p.ToPort])).toEqual([
      ['icmp', -1, -1],
      ['tcp', 0, 65535],
      ['udp', 0, 65535],
    ]);
  });
  test('a source group name with ports is refused', () => {
    expect(codeOf(() => legacyToPermissions({ SourceSecurityGroupName: 'web', IpProtocol: 'tcp' }))).toMatch(/^InvalidParameterCombination/);
  });
});

const row = (over: Partial<RuleFields>): RuleFields => ({
  id: 'sgr-1',
  ip_protocol: 'tcp',
  from_port: 22,
  to_port: 22,
  cidr_ipv4: null,
  cidr_ipv6: null,
  prefix_list_id: null,
  referenced_group_id: null,
  referenced_group_owner: null,
  description: null,
  ...over,
});

describe('groupRules', () => {
  test('one IpPermission per protocol and range, sources collected by kind in row order', () => {
    const perms = groupRules([
      row({ cidr_ipv4: '10.0.0.0/8', description: 'lan' }),
      row({ ip_protocol: '-1', from_port: null, to_port: null, referenced_group_id: 'sg-1', referenced_group_owner: '111122223333' }),
      row({ cidr_ipv6: '::/0' }),
      row({ cidr_ipv4: '0.0.0.0/0' }),
      row({ from_port: 443, to_port: 443, prefix_list_id: 'pl-12345678' }),
      row({ referenced_group_id: 'sg-2', referenced_group_owner: '111122223333', description: 'app' }),
    ]);
    expect(perms).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'lan' }, { CidrIp: '0.0.0.0/0' }],
        Ipv6Ranges: [{ CidrIpv6: '::/0' }],
        PrefixListIds: [],
        UserIdGroupPairs: [{ GroupId: 'sg-2', UserId: '111122223333', Description: 'app' }],
      },
      {
        IpProtocol: '-1',
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [{ GroupId: 'sg-1', UserId: '111122223333' }],
      },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [{ PrefixListId: 'pl-12345678' }], UserIdGroupPairs: [] },
    ]);
  });

  test('parse then group gives back what was asked for', () => {
    const asked: IpPermission[] = [
      {
        IpProtocol: 'udp',
        FromPort: 53,
        ToPort: 53,
        IpRanges: [{ CidrIp: '10.0.0.0/8' }, { CidrIp: '192.168.0.0/16', Description: 'home' }],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [],
      },
      { IpProtocol: 'icmp', FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ];
    const rows = parsePermissions(asked).map((s, i) =>
      row({ id: `sgr-${i}`, ip_protocol: s.protocol, from_port: s.fromPort, to_port: s.toPort, cidr_ipv4: s.source.cidrIpv4 ?? null, description: s.source.description ?? null }),
    );
    expect(groupRules(rows)).toEqual(asked);
  });
});

describe('messages and shapes', () => {
  test.each([
    [row({ cidr_ipv4: '0.0.0.0/0' }), 'the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists'],
    [row({ ip_protocol: '-1', from_port: null, to_port: null, referenced_group_id: 'sg-1' }), 'the specified rule "peer: sg-1, ALL, ALLOW" already exists'],
    [row({ ip_protocol: 'icmp', from_port: 8, to_port: -1, cidr_ipv6: '::/0' }), 'the specified rule "peer: ::/0, ICMP, type: 8, code: -1, ALLOW" already exists'],
    [row({ ip_protocol: '47', from_port: null, to_port: null, cidr_ipv4: '1.2.3.4/32' }), 'the specified rule "peer: 1.2.3.4/32, protocol: 47, ALLOW" already exists'],
  ])('duplicate text %#', (r, text) => expect(describeForDuplicate(r)).toBe(text));

  test('DescribeSecurityGroupRules shows -1 for all ports', () => {
    const r = toSecurityGroupRule(
      { ...row({ ip_protocol: '-1', from_port: null, to_port: null, cidr_ipv4: '0.0.0.0/0' }), group_id: 'sg-1', account_id: '111122223333', is_egress: 1 },
      undefined,
    );
    expect(r).toEqual({
      SecurityGroupRuleId: 'sgr-1',
      GroupId: 'sg-1',
      GroupOwnerId: '111122223333',
      IsEgress: true,
      IpProtocol: '-1',
      FromPort: -1,
      ToPort: -1,
      CidrIpv4: '0.0.0.0/0',
      Tags: [],
    });
  });

  test.each([
    ['web-servers (prod) #1', 'ok'],
    ['x'.repeat(255), 'ok'],
    ['x'.repeat(256), /Length exceeds maximum of 255/],
    ['café', /Character sets beyond ASCII are not supported/],
    ['a<b', /Valid characters are/],
  ])('group text %#', (text, want) => {
    const got = codeOf(() => validateGroupText('GroupName', text));
    if (want === 'ok') expect(got).toBe('ok');
    else expect(got).toMatch(want);
  });

  test('rule descriptions', () => {
    expect(codeOf(() => validateRuleDescription('SSH from the office: 10/8 [ops]'))).toBe('ok');
    expect(codeOf(() => validateRuleDescription('x'.repeat(256)))).toMatch(/^InvalidParameterValue/);
  });
});
