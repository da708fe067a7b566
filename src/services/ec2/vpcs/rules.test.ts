import { describe, expect, test } from 'vitest';
import { ApiError } from '../../errors.js';
import { formatCidr } from '../../../lib/cidr.js';
import { aclEntry, aclProtocol, routeDestination, routeTarget, secondaryVpcCidr, subnetCidr, subnetIpv6Cidr, vpcCidr } from './rules.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('VPC blocks', () => {
  test.each([
    ['10.0.0.0/16', 'ok'],
    ['192.168.0.0/28', 'ok'],
    ['203.0.113.0/24', 'ok'],
    ['10.0.0.0/15', 'InvalidVpc.Range'],
    ['10.0.0.0/29', 'InvalidVpc.Range'],
    ['10.0.0.1/16', 'InvalidParameterValue'],
    ['10.0.0.0/016', 'InvalidParameterValue'],
    [' 10.0.0.0/16', 'InvalidParameterValue'],
    ['fd00::/56', 'InvalidParameterValue'],
    ['', 'MissingParameter'],
  ])('%s → %s', (cidr, code) => {
    expect(codeOf(() => vpcCidr(cidr))).toBe(code);
  });

  test('secondary blocks: no overlap, same private range, at most five', () => {
    expect(formatCidr(secondaryVpcCidr('10.1.0.0/16', ['10.0.0.0/16']))).toBe('10.1.0.0/16');
    expect(codeOf(() => secondaryVpcCidr('10.0.128.0/17', ['10.0.0.0/16']))).toBe('InvalidVpc.Range');
    expect(codeOf(() => secondaryVpcCidr('172.16.0.0/16', ['10.0.0.0/16']))).toBe('InvalidVpc.Range');
    expect(codeOf(() => secondaryVpcCidr('198.19.0.0/16', ['192.168.0.0/16']))).toBe('InvalidVpc.Range');
    // Publicly routable blocks are allowed beside a private primary.
    expect(codeOf(() => secondaryVpcCidr('100.64.0.0/16', ['10.0.0.0/16']))).toBe('ok');
    // A public primary restricts nothing.
    expect(codeOf(() => secondaryVpcCidr('10.0.0.0/16', ['203.0.113.0/24']))).toBe('ok');
    const five = ['10.0.0.0/16', '10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16'];
    expect(codeOf(() => secondaryVpcCidr('10.5.0.0/16', five))).toBe('CidrLimitExceeded');
  });
});

describe('subnet blocks', () => {
  const vpc = ['10.0.0.0/16', '10.1.0.0/24'];
  test.each([
    ['10.0.1.0/24', [], 'ok'],
    ['10.1.0.0/25', [], 'ok'],
    ['10.0.0.0/16', [], 'ok'],
    ['10.1.0.0/23', [], 'InvalidSubnet.Range'],
    ['10.2.0.0/24', [], 'InvalidSubnet.Range'],
    ['10.0.0.0/29', [], 'InvalidSubnet.Range'],
    ['10.0.1.0/24', ['10.0.0.0/20'], 'InvalidSubnet.Conflict'],
    ['10.0.0.0/16', ['10.0.200.0/24'], 'InvalidSubnet.Conflict'],
    ['10.0.16.0/20', ['10.0.0.0/20'], 'ok'],
    ['10.0.1.1/24', [], 'InvalidParameterValue'],
  ] as [string, string[], string][])('%s beside %j → %s', (cidr, siblings, code) => {
    expect(codeOf(() => subnetCidr(cidr, vpc, siblings))).toBe(code);
  });

  test('IPv6: a /64 of the VPC block', () => {
    expect(codeOf(() => subnetIpv6Cidr('fd00:1:2:301::/64', ['fd00:1:2:300::/56'], []))).toBe('ok');
    expect(codeOf(() => subnetIpv6Cidr('fd00:1:2:301::/63', ['fd00:1:2:300::/56'], []))).toBe('InvalidParameterValue');
    expect(codeOf(() => subnetIpv6Cidr('fd00:1:2:300::/60', ['fd00:1:2:300::/56'], []))).toBe('InvalidSubnet.Range');
    expect(codeOf(() => subnetIpv6Cidr('fd00:1:2:400::/64', ['fd00:1:2:300::/56'], []))).toBe('InvalidSubnet.Range');
    expect(codeOf(() => subnetIpv6Cidr('fd00:1:2:301::/64', ['fd00:1:2:300::/56'], ['fd00:1:2:301::/64']))).toBe('InvalidSubnet.Conflict');
  });
});

describe('routes', () => {
  test('destinations are canonical and exactly one', () => {
    expect(routeDestination({ DestinationCidrBlock: '0.0.0.0/0' })).toEqual({ destination: '0.0.0.0/0', family: 4 });
    expect(routeDestination({ DestinationIpv6CidrBlock: '2001:DB8:0::/32' })).toEqual({ destination: '2001:db8::/32', family: 6 });
    expect(routeDestination({ DestinationPrefixListId: 'pl-63a5400a' })).toEqual({ destination: 'pl-63a5400a', family: 0 });
    expect(codeOf(() => routeDestination({}))).toBe('MissingParameter');
    expect(codeOf(() => routeDestination({ DestinationCidrBlock: '0.0.0.0/0', DestinationIpv6CidrBlock: '::/0' }))).toBe('InvalidParameterCombination');
    expect(codeOf(() => routeDestination({ DestinationCidrBlock: '::/0' }))).toBe('InvalidParameterValue');
    expect(codeOf(() => routeDestination({ DestinationCidrBlock: '10.0.0.1/8' }))).toBe('InvalidParameterValue');
    expect(codeOf(() => routeDestination({ DestinationPrefixListId: 'pl-x' }))).toBe('InvalidPrefixListId.Malformed');
  });

  test('targets: exactly one', () => {
    expect(routeTarget({ GatewayId: 'igw-1' })).toEqual({ type: 'gateway', id: 'igw-1', field: 'GatewayId' });
    expect(routeTarget({ NetworkInterfaceId: 'eni-1' })).toMatchObject({ type: 'network-interface' });
    expect(codeOf(() => routeTarget({}))).toBe('MissingParameter');
    expect(codeOf(() => routeTarget({ GatewayId: 'igw-1', InstanceId: 'i-1' }))).toBe('InvalidParameterCombination');
  });
});

describe('network ACL entries', () => {
  test.each([
    ['-1', '-1'],
    ['all', '-1'],
    ['tcp', '6'],
    ['UDP', '17'],
    ['icmp', '1'],
    ['icmpv6', '58'],
    ['47', '47'],
    ['006', '6'],
  ])('protocol %s → %s', (p, want) => {
    expect(aclProtocol(p)).toBe(want);
  });

  test.each(['256', 'gre', '-2', '1.5'])('protocol %s is refused', (p) => {
    expect(codeOf(() => aclProtocol(p))).toBe('InvalidParameterValue');
  });

  const base = { RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' };

  test('a canonical row: ports only for TCP/UDP, ICMP type/code only for ICMP', () => {
    expect(aclEntry({ ...base, Protocol: 'tcp', PortRange: { From: 80, To: 443 }, IcmpTypeCode: { Type: 3, Code: 4 } })).toEqual({
      rule_number: 100,
      egress: 0,
      protocol: '6',
      rule_action: 'allow',
      cidr_block: '0.0.0.0/0',
      ipv6_cidr_block: null,
      icmp_type: null,
      icmp_code: null,
      port_from: 80,
      port_to: 443,
    });
    expect(aclEntry({ ...base, Protocol: '1', IcmpTypeCode: { Type: 8, Code: 0 }, PortRange: { From: 1, To: 2 } })).toMatchObject({
      icmp_type: 8,
      icmp_code: 0,
      port_from: null,
    });
    expect(aclEntry({ ...base, CidrBlock: '10.1.2.3/8' }).cidr_block).toBe('10.0.0.0/8');
    expect(aclEntry({ ...base, CidrBlock: undefined, Ipv6CidrBlock: '::/0', Egress: true })).toMatchObject({ ipv6_cidr_block: '::/0', egress: 1 });
  });

  test.each([
    [{ RuleNumber: 0 }, 'InvalidParameterValue'],
    [{ RuleNumber: 32767 }, 'InvalidParameterValue'],
    [{ RuleNumber: undefined }, 'MissingParameter'],
    [{ RuleAction: 'maybe' }, 'InvalidParameterValue'],
    [{ Egress: undefined }, 'MissingParameter'],
    [{ CidrBlock: undefined }, 'MissingParameter'],
    [{ Ipv6CidrBlock: '::/0' }, 'InvalidParameterCombination'],
    [{ CidrBlock: '::/0' }, 'InvalidParameterValue'],
    [{ Protocol: '6' }, 'MissingParameter'],
    [{ Protocol: '6', PortRange: { From: 10, To: 5 } }, 'InvalidParameterValue'],
    [{ Protocol: '17', PortRange: { From: 0, To: 65536 } }, 'InvalidParameterValue'],
    [{ Protocol: '1' }, 'MissingParameter'],
    [{ Protocol: '1', IcmpTypeCode: { Type: 300, Code: 0 } }, 'InvalidParameterValue'],
  ] as [Record<string, unknown>, string][])('%j → %s', (change, code) => {
    expect(codeOf(() => aclEntry({ ...base, ...change }))).toBe(code);
  });
});
