// Elastic network interfaces through @aws-sdk/client-ec2 against a server with the fake driver:
// create/describe/delete, addresses (explicit, counted, secondary, reassigned), attach/detach to a
// running instance and what DescribeInstances then shows, the limits of the instance type,
// attributes, DependencyViolation on DeleteSubnet/DeleteVpc, DryRun, account isolation, and the
// vpc.sync job that every change to an attached interface queues for its VPC.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AllocateAddressCommand,
  AssignPrivateIpAddressesCommand,
  AssociateAddressCommand,
  AttachInternetGatewayCommand,
  AttachNetworkInterfaceCommand,
  CreateInternetGatewayCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteNetworkInterfaceCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfaceAttributeCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DetachInternetGatewayCommand,
  DetachNetworkInterfaceCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  ResetNetworkInterfaceAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  UnassignPrivateIpAddressesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceTerminated,
  type Instance,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import { VPC_SYNC } from '../src/services/ec2/common/network-sync.js';
import { errorOf, startTestServer, type TestServer } from './harness.js';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };

let s: TestServer;
let ec2: EC2Client;
let imageId: string;
let vpcId: string;
let subnetA: string; // us-east-1a, 10.0.1.0/24: the instances
let subnetB: string; // us-east-1b, 10.0.2.0/24
let subnetC: string; // us-east-1a, 10.0.3.0/24: addresses checked exactly
let defaultGroup: string;
let webGroup: string;
/** The VPC ids of the vpc.sync jobs the controllers ran (a recording reconciler stands in). */
const synced: string[] = [];

async function eni(id: string): Promise<NetworkInterface> {
  return (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;
}

async function instance(id: string): Promise<Instance> {
  return (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
}

async function create(subnetId: string, more: Omit<ConstructorParameters<typeof CreateNetworkInterfaceCommand>[0], 'SubnetId'> = {}): Promise<NetworkInterface> {
  return (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, ...more }))).NetworkInterface!;
}

async function launch(subnetId = subnetA): Promise<string> {
  const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SubnetId: subnetId }));
  const id = out.Instances![0]!.InstanceId!;
  await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
  return id;
}

/** The VPCs that got a vpc.sync for what `fn` did (after the controllers ran everything due). */
async function syncsOf(fn: () => Promise<unknown>): Promise<string[]> {
  await s.app.runner.idle();
  synced.length = 0;
  await fn();
  await s.app.runner.idle();
  return [...synced];
}

beforeAll(async () => {
  s = await startTestServer();
  ec2 = s.ec2();
  s.app.runner.register(VPC_SYNC, async (job) => {
    synced.push(job.resource_id);
  });
  imageId = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }))).Images![0]!.ImageId!;
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const subnet = async (cidr: string, zone: string) => (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!;
  subnetA = await subnet('10.0.1.0/24', 'us-east-1a');
  subnetB = await subnet('10.0.2.0/24', 'us-east-1b');
  subnetC = await subnet('10.0.3.0/24', 'us-east-1a');
  const groups = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
  defaultGroup = groups.SecurityGroups![0]!.GroupId!;
  webGroup = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'web', Description: 'web' }))).GroupId!;
});

afterAll(async () => {
  await s?.stop();
});

describe('CreateNetworkInterface, DescribeNetworkInterfaces, DeleteNetworkInterface', () => {
  test('an interface gets the lowest free address, a MAC, the default group, its tags', async () => {
    const n = await create(subnetC, {
      Description: 'spare',
      TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'Name', Value: 'spare' }] }],
    });
    expect(n).toMatchObject({
      SubnetId: subnetC,
      VpcId: vpcId,
      AvailabilityZone: 'us-east-1a',
      Description: 'spare',
      InterfaceType: 'interface',
      Status: 'available',
      SourceDestCheck: true,
      PrivateIpAddress: '10.0.3.4',
      PrivateDnsName: 'ip-10-0-3-4.ec2.internal',
      PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: '10.0.3.4', PrivateDnsName: 'ip-10-0-3-4.ec2.internal' }],
      Groups: [{ GroupId: defaultGroup, GroupName: 'default' }],
      TagSet: [{ Key: 'Name', Value: 'spare' }],
      OwnerId: s.admin.accountId,
      RequesterManaged: false,
    });
    expect(n.NetworkInterfaceId).toMatch(/^eni-[0-9a-f]{17}$/);
    expect(n.MacAddress).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(n.Attachment).toBeUndefined();
    expect(await eni(n.NetworkInterfaceId!)).toEqual(n);

    const filtered = async (Name: string, Values: string[]) =>
      (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name, Values }] }))).NetworkInterfaces!.map((x) => x.NetworkInterfaceId);
    for (const [name, value] of [
      ['subnet-id', subnetC],
      ['private-ip-address', '10.0.3.4'],
      ['addresses.private-ip-address', '10.0.3.4'],
      ['description', 'spa*'],
      ['tag:Name', 'spare'],
      ['status', 'available'],
      ['group-id', defaultGroup],
      ['mac-address', n.MacAddress!],
    ] as const) {
      expect(await filtered(name, [value]), name).toEqual([n.NetworkInterfaceId]);
    }
    expect(await filtered('status', ['in-use'])).not.toContain(n.NetworkInterfaceId);

    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId }));
    const gone = await errorOf(eni(n.NetworkInterfaceId!));
    expect([gone.name, gone.message]).toEqual(['InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${n.NetworkInterfaceId}' does not exist`]);
    expect((await errorOf(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId })))).name).toBe('InvalidNetworkInterfaceID.NotFound');
    expect((await errorOf(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: 'eni-nope' })))).name).toBe('InvalidNetworkInterfaceId.Malformed');
    // Its tags went with it, and its address is free again.
    const again = await create(subnetC);
    expect(again.PrivateIpAddress).toBe('10.0.3.4');
    expect(again.TagSet).toEqual([]);
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: again.NetworkInterfaceId }));
  });

  test('explicit primary and secondary addresses, and a count of secondaries', async () => {
    const a = await create(subnetC, {
      PrivateIpAddresses: [
        { PrivateIpAddress: '10.0.3.50', Primary: true },
        { PrivateIpAddress: '10.0.3.51', Primary: false },
      ],
      Groups: [webGroup],
    });
    expect(a.PrivateIpAddress).toBe('10.0.3.50');
    expect(a.PrivateIpAddresses!.map((p) => [p.PrivateIpAddress, p.Primary])).toEqual([
      ['10.0.3.50', true],
      ['10.0.3.51', false],
    ]);
    expect(a.Groups).toEqual([{ GroupId: webGroup, GroupName: 'web' }]);

    const b = await create(subnetC, { PrivateIpAddress: '10.0.3.60', SecondaryPrivateIpAddressCount: 2 });
    expect(b.PrivateIpAddresses!.map((p) => p.PrivateIpAddress)).toEqual(['10.0.3.60', '10.0.3.4', '10.0.3.5']);
    const c = await create(subnetC, { SecondaryPrivateIpAddressCount: 1 });
    expect(c.PrivateIpAddresses!.map((p) => p.PrivateIpAddress)).toEqual(['10.0.3.6', '10.0.3.7']);

    // Filters see every address; addresses.primary tells them apart.
    const bySecondary = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'private-ip-address', Values: ['10.0.3.51'] }] }));
    expect(bySecondary.NetworkInterfaces!.map((x) => x.NetworkInterfaceId)).toEqual([a.NetworkInterfaceId]);

    for (const ip of ['10.0.3.50', '10.0.3.51', '10.0.3.5']) {
      const taken = await errorOf(create(subnetC, { PrivateIpAddress: ip }));
      expect([taken.name, taken.message]).toEqual(['InvalidIPAddress.InUse', `Address ${ip} is in use.`]);
    }
    const reserved = await errorOf(create(subnetC, { PrivateIpAddress: '10.0.3.1' }));
    expect([reserved.name, reserved.message]).toEqual(['InvalidParameterValue', "Address 10.0.3.1 is in subnet's reserved address range"]);
    const outside = await errorOf(create(subnetC, { PrivateIpAddress: '10.0.9.9' }));
    expect([outside.name, outside.message]).toEqual(['InvalidParameterValue', "Address 10.0.9.9 does not fall within the subnet's address range"]);
    const twoPrimaries = await errorOf(
      create(subnetC, {
        PrivateIpAddresses: [
          { PrivateIpAddress: '10.0.3.70', Primary: true },
          { PrivateIpAddress: '10.0.3.71', Primary: true },
        ],
      }),
    );
    expect(twoPrimaries.name).toBe('InvalidParameterValue');
    const both = await errorOf(
      create(subnetC, {
        SecondaryPrivateIpAddressCount: 1,
        PrivateIpAddresses: [{ PrivateIpAddress: '10.0.3.70', Primary: true }, { PrivateIpAddress: '10.0.3.71' }],
      }),
    );
    expect(both.name).toBe('InvalidParameterCombination');
    const tooMany = await errorOf(create(subnetC, { SecondaryPrivateIpAddressCount: 50 }));
    expect(tooMany.name).toBe('PrivateIpAddressLimitExceeded');
    // Failed requests took nothing.
    const next = await create(subnetC);
    expect(next.PrivateIpAddress).toBe('10.0.3.8');
    for (const x of [a, b, c, next]) await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: x.NetworkInterfaceId }));
  });

  test('subnet and group errors', async () => {
    const noSubnet = await errorOf(create('subnet-0123456789abcdef0'));
    expect([noSubnet.name, noSubnet.message]).toEqual(['InvalidSubnetID.NotFound', "The subnet ID 'subnet-0123456789abcdef0' does not exist"]);
    const noGroup = await errorOf(create(subnetC, { Groups: ['sg-0123456789abcdef0'] }));
    expect([noGroup.name, noGroup.message]).toEqual(['InvalidGroup.NotFound', "The security group 'sg-0123456789abcdef0' does not exist"]);
    const otherVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!.VpcId!;
    const foreign = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: otherVpc, GroupName: 'x', Description: 'x' }))).GroupId!;
    const wrongVpc = await errorOf(create(subnetC, { Groups: [foreign] }));
    expect([wrongVpc.name, wrongVpc.message]).toEqual(['InvalidParameter', `Security group ${foreign} and subnet ${subnetC} belong to different networks.`]);
    const six: string[] = [];
    for (let i = 0; i < 6; i++) six.push((await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `g${i}`, Description: 'g' }))).GroupId!);
    expect((await errorOf(create(subnetC, { Groups: six }))).name).toBe('SecurityGroupsPerInterfaceLimitExceeded');
    const five = await create(subnetC, { Groups: six.slice(0, 5) });
    expect(five.Groups!.map((g) => g.GroupId)).toEqual(six.slice(0, 5));
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: five.NetworkInterfaceId }));
  });

  test('ClientToken: the same request gives the same interface; other arguments are refused', async () => {
    const first = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetC, Description: 'idem', ClientToken: 'tok-1' }));
    const second = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetC, Description: 'idem', ClientToken: 'tok-1' }));
    expect(second.NetworkInterface!.NetworkInterfaceId).toBe(first.NetworkInterface!.NetworkInterfaceId);
    expect(second.ClientToken).toBe('tok-1');
    const all = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: ['idem'] }] }));
    expect(all.NetworkInterfaces).toHaveLength(1);
    const mismatch = await errorOf(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetC, Description: 'other', ClientToken: 'tok-1' })));
    expect(mismatch.name).toBe('IdempotentParameterMismatch');
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: first.NetworkInterface!.NetworkInterfaceId }));
  });

  test('DryRun answers DryRunOperation and changes nothing', async () => {
    const dry = await errorOf(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetC, Description: 'dry', DryRun: true })));
    expect(dry.name).toBe('DryRunOperation');
    const none = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: ['dry'] }] }));
    expect(none.NetworkInterfaces).toEqual([]);
    // A DryRun of a request that would fail fails like it.
    expect((await errorOf(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: 'subnet-0123456789abcdef0', DryRun: true })))).name).toBe('InvalidSubnetID.NotFound');
    const n = await create(subnetC);
    const dryDelete = await errorOf(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId, DryRun: true })));
    expect(dryDelete.name).toBe('DryRunOperation');
    expect((await eni(n.NetworkInterfaceId!)).NetworkInterfaceId).toBe(n.NetworkInterfaceId);
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId }));
  });
});

describe('attach and detach', () => {
  let instanceId: string;
  beforeAll(async () => {
    instanceId = await launch();
  });

  test('an interface attached to a running instance shows in both Describe calls; detaching takes it away', async () => {
    const n = await create(subnetA, { Groups: [webGroup] });
    let attachmentId = '';
    expect(
      await syncsOf(async () => {
        const out = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId, InstanceId: instanceId, DeviceIndex: 1 }));
        attachmentId = out.AttachmentId!;
        expect(out.NetworkCardIndex).toBe(0);
      }),
    ).toEqual([vpcId]);
    expect(attachmentId).toMatch(/^eni-attach-[0-9a-f]{17}$/);

    const attached = await eni(n.NetworkInterfaceId!);
    expect(attached.Status).toBe('in-use');
    expect(attached.Attachment).toMatchObject({
      AttachmentId: attachmentId,
      InstanceId: instanceId,
      InstanceOwnerId: s.admin.accountId,
      DeviceIndex: 1,
      Status: 'attached',
      DeleteOnTermination: false,
      NetworkCardIndex: 0,
    });
    expect(attached.Attachment!.AttachTime).toBeInstanceOf(Date);
    const byInstance = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
    expect(byInstance.NetworkInterfaces!.map((x) => x.Attachment!.DeviceIndex).sort()).toEqual([0, 1]);

    const i = await instance(instanceId);
    expect(i.NetworkInterfaces!.map((x) => [x.NetworkInterfaceId, x.Attachment!.DeviceIndex, x.Attachment!.Status])).toEqual([
      [expect.any(String), 0, 'attached'],
      [n.NetworkInterfaceId, 1, 'attached'],
    ]);
    expect(i.NetworkInterfaces![1]!.Groups).toEqual([{ GroupId: webGroup, GroupName: 'web' }]);
    const byEni = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'network-interface.network-interface-id', Values: [n.NetworkInterfaceId!] }] }));
    expect(byEni.Reservations!.flatMap((r) => r.Instances!.map((x) => x.InstanceId))).toEqual([instanceId]);

    const inUse = await errorOf(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId })));
    expect([inUse.name, inUse.message]).toEqual(['InvalidNetworkInterface.InUse', `The network interface '${n.NetworkInterfaceId}' is currently in use.`]);

    expect(await syncsOf(() => ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId })))).toEqual([vpcId]);
    const detached = await eni(n.NetworkInterfaceId!);
    expect(detached.Status).toBe('available');
    expect(detached.Attachment).toBeUndefined();
    expect((await instance(instanceId)).NetworkInterfaces).toHaveLength(1);
    const twice = await errorOf(ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId })));
    expect([twice.name, twice.message]).toEqual(['InvalidAttachmentID.NotFound', `The attachment ID '${attachmentId}' does not exist`]);
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId }));
  });

  test("device indexes, the instance type's interface limit, zones, states", async () => {
    const a = await create(subnetA);
    const b = await create(subnetA);
    const attach = (id: string, index: number, inst = instanceId) => ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: inst, DeviceIndex: index }));

    const taken = await errorOf(attach(a.NetworkInterfaceId!, 0));
    expect([taken.name, taken.message]).toEqual(['InvalidParameterValue', `Instance '${instanceId}' already has an interface attached at device index '0'.`]);
    await attach(a.NetworkInterfaceId!, 1);
    const again = await errorOf(attach(b.NetworkInterfaceId!, 1));
    expect(again.message).toBe(`Instance '${instanceId}' already has an interface attached at device index '1'.`);
    // t3.micro takes two interfaces.
    const limit = await errorOf(attach(b.NetworkInterfaceId!, 2));
    expect([limit.name, limit.message]).toEqual(['AttachmentLimitExceeded', 'Interface count 3 exceeds the limit for t3.micro']);
    const busy = await errorOf(attach(a.NetworkInterfaceId!, 3));
    expect(busy.name).toBe('InvalidNetworkInterface.InUse');

    const elsewhere = await create(subnetB);
    const zone = await errorOf(attach(elsewhere.NetworkInterfaceId!, 2));
    expect([zone.name, zone.message]).toEqual([
      'InvalidParameterCombination',
      'You may not attach a network interface to an instance if they are not in the same availability zone',
    ]);

    const primary = (await instance(instanceId)).NetworkInterfaces!.find((x) => x.Attachment!.DeviceIndex === 0)!;
    const detachPrimary = await errorOf(ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: primary.Attachment!.AttachmentId })));
    expect([detachPrimary.name, detachPrimary.message]).toEqual(['OperationNotPermitted', 'The network interface at device index 0 and networkCard index 0 cannot be detached.']);
    expect((await errorOf(ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-0123456789abcdef0' })))).name).toBe('InvalidAttachmentID.NotFound');
    expect((await errorOf(ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'attach-1' })))).name).toBe('InvalidNetworkInterfaceAttachmentId.Malformed');
    expect((await errorOf(attach(b.NetworkInterfaceId!, 1, 'i-0123456789abcdef0'))).name).toBe('InvalidInstanceID.NotFound');
    expect((await errorOf(attach('eni-0123456789abcdef0', 1))).name).toBe('InvalidNetworkInterfaceID.NotFound');
    expect((await errorOf(attach(b.NetworkInterfaceId!, -1))).name).toBe('InvalidParameterValue');

    // DryRun attaches nothing.
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: (await eni(a.NetworkInterfaceId!)).Attachment!.AttachmentId }));
    const dry = await errorOf(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: b.NetworkInterfaceId, InstanceId: instanceId, DeviceIndex: 1, DryRun: true })));
    expect(dry.name).toBe('DryRunOperation');
    expect((await eni(b.NetworkInterfaceId!)).Status).toBe('available');

    // A terminated instance takes no interface; one it had that is not DeleteOnTermination stays, detached.
    const doomed = await launch();
    await attach(b.NetworkInterfaceId!, 1, doomed);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [doomed] }));
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [doomed] });
    const dead = await errorOf(attach(a.NetworkInterfaceId!, 1, doomed));
    expect([dead.name, dead.message]).toEqual(['IncorrectInstanceState', `The terminated instance '${doomed}' is not in a valid state for this operation.`]);
    expect((await eni(b.NetworkInterfaceId!)).Status).toBe('available');

    for (const x of [a, b, elsewhere]) await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: x.NetworkInterfaceId }));
  });

  test('DeleteOnTermination set through ModifyNetworkInterfaceAttribute deletes the interface with its instance', async () => {
    const doomed = await launch();
    const n = await create(subnetA);
    const { AttachmentId } = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId, InstanceId: doomed, DeviceIndex: 1 }));
    const wrong = await errorOf(
      ec2.send(
        new ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: n.NetworkInterfaceId,
          Attachment: { AttachmentId: 'eni-attach-0123456789abcdef0', DeleteOnTermination: true },
        }),
      ),
    );
    expect(wrong.name).toBe('InvalidAttachmentID.NotFound');
    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: n.NetworkInterfaceId, Attachment: { AttachmentId, DeleteOnTermination: true } }));
    expect((await eni(n.NetworkInterfaceId!)).Attachment!.DeleteOnTermination).toBe(true);
    const attr = await ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: n.NetworkInterfaceId, Attribute: 'attachment' }));
    expect(attr.Attachment).toMatchObject({ AttachmentId, DeleteOnTermination: true, InstanceId: doomed, DeviceIndex: 1 });
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [doomed] }));
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [doomed] });
    expect((await errorOf(eni(n.NetworkInterfaceId!))).name).toBe('InvalidNetworkInterfaceID.NotFound');
  });
});

describe('secondary private addresses', () => {
  test('assign and unassign on an unattached interface, reassignment between interfaces', async () => {
    const a = await create(subnetC, { PrivateIpAddress: '10.0.3.100' });
    const b = await create(subnetC, { PrivateIpAddress: '10.0.3.110' });
    const syncs = await syncsOf(async () => {
      const out = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.NetworkInterfaceId, PrivateIpAddresses: ['10.0.3.101', '10.0.3.102'] }));
      expect(out).toMatchObject({ NetworkInterfaceId: a.NetworkInterfaceId, AssignedPrivateIpAddresses: [{ PrivateIpAddress: '10.0.3.101' }, { PrivateIpAddress: '10.0.3.102' }] });
    });
    // Not attached: no data plane to change.
    expect(syncs).toEqual([]);
    const counted = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: b.NetworkInterfaceId, SecondaryPrivateIpAddressCount: 2 }));
    const auto = counted.AssignedPrivateIpAddresses!.map((x) => x.PrivateIpAddress!);
    expect(auto).toHaveLength(2);
    expect(auto.every((ip) => ip.startsWith('10.0.3.'))).toBe(true);
    expect((await eni(b.NetworkInterfaceId!)).PrivateIpAddresses!.map((p) => p.PrivateIpAddress)).toEqual(['10.0.3.110', ...auto]);

    const inUse = await errorOf(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: b.NetworkInterfaceId, PrivateIpAddresses: ['10.0.3.101'] })));
    expect([inUse.name, inUse.message]).toEqual(['InvalidParameterValue', 'Address 10.0.3.101 is in use.']);
    // A primary address never moves, even when reassignment is allowed.
    const primary = await errorOf(
      ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: b.NetworkInterfaceId, PrivateIpAddresses: ['10.0.3.100'], AllowReassignment: true })),
    );
    expect(primary.name).toBe('InvalidParameterValue');
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: b.NetworkInterfaceId, PrivateIpAddresses: ['10.0.3.101'], AllowReassignment: true }));
    expect((await eni(a.NetworkInterfaceId!)).PrivateIpAddresses!.map((p) => p.PrivateIpAddress)).toEqual(['10.0.3.100', '10.0.3.102']);
    expect((await eni(b.NetworkInterfaceId!)).PrivateIpAddresses!.map((p) => p.PrivateIpAddress)).toEqual(['10.0.3.110', ...auto, '10.0.3.101']);

    const both = await errorOf(
      ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.NetworkInterfaceId, PrivateIpAddresses: ['10.0.3.120'], SecondaryPrivateIpAddressCount: 1 })),
    );
    expect(both.name).toBe('InvalidParameterCombination');
    expect((await errorOf(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.NetworkInterfaceId })))).name).toBe('MissingParameter');
    expect((await errorOf(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.NetworkInterfaceId, PrivateIpAddresses: ['10.0.4.1'] })))).name).toBe(
      'InvalidParameterValue',
    );

    const unassignPrimary = await errorOf(ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: a.NetworkInterfaceId, PrivateIpAddresses: ['10.0.3.100'] })));
    expect(unassignPrimary.name).toBe('InvalidParameterValue');
    const notHers = await errorOf(ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: a.NetworkInterfaceId, PrivateIpAddresses: ['10.0.3.101'] })));
    expect(notHers.name).toBe('InvalidParameterValue');
    await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: a.NetworkInterfaceId, PrivateIpAddresses: ['10.0.3.102'] }));
    expect((await eni(a.NetworkInterfaceId!)).PrivateIpAddresses!.map((p) => p.PrivateIpAddress)).toEqual(['10.0.3.100']);
    // The address is free for anyone again.
    const c = await create(subnetC, { PrivateIpAddress: '10.0.3.102' });
    for (const x of [a, b, c]) await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: x.NetworkInterfaceId }));
  });

  test("on an attached interface: the instance type's limit, a sync per change, an elastic IP disassociated on unassign", async () => {
    const instanceId = await launch();
    const n = await create(subnetA);
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId, InstanceId: instanceId, DeviceIndex: 1 }));
    let secondary = '';
    expect(
      await syncsOf(async () => {
        const out = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: n.NetworkInterfaceId, SecondaryPrivateIpAddressCount: 1 }));
        secondary = out.AssignedPrivateIpAddresses![0]!.PrivateIpAddress!;
      }),
    ).toEqual([vpcId]);
    // t3.micro: two IPv4 addresses per interface.
    const limit = await errorOf(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: n.NetworkInterfaceId, SecondaryPrivateIpAddressCount: 1 })));
    expect([limit.name, limit.message]).toEqual(['PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.']);
    const i = await instance(instanceId);
    expect(i.NetworkInterfaces![1]!.PrivateIpAddresses!.map((p) => [p.PrivateIpAddress, p.Primary])).toEqual([
      [n.PrivateIpAddress, true],
      [secondary, false],
    ]);

    // An elastic IP on the secondary address shows on it; unassigning the address disassociates it.
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const assoc = await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, NetworkInterfaceId: n.NetworkInterfaceId, PrivateIpAddress: secondary }));
    const mapped = await eni(n.NetworkInterfaceId!);
    expect(mapped.Association).toBeUndefined();
    expect(mapped.PrivateIpAddresses![1]!.Association).toMatchObject({
      PublicIp: eip.PublicIp,
      AllocationId: eip.AllocationId,
      AssociationId: assoc.AssociationId,
      IpOwnerId: s.admin.accountId,
    });
    const byPublic = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.association.public-ip', Values: [eip.PublicIp!] }] }));
    expect(byPublic.NetworkInterfaces!.map((x) => x.NetworkInterfaceId)).toEqual([n.NetworkInterfaceId]);

    expect(await syncsOf(() => ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: n.NetworkInterfaceId, PrivateIpAddresses: [secondary] })))).toEqual([vpcId]);
    const address = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses![0]!;
    expect(address.AssociationId).toBeUndefined();
    expect(address.NetworkInterfaceId).toBeUndefined();
    expect((await eni(n.NetworkInterfaceId!)).PrivateIpAddresses).toHaveLength(1);

    // An elastic IP on the primary address is the interface's Association too.
    await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, NetworkInterfaceId: n.NetworkInterfaceId }));
    const top = await eni(n.NetworkInterfaceId!);
    expect(top.Association).toMatchObject({ PublicIp: eip.PublicIp, AllocationId: eip.AllocationId, IpOwnerId: s.admin.accountId });
    expect(top.PrivateIpAddresses![0]!.Association!.PublicIp).toBe(eip.PublicIp);
    // Detached, it keeps its elastic IP; deleted, the address stays allocated and is free.
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: top.Attachment!.AttachmentId }));
    expect((await eni(n.NetworkInterfaceId!)).Association!.PublicIp).toBe(eip.PublicIp);
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId }));
    const after = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses![0]!;
    expect(after.PublicIp).toBe(eip.PublicIp);
    expect(after.NetworkInterfaceId).toBeUndefined();

    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw }));
  });
});

describe('attributes', () => {
  test('description, groups, source/dest check: describe, modify, reset; a sync only when attached', async () => {
    const n = await create(subnetC, { Description: 'before' });
    const id = n.NetworkInterfaceId!;
    const attr = (Attribute: 'description' | 'groupSet' | 'sourceDestCheck' | 'attachment' | 'associatePublicIpAddress') =>
      ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Attribute }));
    expect((await attr('description')).Description).toEqual({ Value: 'before' });
    expect((await attr('groupSet')).Groups).toEqual([{ GroupId: defaultGroup, GroupName: 'default' }]);
    expect((await attr('sourceDestCheck')).SourceDestCheck).toEqual({ Value: true });
    expect((await attr('attachment')).Attachment).toBeUndefined();
    expect((await attr('associatePublicIpAddress')).AssociatePublicIpAddress).toBe(false);
    const unknown = await errorOf(ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Attribute: 'color' as 'description' })));
    expect(unknown.name).toBe('InvalidParameterValue');

    const modify = (more: Omit<ConstructorParameters<typeof ModifyNetworkInterfaceAttributeCommand>[0], 'NetworkInterfaceId'>) =>
      ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, ...more }));
    expect(await syncsOf(() => modify({ Description: { Value: 'after' } }))).toEqual([]);
    expect((await attr('description')).Description).toEqual({ Value: 'after' });
    expect(await syncsOf(() => modify({ Groups: [webGroup, defaultGroup] }))).toEqual([]);
    expect((await eni(id)).Groups).toEqual([
      { GroupId: webGroup, GroupName: 'web' },
      { GroupId: defaultGroup, GroupName: 'default' },
    ]);
    await modify({ SourceDestCheck: { Value: false } });
    expect((await eni(id)).SourceDestCheck).toBe(false);
    await ec2.send(new ResetNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, SourceDestCheck: 'sourceDestCheck' }));
    expect((await attr('sourceDestCheck')).SourceDestCheck).toEqual({ Value: true });

    const two = await errorOf(modify({ Description: { Value: 'x' }, SourceDestCheck: { Value: false } }));
    expect(two.name).toBe('InvalidParameterCombination');
    expect((await errorOf(modify({}))).name).toBe('MissingParameter');
    expect((await errorOf(modify({ Groups: ['sg-0123456789abcdef0'] }))).name).toBe('InvalidGroup.NotFound');
    const dry = await errorOf(modify({ Description: { Value: 'dry' }, DryRun: true }));
    expect(dry.name).toBe('DryRunOperation');
    expect((await attr('description')).Description).toEqual({ Value: 'after' });

    // Attached: each change that reaches the data plane queues a sync of its VPC.
    const instanceId = await launch();
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: instanceId, DeviceIndex: 1 }));
    expect(await syncsOf(() => modify({ Groups: [webGroup] }))).toEqual([vpcId]);
    expect(await syncsOf(() => modify({ SourceDestCheck: { Value: false } }))).toEqual([vpcId]);
    expect(await syncsOf(() => ec2.send(new ResetNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, SourceDestCheck: 'sourceDestCheck' })))).toEqual([vpcId]);
    const inInstance = (await instance(instanceId)).NetworkInterfaces!.find((x) => x.NetworkInterfaceId === id)!;
    expect(inInstance.Groups).toEqual([{ GroupId: webGroup, GroupName: 'web' }]);
    expect(inInstance.SourceDestCheck).toBe(true);
    // The instance's groups are its primary interface's: a secondary's change leaves them.
    expect((await instance(instanceId)).SecurityGroups).toEqual([{ GroupId: defaultGroup, GroupName: 'default' }]);

    // The primary interface's groups are the instance's.
    const primary = (await instance(instanceId)).NetworkInterfaces!.find((x) => x.Attachment!.DeviceIndex === 0)!;
    expect(await syncsOf(() => ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: primary.NetworkInterfaceId, Groups: [webGroup] })))).toEqual([vpcId]);
    expect((await instance(instanceId)).SecurityGroups).toEqual([{ GroupId: webGroup, GroupName: 'web' }]);
  });
});

describe('dependencies', () => {
  test('DeleteSubnet and DeleteVpc refuse while an interface (or any dependent) is there', async () => {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
    const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.20.1.0/24' }))).Subnet!.SubnetId!;
    const n = await create(subnet);
    const subnetBusy = await errorOf(ec2.send(new DeleteSubnetCommand({ SubnetId: subnet })));
    expect([subnetBusy.name, subnetBusy.message]).toEqual(['DependencyViolation', `The subnet '${subnet}' has dependencies and cannot be deleted.`]);
    const vpcBusy = await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: vpc })));
    expect([vpcBusy.name, vpcBusy.message]).toEqual(['DependencyViolation', `The vpc '${vpc}' has dependencies and cannot be deleted.`]);
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId }));
    await ec2.send(new DeleteSubnetCommand({ SubnetId: subnet }));

    // A gateway attached to it holds the VPC too.
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    expect((await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: vpc })))).name).toBe('DependencyViolation');
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc }));
  });
});

describe('accounts', () => {
  test('another account sees, changes and uses none of these interfaces', async () => {
    const n = await create(subnetC);
    const id = n.NetworkInterfaceId!;
    const creds = await s.app.accounts.create('other-enis');
    const other = s.ec2({ credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey } });
    const theirs = await other.send(new DescribeNetworkInterfacesCommand({}));
    expect(theirs.NetworkInterfaces!.map((x) => x.NetworkInterfaceId)).not.toContain(id);
    for (const call of [
      other.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] })),
      other.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })),
      other.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Description: { Value: 'mine' } })),
      other.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 1 })),
      other.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Attribute: 'description' })),
    ]) {
      expect((await errorOf(call)).name).toBe('InvalidNetworkInterfaceID.NotFound');
    }
    // Nor can it create one in this account's subnet.
    expect((await errorOf(other.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetC })))).name).toBe('InvalidSubnetID.NotFound');
    expect((await eni(id)).Description).toBe('');
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
  });
});
