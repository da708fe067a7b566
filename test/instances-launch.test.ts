// RunInstances' parameters and errors through @aws-sdk/client-ec2 against a real server with the
// fake driver.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeVolumesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyInstanceMetadataOptionsCommand,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceTerminated,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer, errorOf, minimalImage } from './harness.js';

// Running instances are checked often here, so a shutdown from inside is seen quickly.
process.env.CUMULO_INSTANCE_POLL_MS = '500';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };

let s: TestServer;
let ec2: EC2Client;
let imageId: string;
let run: (input?: Partial<RunInstancesCommandInput>) => Promise<Instance[]>;

beforeAll(async () => {
  s = await startTestServer();
  ec2 = s.ec2();
  imageId = await minimalImage(ec2);
  run = async (input = {}) => {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ...input }));
    return out.Instances!;
  };
});
afterAll(async () => {
  await s?.stop();
});

describe('RunInstances parameters', () => {
  test('MinCount/MaxCount: up to MaxCount, one reservation, launch indexes in order', async () => {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 2, MaxCount: 3, InstanceType: 't3.nano' }));
    expect(out.Instances!.map((i) => i.AmiLaunchIndex)).toEqual([0, 1, 2]);
    const ips = out.Instances!.map((i) => i.PrivateIpAddress!);
    expect(new Set(ips).size).toBe(3);
    const d = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'reservation-id', Values: [out.ReservationId!] }] }));
    expect(d.Reservations).toHaveLength(1);
    expect(d.Reservations![0]!.Instances).toHaveLength(3);
  });

  test('bad counts', async () => {
    expect((await errorOf(run({ MinCount: 0, MaxCount: 1 }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(run({ MinCount: 1, MaxCount: 0 }))).message).toBe('Maximum instance count must be greater than zero');
    expect((await errorOf(run({ MinCount: 3, MaxCount: 2 }))).name).toBe('InvalidParameterValue');
  });

  test('all or nothing in a small subnet: MinCount must fit, MaxCount is a ceiling', async () => {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
    const sub = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.9.0.0/28', AvailabilityZone: 'us-east-1b' }));
    const subnetId = sub.Subnet!.SubnetId!;
    const tooMany = await errorOf(run({ SubnetId: subnetId, MinCount: 12, MaxCount: 12 }));
    expect(tooMany.name).toBe('InsufficientFreeAddressesInSubnet');
    expect((await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'subnet-id', Values: [subnetId] }] }))).Reservations).toEqual([]);
    const got = await run({ SubnetId: subnetId, MinCount: 5, MaxCount: 20 });
    expect(got.map((i) => i.PrivateIpAddress)).toEqual(Array.from({ length: 11 }, (_, k) => `10.9.0.${4 + k}`));
    expect(got[0]!.Placement!.AvailabilityZone).toBe('us-east-1b');
    expect((await errorOf(run({ SubnetId: subnetId }))).name).toBe('InsufficientFreeAddressesInSubnet');
    // Terminating frees the addresses.
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: got.map((i) => i.InstanceId!) }));
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: got.map((i) => i.InstanceId!) });
    const again = await run({ SubnetId: subnetId, PrivateIpAddress: '10.9.0.9' });
    expect(again[0]!.PrivateIpAddress).toBe('10.9.0.9');
    expect((await errorOf(run({ SubnetId: subnetId, PrivateIpAddress: '10.9.0.9' }))).name).toBe('InvalidIPAddress.InUse');
    expect((await errorOf(run({ SubnetId: subnetId, PrivateIpAddress: '10.9.0.2' }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(run({ SubnetId: subnetId, PrivateIpAddress: '10.9.1.9' }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(run({ SubnetId: subnetId, PrivateIpAddress: '10.9.0.10', MaxCount: 2 }))).name).toBe('InvalidParameterCombination');
  });

  test('ClientToken: the same request returns the same reservation, a different one is refused', async () => {
    const token = `tok-${Date.now()}`;
    const a = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 2, MaxCount: 2, InstanceType: 't3.micro', ClientToken: token }));
    const b = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 2, MaxCount: 2, InstanceType: 't3.micro', ClientToken: token }));
    expect(b.ReservationId).toBe(a.ReservationId);
    expect(b.Instances!.map((i) => i.InstanceId)).toEqual(a.Instances!.map((i) => i.InstanceId));
    expect(b.Instances![0]!.ClientToken).toBe(token);
    const f = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [token] }] }));
    expect(f.Reservations![0]!.Instances).toHaveLength(2);
    const e = await errorOf(ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ClientToken: token })));
    expect(e.name).toBe('IdempotentParameterMismatch');
  });

  test('instance type: default m1.small, unknown types and architecture mismatches are refused', async () => {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
    expect(out.Instances![0]!.InstanceType).toBe('m1.small');
    expect(out.Instances![0]!.EbsOptimized).toBe(false);
    const bad = await errorOf(run({ InstanceType: 'x9.huge' as never }));
    expect(bad.name).toBe('InvalidParameterValue');
    expect(bad.message).toBe("Invalid value 'x9.huge' for InstanceType.");
    expect((await errorOf(run({ InstanceType: 'm7g.large' }))).message).toContain("does not match the architecture 'x86_64'");
  });

  test('image errors come from the image family', async () => {
    expect((await errorOf(run({ ImageId: 'ami-nope' }))).name).toBe('InvalidAMIID.Malformed');
    expect((await errorOf(run({ ImageId: 'ami-00000000000000000' }))).name).toBe('InvalidAMIID.NotFound');
    expect((await errorOf(ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1 })))).name).toBe('MissingParameter');
  });

  test('UserData: base64, at most 16 KB decoded, readable back as an attribute', async () => {
    const data = Buffer.from('#!/bin/sh\necho hello\n').toString('base64');
    const [i] = await run({ UserData: data });
    const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: i!.InstanceId!, Attribute: 'userData' }));
    expect(attr.UserData?.Value).toBe(data);
    const bad = await errorOf(run({ UserData: 'not base64!' }));
    expect([bad.name, bad.message]).toEqual(['InvalidParameterValue', 'Invalid BASE64 encoding of user data']);
    const big = await errorOf(run({ UserData: Buffer.alloc(16385, 1).toString('base64') }));
    expect([big.name, big.message]).toEqual(['InvalidParameterValue', 'User data is limited to 16384 bytes']);
    await run({ UserData: Buffer.alloc(16384, 1).toString('base64') });
  });

  test('KeyName, security groups, placement, shutdown behavior, monitoring, metadata, IAM profile', async () => {
    const key = await errorOf(run({ KeyName: 'nope' }));
    expect(key.name).toBe('InvalidKeyPair.NotFound');
    const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web' }));
    const [i] = await run({
      SecurityGroupIds: [sg.GroupId!],
      Placement: { AvailabilityZone: 'us-east-1c' },
      InstanceInitiatedShutdownBehavior: 'terminate',
      Monitoring: { Enabled: false },
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
      DisableApiTermination: true,
    });
    expect(i!.SecurityGroups).toEqual([{ GroupId: sg.GroupId, GroupName: 'web' }]);
    expect(i!.NetworkInterfaces![0]!.Groups).toEqual([{ GroupId: sg.GroupId, GroupName: 'web' }]);
    expect(i!.Placement!.AvailabilityZone).toBe('us-east-1c');
    expect(i!.SubnetId).not.toBe(undefined);
    expect(i!.Monitoring!.State).toBe('disabled');
    expect(i!.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
    expect(i!.IamInstanceProfile).toBeUndefined();
    // EC2 refuses an instance profile the account does not have.
    const byName = await errorOf(run({ IamInstanceProfile: { Name: 'app' } }));
    expect([byName.name, byName.message]).toEqual(['InvalidParameterValue', 'Value (app) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name']);
    const arn = `arn:aws:iam::${s.admin.accountId}:instance-profile/app`;
    const byArn = await errorOf(run({ IamInstanceProfile: { Arn: arn } }));
    expect([byArn.name, byArn.message]).toEqual(['InvalidParameterValue', `Value (${arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN`]);
    // What nothing here would honour is refused, not shown: detailed monitoring (no CloudWatch),
    // dedicated tenancy (every account shares the hosts), the metadata service's IPv6 endpoint.
    const monitoring = await errorOf(run({ Monitoring: { Enabled: true } }));
    expect([monitoring.name, monitoring.message]).toEqual(['UnsupportedOperation', 'Detailed monitoring needs CloudWatch, which cumulo does not provide yet.']);
    expect((await errorOf(run({ Placement: { Tenancy: 'dedicated' } }))).name).toBe('UnsupportedOperation');
    expect((await errorOf(run({ MetadataOptions: { HttpProtocolIpv6: 'enabled' } }))).name).toBe('UnsupportedOperation');
    expect((await errorOf(run({ EnclaveOptions: { Enabled: true } }))).name).toBe('UnsupportedOperation');
    // Nothing here is a placement group, a dedicated host, a capacity reservation or a license; no credits, no resource hostnames.
    expect((await errorOf(run({ Placement: { GroupName: 'cluster' } }))).name).toBe('InvalidPlacementGroup.Unknown');
    expect((await errorOf(run({ Placement: { HostId: 'h-0123456789abcdef0' } }))).name).toBe('InvalidHostID.NotFound');
    expect((await errorOf(run({ CapacityReservationSpecification: { CapacityReservationTarget: { CapacityReservationId: 'cr-0123456789abcdef0' } } }))).name).toBe(
      'InvalidCapacityReservationId.NotFound',
    );
    expect((await errorOf(run({ CreditSpecification: { CpuCredits: 'standard' } }))).name).toBe('Unsupported');
    expect((await errorOf(run({ LicenseSpecifications: [{ LicenseConfigurationArn: 'arn:aws:license-manager:us-east-1:123456789012:license-configuration:lic-1' }] }))).name).toBe(
      'Unsupported',
    );
    expect((await errorOf(run({ PrivateDnsNameOptions: { HostnameType: 'resource-name' } }))).name).toBe('Unsupported');
    // The subnet's settings for launches apply when the request says nothing.
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }))).Vpc!.VpcId!;
    const named = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.77.1.0/24' }))).Subnet!.SubnetId!;
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: named, EnableResourceNameDnsARecordOnLaunch: { Value: true } }));
    const [inherits] = await run({ SubnetId: named });
    expect(inherits!.PrivateDnsNameOptions).toEqual({ HostnameType: 'ip-name', EnableResourceNameDnsARecord: true, EnableResourceNameDnsAAAARecord: false });
    const [overrides] = await run({ SubnetId: named, PrivateDnsNameOptions: { EnableResourceNameDnsARecord: false } });
    expect(overrides!.PrivateDnsNameOptions!.EnableResourceNameDnsARecord).toBe(false);
    expect((await errorOf(run({ PrivateDnsNameOptions: { EnableResourceNameDnsAAAARecord: true } }))).name).toBe('UnsupportedOperation');
    const v6Meta = await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: i!.InstanceId, HttpProtocolIpv6: 'enabled' })));
    expect(v6Meta.name).toBe('UnsupportedOperation');
    const id = i!.InstanceId!;
    const sdb = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceInitiatedShutdownBehavior' }));
    expect(sdb.InstanceInitiatedShutdownBehavior?.Value).toBe('terminate');
    expect((await errorOf(run({ Placement: { AvailabilityZone: 'us-east-1z' } }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(run({ SecurityGroupIds: ['sg-00000000000000000'] }))).name).toBe('InvalidGroup.NotFound');
    expect((await errorOf(run({ MetadataOptions: { HttpPutResponseHopLimit: 65 } }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(run({ InstanceInitiatedShutdownBehavior: 'hibernate' as never }))).name).toBe('InvalidParameterValue');
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
    // DisableApiTermination protects it until the attribute is changed.
    const denied = await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
    expect(denied.name).toBe('OperationNotPermitted');
    expect(denied.message).toContain("Modify its 'disableApiTermination' instance attribute");
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: false } }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  });

  test('NetworkInterfaces[0]: subnet, groups, address and DeleteOnTermination=false keeps the interface', async () => {
    const first = await run();
    const subnetId = first[0]!.SubnetId!;
    const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'nic-sg', Description: 'nic' }));
    const [i] = await run({
      NetworkInterfaces: [
        {
          DeviceIndex: 0,
          SubnetId: subnetId,
          Groups: [sg.GroupId!],
          PrivateIpAddress: '172.31.0.200',
          DeleteOnTermination: false,
          Description: 'primary',
          AssociatePublicIpAddress: false,
        },
      ],
    });
    const eni = i!.NetworkInterfaces![0]!;
    expect(eni).toMatchObject({
      SubnetId: subnetId,
      Description: 'primary',
      PrivateIpAddress: '172.31.0.200',
      Groups: [{ GroupId: sg.GroupId, GroupName: 'nic-sg' }],
      Attachment: { DeleteOnTermination: false },
    });
    expect(i!.PrivateIpAddress).toBe('172.31.0.200');
    expect(i!.SecurityGroups).toEqual([{ GroupId: sg.GroupId, GroupName: 'nic-sg' }]);
    expect((await errorOf(run({ NetworkInterfaces: [{ DeviceIndex: 1, SubnetId: subnetId }] }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(run({ SubnetId: subnetId, NetworkInterfaces: [{ DeviceIndex: 0 }] }))).name).toBe('InvalidParameterCombination');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [i!.InstanceId!] }));
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [i!.InstanceId!] });
    const left = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni.NetworkInterfaceId!] }));
    expect(left.NetworkInterfaces![0]!.Status).toBe('available');
    expect(left.NetworkInterfaces![0]!.Attachment).toBeUndefined();
  });

  test('BlockDeviceMappings: root overrides, extra volumes, refusals', async () => {
    const [i] = await run({
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20, VolumeType: 'gp2' } },
        { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 5, DeleteOnTermination: false } },
        { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
      ],
      TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'disk', Value: 'yes' }] }],
    });
    const bdm = i!.BlockDeviceMappings!;
    expect(bdm.map((b) => b.DeviceName)).toEqual(['/dev/xvda', '/dev/sdf']);
    const vols = await ec2.send(new DescribeVolumesCommand({ VolumeIds: bdm.map((b) => b.Ebs!.VolumeId!) }));
    const byId = new Map(vols.Volumes!.map((v) => [v.VolumeId, v]));
    const root = byId.get(bdm[0]!.Ebs!.VolumeId)!;
    expect(root).toMatchObject({ Size: 20, VolumeType: 'gp2', Iops: 100, State: 'in-use', AvailabilityZone: i!.Placement!.AvailabilityZone, Encrypted: false });
    expect(root.SnapshotId).toMatch(/^snap-/);
    expect(root.Tags).toEqual([{ Key: 'disk', Value: 'yes' }]);
    expect(root.Attachments).toEqual([
      { AttachTime: expect.any(Date), Device: '/dev/xvda', InstanceId: i!.InstanceId, State: expect.stringMatching(/attach/), VolumeId: root.VolumeId, DeleteOnTermination: true },
    ]);
    const extra = byId.get(bdm[1]!.Ebs!.VolumeId)!;
    expect(extra).toMatchObject({ Size: 5, VolumeType: 'gp2', SnapshotId: '' });

    // Not smaller than the image's snapshot (Debian's is 8 GiB).
    const debian = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }))).Images![0]!.ImageId!;
    const small = await errorOf(run({ ImageId: debian, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 4 } }] }));
    expect([small.name, small.message]).toEqual([
      'InvalidBlockDeviceMapping',
      expect.stringMatching(/^Volume of size 4GB is smaller than snapshot 'snap-[0-9a-f]+', expect size >= 8GB$/),
    ]);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [i!.InstanceId!] }));
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [i!.InstanceId!] });
    // The root went with the instance; the DeleteOnTermination=false volume stays, detached.
    expect((await errorOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [root.VolumeId!] })))).name).toBe('InvalidVolume.NotFound');
    const kept = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [extra.VolumeId!] }));
    expect(kept.Volumes![0]).toMatchObject({ State: 'available', Attachments: [] });
  });

  test('TagSpecifications for the interface; bad resource types are refused', async () => {
    const [i] = await run({ TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'nic', Value: '1' }] }] });
    const eniId = i!.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag:nic', Values: ['1'] }] }));
    expect(out.NetworkInterfaces!.map((n) => n.NetworkInterfaceId)).toEqual([eniId]);
    expect((await errorOf(run({ TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'a', Value: 'b' }] }] }))).name).toBe('InvalidParameterValue');
  });
});
