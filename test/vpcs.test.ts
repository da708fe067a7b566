// The VPC family through @aws-sdk/client-ec2 against a started server: the default VPC, VPCs and
// their DHCP options, account isolation and DryRun (subnets and gateways, route tables and network
// ACLs have their own files).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AssociateVpcCidrBlockCommand,
  AttachInternetGatewayCommand,
  CreateDefaultSubnetCommand,
  CreateDefaultVpcCommand,
  CreateInternetGatewayCommand,
  CreateNetworkAclEntryCommand,
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
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
  DisassociateVpcCidrBlockCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
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
    new DescribeRouteTablesCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'association.main', Values: ['true'] },
      ],
    }),
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
    expect(vpc.CidrBlockAssociationSet).toEqual([
      { AssociationId: expect.stringMatching(/^vpc-cidr-assoc-/), CidrBlock: '172.31.0.0/16', CidrBlockState: { State: 'associated' } },
    ]);

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

    const igws = (await ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpc.VpcId!] }] }))).InternetGateways!;
    expect(igws).toHaveLength(1);
    expect(igws[0]!.Attachments).toEqual([{ State: 'available', VpcId: vpc.VpcId }]);

    const main = await mainRouteTable(vpc.VpcId!);
    expect(main.Routes).toEqual([
      { DestinationCidrBlock: '172.31.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      { DestinationCidrBlock: '0.0.0.0/0', GatewayId: igws[0]!.InternetGatewayId, Origin: 'CreateRoute', State: 'active' },
    ]);
    expect(main.Associations).toEqual([
      { Main: true, RouteTableAssociationId: expect.stringMatching(/^rtbassoc-/), RouteTableId: main.RouteTableId, AssociationState: { State: 'associated' } },
    ]);

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
    const out = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'one' }] }] }));
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
    expect((await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'enableNetworkAddressUsageMetrics' }))).EnableNetworkAddressUsageMetrics?.Value).toBe(
      false,
    );
    const two = await errorOf(ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc.VpcId, EnableDnsHostnames: { Value: true }, EnableDnsSupport: { Value: true } })));
    expect(two.name).toBe('InvalidParameterCombination');
    const bad = await errorOf(ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'nope' as never })));
    expect(bad.name).toBe('InvalidParameterValue');

    // Its companions: main route table with the local route, default ACL, default security group.
    const main = await mainRouteTable(vpc.VpcId!);
    expect(main.Routes).toEqual([{ DestinationCidrBlock: '10.1.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' }]);
    const acls = (
      await ec2.send(
        new DescribeNetworkAclsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpc.VpcId!] },
            { Name: 'default', Values: ['true'] },
          ],
        }),
      )
    ).NetworkAcls!;
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
    await refused(
      ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sub4.SubnetId, EnableResourceNameDnsAAAARecordOnLaunch: { Value: true } })),
      'EnableResourceNameDnsAAAARecordOnLaunch',
    );
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: sub4.SubnetId, AssignIpv6AddressOnCreation: { Value: false } }));
    const [after] = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [sub4.SubnetId!] }))).Subnets!;
    expect([after!.AssignIpv6AddressOnCreation, after!.EnableDns64]).toEqual([false, false]);
    // Routes and ACL entries: no IPv6 destination or block.
    await refused(
      ec2.send(new CreateRouteCommand({ RouteTableId: (await mainRouteTable(vpc.VpcId!)).RouteTableId, DestinationIpv6CidrBlock: '::/0', GatewayId: 'igw-00000000000000000' })),
      'DestinationIpv6CidrBlock',
    );
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
        (await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${100 + i}.0.0/16`, TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'page', Value: `p${i}` }] }] }))).Vpc!,
      );
    }
    const byTag = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:page', Values: ['p*'] }] }))).Vpcs!;
    expect(byTag).toHaveLength(7);
    const byCidr = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'cidr', Values: ['10.10?.0.0/16'] }] }))).Vpcs!;
    expect(byCidr).toHaveLength(7);
    const both = (
      await ec2.send(
        new DescribeVpcsCommand({
          Filters: [
            { Name: 'tag-key', Values: ['page'] },
            { Name: 'cidr', Values: ['10.101.0.0/16', '10.102.0.0/16'] },
          ],
        }),
      )
    ).Vpcs!;
    expect(both.map((v) => v.CidrBlock).sort()).toEqual(['10.101.0.0/16', '10.102.0.0/16']);
    const state = (
      await ec2.send(
        new DescribeVpcsCommand({
          Filters: [
            { Name: 'state', Values: ['available'] },
            { Name: 'owner-id', Values: [s.admin.accountId] },
            { Name: 'tag-value', Values: ['p3'] },
          ],
        }),
      )
    ).Vpcs!;
    expect(state.map((v) => v.VpcId)).toEqual([made[3]!.VpcId]);
    const dopt = (
      await ec2.send(
        new DescribeVpcsCommand({
          Filters: [
            { Name: 'dhcp-options-id', Values: [made[0]!.DhcpOptionsId!] },
            { Name: 'tag:page', Values: ['p0'] },
          ],
        }),
      )
    ).Vpcs!;
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
