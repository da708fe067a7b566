import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Row } from '../store/schema.js';
import type { VpcSpec } from '../host/network/vpc-spec.js';
import { FakeNetwork } from '../host/network/fake.js';
import { openStore, type Db } from '../store/db.js';
import { syncVpcNow, vpcSpecFromRows, type VpcRows } from './network.js';

const VPC = 'vpc-0000000000000000a';
const SUB_A = 'subnet-0000000000000000a'; // public: main table → igw
const SUB_B = 'subnet-0000000000000000b'; // explicit private table, custom ACL
const SUB_C = 'subnet-0000000000000000c'; // no ACL association: the default ACL
const IGW = 'igw-0000000000000000a';
const RTB_MAIN = 'rtb-0000000000000000a';
const RTB_PRIV = 'rtb-0000000000000000b';
const ACL_DEF = 'acl-0000000000000000a';
const ACL_CUSTOM = 'acl-0000000000000000b';
const SG_WEB = 'sg-0000000000000000a';
const SG_DB = 'sg-0000000000000000b';
const SG_ADMIN = 'sg-0000000000000000c'; // referenced by SG_DB, no member here
const SG_OTHER = 'sg-0000000000000000d'; // used by nobody
const I1 = 'i-0000000000000000a';
const I2 = 'i-0000000000000000b';

function vpc(over: Partial<Row<'vpcs'>> = {}): Row<'vpcs'> {
  return {
    id: VPC,
    account_id: '123456789012',
    region: 'us-east-1',
    cidr_block: '10.0.0.0/16',
    state: 'available',
    is_default: 0,
    instance_tenancy: 'default',
    dhcp_options_id: 'dopt-0',
    enable_dns_support: 1,
    enable_dns_hostnames: 0,
    cidr_associations: JSON.stringify([
      { AssociationId: 'a1', CidrBlock: '10.0.0.0/16', CidrBlockState: { State: 'associated' } },
      { AssociationId: 'a2', CidrBlock: '10.1.0.0/16', CidrBlockState: { State: 'associated' } },
      { AssociationId: 'a3', CidrBlock: '10.2.0.0/16', CidrBlockState: { State: 'disassociated' } },
    ]),
    ipv6_cidr_associations: '[]',
    created_at: '2024-01-01T00:00:00.000Z',
    enable_network_address_usage_metrics: 0,
    ...over,
  };
}

function subnet(id: string, cidr: string): Row<'subnets'> {
  return {
    id,
    account_id: '123456789012',
    region: 'us-east-1',
    vpc_id: VPC,
    cidr_block: cidr,
    ipv6_cidr_associations: '[]',
    availability_zone: 'us-east-1a',
    availability_zone_id: 'use1-az1',
    default_for_az: 0,
    map_public_ip_on_launch: 0,
    assign_ipv6_on_creation: 0,
    state: 'available',
    created_at: '2024-01-01T00:00:00.000Z',
    enable_dns64: 0,
    private_dns_name_options: '{}',
  };
}

const route = (table: string, destination: string, target_type: string, target_id: string): Row<'routes'> => ({
  route_table_id: table,
  destination,
  target_type,
  target_id,
  origin: target_type === 'local' ? 'CreateRouteTable' : 'CreateRoute',
  state: 'active',
});

function aclEntry(
  acl: string,
  rule_number: number,
  egress: 0 | 1,
  protocol: string,
  action: 'allow' | 'deny',
  over: Partial<Row<'network_acl_entries'>> = {},
): Row<'network_acl_entries'> {
  return {
    network_acl_id: acl,
    rule_number,
    egress,
    protocol,
    rule_action: action,
    cidr_block: '0.0.0.0/0',
    ipv6_cidr_block: null,
    icmp_type: null,
    icmp_code: null,
    port_from: null,
    port_to: null,
    ...over,
  };
}

let seq = 0;
function rule(group: string, egress: 0 | 1, ip_protocol: string, over: Partial<Row<'security_group_rules'>> = {}): Row<'security_group_rules'> {
  seq++;
  return {
    id: `sgr-${String(seq).padStart(17, '0')}`,
    group_id: group,
    account_id: '123456789012',
    region: 'us-east-1',
    is_egress: egress,
    ip_protocol,
    from_port: null,
    to_port: null,
    cidr_ipv4: '0.0.0.0/0',
    cidr_ipv6: null,
    prefix_list_id: null,
    referenced_group_id: null,
    referenced_group_owner: null,
    description: null,
    created_at: '2024-01-01T00:00:00.000Z',
    seq,
    ...over,
  };
}

const groups = (...ids: string[]) => JSON.stringify(ids.map((GroupId) => ({ GroupId, GroupName: GroupId })));

function eni(
  id: string,
  instance: string,
  deviceIndex: number,
  subnetId: string,
  ip: string,
  sgs: string[],
  over: Partial<VpcRows['interfaces'][number]> = {},
): VpcRows['interfaces'][number] {
  return {
    id,
    instance_id: instance,
    device_index: deviceIndex,
    subnet_id: subnetId,
    mac_address: `02:00:00:00:00:0${deviceIndex}`,
    private_ip: ip,
    secondary_private_ips: '[]',
    security_groups: groups(...sgs),
    source_dest_check: 1,
    ...over,
  };
}

/** A VPC with three subnets, a main public table, a private table, a custom ACL and two instances. */
function rows(over: Partial<VpcRows> = {}): VpcRows {
  return {
    vpc: vpc(),
    subnets: [subnet(SUB_B, '10.0.2.0/24'), subnet(SUB_A, '10.0.1.0/24'), subnet(SUB_C, '10.1.3.0/24')],
    internetGateways: [{ id: IGW, vpc_id: VPC }],
    routeTables: [
      { id: RTB_MAIN, vpc_id: VPC },
      { id: RTB_PRIV, vpc_id: VPC },
    ],
    routes: [
      route(RTB_MAIN, '10.0.0.0/16', 'local', 'local'),
      route(RTB_MAIN, '10.1.0.0/16', 'local', 'local'),
      route(RTB_MAIN, '0.0.0.0/0', 'gateway', IGW),
      route(RTB_MAIN, '::/0', 'gateway', IGW),
      route(RTB_MAIN, 'pl-0123456789abcdef0', 'gateway', IGW),
      route(RTB_PRIV, '10.0.0.0/16', 'local', 'local'),
      route(RTB_PRIV, '0.0.0.0/0', 'nat-gateway', 'nat-0000000000000000a'),
      route(RTB_PRIV, '192.168.0.0/16', 'network-interface', 'eni-0000000000000000f'),
      route(RTB_PRIV, '172.16.0.0/12', 'instance', I1),
      route(RTB_PRIV, '203.0.113.0/24', 'network-interface', 'eni-00000000000000011'),
      route(RTB_PRIV, '198.51.100.0/24', 'network-interface', 'eni-00000000000000002'),
      route(RTB_PRIV, '192.0.2.0/24', 'network-interface', 'eni-00000000000000099'),
      route(RTB_PRIV, '100.64.0.0/10', 'vpc-peering-connection', 'pcx-0000000000000000a'),
      // A route table of another VPC never leaks in.
      route('rtb-0000000000000000f', '0.0.0.0/0', 'gateway', IGW),
    ],
    routeTableAssociations: [
      { id: 'rtbassoc-main', route_table_id: RTB_MAIN, subnet_id: null, gateway_id: null, main: 1 },
      { id: 'rtbassoc-b', route_table_id: RTB_PRIV, subnet_id: SUB_B, gateway_id: null, main: 0 },
      { id: 'rtbassoc-gw', route_table_id: RTB_PRIV, subnet_id: null, gateway_id: IGW, main: 0 },
    ],
    networkAcls: [
      { id: ACL_DEF, vpc_id: VPC, is_default: 1 },
      { id: ACL_CUSTOM, vpc_id: VPC, is_default: 0 },
    ],
    networkAclEntries: [
      aclEntry(ACL_DEF, 32767, 0, '-1', 'deny'),
      aclEntry(ACL_DEF, 100, 0, '-1', 'allow'),
      aclEntry(ACL_DEF, 100, 1, '-1', 'allow'),
      aclEntry(ACL_DEF, 32767, 1, '-1', 'deny'),
      aclEntry(ACL_DEF, 101, 0, '-1', 'allow', { cidr_block: null, ipv6_cidr_block: '::/0' }),
      aclEntry(ACL_CUSTOM, 10, 0, '6', 'allow', { cidr_block: '10.0.0.0/8', port_from: 22, port_to: 22 }),
      aclEntry(ACL_CUSTOM, 20, 0, '1', 'deny', { icmp_type: 8, icmp_code: -1 }),
      aclEntry(ACL_CUSTOM, 30, 0, '17', 'allow', { port_from: 53, port_to: 53, icmp_type: 3 }),
      aclEntry(ACL_CUSTOM, 40, 0, '47', 'allow', { port_from: 1, port_to: 2 }),
      aclEntry(ACL_CUSTOM, 32767, 0, '-1', 'deny'),
      aclEntry(ACL_CUSTOM, 32767, 1, '-1', 'deny'),
    ],
    networkAclAssociations: [
      { id: 'aclassoc-a', network_acl_id: ACL_DEF, subnet_id: SUB_A },
      { id: 'aclassoc-b', network_acl_id: ACL_CUSTOM, subnet_id: SUB_B },
    ],
    securityGroupRules: [
      rule(SG_WEB, 0, 'tcp', { from_port: 80, to_port: 80 }),
      rule(SG_WEB, 0, 'tcp', { from_port: 443, to_port: 443, cidr_ipv4: null, cidr_ipv6: '::/0' }),
      rule(SG_WEB, 0, 'tcp', { from_port: 443, to_port: 443, cidr_ipv4: null, prefix_list_id: 'pl-0123456789abcdef0' }),
      rule(SG_WEB, 1, '-1'),
      rule(SG_WEB, 1, '-1', { cidr_ipv4: null, cidr_ipv6: '::/0' }),
      rule(SG_DB, 0, 'tcp', { from_port: 5432, to_port: 5432, cidr_ipv4: null, referenced_group_id: SG_WEB, referenced_group_owner: '123456789012' }),
      rule(SG_DB, 0, '-1', { cidr_ipv4: null, referenced_group_id: SG_ADMIN, referenced_group_owner: '123456789012' }),
      rule(SG_DB, 0, 'icmp', { from_port: -1, to_port: -1, cidr_ipv4: '10.0.0.0/8' }),
      rule(SG_DB, 0, '6', { from_port: 1, to_port: 1024 }),
      rule(SG_DB, 0, '17', { from_port: 53, to_port: 53 }),
      rule(SG_DB, 0, '1', { from_port: 8, to_port: 0 }),
      rule(SG_DB, 0, '47', { from_port: -1, to_port: -1 }),
      rule(SG_DB, 0, 'icmpv6', { from_port: -1, to_port: -1 }),
      rule(SG_ADMIN, 1, 'udp', { from_port: 123, to_port: 123 }),
      rule(SG_OTHER, 0, 'tcp', { from_port: 1, to_port: 2 }),
    ],
    interfaces: [
      eni('eni-00000000000000002', I2, 0, SUB_B, '10.0.2.10', [SG_DB]),
      eni('eni-00000000000000011', I1, 1, SUB_B, '10.0.2.11', [SG_WEB], { source_dest_check: 0, secondary_private_ips: '["10.0.2.12"]' }),
      eni('eni-00000000000000010', I1, 0, SUB_A, '10.0.1.10', [SG_WEB, SG_DB]),
      // Its instance is not up (not in `instances`): not in the data plane.
      eni('eni-00000000000000099', 'i-0000000000000000f', 0, SUB_A, '10.0.1.99', [SG_OTHER]),
    ],
    instances: [
      { id: I1, metadata_options: JSON.stringify({ HttpPutResponseHopLimit: 2 }), state: 'running' },
      { id: I2, metadata_options: '{}', state: 'stopping' },
    ],
    publicIps: new Map([['eni-00000000000000010', [{ publicIp: '198.18.0.2', privateIp: '10.0.1.10' }]]]),
    ...over,
  };
}

const subnetOf = (spec: VpcSpec, id: string) => spec.subnets.find((s) => s.subnetId === id)!;
const groupOf = (spec: VpcSpec, id: string) => spec.securityGroups.find((g) => g.groupId === id);

describe('vpcSpecFromRows', () => {
  const spec = vpcSpecFromRows(rows());

  test('the VPC: ids, associated IPv4 blocks primary first, gateway, DNS', () => {
    expect(spec).toMatchObject({ vpcId: VPC, accountId: '123456789012', region: 'us-east-1', cidrs: ['10.0.0.0/16', '10.1.0.0/16'], internetGatewayId: IGW, dnsSupport: true });
    expect(spec.subnets.map((s) => [s.subnetId, s.cidr])).toEqual([
      [SUB_A, '10.0.1.0/24'],
      [SUB_B, '10.0.2.0/24'],
      [SUB_C, '10.1.3.0/24'],
    ]);
    expect(vpcSpecFromRows(rows({ vpc: vpc({ enable_dns_support: 0 }) })).dnsSupport).toBe(false);
  });

  test('a subnet without an explicit table follows the main table; the igw route makes it public', () => {
    expect(subnetOf(spec, SUB_A).routes).toEqual([
      { destination: '0.0.0.0/0', target: 'internet-gateway', targetId: IGW },
      { destination: '10.0.0.0/16', target: 'local', targetId: 'local' },
      { destination: '10.1.0.0/16', target: 'local', targetId: 'local' },
    ]);
    expect(subnetOf(spec, SUB_C).routes).toEqual(subnetOf(spec, SUB_A).routes);
  });

  test('an explicitly associated table wins; targets this data plane cannot reach are blackholes', () => {
    expect(subnetOf(spec, SUB_B).routes).toEqual([
      { destination: '0.0.0.0/0', target: 'blackhole', targetId: 'nat-0000000000000000a' },
      { destination: '10.0.0.0/16', target: 'local', targetId: 'local' },
      { destination: '100.64.0.0/10', target: 'blackhole', targetId: 'pcx-0000000000000000a' },
      // A running instance: through its primary interface, next hop its primary private IP.
      { destination: '172.16.0.0/12', target: 'interface', targetId: I1, eniId: 'eni-00000000000000010', nextHop: '10.0.1.10' },
      // An interface of an instance that is not up (or not running: stopping) forwards nothing.
      { destination: '192.0.2.0/24', target: 'blackhole', targetId: 'eni-00000000000000099' },
      { destination: '192.168.0.0/16', target: 'blackhole', targetId: 'eni-0000000000000000f' },
      { destination: '198.51.100.0/24', target: 'blackhole', targetId: 'eni-00000000000000002' },
      // A running instance's second interface.
      { destination: '203.0.113.0/24', target: 'interface', targetId: 'eni-00000000000000011', eniId: 'eni-00000000000000011', nextHop: '10.0.2.11' },
    ]);
  });

  test('a route to an instance that is pending or stopping is a blackhole (only a running instance forwards)', () => {
    for (const state of ['pending', 'stopping', 'shutting-down']) {
      const s = vpcSpecFromRows(rows({ instances: [{ id: I1, metadata_options: '{}', state }] }));
      const routes = subnetOf(s, SUB_B).routes;
      expect(routes.find((r) => r.destination === '172.16.0.0/12')).toEqual({ destination: '172.16.0.0/12', target: 'blackhole', targetId: I1 });
      expect(routes.find((r) => r.destination === '203.0.113.0/24')?.target).toBe('blackhole');
    }
  });

  test('a detached (or another VPC’s) gateway: its routes are blackholes and no subnet is public', () => {
    for (const gw of [
      { id: IGW, vpc_id: null },
      { id: IGW, vpc_id: 'vpc-0000000000000000f' },
    ]) {
      const s = vpcSpecFromRows(rows({ internetGateways: [gw] }));
      expect(s.internetGatewayId).toBeUndefined();
      expect(subnetOf(s, SUB_A).routes[0]).toEqual({ destination: '0.0.0.0/0', target: 'blackhole', targetId: IGW });
      expect(s.subnets.flatMap((x) => x.routes).some((r) => r.target === 'internet-gateway')).toBe(false);
    }
    // Another gateway attached: a route to the old one still goes nowhere.
    const other = vpcSpecFromRows(rows({ internetGateways: [{ id: 'igw-0000000000000000b', vpc_id: VPC }] }));
    expect(other.internetGatewayId).toBe('igw-0000000000000000b');
    expect(subnetOf(other, SUB_A).routes[0]!.target).toBe('blackhole');
  });

  test('no main association: a subnet without its own table has no routes', () => {
    const s = vpcSpecFromRows(rows({ routeTableAssociations: rows().routeTableAssociations.filter((a) => a.main !== 1) }));
    expect(subnetOf(s, SUB_A).routes).toEqual([]);
    expect(subnetOf(s, SUB_B).routes).toHaveLength(8);
  });

  test('the default ACL (associated or by default) and a custom one, IPv4 entries in rule order', () => {
    const allowAll = [
      { ruleNumber: 100, egress: false, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
      { ruleNumber: 32767, egress: false, protocol: -1, action: 'deny', cidr: '0.0.0.0/0' },
      { ruleNumber: 100, egress: true, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
      { ruleNumber: 32767, egress: true, protocol: -1, action: 'deny', cidr: '0.0.0.0/0' },
    ];
    expect(subnetOf(spec, SUB_A).networkAcl).toEqual({ networkAclId: ACL_DEF, entries: allowAll });
    expect(subnetOf(spec, SUB_C).networkAcl).toEqual({ networkAclId: ACL_DEF, entries: allowAll });
    expect(subnetOf(spec, SUB_B).networkAcl).toEqual({
      networkAclId: ACL_CUSTOM,
      entries: [
        { ruleNumber: 10, egress: false, protocol: 6, action: 'allow', cidr: '10.0.0.0/8', portFrom: 22, portTo: 22 },
        { ruleNumber: 20, egress: false, protocol: 1, action: 'deny', cidr: '0.0.0.0/0', icmpType: 8, icmpCode: -1 },
        { ruleNumber: 30, egress: false, protocol: 17, action: 'allow', cidr: '0.0.0.0/0', portFrom: 53, portTo: 53 },
        { ruleNumber: 40, egress: false, protocol: 47, action: 'allow', cidr: '0.0.0.0/0' },
        { ruleNumber: 32767, egress: false, protocol: -1, action: 'deny', cidr: '0.0.0.0/0' },
        { ruleNumber: 32767, egress: true, protocol: -1, action: 'deny', cidr: '0.0.0.0/0' },
      ],
    });
  });

  test('interfaces of instances that are up, each instance’s primary first', () => {
    expect(spec.interfaces).toEqual([
      {
        eniId: 'eni-00000000000000010',
        instanceId: I1,
        deviceIndex: 0,
        subnetId: SUB_A,
        subnetCidr: '10.0.1.0/24',
        macAddress: '02:00:00:00:00:00',
        privateIps: ['10.0.1.10'],
        groups: [SG_WEB, SG_DB],
        publicIps: [{ publicIp: '198.18.0.2', privateIp: '10.0.1.10' }],
        sourceDestCheck: true,
        metadataHopLimit: 2,
      },
      {
        eniId: 'eni-00000000000000011',
        instanceId: I1,
        deviceIndex: 1,
        subnetId: SUB_B,
        subnetCidr: '10.0.2.0/24',
        macAddress: '02:00:00:00:00:01',
        privateIps: ['10.0.2.11', '10.0.2.12'],
        groups: [SG_WEB],
        publicIps: [],
        sourceDestCheck: false,
        metadataHopLimit: 2,
      },
      {
        eniId: 'eni-00000000000000002',
        instanceId: I2,
        deviceIndex: 0,
        subnetId: SUB_B,
        subnetCidr: '10.0.2.0/24',
        macAddress: '02:00:00:00:00:00',
        privateIps: ['10.0.2.10'],
        groups: [SG_DB],
        publicIps: [],
        sourceDestCheck: true,
        metadataHopLimit: 1,
      },
    ]);
  });

  test('groups: those of the interfaces and those their rules reference, nobody else’s', () => {
    expect(spec.securityGroups.map((g) => g.groupId)).toEqual([SG_WEB, SG_DB, SG_ADMIN]);
    expect(groupOf(spec, SG_OTHER)).toBeUndefined();
    // The referenced group comes with its rules (it simply has no members here).
    expect(groupOf(spec, SG_ADMIN)).toEqual({ groupId: SG_ADMIN, ingress: [], egress: [{ protocol: 'udp', fromPort: 123, toPort: 123, cidr: '0.0.0.0/0' }] });
    // With no interface in a group that references others, none of them is in the spec.
    const alone = vpcSpecFromRows(rows({ interfaces: rows().interfaces.filter((e) => e.instance_id === I1 && e.device_index === 1) }));
    expect(alone.securityGroups.map((g) => g.groupId)).toEqual([SG_WEB]);
  });

  test('rules: IPv6 rules and rules of unknown prefix lists left out, protocols in the data plane’s terms', () => {
    expect(groupOf(spec, SG_WEB)).toEqual({
      groupId: SG_WEB,
      ingress: [{ protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '0.0.0.0/0' }],
      egress: [{ protocol: 'all', cidr: '0.0.0.0/0' }],
    });
    expect(groupOf(spec, SG_DB)!.ingress).toEqual([
      { protocol: 'tcp', fromPort: 5432, toPort: 5432, groupId: SG_WEB },
      { protocol: 'all', groupId: SG_ADMIN },
      { protocol: 'icmp', fromPort: -1, toPort: -1, cidr: '10.0.0.0/8' },
      { protocol: 'tcp', fromPort: 1, toPort: 1024, cidr: '0.0.0.0/0' },
      { protocol: 'udp', fromPort: 53, toPort: 53, cidr: '0.0.0.0/0' },
      { protocol: 'icmp', fromPort: 8, toPort: 0, cidr: '0.0.0.0/0' },
      { protocol: 47, cidr: '0.0.0.0/0' },
      { protocol: 58, cidr: '0.0.0.0/0' },
    ]);
  });

  test('a rule naming a prefix list is one rule per entry of the list as it is now; an empty or unknown list allows nothing', () => {
    const lists = new Map([['pl-0123456789abcdef0', ['192.0.2.0/28', '198.51.100.0/24']]]);
    expect(groupOf(vpcSpecFromRows(rows({ prefixLists: lists })), SG_WEB)!.ingress).toEqual([
      { protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '0.0.0.0/0' },
      { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '192.0.2.0/28' },
      { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '198.51.100.0/24' },
    ]);
    for (const empty of [new Map([['pl-0123456789abcdef0', []]]), new Map<string, string[]>()]) {
      expect(groupOf(vpcSpecFromRows(rows({ prefixLists: empty })), SG_WEB)!.ingress).toEqual([{ protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '0.0.0.0/0' }]);
    }
  });

  test('a route to a prefix list is a route per entry; a route given for the same CIDR wins', () => {
    const withList = rows();
    withList.routes = [
      ...withList.routes,
      route(RTB_PRIV, 'pl-0123456789abcdef1', 'network-interface', 'eni-00000000000000011'),
      route(RTB_PRIV, '100.64.0.0/10', 'vpc-peering-connection', 'pcx-0000000000000000a'),
    ];
    withList.routes = withList.routes.filter((r, i, all) => all.findIndex((x) => x.route_table_id === r.route_table_id && x.destination === r.destination) === i);
    const s = vpcSpecFromRows({ ...withList, prefixLists: new Map([['pl-0123456789abcdef1', ['100.64.0.0/10', '192.0.2.128/25']]]) });
    const routes = subnetOf(s, SUB_B).routes;
    // An entry inside the VPC's blocks only through an appliance (as CreateRoute says of a CIDR): never to the gateway.
    const viaGateway = rows();
    viaGateway.routes = [...viaGateway.routes, route(RTB_MAIN, 'pl-0123456789abcdef2', 'gateway', IGW)];
    const g = vpcSpecFromRows({ ...viaGateway, prefixLists: new Map([['pl-0123456789abcdef2', ['10.0.5.0/24', '203.0.113.0/24']]]) });
    expect(
      subnetOf(g, SUB_A)
        .routes.filter((r) => r.target === 'internet-gateway')
        .map((r) => r.destination),
    ).toEqual(['0.0.0.0/0', '203.0.113.0/24']);
    expect(routes.filter((r) => r.destination === '100.64.0.0/10')).toEqual([{ destination: '100.64.0.0/10', target: 'blackhole', targetId: 'pcx-0000000000000000a' }]);
    expect(routes.find((r) => r.destination === '192.0.2.128/25')).toEqual({
      destination: '192.0.2.128/25',
      target: 'interface',
      targetId: 'eni-00000000000000011',
      eniId: 'eni-00000000000000011',
      nextHop: '10.0.2.11',
    });
    expect(routes.some((r) => r.destination.startsWith('pl-'))).toBe(false);
  });

  test('a group with no rule rows still appears (every interface group is defined)', () => {
    const s = vpcSpecFromRows(rows({ securityGroupRules: [] }));
    expect(s.securityGroups).toEqual([
      { groupId: SG_WEB, ingress: [], egress: [] },
      { groupId: SG_DB, ingress: [], egress: [] },
    ]);
  });

  test('no interfaces: an empty data plane (the host removes the VPC)', () => {
    const s = vpcSpecFromRows(rows({ interfaces: [], instances: [] }));
    expect(s.interfaces).toEqual([]);
    expect(s.securityGroups).toEqual([]);
    expect(s.subnets).toHaveLength(3);
  });
});

describe('syncVpcNow', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openStore({ file: ':memory:', url: '' });
    await db
      .insertInto('vpcs')
      .values(vpc({ enable_dns_support: 0 }))
      .execute();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  /** A network part whose applyVpc waits for the test to let it finish. */
  class GatedDriver extends FakeNetwork {
    applied: VpcSpec[] = [];
    removed: string[] = [];
    gates: (() => void)[] = [];
    override async applyVpc(spec: VpcSpec): Promise<void> {
      this.applied.push(spec);
      await new Promise<void>((r) => this.gates.push(r));
    }
    override async removeVpc(vpcId: string): Promise<void> {
      this.removed.push(vpcId);
    }
    override async vpcsPresent(): Promise<string[]> {
      return [];
    }
  }

  const tick = () => new Promise((r) => setTimeout(r, 10));

  test('syncs of one VPC take turns; those that arrive meanwhile share one later load', async () => {
    const driver = new GatedDriver();
    const first = syncVpcNow({ db, network: driver }, VPC);
    await tick();
    expect(driver.applied.map((s) => s.dnsSupport)).toEqual([false]);
    // Changed while the first is being applied: the next syncs must see it, and share one apply.
    await db.updateTable('vpcs').set({ enable_dns_support: 1 }).where('id', '=', VPC).execute();
    const later = [syncVpcNow({ db, network: driver }, VPC), syncVpcNow({ db, network: driver }, VPC), syncVpcNow({ db, network: driver }, VPC)];
    await tick();
    expect(driver.applied).toHaveLength(1); // still waiting for the first
    driver.gates.shift()!();
    await first;
    await tick();
    expect(driver.applied.map((s) => s.dnsSupport)).toEqual([false, true]);
    driver.gates.shift()!();
    await Promise.all(later);
    expect(driver.applied).toHaveLength(2);
    // Idle again: a new sync applies anew.
    const again = syncVpcNow({ db, network: driver }, VPC);
    await tick();
    driver.gates.shift()!();
    await again;
    expect(driver.applied).toHaveLength(3);
  });

  test('a VPC that is gone is removed; a driver without the ability is left alone', async () => {
    const driver = new GatedDriver();
    await syncVpcNow({ db, network: driver }, 'vpc-0000000000000000f');
    expect([driver.applied, driver.removed]).toEqual([[], ['vpc-0000000000000000f']]);
    // The fake network runs nothing: it records the spec, nothing thrown.
    await expect(syncVpcNow({ db, network: new FakeNetwork() }, VPC)).resolves.toBeUndefined();
  });

  test('a failed apply fails its callers, and the next sync runs anew', async () => {
    const driver = new GatedDriver();
    let fail = true;
    driver.applyVpc = async (spec) => {
      driver.applied.push(spec);
      if (fail) throw new Error('nft said no');
    };
    await expect(syncVpcNow({ db, network: driver }, VPC)).rejects.toThrow('nft said no');
    fail = false;
    await syncVpcNow({ db, network: driver }, VPC);
    expect(driver.applied).toHaveLength(2);
  });
});
