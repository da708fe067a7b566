// Instances through @aws-sdk/client-ec2 against a real server with the fake driver: the lifecycle
// and its waiters, RunInstances' parameters and errors, Describe filters and pagination, the
// controllers' failure handling, restart safety, retention, account isolation and DryRun.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeVolumesCommand,
  EC2Client,
  EC2ServiceException,
  GetConsoleOutputCommand,
  ModifyInstanceAttributeCommand,
  ModifyInstanceMetadataOptionsCommand,
  ModifySubnetAttributeCommand,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstances,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import type { InstanceSpec } from '../src/host/compute/driver.js';
import { FakeDriver } from '../src/host/compute/fake.js';
import { UntrustedFilesystemError } from '../src/host/storage/fsck.js';
import { startTestServer, type TestServer, errorOf } from './harness.js';

// Running instances are checked often here, so a shutdown from inside is seen quickly.
process.env.CUMULO_INSTANCE_POLL_MS = '500';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };

async function minimalImage(ec2: EC2Client): Promise<string> {
  const out = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
  return out.Images![0]!.ImageId!;
}

async function describe1(ec2: EC2Client, id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

function until(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  return (async () => {
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('condition not reached');
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
}

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

describe('the lifecycle', () => {
  let id: string;

  test('RunInstances answers pending with every launch field, then the instance runs', async () => {
    const out = await ec2.send(
      new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }] }] }),
    );
    expect(out.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    expect(out.OwnerId).toBe(s.admin.accountId);
    expect(out.Groups).toEqual([]);
    const i = out.Instances![0]!;
    id = i.InstanceId!;
    expect(id).toMatch(/^i-[0-9a-f]{17}$/);
    expect(i.State).toEqual({ Code: 0, Name: 'pending' });
    expect(i.StateReason).toEqual({ Code: 'pending', Message: 'pending' });
    expect(i.PrivateIpAddress).toMatch(/^172\.31\.\d+\.\d+$/);
    expect(i.PrivateDnsName).toBe(`ip-${i.PrivateIpAddress!.replace(/\./g, '-')}.ec2.internal`);
    // The default subnet maps a public IP at launch, from the pool (198.18.0.0/16 by default).
    expect(i.PublicIpAddress).toMatch(/^198\.18\.\d+\.\d+$/);
    expect(i.PublicDnsName).toBe(`ec2-${i.PublicIpAddress!.replace(/\./g, '-')}.compute-1.amazonaws.com`);
    expect(i.ImageId).toBe(imageId);
    expect(i.InstanceType).toBe('t3.micro');
    expect(i.AmiLaunchIndex).toBe(0);
    expect(i.Placement).toMatchObject({ AvailabilityZone: 'us-east-1a', GroupName: '', Tenancy: 'default' });
    expect(i.Monitoring).toEqual({ State: 'disabled' });
    expect(i.CpuOptions).toEqual({ CoreCount: 1, ThreadsPerCore: 2 });
    expect(i.MetadataOptions).toMatchObject({ State: 'pending', HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' });
    expect(i).toMatchObject({
      Architecture: 'x86_64',
      Hypervisor: 'xen',
      VirtualizationType: 'hvm',
      RootDeviceName: '/dev/xvda',
      RootDeviceType: 'ebs',
      EnaSupport: true,
      EbsOptimized: false,
      SourceDestCheck: true,
      PlatformDetails: 'Linux/UNIX',
      UsageOperation: 'RunInstances',
      CurrentInstanceBootMode: 'uefi',
      StateTransitionReason: '',
      ProductCodes: [],
      HibernationOptions: { Configured: false },
      EnclaveOptions: { Enabled: false },
    });
    expect(i.ClientToken).toBeTruthy(); // the SDK sends one on every RunInstances
    expect(i.SecurityGroups).toEqual([{ GroupId: expect.stringMatching(/^sg-/), GroupName: 'default' }]);
    expect(i.Tags).toEqual([{ Key: 'Name', Value: 'web' }]);
    const eni = i.NetworkInterfaces![0]!;
    expect(eni).toMatchObject({
      Attachment: { DeviceIndex: 0, Status: 'attaching', DeleteOnTermination: true },
      MacAddress: expect.stringMatching(/^02(:[0-9a-f]{2}){5}$/),
      NetworkInterfaceId: expect.stringMatching(/^eni-/),
      OwnerId: s.admin.accountId,
      PrivateIpAddress: i.PrivateIpAddress,
      Status: 'in-use',
      SubnetId: i.SubnetId,
      VpcId: i.VpcId,
      InterfaceType: 'interface',
    });
    expect(i.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/xvda', Ebs: { AttachTime: expect.any(Date), DeleteOnTermination: true, Status: 'attaching', VolumeId: expect.stringMatching(/^vol-/) } },
    ]);

    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
    const now = await describe1(ec2, id);
    expect(now.State).toEqual({ Code: 16, Name: 'running' });
    expect(now.StateReason).toBeUndefined();
    expect(now.MetadataOptions?.State).toBe('applied');
    expect(now.BlockDeviceMappings![0]!.Ebs!.Status).toBe('attached');
    expect(now.NetworkInterfaces![0]!.Attachment!.Status).toBe('attached');
  });

  test('status checks: initializing, then what the fake driver can tell (system ok, no guest to check), impaired when a check fails', async () => {
    const first = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }));
    expect(['initializing', 'ok']).toContain(first.InstanceStatuses![0]!.SystemStatus!.Status);
    await until(async () => (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses![0]!.SystemStatus!.Status === 'ok');
    const out = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }));
    expect(out.InstanceStatuses![0]).toMatchObject({
      InstanceId: id,
      AvailabilityZone: 'us-east-1a',
      InstanceState: { Code: 16, Name: 'running' },
      // The fake runs no guest: it cannot say the guest is reachable.
      InstanceStatus: { Status: 'insufficient-data', Details: [{ Name: 'reachability', Status: 'insufficient-data' }] },
      SystemStatus: { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] },
    });
    const fake = s.app.driver as FakeDriver;
    fake.impaired.set(id, { instance: 'test: the guest stopped answering' });
    try {
      await until(async () => (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses![0]!.InstanceStatus!.Status === 'impaired');
      const bad = (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses![0]!;
      expect(bad.InstanceStatus!.Details).toEqual([{ Name: 'reachability', Status: 'failed', ImpairedSince: expect.any(Date) }]);
      expect(bad.SystemStatus!.Status).toBe('ok');
      // The filters see the recorded values.
      const f = (name: string, v: string) => ec2.send(new DescribeInstanceStatusCommand({ Filters: [{ Name: name, Values: [v] }] })).then((r) => r.InstanceStatuses!.map((x) => x.InstanceId));
      expect(await f('instance-status.status', 'impaired')).toContain(id);
      expect(await f('instance-status.reachability', 'failed')).toContain(id);
      expect(await f('instance-status.status', 'ok')).not.toContain(id);
      expect(await f('system-status.status', 'ok')).toContain(id);
      expect(await f('system-status.reachability', 'failed')).not.toContain(id);
    } finally {
      fake.impaired.delete(id);
    }
    await until(async () => (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses![0]!.InstanceStatus!.Status === 'insufficient-data');
  });

  test('GetConsoleOutput returns the console in base64', async () => {
    const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
    expect(out.InstanceId).toBe(id);
    expect(out.Timestamp).toBeInstanceOf(Date);
    expect(Buffer.from(out.Output!, 'base64').toString()).toContain(`boot 1 of ${id}`);
  });

  test('stop → stopping → stopped, with the user-initiated reason; stopping again is a no-op', async () => {
    const out = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(out.StoppingInstances).toEqual([{ InstanceId: id, PreviousState: { Code: 16, Name: 'running' }, CurrentState: { Code: 64, Name: 'stopping' } }]);
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [id] });
    const i = await describe1(ec2, id);
    expect(i.StateTransitionReason).toMatch(/^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
    expect(i.StateReason).toEqual({ Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' });
    expect(i.BlockDeviceMappings).toHaveLength(1); // EBS stays attached across a stop
    const again = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(again.StoppingInstances![0]).toMatchObject({ PreviousState: { Name: 'stopped' }, CurrentState: { Name: 'stopped' } });
    expect(await s.app.driver.inspect(id)).toMatchObject({ state: 'stopped' });
  });

  test('a stopped instance is not rebooted, and shows no status unless asked', async () => {
    expect((await errorOf(ec2.send(new RebootInstancesCommand({ InstanceIds: [id] })))).name).toBe('IncorrectInstanceState');
    expect((await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses).toEqual([]);
    const all = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id], IncludeAllInstances: true }));
    expect(all.InstanceStatuses![0]).toMatchObject({ InstanceState: { Name: 'stopped' }, InstanceStatus: { Status: 'not-applicable' } });
  });

  test('start → pending → running; starting a running instance is a no-op', async () => {
    const out = await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    expect(out.StartingInstances).toEqual([{ InstanceId: id, PreviousState: { Code: 80, Name: 'stopped' }, CurrentState: { Code: 0, Name: 'pending' } }]);
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
    expect((await describe1(ec2, id)).StateTransitionReason).toBe('');
    const again = await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    expect(again.StartingInstances![0]).toMatchObject({ PreviousState: { Name: 'running' }, CurrentState: { Name: 'running' } });
  });

  test('reboot reaches the driver', async () => {
    await ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
    await until(async () => Buffer.from((await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }))).Output ?? '', 'base64').toString().includes('reboot of'));
    expect((await describe1(ec2, id)).State!.Name).toBe('running');
  });

  test('terminate → shutting-down → terminated; volumes and the interface go with it', async () => {
    const before = await describe1(ec2, id);
    const volumeId = before.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const eniId = before.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(out.TerminatingInstances).toEqual([{ InstanceId: id, PreviousState: { Code: 16, Name: 'running' }, CurrentState: { Code: 32, Name: 'shutting-down' } }]);
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [id] });
    const i = await describe1(ec2, id);
    expect(i.State).toEqual({ Code: 48, Name: 'terminated' });
    expect(i.StateTransitionReason).toMatch(/^User initiated/);
    expect(i.BlockDeviceMappings).toEqual([]);
    expect(i.NetworkInterfaces).toEqual([]);
    expect(i.Tags).toEqual([{ Key: 'Name', Value: 'web' }]);
    expect((await errorOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })))).name).toBe('InvalidNetworkInterfaceID.NotFound');
    expect(await s.app.driver.list()).not.toContain(id);
  });

  test('a terminated instance: terminate again is fine, start and stop are refused, reboot is ignored', async () => {
    const again = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(again.TerminatingInstances![0]).toMatchObject({ PreviousState: { Code: 48, Name: 'terminated' }, CurrentState: { Code: 48, Name: 'terminated' } });
    const start = await errorOf(ec2.send(new StartInstancesCommand({ InstanceIds: [id] })));
    expect(start.name).toBe('IncorrectInstanceState');
    expect(start.message).toBe(`The instance '${id}' is not in a state from which it can be started.`);
    expect((await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [id] })))).name).toBe('IncorrectInstanceState');
    await ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
  });
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
    // No IAM yet: no instance profile exists, and EC2 refuses an unknown one.
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
    expect((await errorOf(run({ CapacityReservationSpecification: { CapacityReservationTarget: { CapacityReservationId: 'cr-0123456789abcdef0' } } }))).name).toBe('InvalidCapacityReservationId.NotFound');
    expect((await errorOf(run({ CreditSpecification: { CpuCredits: 'standard' } }))).name).toBe('Unsupported');
    expect((await errorOf(run({ LicenseSpecifications: [{ LicenseConfigurationArn: 'arn:aws:license-manager:us-east-1:123456789012:license-configuration:lic-1' }] }))).name).toBe('Unsupported');
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
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnetId, Groups: [sg.GroupId!], PrivateIpAddress: '172.31.0.200', DeleteOnTermination: false, Description: 'primary', AssociatePublicIpAddress: false }],
    });
    const eni = i!.NetworkInterfaces![0]!;
    expect(eni).toMatchObject({ SubnetId: subnetId, Description: 'primary', PrivateIpAddress: '172.31.0.200', Groups: [{ GroupId: sg.GroupId, GroupName: 'nic-sg' }], Attachment: { DeleteOnTermination: false } });
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
    expect(root.Attachments).toEqual([{ AttachTime: expect.any(Date), Device: '/dev/xvda', InstanceId: i!.InstanceId, State: expect.stringMatching(/attach/), VolumeId: root.VolumeId, DeleteOnTermination: true }]);
    const extra = byId.get(bdm[1]!.Ebs!.VolumeId)!;
    expect(extra).toMatchObject({ Size: 5, VolumeType: 'gp2', SnapshotId: '' });

    // Not smaller than the image's snapshot (Debian's is 8 GiB).
    const debian = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }))).Images![0]!.ImageId!;
    const small = await errorOf(run({ ImageId: debian, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 4 } }] }));
    expect([small.name, small.message]).toEqual(['InvalidBlockDeviceMapping', expect.stringMatching(/^Volume of size 4GB is smaller than snapshot 'snap-[0-9a-f]+', expect size >= 8GB$/)]);
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

describe('DescribeInstances', () => {
  let ids: string[];

  beforeAll(async () => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        MinCount: 12,
        MaxCount: 12,
        InstanceType: 't3.small',
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'batch', Value: 'paging' }] }],
      }),
    );
    ids = out.Instances!.map((i) => i.InstanceId!);
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: ids });
  });

  test('paginateDescribeInstances walks every page', async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 5 }, { Filters: [{ Name: 'tag:batch', Values: ['paging'] }] })) {
      pages++;
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) seen.push(i.InstanceId!);
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...ids].sort());
  });

  test('MaxResults bounds, InstanceIds with MaxResults, bad tokens', async () => {
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ MaxResults: 1001 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [ids[0]!], MaxResults: 5 })))).name).toBe('InvalidParameterCombination');
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ NextToken: 'garbage' })))).name).toBe('InvalidPaginationToken');
  });

  test('explicit ids: malformed and not found', async () => {
    const m = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-123'] })));
    expect([m.name, m.message]).toEqual(['InvalidInstanceID.Malformed', 'Invalid id: "i-123"']);
    const n = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [ids[0]!, 'i-00000000000000000'] })));
    expect([n.name, n.message]).toEqual(['InvalidInstanceID.NotFound', "The instance ID 'i-00000000000000000' does not exist"]);
    const both = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-00000000000000000', 'i-00000000000000001'] })));
    expect(both.message).toBe("The instance IDs 'i-00000000000000000, i-00000000000000001' do not exist");
  });

  test('filters', async () => {
    const target = await describe1(ec2, ids[3]!);
    const count = async (name: string, values: string[]) => {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: name, Values: values }, { Name: 'tag:batch', Values: ['paging'] }] }));
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
    };
    expect(await count('instance-id', [ids[3]!])).toEqual([ids[3]]);
    expect(await count('instance-state-name', ['running'])).toHaveLength(12);
    expect(await count('instance-state-code', ['16'])).toHaveLength(12);
    expect(await count('instance-state-name', ['stopped'])).toHaveLength(0);
    expect(await count('instance-type', ['t3.*'])).toHaveLength(12);
    expect(await count('instance-type', ['t3.smal?'])).toHaveLength(12);
    expect(await count('instance-type', ['t3.smal'])).toHaveLength(0);
    expect(await count('image-id', [imageId])).toHaveLength(12);
    expect(await count('private-ip-address', [target.PrivateIpAddress!])).toEqual([ids[3]]);
    expect(await count('private-dns-name', [target.PrivateDnsName!])).toEqual([ids[3]]);
    expect(await count('network-interface.addresses.private-ip-address', [target.PrivateIpAddress!])).toEqual([ids[3]]);
    expect(await count('network-interface.network-interface-id', [target.NetworkInterfaces![0]!.NetworkInterfaceId!])).toEqual([ids[3]]);
    expect(await count('network-interface.mac-address', [target.NetworkInterfaces![0]!.MacAddress!])).toEqual([ids[3]]);
    expect(await count('block-device-mapping.volume-id', [target.BlockDeviceMappings![0]!.Ebs!.VolumeId!])).toEqual([ids[3]]);
    expect(await count('block-device-mapping.device-name', ['/dev/xvda'])).toHaveLength(12);
    expect(await count('subnet-id', [target.SubnetId!])).toHaveLength(12);
    expect(await count('vpc-id', [target.VpcId!])).toHaveLength(12);
    expect(await count('availability-zone', ['us-east-1a'])).toHaveLength(12);
    expect(await count('instance.group-name', ['default'])).toHaveLength(12);
    expect(await count('instance.group-id', [target.SecurityGroups![0]!.GroupId!])).toHaveLength(12);
    expect(await count('owner-id', [s.admin.accountId])).toHaveLength(12);
    expect(await count('launch-time', [`${target.LaunchTime!.toISOString().slice(0, 10)}*`])).toHaveLength(12);
    expect(await count('architecture', ['x86_64'])).toHaveLength(12);
    expect(await count('root-device-type', ['ebs'])).toHaveLength(12);
    expect(await count('launch-index', ['3'])).toEqual([ids[3]]);
    expect(await count('tag-key', ['batch'])).toHaveLength(12);
    expect(await count('tag-value', ['pag*'])).toHaveLength(12);
    expect(await count('ip-address', ['198.18.*'])).toHaveLength(12);
    expect(await count('dns-name', ['ec2-198-18-*.compute-1.amazonaws.com'])).toHaveLength(12);
    expect(await count('source-dest-check', ['true'])).toHaveLength(12);
    expect(await count('metadata-options.state', ['applied'])).toHaveLength(12);
    const bad = await errorOf(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })));
    expect([bad.name, bad.message]).toEqual(['InvalidParameterValue', "The filter 'no-such-filter' is invalid"]);
  });

  test('DescribeVolumes and DescribeNetworkInterfaces filters', async () => {
    const vols = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: ids.slice(0, 2) }] }));
    expect(vols.Volumes).toHaveLength(2);
    for (const [name, value, n] of [
      ['attachment.device', '/dev/xvda', 2],
      ['attachment.status', 'attached', 2],
      ['attachment.delete-on-termination', 'true', 2],
      ['status', 'in-use', 2],
      ['size', '1', 2],
      ['volume-type', 'gp3', 2],
      ['encrypted', 'false', 2],
      ['multi-attach-enabled', 'false', 2],
      ['availability-zone', 'us-east-1a', 2],
      ['snapshot-id', 'snap-*', 2],
      ['volume-type', 'io1', 0],
    ] as const) {
      const out = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: ids.slice(0, 2) }, { Name: name, Values: [value] }] }));
      expect([name, out.Volumes!.length]).toEqual([name, n]);
    }
    const page = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
    expect(page.Volumes).toHaveLength(5);
    expect(page.NextToken).toBeTruthy();

    const target = await describe1(ec2, ids[0]!);
    const enis = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [ids[0]!] }] }));
    expect(enis.NetworkInterfaces).toHaveLength(1);
    const eni = enis.NetworkInterfaces![0]!;
    expect(eni).toMatchObject({
      Attachment: { InstanceId: ids[0], DeviceIndex: 0, Status: 'attached', InstanceOwnerId: s.admin.accountId },
      PrivateIpAddress: target.PrivateIpAddress,
      Status: 'in-use',
      RequesterManaged: false,
      TagSet: [],
    });
    for (const [name, value] of [
      ['addresses.private-ip-address', target.PrivateIpAddress!],
      ['private-ip-address', target.PrivateIpAddress!],
      ['mac-address', eni.MacAddress!],
      ['group-id', target.SecurityGroups![0]!.GroupId!],
      ['subnet-id', target.SubnetId!],
      ['vpc-id', target.VpcId!],
      ['status', 'in-use'],
      ['network-interface-id', eni.NetworkInterfaceId!],
    ] as const) {
      const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [ids[0]!] }, { Name: name, Values: [value] }] }));
      expect([name, out.NetworkInterfaces!.length]).toEqual([name, 1]);
    }
    expect((await errorOf(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-00000000000000000'] })))).name).toBe('InvalidNetworkInterfaceID.NotFound');
  });

  test('attributes: describe, modify, and the states they need', async () => {
    const id = ids[11]!;
    const type = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceType' }));
    expect(type).toMatchObject({ InstanceId: id, InstanceType: { Value: 't3.small' } });
    const running = await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.large' } })));
    expect([running.name, running.message]).toEqual(['IncorrectInstanceState', `The instance '${id}' is not in the 'stopped' state.`]);
    expect((await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, UserData: { Value: Buffer.from('x') } })))).name).toBe('IncorrectInstanceState');
    expect((await errorOf(ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'colour' as never })))).name).toBe('InvalidParameterValue');

    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, SourceDestCheck: { Value: false } }));
    expect((await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'sourceDestCheck' }))).SourceDestCheck).toEqual({ Value: false });
    expect((await describe1(ec2, id)).SourceDestCheck).toBe(false);

    const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'attr-sg', Description: 'x' }));
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Groups: [sg.GroupId!] }));
    const groups = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'groupSet' }));
    expect(groups.Groups).toEqual([{ GroupId: sg.GroupId, GroupName: 'attr-sg' }]);
    expect((await describe1(ec2, id)).NetworkInterfaces![0]!.Groups).toEqual([{ GroupId: sg.GroupId, GroupName: 'attr-sg' }]);

    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Attribute: 'disableApiStop', Value: 'true' }));
    const stopDenied = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [id] })));
    expect(stopDenied.name).toBe('OperationNotPermitted');
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiStop: { Value: false } }));

    const hib = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [id], Hibernate: true })));
    expect(hib.name).toBe('UnsupportedHibernationConfiguration');

    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [id] });
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.large' } }));
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, UserData: { Value: Buffer.from('#!/bin/sh\n') } }));
    expect((await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }))).UserData?.Value).toBe(Buffer.from('#!/bin/sh\n').toString('base64'));
    expect((await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 'nope.big' } })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.large' }, EbsOptimized: { Value: true } })))).name).toBe(
      'InvalidParameterCombination',
    );
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false } }] }));
    const bdm = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'blockDeviceMapping' }));
    expect(bdm.BlockDeviceMappings![0]!.Ebs!.DeleteOnTermination).toBe(false);
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
    const now = await describe1(ec2, id);
    expect(now.InstanceType).toBe('t3.large');
    expect((s.app.driver as FakeDriver) && (await s.app.driver.inspect(id)).state).toBe('running');
  });

  test('ModifyInstanceMetadataOptions answers pending, then the instance shows the change applied', async () => {
    const id = ids[10]!;
    const out = await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'required', HttpPutResponseHopLimit: 3, InstanceMetadataTags: 'enabled' }));
    expect(out).toMatchObject({ InstanceId: id, InstanceMetadataOptions: { State: 'pending', HttpTokens: 'required', HttpPutResponseHopLimit: 3, HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' } });
    expect((await describe1(ec2, id)).MetadataOptions).toMatchObject({ State: 'applied', HttpTokens: 'required', HttpPutResponseHopLimit: 3 });
    expect((await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpPutResponseHopLimit: 65 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'sometimes' as never })))).name).toBe('InvalidParameterValue');
  });

  test('a shutdown from inside the instance follows InstanceInitiatedShutdownBehavior', async () => {
    const [stopper] = await run();
    const [ender] = await run({ InstanceInitiatedShutdownBehavior: 'terminate' });
    const both = [stopper!.InstanceId!, ender!.InstanceId!];
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: both });
    for (const id of both) await s.app.driver.stop(id); // as if `poweroff` ran inside
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [both[0]!] });
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [both[1]!] });
    expect((await describe1(ec2, both[0]!)).StateReason?.Code).toBe('Client.InstanceInitiatedShutdown');
  });
});

describe('DryRun', () => {
  test('RunInstances: DryRunOperation when it would succeed, the real error when not; nothing is created', async () => {
    const before = (await ec2.send(new DescribeInstancesCommand({}))).Reservations!.length;
    const ok = await errorOf(run({ DryRun: true }));
    expect(ok.name).toBe('DryRunOperation');
    const bad = await errorOf(run({ DryRun: true, InstanceType: 'nope.big' as never }));
    expect(bad.name).toBe('InvalidParameterValue');
    expect((await ec2.send(new DescribeInstancesCommand({}))).Reservations!.length).toBe(before);
  });

  test('state changes and Describe calls', async () => {
    const [i] = await run();
    const id = i!.InstanceId!;
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
    expect((await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [id], DryRun: true })))).name).toBe('DryRunOperation');
    expect((await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id], DryRun: true })))).name).toBe('DryRunOperation');
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id], DryRun: true })))).name).toBe('DryRunOperation');
    expect((await errorOf(ec2.send(new StartInstancesCommand({ InstanceIds: ['i-00000000000000000'], DryRun: true })))).name).toBe('InvalidInstanceID.NotFound');
    await new Promise((r) => setTimeout(r, 300));
    expect((await describe1(ec2, id)).State!.Name).toBe('running');
  });
});

describe('accounts', () => {
  test("one account never sees or touches another's instances, volumes or interfaces", async () => {
    const [mine] = await run();
    const id = mine!.InstanceId!;
    const creds = await s.app.accounts.create('other');
    const other = s.ec2({ credentials: creds });
    const theirs = await other.send(new DescribeInstancesCommand({}));
    expect(theirs.Reservations).toEqual([]);
    expect((await errorOf(other.send(new DescribeInstancesCommand({ InstanceIds: [id] })))).name).toBe('InvalidInstanceID.NotFound');
    expect((await errorOf(other.send(new TerminateInstancesCommand({ InstanceIds: [id] })))).name).toBe('InvalidInstanceID.NotFound');
    expect((await errorOf(other.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: true } })))).name).toBe('InvalidInstanceID.NotFound');
    expect((await errorOf(other.send(new GetConsoleOutputCommand({ InstanceId: id })))).name).toBe('InvalidInstanceID.NotFound');
    expect((await other.send(new DescribeVolumesCommand({}))).Volumes).toEqual([]);
    expect((await other.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces).toEqual([]);
    // Their own launch lands in their own default VPC: the same 172.31.0.0/16, and VPCs are isolated,
    // so the same first free address.
    const out = await other.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
    expect(out.OwnerId).toBe(creds.accountId);
    expect(out.Instances![0]!.VpcId).not.toBe(mine!.VpcId);
    const theirIp = out.Instances![0]!.PrivateIpAddress!;
    expect(theirIp).toMatch(/^172\.31\./);
    const live = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] }));
    const mineIps = live.Reservations!.flatMap((r) => r.Instances!.map((i) => i.PrivateIpAddress));
    expect(mineIps).toContain(mine!.PrivateIpAddress);
    expect(theirIp).toMatch(/^172\.31\.\d+\.4$/); // the first address EC2 gives in a subnet
    expect((await describe1(ec2, id)).State!.Name).not.toBe('terminated');
  });
});

/** Refuses the root volume of chosen instances, as the runc driver does when its filesystem fails the host's check. */
class UntrustingDriver extends FakeDriver {
  refuse = new Set<string>();
  private refused(id: string, volumeId = 'vol-0123456789abcdef0'): void {
    if (this.refuse.has(id)) throw new UntrustedFilesystemError(volumeId, 'e2fsck: errors left uncorrected (exit 4): Root inode is not a directory.');
  }
  override async create(spec: InstanceSpec): Promise<void> {
    this.refused(spec.instanceId, spec.rootVolume?.volumeId);
    return super.create(spec);
  }
  override async start(id: string): Promise<void> {
    this.refused(id);
    return super.start(id);
  }
}

/** Holds driver.start until released, to land requests while a launch is in flight. */
class GatedDriver extends FakeDriver {
  gate: Promise<void> | undefined;
  release: () => void = () => undefined;
  entered = new Set<string>();
  hold(): void {
    this.gate = new Promise((r) => (this.release = r));
  }
  override async start(id: string): Promise<void> {
    this.entered.add(id);
    if (this.gate) await this.gate;
    return super.start(id);
  }
}

describe('controllers', () => {
  test('a failing driver unwinds the launch: terminated with Server.InternalError, nothing left behind', async () => {
    await s.app.runner.stop();
    const [i] = await run();
    const id = i!.InstanceId!;
    const volumeId = i!.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const eniId = i!.NetworkInterfaces![0]!.NetworkInterfaceId!;
    (s.app.driver as FakeDriver).failNext.set(id, 'no capacity');
    s.app.runner.start();
    await until(async () => (await describe1(ec2, id)).State!.Name === 'terminated');
    const now = await describe1(ec2, id);
    expect(now.State!.Name).toBe('terminated');
    expect(now.StateReason).toEqual({ Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on launch' });
    expect(await s.app.driver.list()).not.toContain(id);
    expect((await errorOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })))).name).toBe('InvalidNetworkInterfaceID.NotFound');
  });

  test('a root volume whose filesystem fails the host\'s check: Client.InternalError; a launch ends terminated, a start stopped', async () => {
    const driver = new UntrustingDriver();
    const t = await startTestServer({ driver });
    try {
      const c = t.ec2();
      const img = await minimalImage(c);
      const launch = async () => (await c.send(new RunInstancesCommand({ ImageId: img, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }))).Instances![0]!;
      const clientError = { Code: 'Client.InternalError', Message: 'Client.InternalError: Client error on launch' };

      await t.app.runner.stop();
      const i = await launch();
      driver.refuse.add(i.InstanceId!);
      t.app.runner.start();
      // Not the SDK's waiter: it gives up at once on a first look that still sees `pending`.
      await until(async () => (await describe1(c, i.InstanceId!)).State!.Name === 'terminated');
      const gone = await describe1(c, i.InstanceId!);
      expect(gone.StateReason).toEqual(clientError);
      expect(gone.StateTransitionReason).toBe('Client.InternalError');
      expect(await driver.list()).not.toContain(i.InstanceId!);
      expect((await errorOf(c.send(new DescribeVolumesCommand({ VolumeIds: [i.BlockDeviceMappings![0]!.Ebs!.VolumeId!] })))).name).toBe('InvalidVolume.NotFound');

      // Stopped, its root volume written raw elsewhere meanwhile: the start is refused, the disks kept.
      const j = await launch();
      await waitUntilInstanceRunning({ client: c, ...wait }, { InstanceIds: [j.InstanceId!] });
      await c.send(new StopInstancesCommand({ InstanceIds: [j.InstanceId!] }));
      await waitUntilInstanceStopped({ client: c, ...wait }, { InstanceIds: [j.InstanceId!] });
      driver.refuse.add(j.InstanceId!);
      await c.send(new StartInstancesCommand({ InstanceIds: [j.InstanceId!] }));
      await until(async () => (await describe1(c, j.InstanceId!)).StateReason?.Code === 'Client.InternalError');
      const back = await describe1(c, j.InstanceId!);
      expect(back.State!.Name).toBe('stopped');
      expect(back.StateReason).toEqual(clientError);
      const vols = await c.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [j.InstanceId!] }] }));
      expect(vols.Volumes).toHaveLength(1);

      // Any other failure stays the server's.
      driver.refuse.delete(j.InstanceId!);
      driver.failNext.set(j.InstanceId!, 'no capacity');
      await c.send(new StartInstancesCommand({ InstanceIds: [j.InstanceId!] }));
      await until(async () => (await describe1(c, j.InstanceId!)).StateReason?.Code === 'Server.InternalError');
      expect((await describe1(c, j.InstanceId!)).StateReason).toEqual({ Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on start' });
    } finally {
      await t.stop();
    }
  });

  test('a terminate that arrives while pending wins, queued or in flight', async () => {
    const driver = new GatedDriver();
    const t = await startTestServer({ driver });
    try {
      const c = t.ec2();
      const img = await minimalImage(c);
      const launch = async () => (await c.send(new RunInstancesCommand({ ImageId: img, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }))).Instances![0]!.InstanceId!;

      // Queued: the launch job has not started yet. A first launch cannot be stopped.
      await t.app.runner.stop();
      const queued = await launch();
      const stop = await errorOf(c.send(new StopInstancesCommand({ InstanceIds: [queued] })));
      expect([stop.name, stop.message]).toEqual(['IncorrectInstanceState', `Instance '${queued}' cannot be stopped as it has never reached the 'running' state.`]);
      const term = await c.send(new TerminateInstancesCommand({ InstanceIds: [queued] }));
      expect(term.TerminatingInstances![0]).toMatchObject({ PreviousState: { Name: 'pending' }, CurrentState: { Name: 'shutting-down' } });
      t.app.runner.start();
      await waitUntilInstanceTerminated({ client: c, ...wait }, { InstanceIds: [queued] });
      expect(driver.entered.has(queued)).toBe(false);

      // In flight: the launch is inside driver.start when the terminate lands.
      driver.hold();
      const flying = await launch();
      await until(async () => driver.entered.has(flying));
      await c.send(new TerminateInstancesCommand({ InstanceIds: [flying] }));
      driver.release();
      await waitUntilInstanceTerminated({ client: c, ...wait }, { InstanceIds: [flying] });
      expect(await driver.list()).not.toContain(flying);
    } finally {
      driver.release();
      await t.stop();
    }
  });

  test('restart safety: jobs left pending by a stopped app run in the next one', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cumulo-restart-'));
    try {
      const a = await startTestServer({ home });
      await a.app.runner.stop();
      const c = a.ec2();
      const img = await minimalImage(c);
      const out = await c.send(new RunInstancesCommand({ ImageId: img, MinCount: 2, MaxCount: 2, InstanceType: 't3.micro' }));
      const launched = out.Instances!.map((i) => i.InstanceId!);
      await a.stop();

      const b = await startTestServer({ home });
      try {
        const c2 = b.ec2();
        await waitUntilInstanceRunning({ client: c2, ...wait }, { InstanceIds: launched });
        expect((await b.app.driver.list()).sort()).toEqual([...launched].sort());
      } finally {
        await b.stop();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('terminated instances stay visible for the retention time, then vanish', async () => {
    const t = await startTestServer({ env: { CUMULO_TERMINATED_RETENTION_MS: '400' } });
    try {
      const c = t.ec2();
      const img = await minimalImage(c);
      const out = await c.send(
        new RunInstancesCommand({ ImageId: img, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] }),
      );
      const id = out.Instances![0]!.InstanceId!;
      await waitUntilInstanceRunning({ client: c, ...wait }, { InstanceIds: [id] });
      await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await waitUntilInstanceTerminated({ client: c, ...wait }, { InstanceIds: [id] });
      expect((await describe1(c, id)).State!.Name).toBe('terminated');
      await until(async () => (await c.send(new DescribeInstancesCommand({}))).Reservations!.length === 0);
      expect((await errorOf(c.send(new DescribeInstancesCommand({ InstanceIds: [id] })))).name).toBe('InvalidInstanceID.NotFound');
      const tags = await t.app.db.selectFrom('tags').select('resource_id').where('resource_id', '=', id).execute();
      expect(tags).toEqual([]);
    } finally {
      await t.stop();
    }
  });
});
