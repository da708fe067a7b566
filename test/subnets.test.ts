// Subnets and internet gateways through @aws-sdk/client-ec2 against a started server.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DetachInternetGatewayCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
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
    const byCount = (
      await ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'available-ip-address-count', Values: ['11'] },
            { Name: 'vpc-id', Values: [vpc.VpcId!] },
          ],
        }),
      )
    ).Subnets!;
    expect(byCount.map((x) => x.SubnetId)).toEqual([byZoneId.SubnetId]);
    const legacy = (
      await ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'cidrBlock', Values: ['10.5.*'] },
            { Name: 'availabilityZone', Values: ['us-east-1b'] },
          ],
        }),
      )
    ).Subnets!;
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
        new DescribeInternetGatewaysCommand({
          Filters: [
            { Name: 'attachment.vpc-id', Values: [vpc.VpcId!] },
            { Name: 'attachment.state', Values: ['available'] },
          ],
        }),
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
