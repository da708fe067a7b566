// Route tables and network ACLs through @aws-sdk/client-ec2 against a started server.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteNetworkAclCommand,
  DeleteNetworkAclEntryCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  EC2Client,
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
    const pl = await errorOf(
      ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationPrefixListId: 'pl-0123456789abcdef0', GatewayId: igw.InternetGatewayId })),
    );
    expect([pl.name, pl.message]).toEqual(['InvalidPrefixListID.NotFound', "The prefix list ID 'pl-0123456789abcdef0' does not exist"]);
    const plReplace = await errorOf(
      ec2.send(new ReplaceRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationPrefixListId: 'pl-0123456789abcdef0', GatewayId: igw.InternetGatewayId })),
    );
    expect(plReplace.name).toBe('InvalidPrefixListID.NotFound');
    const noNat = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '192.0.2.0/24', NatGatewayId: 'nat-0123456789abcdef0' })));
    expect(noNat.name).toBe('InvalidNatGatewayID.NotFound');
    const noTarget = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: rtb.RouteTableId, DestinationCidrBlock: '192.0.2.0/24' })));
    expect(noTarget.name).toBe('MissingParameter');

    const byRoute = (
      await ec2.send(
        new DescribeRouteTablesCommand({
          Filters: [
            { Name: 'route.gateway-id', Values: [igw.InternetGatewayId!] },
            { Name: 'vpc-id', Values: [vpc.VpcId!] },
          ],
        }),
      )
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
    const [black] = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb.RouteTableId!], Filters: [{ Name: 'route.state', Values: ['blackhole'] }] })))
      .RouteTables!;
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
      new CreateNetworkAclEntryCommand({
        NetworkAclId: id,
        RuleNumber: 100,
        Protocol: 'tcp',
        RuleAction: 'allow',
        Egress: false,
        CidrBlock: '0.0.0.0/0',
        PortRange: { From: 22, To: 22 },
      }),
    );
    await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: id,
        RuleNumber: 110,
        Protocol: '1',
        RuleAction: 'allow',
        Egress: false,
        CidrBlock: '10.0.0.0/8',
        IcmpTypeCode: { Type: -1, Code: -1 },
      }),
    );
    const dup = await errorOf(
      ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 100, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: '0.0.0.0/0' })),
    );
    expect(dup.name).toBe('NetworkAclEntryAlreadyExists');
    // The same number in the other direction is a different entry.
    await ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' }));
    for (const n of [0, 32767]) {
      const e = await errorOf(
        ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: n, Protocol: '-1', RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' })),
      );
      expect(e.name).toBe('InvalidParameterValue');
    }
    const noPorts = await errorOf(
      ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 120, Protocol: '6', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' })),
    );
    expect(noPorts.name).toBe('MissingParameter');
    const badProto = await errorOf(
      ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 120, Protocol: 'gre', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' })),
    );
    expect(badProto.name).toBe('InvalidParameterValue');

    await ec2.send(
      new ReplaceNetworkAclEntryCommand({
        NetworkAclId: id,
        RuleNumber: 100,
        Protocol: '17',
        RuleAction: 'deny',
        Egress: false,
        CidrBlock: '192.0.2.0/24',
        PortRange: { From: 53, To: 53 },
      }),
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
    const byProto = (
      await ec2.send(
        new DescribeNetworkAclsCommand({
          Filters: [
            { Name: 'entry.protocol', Values: ['udp'] },
            { Name: 'entry.port-range.from', Values: ['53'] },
          ],
        }),
      )
    ).NetworkAcls!;
    expect(byProto.map((a) => a.NetworkAclId)).toEqual([id]);

    await ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 110, Egress: false }));
    expect((await errorOf(ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 110, Egress: false })))).name).toBe('InvalidNetworkAclEntry.NotFound');

    // Move the subnet to the new ACL, then back.
    const [def] = (
      await ec2.send(
        new DescribeNetworkAclsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpc.VpcId!] },
            { Name: 'default', Values: ['true'] },
          ],
        }),
      )
    ).NetworkAcls!;
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
