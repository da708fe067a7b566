// Instances through @aws-sdk/client-ec2 against a real server with the fake driver: the lifecycle
// and its waiters, DryRun, account isolation, the controllers' failure handling, restart safety
// and retention.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeVolumesCommand,
  EC2Client,
  GetConsoleOutputCommand,
  ModifyInstanceAttributeCommand,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import type { InstanceSpec } from '../src/host/compute/driver.js';
import { FakeDriver } from '../src/host/compute/fake.js';
import { UntrustedFilesystemError } from '../src/host/storage/fsck.js';
import { startTestServer, type TestServer, errorOf, minimalImage, describeInstance } from './harness.js';

// Running instances are checked often here, so a shutdown from inside is seen quickly.
process.env.CUMULO_INSTANCE_POLL_MS = '500';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };

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
      new RunInstancesCommand({
        ImageId: imageId,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }] }],
      }),
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
    const now = await describeInstance(ec2, id);
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
      const f = (name: string, v: string) =>
        ec2.send(new DescribeInstanceStatusCommand({ Filters: [{ Name: name, Values: [v] }] })).then((r) => r.InstanceStatuses!.map((x) => x.InstanceId));
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
    const i = await describeInstance(ec2, id);
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
    expect((await describeInstance(ec2, id)).StateTransitionReason).toBe('');
    const again = await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    expect(again.StartingInstances![0]).toMatchObject({ PreviousState: { Name: 'running' }, CurrentState: { Name: 'running' } });
  });

  test('reboot reaches the driver', async () => {
    await ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
    await until(async () =>
      Buffer.from((await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }))).Output ?? '', 'base64')
        .toString()
        .includes('reboot of'),
    );
    expect((await describeInstance(ec2, id)).State!.Name).toBe('running');
  });

  test('terminate → shutting-down → terminated; volumes and the interface go with it', async () => {
    const before = await describeInstance(ec2, id);
    const volumeId = before.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const eniId = before.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(out.TerminatingInstances).toEqual([{ InstanceId: id, PreviousState: { Code: 16, Name: 'running' }, CurrentState: { Code: 32, Name: 'shutting-down' } }]);
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [id] });
    const i = await describeInstance(ec2, id);
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
    expect((await describeInstance(ec2, id)).State!.Name).toBe('running');
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
    expect((await describeInstance(ec2, id)).State!.Name).not.toBe('terminated');
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
    await until(async () => (await describeInstance(ec2, id)).State!.Name === 'terminated');
    const now = await describeInstance(ec2, id);
    expect(now.State!.Name).toBe('terminated');
    expect(now.StateReason).toEqual({ Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on launch' });
    expect(await s.app.driver.list()).not.toContain(id);
    expect((await errorOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })))).name).toBe('InvalidNetworkInterfaceID.NotFound');
  });

  test("a root volume whose filesystem fails the host's check: Client.InternalError; a launch ends terminated, a start stopped", async () => {
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
      await until(async () => (await describeInstance(c, i.InstanceId!)).State!.Name === 'terminated');
      const gone = await describeInstance(c, i.InstanceId!);
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
      await until(async () => (await describeInstance(c, j.InstanceId!)).StateReason?.Code === 'Client.InternalError');
      const back = await describeInstance(c, j.InstanceId!);
      expect(back.State!.Name).toBe('stopped');
      expect(back.StateReason).toEqual(clientError);
      const vols = await c.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [j.InstanceId!] }] }));
      expect(vols.Volumes).toHaveLength(1);

      // Any other failure stays the server's.
      driver.refuse.delete(j.InstanceId!);
      driver.failNext.set(j.InstanceId!, 'no capacity');
      await c.send(new StartInstancesCommand({ InstanceIds: [j.InstanceId!] }));
      await until(async () => (await describeInstance(c, j.InstanceId!)).StateReason?.Code === 'Server.InternalError');
      expect((await describeInstance(c, j.InstanceId!)).StateReason).toEqual({ Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on start' });
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
        new RunInstancesCommand({
          ImageId: img,
          MinCount: 1,
          MaxCount: 1,
          InstanceType: 't3.micro',
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }],
        }),
      );
      const id = out.Instances![0]!.InstanceId!;
      await waitUntilInstanceRunning({ client: c, ...wait }, { InstanceIds: [id] });
      await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await waitUntilInstanceTerminated({ client: c, ...wait }, { InstanceIds: [id] });
      expect((await describeInstance(c, id)).State!.Name).toBe('terminated');
      await until(async () => (await c.send(new DescribeInstancesCommand({}))).Reservations!.length === 0);
      expect((await errorOf(c.send(new DescribeInstancesCommand({ InstanceIds: [id] })))).name).toBe('InvalidInstanceID.NotFound');
      const tags = await t.app.db.selectFrom('tags').select('resource_id').where('resource_id', '=', id).execute();
      expect(tags).toEqual([]);
    } finally {
      await t.stop();
    }
  });
});
