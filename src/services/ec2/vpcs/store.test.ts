import { describe, expect, test } from 'vitest';
import { contains, parseCidr } from '../../../lib/cidr.js';
import { defaultSubnetCidr } from './default-vpc.js';
import { describe as describePage } from './describe.js';
import { vpcFilters } from './filters.js';
import { dhcpOptionsIdFor, ipv6BlockAt, ipv6PoolOf, missingIds, sortAclEntries, toAclEntry } from './store.js';

describe('the default VPC layout', () => {
  test('a /20 per zone, in zone order', () => {
    expect([0, 1, 2, 3, 15].map(defaultSubnetCidr)).toEqual(['172.31.0.0/20', '172.31.16.0/20', '172.31.32.0/20', '172.31.48.0/20', '172.31.240.0/20']);
    expect(() => defaultSubnetCidr(16)).toThrow(RangeError);
  });
});

describe('IPv6 pool', () => {
  test('a stable ULA /48 per account, /56s inside it', () => {
    const pool = ipv6PoolOf('123456789012');
    expect(pool >> 120n).toBe(0xfdn);
    expect(ipv6PoolOf('123456789012')).toBe(pool);
    expect(ipv6PoolOf('210987654321')).not.toBe(pool);
    const a = ipv6BlockAt('123456789012', 0);
    const b = ipv6BlockAt('123456789012', 1);
    expect(a).not.toBe(b);
    const outer = { family: 6 as const, network: pool, prefix: 48 };
    for (const x of [a, b, ipv6BlockAt('123456789012', 255)]) {
      const c = parseCidr(x)!;
      expect(c.prefix).toBe(56);
      expect(contains(outer, c)).toBe(true);
    }
  });
});

describe('ids and errors', () => {
  test('the DHCP options id is stable per account and region', () => {
    expect(dhcpOptionsIdFor('1', 'us-east-1')).toMatch(/^dopt-[0-9a-f]{17}$/);
    expect(dhcpOptionsIdFor('1', 'us-east-1')).toBe(dhcpOptionsIdFor('1', 'us-east-1'));
    expect(dhcpOptionsIdFor('1', 'us-east-2')).not.toBe(dhcpOptionsIdFor('1', 'us-east-1'));
    expect(dhcpOptionsIdFor('2', 'us-east-1')).not.toBe(dhcpOptionsIdFor('1', 'us-east-1'));
  });

  test('malformed ids and missing ids have different codes', () => {
    expect(missingIds('vpc', ['vpc-0123456789abcdef0'])).toMatchObject({ code: 'InvalidVpcID.NotFound', message: "The vpc ID 'vpc-0123456789abcdef0' does not exist" });
    expect(missingIds('vpc', ['vpc-12345678', 'vpc-87654321']).message).toBe("The vpc IDs 'vpc-12345678, vpc-87654321' do not exist");
    expect(missingIds('vpc', ['subnet-12345678']).code).toBe('InvalidVpcID.Malformed');
    expect(missingIds('routeTable', ['rtb-xyz']).code).toBe('InvalidRouteTableId.Malformed');
  });
});

describe('network ACL entry shapes', () => {
  test('egress first, then by rule number; optional parts only when set', () => {
    const row = (n: number, egress: number, extra: object = {}) => ({
      network_acl_id: 'acl-1',
      rule_number: n,
      egress,
      protocol: '-1',
      rule_action: 'allow',
      cidr_block: '0.0.0.0/0',
      ipv6_cidr_block: null,
      icmp_type: null,
      icmp_code: null,
      port_from: null,
      port_to: null,
      ...extra,
    });
    const out = sortAclEntries([row(32767, 0), row(100, 0, { protocol: '6', port_from: 22, port_to: 22 }), row(32767, 1), row(5, 1)].map(toAclEntry));
    expect(out.map((e) => [e.Egress, e.RuleNumber])).toEqual([
      [true, 5],
      [true, 32767],
      [false, 100],
      [false, 32767],
    ]);
    expect(out[2]).toEqual({ RuleNumber: 100, Protocol: '6', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0', PortRange: { From: 22, To: 22 } });
    expect(out[0]).not.toHaveProperty('PortRange');
    expect(out[0]).not.toHaveProperty('IcmpTypeCode');
  });
});

describe('the Describe tail', () => {
  const items = ['vpc-00000003', 'vpc-00000001', 'vpc-00000002'].map((id) => ({ VpcId: id, State: 'available' as const, Tags: [{ Key: 'k', Value: id }] }));
  const spec = {
    idOf: (v: { VpcId: string }) => v.VpcId,
    missing: (ids: string[]) => missingIds('vpc', ids),
    filterMap: vpcFilters,
    tags: (v: (typeof items)[0]) => v.Tags,
    min: 5,
    max: 1000,
  };

  test('ids must all exist; results come sorted', () => {
    expect(describePage(items, spec).items.map((v) => v.VpcId)).toEqual(['vpc-00000001', 'vpc-00000002', 'vpc-00000003']);
    expect(describePage(items, { ...spec, ids: ['vpc-00000002'] }).items).toHaveLength(1);
    expect(() => describePage(items, { ...spec, ids: ['vpc-00000002', 'vpc-00000009'] })).toThrow("The vpc ID 'vpc-00000009' does not exist");
  });

  test('an unknown filter fails even with nothing to filter', () => {
    expect(() => describePage([], { ...spec, filters: [{ Name: 'bogus', Values: ['x'] }] })).toThrow("The filter 'bogus' is invalid");
    expect(describePage(items, { ...spec, filters: [{ Name: 'tag:k', Values: ['*2'] }] }).items.map((v) => v.VpcId)).toEqual(['vpc-00000002']);
  });
});
