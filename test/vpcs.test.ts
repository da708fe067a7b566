// The VPC family through @aws-sdk/client-ec2 against a started server: the default VPC, VPCs,
// subnets, internet gateways, route tables, network ACLs and DHCP options.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AssociateRouteTableCommand,
  AssociateVpcCidrBlockCommand,
  AttachInternetGatewayCommand,
  CreateDefaultSubnetCommand,
  CreateDefaultVpcCommand,
  CreateInternetGatewayCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteNetworkAclCommand,
  DeleteNetworkAclEntryCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeAccountAttributesCommand,
  DescribeDhcpOptionsCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  DisassociateVpcCidrBlockCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  ReplaceNetworkAclAssociationCommand,
  ReplaceNetworkAclEntryCommand,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type Vpc,
} from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer, errorOf } from './harness.js';

let s: TestServer;
let ec2: EC2Client;
beforeAll(async () => {
  s = await startTestServer();
  ec2 = s.ec2();
});
afterAll(async () => {
  await s?.stop();
});

async function newVpc(cidr = '10.0.0.0/16', client = ec2): Promise<Vpc> {
  return (await client.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc!;
}

async function mainRouteTable(vpcId: string) {
  const out = await ec2.send(
    new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'association.main', Values: ['true'] }] }),
  );
  expect(out.RouteTables).toHaveLength(1);
  return out.RouteTables![0]!;
}

describe('the default VPC', () => {
  test('exists on first use, with what EC2 gives it', async () => {
    const vpcs = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs!;
    expect(vpcs).toHaveLength(1);
    const vpc = vpcs[0]!;
    expect(vpc).toMatchObject({ CidrBlock: '172.31.0.0/16', IsDefault: true, State: 'available', InstanceTenancy: 'default', OwnerId: s.admin.accountId });
    expect(vpc.VpcId).toMatch(/^vpc-[0-9a-f]{17}$/);
    expect(vpc.DhcpOptionsId).toMatch(/^dopt-[0-9a-f]{17}$/);
    expect(vpc.CidrBlockAssociationSet).toEqual([{ AssociationId: expect.stringMatching(/^vpc-cidr-assoc-/), CidrBlock: '172.31.0.0/16', CidrBlockState: { State: 'associated' } }]);

    const dns = await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'enableDnsSupport' }));
    expect(dns.EnableDnsSupport?.Value).toBe(true);
    const host = await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'enableDnsHostnames' }));
    expect(host.EnableDnsHostnames?.Value).toBe(true);

    const attrs = await ec2.send(new DescribeAccountAttributesCommand({ AttributeNames: ['default-vpc'] }));
    expect(attrs.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue).toBe(vpc.VpcId);

    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).Subnets!;
    subnets.sort((a, b) => a.AvailabilityZone!.localeCompare(b.AvailabilityZone!));
    expect(subnets.map((x) => [x.AvailabilityZone, x.CidrBlock])).toEqual([
      ['us-east-1a', '172.31.0.0/20'],
      ['us-east-1b', '172.31.16.0/20'],
      ['us-east-1c', '172.31.32.0/20'],
    ]);
    for (const sn of subnets) {
      expect(sn).toMatchObject({ DefaultForAz: true, MapPublicIpOnLaunch: true, State: 'available', AvailableIpAddressCount: 4091 });
      expect(sn.AvailabilityZoneId).toMatch(/^use1-az\d$/);
      expect(sn.SubnetArn).toBe(`arn:aws:ec2:us-east-1:${s.admin.accountId}:subnet/${sn.SubnetId}`);
    }

    const igws = (await ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpc.VpcId!] }] })))
      .InternetGateways!;
    expect(igws).toHaveLength(1);
    expect(igws[0]!.Attachments).toEqual([{ State: 'available', VpcId: vpc.VpcId }]);

    const main = await mainRouteTable(vpc.VpcId!);
    expect(main.Routes).toEqual([
      { DestinationCidrBlock: '172.31.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      { DestinationCidrBlock: '0.0.0.0/0', GatewayId: igws[0]!.InternetGatewayId, Origin: 'CreateRoute', State: 'active' },
    ]);
    expect(main.Associations).toEqual([{ Main: true, RouteTableAssociationId: expect.stringMatching(/^rtbassoc-/), RouteTableId: main.RouteTableId, AssociationState: { State: 'associated' } }]);

    const acls = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).NetworkAcls!;
    expect(acls).toHaveLength(1);
    expect(acls[0]!.IsDefault).toBe(true);
    expect(acls[0]!.Entries).toEqual([
      { RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' },
      { RuleNumber: 32767, Protocol: '-1', RuleAction: 'deny', Egress: true, CidrBlock: '0.0.0.0/0' },
      { RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' },
      { RuleNumber: 32767, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: '0.0.0.0/0' },
    ]);
    expect(acls[0]!.Associations!.map((a) => a.SubnetId).sort()).toEqual(subnets.map((x) => x.SubnetId).sort());

    const groups = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] })).catch(() => undefined);
    if (groups) expect(groups.SecurityGroups?.map((g) => g.GroupName)).toEqual(['default']);
    const sg = await s.app.db.selectFrom('security_groups').select('group_name').where('vpc_id', '=', vpc.VpcId!).execute();
    expect(sg.map((g) => g.group_name)).toEqual(['default']);

    const dopts = (await ec2.send(new DescribeDhcpOptionsCommand({}))).DhcpOptions!;
    expect(dopts).toEqual([
      {
        DhcpConfigurations: [
          { Key: 'domain-name', Values: [{ Value: 'ec2.internal' }] },
          { Key: 'domain-name-servers', Values: [{ Value: 'AmazonProvidedDNS' }] },
        ],
        DhcpOptionsId: vpc.DhcpOptionsId,
        OwnerId: s.admin.accountId,
        Tags: [],
      },
    ]);
  });

  test('each region has its own, made once', async () => {
    const west = s.ec2({ region: 'eu-west-1' });
    const a = (await west.send(new DescribeVpcsCommand({}))).Vpcs!;
    const b = (await west.send(new DescribeVpcsCommand({}))).Vpcs!;
    expect(a.filter((v) => v.IsDefault)).toHaveLength(1);
    expect(b.map((v) => v.VpcId)).toEqual(a.map((v) => v.VpcId));
    const home = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs!;
    expect(home[0]!.VpcId).not.toBe(a[0]!.VpcId);
    const subnets = (await west.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets!;
    expect(subnets.map((x) => x.AvailabilityZone).sort()).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    const dopt = (await west.send(new DescribeDhcpOptionsCommand({}))).DhcpOptions![0]!;
    expect(dopt.DhcpConfigurations![0]!.Values![0]!.Value).toBe('eu-west-1.compute.internal');
  });

  test('can be deleted once emptied, and made again with CreateDefaultVpc', async () => {
    const c = s.ec2({ region: 'us-west-2' });
    const vpc = (await c.send(new DescribeVpcsCommand({}))).Vpcs![0]!;
    expect((await errorOf(c.send(new CreateDefaultVpcCommand({})))).name).toBe('DefaultVpcAlreadyExists');
    expect((await errorOf(c.send(new DeleteVpcCommand({ VpcId: vpc.VpcId })))).name).toBe('DependencyViolation');
    for (const sn of (await c.send(new DescribeSubnetsCommand({}))).Subnets!) await c.send(new DeleteSubnetCommand({ SubnetId: sn.SubnetId }));
    const igw = (await c.send(new DescribeInternetGatewaysCommand({}))).InternetGateways![0]!;
    await c.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }));
    await c.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId }));
    await c.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
    expect((await c.send(new DescribeVpcsCommand({}))).Vpcs).toEqual([]);
    const attrs = await c.send(new DescribeAccountAttributesCommand({ AttributeNames: ['default-vpc'] }));
    expect(attrs.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue).toBe('none');

    const again = (await c.send(new CreateDefaultVpcCommand({}))).Vpc!;
    expect(again).toMatchObject({ CidrBlock: '172.31.0.0/16', IsDefault: true });
    expect((await c.send(new DescribeSubnetsCommand({}))).Subnets).toHaveLength(3);
    const attrs2 = await c.send(new DescribeAccountAttributesCommand({ AttributeNames: ['default-vpc'] }));
    expect(attrs2.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue).toBe(again.VpcId);

    const one = (await c.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-west-2b'] }] }))).Subnets![0]!;
    await c.send(new DeleteSubnetCommand({ SubnetId: one.SubnetId }));
    const made = (await c.send(new CreateDefaultSubnetCommand({ AvailabilityZone: 'us-west-2b' }))).Subnet!;
    expect(made).toMatchObject({ CidrBlock: '172.31.16.0/20', DefaultForAz: true, MapPublicIpOnLaunch: true, AvailabilityZone: 'us-west-2b' });
    expect((await errorOf(c.send(new CreateDefaultSubnetCommand({ AvailabilityZone: 'us-west-2b' })))).name).toBe('DefaultSubnetAlreadyExistsInAvailabilityZone');
  });
});

describe('VPCs', () => {
  test('create, describe, attributes and delete', async () => {
    const out = await ec2.send(
      new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'one' }] }] }),
    );
    const vpc = out.Vpc!;
    expect(vpc).toMatchObject({ CidrBlock: '10.1.0.0/16', State: 'pending', IsDefault: false, InstanceTenancy: 'default', Tags: [{ Key: 'Name', Value: 'one' }] });
    const [described] = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc.VpcId!] }))).Vpcs!;
    expect(described).toMatchObject({ VpcId: vpc.VpcId, State: 'available', Tags: [{ Key: 'Name', Value: 'one' }] });

    // A new VPC's DNS: support on, hostnames off.
    expect((await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'enableDnsHostnames' }))).EnableDnsHostnames?.Value).toBe(false);
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc.VpcId, EnableDnsHostnames: { Value: true } }));
    expect((await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'enableDnsHostnames' }))).EnableDnsHostnames?.Value).toBe(true);
    // No CloudWatch to publish Network Address Usage metrics to: turning them on is refused, off is what is true.
    const nau = await errorOf(ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc.VpcId, EnableNetworkAddressUsageMetrics: { Value: true } })));
    expect([nau.name, nau.message]).toEqual(['UnsupportedOperation', 'Network Address Usage metrics need CloudWatch, which cumulo does not provide yet.']);
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc.VpcId, EnableNetworkAddressUsageMetrics: { Value: false } }));
    expect((await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'enableNetworkAddressUsageMetrics' }))).EnableNetworkAddressUsageMetrics?.Value).toBe(false);
    const two = await errorOf(ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc.VpcId, EnableDnsHostnames: { Value: true }, EnableDnsSupport: { Value: true } })));
    expect(two.name).toBe('InvalidParameterCombination');
    const bad = await errorOf(ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'nope' as never })));
    expect(bad.name).toBe('InvalidParameterValue');

    // Its companions: main route table with the local route, default ACL, default security group.
    const main = await mainRouteTable(vpc.VpcId!);
    expect(main.Routes).toEqual([{ DestinationCidrBlock: '10.1.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' }]);
    const acls = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }, { Name: 'default', Values: ['true'] }] }))).NetworkAcls!;
    expect(acls).toHaveLength(1);

    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
    const gone = await errorOf(ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc.VpcId!] })));
    expect(gone.name).toBe('InvalidVpcID.NotFound');
    expect(gone.message).toBe(`The vpc ID '${vpc.VpcId}' does not exist`);
    // Its companions and tags went with it.
    expect(await s.app.db.selectFrom('route_tables').select('id').where('vpc_id', '=', vpc.VpcId!).execute()).toEqual([]);
    expect(await s.app.db.selectFrom('network_acls').select('id').where('vpc_id', '=', vpc.VpcId!).execute()).toEqual([]);
    expect(await s.app.db.selectFrom('security_groups').select('id').where('vpc_id', '=', vpc.VpcId!).execute()).toEqual([]);
    const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [vpc.VpcId!] }] }));
    expect(tags.Tags).toEqual([]);
    expect((await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId })))).name).toBe('InvalidVpcID.NotFound');
  });

  test('CIDR errors', async () => {
    const cases: [string, string][] = [
      ['10.0.0.0/8', 'InvalidVpc.Range'],
      ['10.0.0.0/29', 'InvalidVpc.Range'],
      ['10.0.0.1/16', 'InvalidParameterValue'],
      ['10.0.0.0', 'InvalidParameterValue'],
      ['banana', 'InvalidParameterValue'],
      ['2001:db8::/56', 'InvalidParameterValue'],
    ];
    for (const [cidr, code] of cases) {
      const e = await errorOf(ec2.send(new CreateVpcCommand({ CidrBlock: cidr })));
      expect([cidr, e.name]).toEqual([cidr, code]);
      expect(e.$metadata.httpStatusCode).toBe(400);
    }
    expect((await errorOf(ec2.send(new CreateVpcCommand({})))).name).toBe('MissingParameter');
    expect((await errorOf(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', InstanceTenancy: 'host' })))).name).toBe('InvalidParameterValue');
    // Every account shares the hosts: a dedicated VPC would promise what nothing enforces.
    expect((await errorOf(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', InstanceTenancy: 'dedicated' })))).name).toBe('UnsupportedOperation');
    expect((await errorOf(ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-nope'] })))).name).toBe('InvalidVpcID.Malformed');
  });

  test('IPv6 is refused (the data plane carries IPv4 only), and secondary IPv4 blocks', async () => {
    const before = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.length;
    const refused = async (p: Promise<unknown>, param: string) => {
      const e = await errorOf(p);
      expect([e.name, e.message]).toEqual(['UnsupportedOperation', `IPv6 is not supported by cumulo yet (the VPC data plane carries IPv4 only): ${param} cannot be used.`]);
    };
    await refused(ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16', AmazonProvidedIpv6CidrBlock: true })), 'AmazonProvidedIpv6CidrBlock');
    await refused(ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16', Ipv6CidrBlockNetworkBorderGroup: 'us-east-1' })), 'Ipv6CidrBlockNetworkBorderGroup');
    expect((await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.length).toBe(before); // nothing stored
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' }))).Vpc!;
    expect(vpc.Ipv6CidrBlockAssociationSet ?? []).toEqual([]);
    await refused(ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpc.VpcId, AmazonProvidedIpv6CidrBlock: true })), 'AmazonProvidedIpv6CidrBlock');
    expect((await mainRouteTable(vpc.VpcId!)).Routes!.map((r) => r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock)).toEqual(['10.2.0.0/16']);

    const added = await ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpc.VpcId, CidrBlock: '10.20.0.0/16' }));
    expect(added.CidrBlockAssociation).toMatchObject({ CidrBlock: '10.20.0.0/16', CidrBlockState: { State: 'associating' } });
    const restricted = await errorOf(ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpc.VpcId, CidrBlock: '192.168.0.0/16' })));
    expect(restricted.name).toBe('InvalidVpc.Range');
    const overlap = await errorOf(ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpc.VpcId, CidrBlock: '10.2.0.0/20' })));
    expect(overlap.name).toBe('InvalidVpc.Range');
    const sub = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.20.1.0/24' }))).Subnet!;
    const byBlock = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'cidr-block-association.cidr-block', Values: ['10.20.0.0/16'] }] }))).Vpcs!;
    expect(byBlock.map((v) => v.VpcId)).toEqual([vpc.VpcId]);
    expect((await mainRouteTable(vpc.VpcId!)).Routes!.map((r) => r.DestinationCidrBlock).filter(Boolean)).toEqual(['10.2.0.0/16', '10.20.0.0/16']);

    const id = added.CidrBlockAssociation!.AssociationId!;
    expect((await errorOf(ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: id })))).name).toBe('DependencyViolation');
    await ec2.send(new DeleteSubnetCommand({ SubnetId: sub.SubnetId }));
    await ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: id }));
    const primary = vpc.CidrBlockAssociationSet![0]!.AssociationId!;
    expect((await errorOf(ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: primary })))).name).toBe('OperationNotPermitted');
    expect((await mainRouteTable(vpc.VpcId!)).Routes!.map((r) => r.DestinationCidrBlock).filter(Boolean)).toEqual(['10.2.0.0/16']);

    // Subnets: no IPv6 block, no IPv6 settings turned on (turned off is what is true).
    await refused(ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.2.0.0/24', Ipv6CidrBlock: 'fd00:1:2:301::/64' })), 'Ipv6CidrBlock');
    const sub4 = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.2.0.0/24' }))).Subnet!;
    expect(sub4.Ipv6CidrBlockAssociationSet ?? []).toEqual([]);
    await refused(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sub4.SubnetId, AssignIpv6AddressOnCreation: { Value: true } })), 'AssignIpv6AddressOnCreation');
    await refused(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sub4.SubnetId, EnableDns64: { Value: true } })), 'EnableDns64');
    await refused(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sub4.SubnetId, EnableResourceNameDnsAAAARecordOnLaunch: { Value: true } })), 'EnableResourceNameDnsAAAARecordOnLaunch');
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sub4.SubnetId, AssignIpv6AddressOnCreation: { Value: false } }));
    const [after] = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [sub4.SubnetId!] }))).Subnets!;
    expect([after!.AssignIpv6AddressOnCreation, after!.EnableDns64]).toEqual([false, false]);
    // Routes and ACL entries: no IPv6 destination or block.
    await refused(ec2.send(new CreateRouteCommand({ RouteTableId: (await mainRouteTable(vpc.VpcId!)).RouteTableId, DestinationIpv6CidrBlock: '::/0', GatewayId: 'igw-00000000000000000' })), 'DestinationIpv6CidrBlock');
    const [acl] = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).NetworkAcls!;
    expect(acl!.Entries!.some((e) => e.Ipv6CidrBlock)).toBe(false);
    await refused(
      ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: acl!.NetworkAclId, RuleNumber: 5, Protocol: '-1', RuleAction: 'allow', Egress: false, Ipv6CidrBlock: '::/0' })),
      'Ipv6CidrBlock',
    );
  });

  test('filters, wildcards and pagination', async () => {
    const made: Vpc[] = [];
    for (let i = 0; i < 7; i++) {
      made.push(
        (
          await ec2.send(
            new CreateVpcCommand({ CidrBlock: `10.${100 + i}.0.0/16`, TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'page', Value: `p${i}` }] }] }),
          )
        ).Vpc!,
      );
    }
    const byTag = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:page', Values: ['p*'] }] }))).Vpcs!;
    expect(byTag).toHaveLength(7);
    const byCidr = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'cidr', Values: ['10.10?.0.0/16'] }] }))).Vpcs!;
    expect(byCidr).toHaveLength(7);
    const both = (
      await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag-key', Values: ['page'] }, { Name: 'cidr', Values: ['10.101.0.0/16', '10.102.0.0/16'] }] }))
    ).Vpcs!;
    expect(both.map((v) => v.CidrBlock).sort()).toEqual(['10.101.0.0/16', '10.102.0.0/16']);
    const state = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'state', Values: ['available'] }, { Name: 'owner-id', Values: [s.admin.accountId] }, { Name: 'tag-value', Values: ['p3'] }] }))).Vpcs!;
    expect(state.map((v) => v.VpcId)).toEqual([made[3]!.VpcId]);
    const dopt = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'dhcp-options-id', Values: [made[0]!.DhcpOptionsId!] }, { Name: 'tag:page', Values: ['p0'] }] }))).Vpcs!;
    expect(dopt).toHaveLength(1);
    expect((await errorOf(ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'nope', Values: ['x'] }] })))).name).toBe('InvalidParameterValue');

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag-key', Values: ['page'] }], MaxResults: 5, NextToken: token }));
      seen.push(...page.Vpcs!.map((v) => v.VpcId!));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual(made.map((v) => v.VpcId!).sort());
    expect((await errorOf(ec2.send(new DescribeVpcsCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue');
    for (const v of made) await ec2.send(new DeleteVpcCommand({ VpcId: v.VpcId }));
  });
});

describe('subnets', () => {
  test('create, describe, modify and delete', async () => {
    const vpc = await newVpc('10.5.0.0/16');
    const out = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpc.VpcId,
        CidrBlock: '10.5.1.0/24',
        AvailabilityZone: 'us-east-1b',
        TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: 'tier', Value: 'web' }] }],
      }),
    );
    const sn = out.Subnet!;
    expect(sn).toMatchObject({
      VpcId: vpc.VpcId,
      CidrBlock: '10.5.1.0/24',
      AvailabilityZone: 'us-east-1b',
      AvailabilityZoneId: 'use1-az2',
      AvailableIpAddressCount: 251,
      DefaultForAz: false,
      MapPublicIpOnLaunch: false,
      State: 'available',
      Tags: [{ Key: 'tier', Value: 'web' }],
    });
    const byZoneId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.5.2.0/28', AvailabilityZoneId: 'use1-az3' }))).Subnet!;
    expect(byZoneId).toMatchObject({ AvailabilityZone: 'us-east-1c', AvailableIpAddressCount: 11 });
    const anywhere = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.5.3.0/24' }))).Subnet!;
    expect(anywhere.AvailabilityZone).toBe('us-east-1a');

    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sn.SubnetId, MapPublicIpOnLaunch: { Value: true } }));
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sn.SubnetId, EnableResourceNameDnsARecordOnLaunch: { Value: true } }));
    // Guests' hostnames are the IP-based ones: a subnet cannot promise resource names.
    const resourceNames = await errorOf(ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sn.SubnetId, PrivateDnsHostnameTypeOnLaunch: 'resource-name' })));
    expect(resourceNames.name).toBe('Unsupported');
    const [after] = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [sn.SubnetId!] }))).Subnets!;
    expect(after).toMatchObject({ MapPublicIpOnLaunch: true, PrivateDnsNameOptionsOnLaunch: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: true } });

    const filtered = (
      await ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpc.VpcId!] },
            { Name: 'map-public-ip-on-launch', Values: ['true'] },
          ],
        }),
      )
    ).Subnets!;
    expect(filtered.map((x) => x.SubnetId)).toEqual([sn.SubnetId]);
    const byCount = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'available-ip-address-count', Values: ['11'] }, { Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).Subnets!;
    expect(byCount.map((x) => x.SubnetId)).toEqual([byZoneId.SubnetId]);
    const legacy = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'cidrBlock', Values: ['10.5.*'] }, { Name: 'availabilityZone', Values: ['us-east-1b'] }] }))).Subnets!;
    expect(legacy.map((x) => x.SubnetId)).toEqual([sn.SubnetId]);
    const tagged = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:tier', Values: ['web'] }] }))).Subnets!;
    expect(tagged.map((x) => x.SubnetId)).toEqual([sn.SubnetId]);

    // New subnets join the VPC's default ACL and (implicitly) its main route table.
    const [acl] = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [sn.SubnetId!] }] }))).NetworkAcls!;
    expect(acl).toMatchObject({ VpcId: vpc.VpcId, IsDefault: true });

    for (const x of [sn, byZoneId, anywhere]) await ec2.send(new DeleteSubnetCommand({ SubnetId: x.SubnetId }));
    expect((await errorOf(ec2.send(new DescribeSubnetsCommand({ SubnetIds: [sn.SubnetId!] })))).name).toBe('InvalidSubnetID.NotFound');
    expect((await errorOf(ec2.send(new DeleteSubnetCommand({ SubnetId: sn.SubnetId })))).name).toBe('InvalidSubnetID.NotFound');
    const [acl2] = (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [acl!.NetworkAclId!] }))).NetworkAcls!;
    expect(acl2!.Associations).toEqual([]);
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
  });

  test('CIDR and zone errors', async () => {
    const vpc = await newVpc('10.6.0.0/16');
    await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.6.0.0/20' }));
    const cases: [string, string][] = [
      ['10.6.1.0/24', 'InvalidSubnet.Conflict'],
      ['10.6.0.0/16', 'InvalidSubnet.Conflict'],
      ['10.7.0.0/24', 'InvalidSubnet.Range'],
      ['10.6.16.0/29', 'InvalidSubnet.Range'],
      ['10.6.16.1/24', 'InvalidParameterValue'],
      ['nonsense', 'InvalidParameterValue'],
    ];
    for (const [cidr, code] of cases) {
      const e = await errorOf(ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: cidr })));
      expect([cidr, e.name]).toEqual([cidr, code]);
    }
    const conflict = await errorOf(ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.6.1.0/24' })));
    expect(conflict.message).toBe("The CIDR '10.6.1.0/24' conflicts with another subnet");
    const zone = await errorOf(ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.6.16.0/24', AvailabilityZone: 'eu-west-1a' })));
    expect(zone.name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new CreateSubnetCommand({ VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.6.16.0/24' })))).name).toBe('InvalidVpcID.NotFound');
    expect((await errorOf(ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId })))).name).toBe('MissingParameter');
  });

  test('a subnet with network interfaces cannot be deleted, and counts their addresses', async () => {
    const vpc = await newVpc('10.8.0.0/16');
    const sn = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.8.0.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!;
    await s.app.db
      .insertInto('network_interfaces')
      .values({
        id: 'eni-0123456789abcdef0',
        account_id: s.admin.accountId,
        region: 'us-east-1',
        subnet_id: sn.SubnetId!,
        vpc_id: vpc.VpcId!,
        availability_zone: 'us-east-1a',
        private_ip: '10.8.0.10',
        mac_address: '02:00:00:00:00:01',
        description: '',
        interface_type: 'interface',
        status: 'available',
        instance_id: null,
        device_index: null,
        attachment_id: null,
        delete_on_termination: 0,
        source_dest_check: 1,
        security_groups: '[]',
        secondary_private_ips: '["10.8.0.11"]',
        public_ip: null,
        created_at: new Date().toISOString(),
      })
      .execute();
    const [after] = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [sn.SubnetId!] }))).Subnets!;
    expect(after!.AvailableIpAddressCount).toBe(249);
    const e = await errorOf(ec2.send(new DeleteSubnetCommand({ SubnetId: sn.SubnetId })));
    expect(e.name).toBe('DependencyViolation');
    expect(e.message).toBe(`The subnet '${sn.SubnetId}' has dependencies and cannot be deleted.`);
    // A route may point at the interface; detached (no running instance forwards through it), it is a blackhole.
    const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpc.VpcId }))).RouteTable!;
    await ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '10.8.5.0/24', NetworkInterfaceId: 'eni-0123456789abcdef0' }));
    const [t] = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb.RouteTableId!] }))).RouteTables!;
    expect(t!.Routes![1]).toMatchObject({ DestinationCidrBlock: '10.8.5.0/24', NetworkInterfaceId: 'eni-0123456789abcdef0', State: 'blackhole' });
    await s.app.db.deleteFrom('network_interfaces').where('id', '=', 'eni-0123456789abcdef0').execute();
    const [t2] = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb.RouteTableId!] }))).RouteTables!;
    expect(t2!.Routes![1]!.State).toBe('blackhole');
    await ec2.send(new DeleteSubnetCommand({ SubnetId: sn.SubnetId }));
  });
});

describe('internet gateways', () => {
  test('create, attach, detach, delete, with EC2 errors', async () => {
    const vpc = await newVpc('10.9.0.0/16');
    const igw = (await ec2.send(new CreateInternetGatewayCommand({ TagSpecifications: [{ ResourceType: 'internet-gateway', Tags: [{ Key: 'k', Value: 'v' }] }] })))
      .InternetGateway!;
    expect(igw).toMatchObject({ Attachments: [], OwnerId: s.admin.accountId, Tags: [{ Key: 'k', Value: 'v' }] });
    expect(igw.InternetGatewayId).toMatch(/^igw-[0-9a-f]{17}$/);

    const notAttached = await errorOf(ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId })));
    expect(notAttached.name).toBe('Gateway.NotAttached');
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }));
    const again = await errorOf(ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId })));
    expect(again.name).toBe('Resource.AlreadyAssociated');
    const second = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!;
    const onePerVpc = await errorOf(ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: second.InternetGatewayId, VpcId: vpc.VpcId })));
    expect(onePerVpc.name).toBe('InvalidParameterValue');

    const attached = (
      await ec2.send(
        new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpc.VpcId!] }, { Name: 'attachment.state', Values: ['available'] }] }),
      )
    ).InternetGateways!;
    expect(attached.map((g) => g.InternetGatewayId)).toEqual([igw.InternetGatewayId]);
    const byTag = (await ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'tag:k', Values: ['v'] }] }))).InternetGateways!;
    expect(byTag.map((g) => g.InternetGatewayId)).toEqual([igw.InternetGatewayId]);

    expect((await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId })))).name).toBe('DependencyViolation');
    const inUse = await errorOf(ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId })));
    expect(inUse.name).toBe('DependencyViolation');

    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: second.InternetGatewayId }));
    const gone = await errorOf(ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [igw.InternetGatewayId!] })));
    expect(gone.name).toBe('InvalidInternetGatewayID.NotFound');
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
  });
});

describe('route tables', () => {
  test('routes, associations and the main table', async () => {
    const vpc = await newVpc('10.10.0.0/16');
    const sn = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.10.1.0/24' }))).Subnet!;
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!;
    const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpc.VpcId, TagSpecifications: [{ ResourceType: 'route-table', Tags: [{ Key: 'Name', Value: 'public' }] }] })))
      .RouteTable!;
    expect(rtb).toMatchObject({ VpcId: vpc.VpcId, Associations: [], Tags: [{ Key: 'Name', Value: 'public' }] });
    expect(rtb.Routes).toEqual([{ DestinationCidrBlock: '10.10.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' }]);

    // A route to a gateway that is not attached to the VPC.
    const detached = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId })));
    expect(detached.name).toBe('InvalidParameterValue');
    expect(detached.message).toBe(`route table ${rtb.RouteTableId} and network gateway ${igw.InternetGatewayId} belong to different networks`);
    const missing = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0123456789abcdef0' })));
    expect(missing.name).toBe('InvalidGatewayID.NotFound');

    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }));
    const created = await ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId }));
    expect(created.Return).toBe(true);
    const dup = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId })));
    expect(dup.name).toBe('RouteAlreadyExists');
    const local = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '10.10.0.0/16', GatewayId: igw.InternetGatewayId })));
    expect(local.name).toBe('RouteAlreadyExists');
    const specific = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '10.10.5.0/24', GatewayId: igw.InternetGatewayId })));
    expect(specific.name).toBe('InvalidParameterValue');
    // The data plane carries no IPv6, and no prefix list exists.
    const v6 = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationIpv6CidrBlock: '::/0', GatewayId: igw.InternetGatewayId })));
    expect(v6.name).toBe('UnsupportedOperation');
    const pl = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationPrefixListId: 'pl-0123456789abcdef0', GatewayId: igw.InternetGatewayId })));
    expect([pl.name, pl.message]).toEqual(['InvalidPrefixListID.NotFound', "The prefix list ID 'pl-0123456789abcdef0' does not exist"]);
    const plReplace = await errorOf(ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationPrefixListId: 'pl-0123456789abcdef0', GatewayId: igw.InternetGatewayId })));
    expect(plReplace.name).toBe('InvalidPrefixListID.NotFound');
    const noNat = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '192.0.2.0/24', NatGatewayId: 'nat-0123456789abcdef0' })));
    expect(noNat.name).toBe('InvalidNatGatewayID.NotFound');
    const noTarget = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '192.0.2.0/24' })));
    expect(noTarget.name).toBe('MissingParameter');

    const byRoute = (
      await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.gateway-id', Values: [igw.InternetGatewayId!] }, { Name: 'vpc-id', Values: [vpc.VpcId!] }] }))
    ).RouteTables!;
    expect(byRoute.map((t) => t.RouteTableId)).toEqual([rtb.RouteTableId]);
    const [t] = byRoute;
    expect(t!.Routes).toEqual([
      { DestinationCidrBlock: '10.10.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      { DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId, Origin: 'CreateRoute', State: 'active' },
    ]);

    // Associations: one per subnet; the route table cannot go while it has one.
    const assoc = await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb.RouteTableId, SubnetId: sn.SubnetId }));
    expect(assoc).toMatchObject({ AssociationId: expect.stringMatching(/^rtbassoc-/), AssociationState: { State: 'associated' } });
    const twice = await errorOf(ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb.RouteTableId, SubnetId: sn.SubnetId })));
    expect(twice.name).toBe('Resource.AlreadyAssociated');
    const bySubnet = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [sn.SubnetId!] }] }))).RouteTables!;
    expect(bySubnet.map((x) => x.RouteTableId)).toEqual([rtb.RouteTableId]);
    expect((await errorOf(ec2.send(new DeleteRouteTableCommand({ RouteTableId: rtb.RouteTableId })))).name).toBe('DependencyViolation');

    // Detaching the gateway turns its routes into blackholes.
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }));
    const [black] = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb.RouteTableId!], Filters: [{ Name: 'route.state', Values: ['blackhole'] }] }))).RouteTables!;
    expect(black!.Routes!.filter((r) => r.State === 'blackhole')).toHaveLength(1);
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }));

    // ReplaceRoute and DeleteRoute.
    const noRoute = await errorOf(ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '198.51.100.0/24', GatewayId: igw.InternetGatewayId })));
    expect(noRoute.name).toBe('InvalidParameterValue');
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId }));
    const noSuch = await errorOf(ec2.send(new DeleteRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationIpv6CidrBlock: '::/0' })));
    expect(noSuch.name).toBe('InvalidRoute.NotFound');
    const keepLocal = await errorOf(ec2.send(new DeleteRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '10.10.0.0/16' })));
    expect(keepLocal.name).toBe('InvalidParameterValue');

    // The main table: it cannot be deleted or disassociated, but its association can move.
    const main = await mainRouteTable(vpc.VpcId!);
    const mainAssoc = main.Associations![0]!.RouteTableAssociationId!;
    expect((await errorOf(ec2.send(new DeleteRouteTableCommand({ RouteTableId: main.RouteTableId })))).name).toBe('DependencyViolation');
    expect((await errorOf(ec2.send(new DisassociateRouteTableCommand({ AssociationId: mainAssoc })))).name).toBe('InvalidParameterValue');
    const moved = await ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: mainAssoc, RouteTableId: rtb.RouteTableId }));
    expect(moved.NewAssociationId).toMatch(/^rtbassoc-/);
    expect((await mainRouteTable(vpc.VpcId!)).RouteTableId).toBe(rtb.RouteTableId);
    await ec2.send(new DeleteRouteTableCommand({ RouteTableId: main.RouteTableId }));

    // Move the subnet's association back to nothing, then clean up.
    await ec2.send(new DisassociateRouteTableCommand({ AssociationId: assoc.AssociationId }));
    expect((await errorOf(ec2.send(new DisassociateRouteTableCommand({ AssociationId: assoc.AssociationId })))).name).toBe('InvalidAssociationID.NotFound');
    await ec2.send(new DeleteSubnetCommand({ SubnetId: sn.SubnetId }));
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
  });

  test('a non-main route table blocks DeleteVpc', async () => {
    const vpc = await newVpc('10.11.0.0/16');
    const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpc.VpcId }))).RouteTable!;
    const e = await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId })));
    expect(e.name).toBe('DependencyViolation');
    expect(e.message).toBe(`The vpc '${vpc.VpcId}' has dependencies and cannot be deleted.`);
    await ec2.send(new DeleteRouteTableCommand({ RouteTableId: rtb.RouteTableId }));
    expect((await errorOf(ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb.RouteTableId!] })))).name).toBe('InvalidRouteTableID.NotFound');
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
  });

  test('MaxResults bounds are 5..100', async () => {
    expect((await errorOf(ec2.send(new DescribeRouteTablesCommand({ MaxResults: 101 })))).name).toBe('InvalidParameterValue');
    const page = await ec2.send(new DescribeRouteTablesCommand({ MaxResults: 5 }));
    expect(page.RouteTables!.length).toBeLessThanOrEqual(5);
  });
});

describe('network ACLs', () => {
  test('entries, associations and deletion rules', async () => {
    const vpc = await newVpc('10.12.0.0/16');
    const sn = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.12.1.0/24' }))).Subnet!;
    const acl = (await ec2.send(new CreateNetworkAclCommand({ VpcId: vpc.VpcId, TagSpecifications: [{ ResourceType: 'network-acl', Tags: [{ Key: 'n', Value: '1' }] }] })))
      .NetworkAcl!;
    expect(acl).toMatchObject({ VpcId: vpc.VpcId, IsDefault: false, Associations: [], Tags: [{ Key: 'n', Value: '1' }] });
    expect(acl.Entries).toEqual([
      { RuleNumber: 32767, Protocol: '-1', RuleAction: 'deny', Egress: true, CidrBlock: '0.0.0.0/0' },
      { RuleNumber: 32767, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: '0.0.0.0/0' },
    ]);
    const id = acl.NetworkAclId!;
    await ec2.send(
      new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 100, Protocol: 'tcp', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0', PortRange: { From: 22, To: 22 } }),
    );
    await ec2.send(
      new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 110, Protocol: '1', RuleAction: 'allow', Egress: false, CidrBlock: '10.0.0.0/8', IcmpTypeCode: { Type: -1, Code: -1 } }),
    );
    const dup = await errorOf(
      ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 100, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: '0.0.0.0/0' })),
    );
    expect(dup.name).toBe('NetworkAclEntryAlreadyExists');
    // The same number in the other direction is a different entry.
    await ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' }));
    for (const n of [0, 32767]) {
      const e = await errorOf(ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: n, Protocol: '-1', RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' })));
      expect(e.name).toBe('InvalidParameterValue');
    }
    const noPorts = await errorOf(ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 120, Protocol: '6', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' })));
    expect(noPorts.name).toBe('MissingParameter');
    const badProto = await errorOf(ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 120, Protocol: 'gre', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' })));
    expect(badProto.name).toBe('InvalidParameterValue');

    await ec2.send(
      new ReplaceNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 100, Protocol: '17', RuleAction: 'deny', Egress: false, CidrBlock: '192.0.2.0/24', PortRange: { From: 53, To: 53 } }),
    );
    const replaceMissing = await errorOf(
      ec2.send(new ReplaceNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 200, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: '0.0.0.0/0' })),
    );
    expect(replaceMissing.name).toBe('InvalidNetworkAclEntry.NotFound');

    const [got] = (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [id] }))).NetworkAcls!;
    expect(got!.Entries).toEqual([
      { RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' },
      { RuleNumber: 32767, Protocol: '-1', RuleAction: 'deny', Egress: true, CidrBlock: '0.0.0.0/0' },
      { RuleNumber: 100, Protocol: '17', RuleAction: 'deny', Egress: false, CidrBlock: '192.0.2.0/24', PortRange: { From: 53, To: 53 } },
      { RuleNumber: 110, Protocol: '1', RuleAction: 'allow', Egress: false, CidrBlock: '10.0.0.0/8', IcmpTypeCode: { Type: -1, Code: -1 } },
      { RuleNumber: 32767, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: '0.0.0.0/0' },
    ]);
    const byProto = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'entry.protocol', Values: ['udp'] }, { Name: 'entry.port-range.from', Values: ['53'] }] }))).NetworkAcls!;
    expect(byProto.map((a) => a.NetworkAclId)).toEqual([id]);

    await ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 110, Egress: false }));
    expect((await errorOf(ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 110, Egress: false })))).name).toBe('InvalidNetworkAclEntry.NotFound');

    // Move the subnet to the new ACL, then back.
    const [def] = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }, { Name: 'default', Values: ['true'] }] }))).NetworkAcls!;
    const assocId = def!.Associations!.find((a) => a.SubnetId === sn.SubnetId)!.NetworkAclAssociationId!;
    const moved = await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: assocId, NetworkAclId: id }));
    expect(moved.NewAssociationId).toMatch(/^aclassoc-/);
    expect((await errorOf(ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: id })))).name).toBe('DependencyViolation');
    expect((await errorOf(ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: def!.NetworkAclId })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId })))).name).toBe('DependencyViolation');
    await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: moved.NewAssociationId, NetworkAclId: def!.NetworkAclId }));
    await ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: id }));
    expect((await errorOf(ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [id] })))).name).toBe('InvalidNetworkAclID.NotFound');
    await ec2.send(new DeleteSubnetCommand({ SubnetId: sn.SubnetId }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
  });
});

describe('isolation and DryRun', () => {
  test('one account never sees or touches another account’s resources', async () => {
    const mine = await newVpc('10.13.0.0/16');
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!;
    const creds = await s.app.accounts.create('other-vpcs');
    const other = s.ec2({ credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey } });
    const theirs = (await other.send(new DescribeVpcsCommand({}))).Vpcs!;
    expect(theirs.map((v) => v.VpcId)).not.toContain(mine.VpcId);
    expect(theirs.filter((v) => v.IsDefault)).toHaveLength(1);
    expect(theirs.every((v) => v.OwnerId === creds.accountId)).toBe(true);
    expect((await errorOf(other.send(new DescribeVpcsCommand({ VpcIds: [mine.VpcId!] })))).name).toBe('InvalidVpcID.NotFound');
    expect((await errorOf(other.send(new DeleteVpcCommand({ VpcId: mine.VpcId })))).name).toBe('InvalidVpcID.NotFound');
    expect((await errorOf(other.send(new CreateSubnetCommand({ VpcId: mine.VpcId, CidrBlock: '10.13.0.0/24' })))).name).toBe('InvalidVpcID.NotFound');
    expect((await errorOf(other.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId })))).name).toBe('InvalidInternetGatewayID.NotFound');
    const theirVpc = (await other.send(new CreateVpcCommand({ CidrBlock: '10.13.0.0/16' }))).Vpc!;
    expect((await errorOf(ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: theirVpc.VpcId })))).name).toBe('InvalidVpcID.NotFound');
    const [theirMain] = (await other.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [theirVpc.VpcId!] }] }))).RouteTables!;
    expect((await errorOf(ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [theirMain!.RouteTableId!] })))).name).toBe('InvalidRouteTableID.NotFound');
    expect((await errorOf(ec2.send(new CreateTagsCommand({ Resources: [theirVpc.VpcId!], Tags: [{ Key: 'a', Value: 'b' }] })))).name).toBe('InvalidVpcID.NotFound');
    expect((await ec2.send(new DescribeSubnetsCommand({}))).Subnets!.every((x) => x.OwnerId === s.admin.accountId)).toBe(true);
    const dopt = (await other.send(new DescribeDhcpOptionsCommand({}))).DhcpOptions!;
    expect(dopt[0]!.DhcpOptionsId).toBe(theirVpc.DhcpOptionsId);
    expect(dopt[0]!.DhcpOptionsId).not.toBe(mine.DhcpOptionsId);
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId }));
    await ec2.send(new DeleteVpcCommand({ VpcId: mine.VpcId }));
  });

  test('DryRun validates and writes nothing', async () => {
    const before = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.length;
    const dry = await errorOf(ec2.send(new CreateVpcCommand({ CidrBlock: '10.14.0.0/16', DryRun: true })));
    expect(dry.name).toBe('DryRunOperation');
    expect(dry.$metadata.httpStatusCode).toBe(412);
    expect((await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.length).toBe(before);
    const invalid = await errorOf(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/8', DryRun: true })));
    expect(invalid.name).toBe('InvalidVpc.Range');
    const vpc = await newVpc('10.14.0.0/16');
    expect((await errorOf(ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.14.0.0/24', DryRun: true })))).name).toBe('DryRunOperation');
    expect((await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId, DryRun: true })))).name).toBe('DryRunOperation');
    expect((await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc.VpcId!] }))).Vpcs).toHaveLength(1);
    expect((await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).Subnets).toEqual([]);
    expect((await errorOf(ec2.send(new DescribeVpcsCommand({ DryRun: true })))).name).toBe('DryRunOperation');
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId }));
  });
});
