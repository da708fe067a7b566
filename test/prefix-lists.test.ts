// Customer-managed prefix lists through the SDK: their life, their versions, the rules and routes
// that name them (and the VPC data plane's view of them: vpcSpecFromRows expands them in
// src/controllers/network.test.ts; the NAT instance system test enforces one), and what EC2 refuses.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateSubnetCommand,
  CreateManagedPrefixListCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteManagedPrefixListCommand,
  DeleteRouteCommand,
  DescribeManagedPrefixListsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  GetManagedPrefixListEntriesCommand,
  ModifyManagedPrefixListCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { loadVpcSpec } from '../src/controllers/network.js';
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

const create = async (name: string, cidrs: string[], max = 10) =>
  (
    await ec2.send(
      new CreateManagedPrefixListCommand({ PrefixListName: name, AddressFamily: 'IPv4', MaxEntries: max, Entries: cidrs.map((Cidr) => ({ Cidr, Description: `d ${Cidr}` })) }),
    )
  ).PrefixList!;
const entries = async (id: string, version?: number) =>
  (await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id, TargetVersion: version }))).Entries!.map((e) => e.Cidr);

describe('managed prefix lists', () => {
  test('create, describe, tags and filters', async () => {
    const pl = await create('office', ['198.51.100.0/24', '203.0.113.7/32']);
    expect(pl).toMatchObject({
      PrefixListName: 'office',
      AddressFamily: 'IPv4',
      MaxEntries: 10,
      Version: 1,
      State: 'create-complete',
      OwnerId: s.admin.accountId,
      PrefixListArn: `arn:aws:ec2:us-east-1:${s.admin.accountId}:prefix-list/${pl.PrefixListId}`,
    });
    expect(pl.PrefixListId).toMatch(/^pl-[0-9a-f]{17}$/);
    await ec2.send(new CreateTagsCommand({ Resources: [pl.PrefixListId!], Tags: [{ Key: 'team', Value: 'net' }] }));
    const [found] = (await ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [pl.PrefixListId!] }))).PrefixLists!;
    expect(found).toMatchObject({ PrefixListId: pl.PrefixListId, Tags: [{ Key: 'team', Value: 'net' }] });
    const byName = (await ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'prefix-list-name', Values: ['office'] }] }))).PrefixLists!;
    expect(byName.map((p) => p.PrefixListId)).toEqual([pl.PrefixListId]);
    const byTag = (await ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'tag:team', Values: ['net'] }] }))).PrefixLists!;
    expect(byTag.map((p) => p.PrefixListId)).toEqual([pl.PrefixListId]);
    // Host bits are cleared, as EC2 stores a CIDR.
    const loose = await create('loose', ['10.1.2.3/24']);
    expect(await entries(loose.PrefixListId!)).toEqual(['10.1.2.0/24']);
    // Another account sees none of them.
    const other = s.ec2({ credentials: await s.app.accounts.create('pl-other') });
    const e = await errorOf(other.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [pl.PrefixListId!] })));
    expect(e.name).toBe('InvalidPrefixListID.NotFound');
    expect((await other.send(new DescribeManagedPrefixListsCommand({}))).PrefixLists).toEqual([]);
  });

  test('modify: entries by version, MaxEntries, name; each version stays readable', async () => {
    const pl = await create('versions', ['10.0.1.0/24', '10.0.2.0/24'], 3);
    const id = pl.PrefixListId!;
    const v2 = (
      await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, CurrentVersion: 1, AddEntries: [{ Cidr: '10.0.3.0/24' }], RemoveEntries: [{ Cidr: '10.0.1.0/24' }] }))
    ).PrefixList!;
    expect(v2).toMatchObject({ Version: 2, State: 'modify-complete' });
    expect(await entries(id)).toEqual(['10.0.2.0/24', '10.0.3.0/24']);
    expect(await entries(id, 1)).toEqual(['10.0.1.0/24', '10.0.2.0/24']);
    expect(await entries(id, 2)).toEqual(['10.0.2.0/24', '10.0.3.0/24']);
    expect((await errorOf(ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id, TargetVersion: 3 })))).name).toBe('InvalidParameterValue');
    // A stale CurrentVersion, too many entries, removing what is not there: refused, nothing changes.
    const stale = await errorOf(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, CurrentVersion: 1, AddEntries: [{ Cidr: '10.0.9.0/24' }] })));
    expect(stale.name).toBe('InvalidParameterValue');
    const full = await errorOf(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, AddEntries: [{ Cidr: '10.0.8.0/24' }, { Cidr: '10.0.9.0/24' }] })));
    expect(full.name).toBe('InvalidParameterValue');
    const absent = await errorOf(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, RemoveEntries: [{ Cidr: '10.0.7.0/24' }] })));
    expect(absent.name).toBe('InvalidParameterValue');
    expect(await entries(id)).toEqual(['10.0.2.0/24', '10.0.3.0/24']);
    // MaxEntries alone (not below the entries there), and the name: no new version.
    expect((await errorOf(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, MaxEntries: 1 })))).name).toBe('InvalidParameterValue');
    const both = await errorOf(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, MaxEntries: 5, AddEntries: [{ Cidr: '10.0.5.0/24' }] })));
    expect(both.name).toBe('InvalidParameterCombination');
    const renamed = (await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, MaxEntries: 5, PrefixListName: 'renamed' }))).PrefixList!;
    expect(renamed).toMatchObject({ MaxEntries: 5, PrefixListName: 'renamed', Version: 2 });
  });

  test('refused: IPv6, bad sizes, names of AWS, unknown and malformed ids', async () => {
    const v6 = await errorOf(ec2.send(new CreateManagedPrefixListCommand({ PrefixListName: 'v6', AddressFamily: 'IPv6', MaxEntries: 1 })));
    expect(v6.name).toBe('UnsupportedOperation');
    const v6Entry = await errorOf(
      ec2.send(new CreateManagedPrefixListCommand({ PrefixListName: 'v6', AddressFamily: 'IPv4', MaxEntries: 1, Entries: [{ Cidr: '2001:db8::/32' }] })),
    );
    expect(v6Entry.name).toBe('UnsupportedOperation');
    for (const MaxEntries of [0, 1001]) {
      expect((await errorOf(ec2.send(new CreateManagedPrefixListCommand({ PrefixListName: 'x', AddressFamily: 'IPv4', MaxEntries })))).name).toBe('InvalidParameterValue');
    }
    const over = await errorOf(
      ec2.send(new CreateManagedPrefixListCommand({ PrefixListName: 'x', AddressFamily: 'IPv4', MaxEntries: 1, Entries: [{ Cidr: '10.0.0.0/8' }, { Cidr: '11.0.0.0/8' }] })),
    );
    expect(over.name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new CreateManagedPrefixListCommand({ PrefixListName: 'com.amazonaws.x', AddressFamily: 'IPv4', MaxEntries: 1 })))).name).toBe(
      'InvalidParameterValue',
    );
    const missing = await errorOf(ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: 'pl-0123456789abcdef0' })));
    expect([missing.name, missing.message]).toEqual(['InvalidPrefixListID.NotFound', "The prefix list ID 'pl-0123456789abcdef0' does not exist"]);
    expect((await errorOf(ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: 'pl-zz' })))).name).toBe('InvalidPrefixListId.Malformed');
  });

  test('rules and routes name a list; the VPC data plane gets its entries; a referenced list cannot go', async () => {
    const pl = await create('admins', ['192.0.2.0/28']);
    const id = pl.PrefixListId!;
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!;
    const group = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'ssh', Description: 'ssh' }))).GroupId!;
    const perm = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: id, Description: 'admins' }] };
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [perm] }));
    const [g] = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [group] }))).SecurityGroups!;
    expect(g!.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [{ PrefixListId: id, Description: 'admins' }], UserIdGroupPairs: [] },
    ]);
    // Another account's rule cannot name it.
    const other = s.ec2({ credentials: await s.app.accounts.create('pl-rules') });
    const theirs = (await other.send(new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'x' }))).GroupId!;
    expect((await errorOf(other.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: theirs, IpPermissions: [perm] })))).name).toBe('InvalidPrefixListID.NotFound');

    // A route to the list (through an attached gateway) from a subnet's table.
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
    const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.40.1.0/24' }))).Subnet!.SubnetId!;
    const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: subnet }));
    await ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: id, GatewayId: igw }));
    const [t] = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }))).RouteTables!;
    expect(t!.Routes).toContainEqual({ DestinationPrefixListId: id, GatewayId: igw, Origin: 'CreateRoute', State: 'active' });

    // What vpc.sync hands to the host: a route per entry, following the list's changes.
    const routes = async () =>
      (await loadVpcSpec(s.app.db, vpcId))!.subnets
        .find((x) => x.subnetId === subnet)!
        .routes.filter((r) => r.target === 'internet-gateway')
        .map((r) => r.destination);
    expect(await routes()).toEqual(['192.0.2.0/28']);
    await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: id, AddEntries: [{ Cidr: '198.51.100.0/24' }] }));
    expect((await routes()).sort()).toEqual(['192.0.2.0/28', '198.51.100.0/24']);

    // Deleting a referenced list is refused; unreferenced, it goes.
    const inUse = await errorOf(ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id })));
    expect(inUse.name).toBe('DependencyViolation');
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [perm] }));
    expect((await errorOf(ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id })))).name).toBe('DependencyViolation'); // the route still
    await ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationPrefixListId: id }));
    const gone = (await ec2.send(new DeleteManagedPrefixListCommand({ PrefixListId: id }))).PrefixList!;
    expect(gone).toMatchObject({ PrefixListId: id, State: 'delete-complete' });
    expect((await errorOf(ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [id] })))).name).toBe('InvalidPrefixListID.NotFound');
  });

  test('a rule naming a list counts its MaxEntries against the rules quota (60), also when MaxEntries grows', async () => {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.41.0.0/16' }))).Vpc!.VpcId!;
    const group = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'q', Description: 'q' }))).GroupId!;
    const big = await create('big', ['10.9.0.0/16'], 61);
    const tooMany = await errorOf(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, PrefixListIds: [{ PrefixListId: big.PrefixListId! }] }],
        }),
      ),
    );
    expect(tooMany.name).toBe('RulesPerSecurityGroupLimitExceeded');
    const small = await create('small', ['10.9.0.0/16'], 50);
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, PrefixListIds: [{ PrefixListId: small.PrefixListId! }] }],
      }),
    );
    const grow = await errorOf(ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: small.PrefixListId!, MaxEntries: 61 })));
    expect(grow.name).toBe('RulesPerSecurityGroupLimitExceeded');
    await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: small.PrefixListId!, MaxEntries: 60 }));
  });
});
