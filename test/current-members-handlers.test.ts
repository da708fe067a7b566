import { randomBytes } from 'node:crypto';
import { SecretBox } from '../src/lib/secrets.js';
// The input members the current EC2 model (SDK v3) has and the frozen aws-sdk v2 model lacked, on
// every operation cumulo implements: each is acted on or refused by name, never accepted and
// ignored. Handlers are called through the dispatcher (the transaction, jobs and controllers of a
// started server with the fake driver), so the test does not depend on the model the wire parses.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type {
  DeleteSnapshotReturnCode,
  DescribeInstancesResult,
  DescribeSnapshotsResult,
  DescribeVpcsResult,
  Instance,
  Reservation,
  RouteTable,
  Volume,
} from '@aws-sdk/client-ec2';
import {
  CreateVolumeCommand,
  DeregisterImageCommand,
  DescribeInstancesCommand,
  RegisterImageCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { Dispatcher } from '../src/api/dispatch.js';
import { FakeDriver } from '../src/host/compute/fake.js';
import { loadModel } from '../src/models/index.js';
import { ApiError } from '../src/services/errors.js';
import { serviceRegistry } from '../src/services/registry.js';
import { startTestServer, type TestServer } from './harness.js';

/** The fake driver, recording what the controllers ask of it. */
class RecordingDriver extends FakeDriver {
  calls: string[] = [];
  override async stop(id: string, opts?: { force?: boolean }): Promise<void> {
    this.calls.push(`stop ${id}${opts?.force ? ' force' : ''}`);
    return super.stop(id);
  }
  override async delete(id: string): Promise<void> {
    this.calls.push(`delete ${id}`);
    return super.delete(id);
  }
  of(id: string): string[] {
    return this.calls.filter((c) => c.includes(id));
  }
}

let s: TestServer;
let driver: RecordingDriver;
let dispatcher: Dispatcher;
let imageId: string;
let n = 0;

async function call<T = any>(operation: string, input: Record<string, unknown>): Promise<T> {
  return (await dispatcher.invoke({ model: loadModel('ec2')!, operation, input, accountId: s.admin.accountId, region: 'us-east-1', requestId: `req-${++n}` })) as T;
}

async function refusal(operation: string, input: Record<string, unknown>): Promise<ApiError> {
  try {
    await call(operation, input);
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error(`${operation} was not refused`);
}

function until(cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  return (async () => {
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('condition not reached');
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
}

async function instance(id: string): Promise<Instance> {
  const out = await call<DescribeInstancesResult>('DescribeInstances', { InstanceIds: [id] });
  return out.Reservations![0]!.Instances![0]!;
}

const stateOf = async (id: string) => (await instance(id)).State!.Name;

async function running(extra: Record<string, unknown> = {}): Promise<string> {
  const r = await call<Reservation>('RunInstances', { ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...extra });
  const id = r.Instances![0]!.InstanceId!;
  await until(async () => (await stateOf(id)) === 'running');
  return id;
}

async function insertSnapshot(id: string, account = s.admin.accountId): Promise<void> {
  const now = new Date().toISOString();
  await s.app.db
    .insertInto('snapshots')
    .values({
      id,
      account_id: account,
      region: 'us-east-1',
      volume_id: 'vol-ffffffff',
      volume_size: 8,
      state: 'completed',
      progress: 100,
      encrypted: 0,
      kms_key_id: null,
      state_message: null,
      start_time: now,
      completion_time: now,
      parent_snapshot_id: null,
      source_region: null,
      source_snapshot_id: null,
      created_at: now,
    })
    .execute();
}

beforeAll(async () => {
  driver = new RecordingDriver();
  s = await startTestServer({ driver });
  dispatcher = new Dispatcher({ secrets: new SecretBox(randomBytes(32)), db: s.app.db, config: s.app.config, wake: () => s.app.runner.wake() }, serviceRegistry());
  const images = await call<{ Images: { ImageId: string }[] }>('DescribeImages', { Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] });
  imageId = images.Images[0]!.ImageId;
}, 30_000);

afterAll(async () => {
  await s?.stop();
});

describe('TerminateInstances SkipOsShutdown and Force, StopInstances SkipOsShutdown', () => {
  test('SkipOsShutdown kills the instance at once before it is removed; a default termination does not', async () => {
    const skipped = await running();
    const plain = await running();
    await call('TerminateInstances', { InstanceIds: [skipped], SkipOsShutdown: true });
    await call('TerminateInstances', { InstanceIds: [plain] });
    await until(async () => (await stateOf(skipped)) === 'terminated' && (await stateOf(plain)) === 'terminated');
    expect(driver.of(skipped)).toEqual([`stop ${skipped} force`, `delete ${skipped}`]);
    expect(driver.of(plain)).toEqual([`delete ${plain}`]);
  });

  test('StopInstances SkipOsShutdown stops by force; a default stop asks the OS', async () => {
    const skipped = await running();
    const plain = await running();
    await call('StopInstances', { InstanceIds: [skipped], SkipOsShutdown: true });
    await call('StopInstances', { InstanceIds: [plain] });
    await until(async () => (await stateOf(skipped)) === 'stopped' && (await stateOf(plain)) === 'stopped');
    expect(driver.of(skipped)).toEqual([`stop ${skipped} force`]);
    expect(driver.of(plain)).toEqual([`stop ${plain}`]);
  });

  test('Force on an instance stuck shutting down terminates it by force; without Force it is left to its first attempt', async () => {
    const stuck = await running();
    const other = await running();
    // Stuck: shutting down with no job that would move it on.
    await s.app.db.updateTable('instances').set({ state: 'shutting-down', desired_state: 'terminated' }).where('id', 'in', [stuck, other]).execute();
    const plain = await call<{ TerminatingInstances: { CurrentState: { Name: string } }[] }>('TerminateInstances', { InstanceIds: [other] });
    expect(plain.TerminatingInstances[0]!.CurrentState.Name).toBe('shutting-down');
    const jobs = await s.app.db.selectFrom('jobs').select('id').where('resource_id', '=', other).where('kind', '=', 'instance.terminate').execute();
    expect(jobs).toEqual([]);

    const forced = await call<{ TerminatingInstances: { PreviousState: { Name: string } }[] }>('TerminateInstances', { InstanceIds: [stuck], Force: true });
    expect(forced.TerminatingInstances[0]!.PreviousState.Name).toBe('shutting-down');
    await until(async () => (await stateOf(stuck)) === 'terminated');
    expect(driver.of(stuck)).toEqual([`stop ${stuck} force`, `delete ${stuck}`]);
    expect(await stateOf(other)).toBe('shutting-down');
  });

  test('Force on a running instance is a default termination first (the host kills it only past the timeout)', async () => {
    const id = await running();
    await call('TerminateInstances', { InstanceIds: [id], Force: true });
    await until(async () => (await stateOf(id)) === 'terminated');
    expect(driver.of(id)).toEqual([`delete ${id}`]);
  });

  test('termination protection still holds with SkipOsShutdown and Force', async () => {
    const id = await running({ DisableApiTermination: true });
    const e = await refusal('TerminateInstances', { InstanceIds: [id], SkipOsShutdown: true, Force: true });
    expect(e.code).toBe('OperationNotPermitted');
    await call('ModifyInstanceAttribute', { InstanceId: id, DisableApiTermination: { Value: false } });
    await call('TerminateInstances', { InstanceIds: [id] });
  });
});

describe('zones by id: RunInstances Placement.AvailabilityZoneId, CreateVolume AvailabilityZoneId', () => {
  test('DescribeAvailabilityZones ids resolve to their zones', async () => {
    const zones = await call<{ AvailabilityZones: { ZoneName: string; ZoneId: string }[] }>('DescribeAvailabilityZones', {});
    const b = zones.AvailabilityZones.find((z) => z.ZoneName === 'us-east-1b')!;
    expect(b.ZoneId).toBe('use1-az2');
    const r = await call<Reservation>('RunInstances', { ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, Placement: { AvailabilityZoneId: b.ZoneId } });
    const inst = r.Instances![0]!;
    expect(inst.Placement).toMatchObject({ AvailabilityZone: 'us-east-1b', AvailabilityZoneId: 'use1-az2' });
    expect(inst.SubnetId).toBeDefined();
    const subnet = await call<{ Subnets: { AvailabilityZone: string }[] }>('DescribeSubnets', { SubnetIds: [inst.SubnetId] });
    expect(subnet.Subnets[0]!.AvailabilityZone).toBe('us-east-1b');
    await call('TerminateInstances', { InstanceIds: [inst.InstanceId] });

    const v = await call<Volume>('CreateVolume', { AvailabilityZoneId: 'use1-az3', Size: 1 });
    expect(v).toMatchObject({ AvailabilityZone: 'us-east-1c', AvailabilityZoneId: 'use1-az3' });
  });

  test('an unknown zone id is refused, as is a zone id together with a zone name', async () => {
    for (const [op, input] of [
      ['RunInstances', { ImageId: imageId, MinCount: 1, MaxCount: 1, Placement: { AvailabilityZoneId: 'use1-az9' } }],
      ['CreateVolume', { AvailabilityZoneId: 'use1-az9', Size: 1 }],
    ] as const) {
      const e = await refusal(op, input);
      expect(e.code).toBe('InvalidParameterValue');
      expect(e.message).toContain('use1-az9');
    }
    for (const [op, input] of [
      ['RunInstances', { ImageId: imageId, MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: 'us-east-1a', AvailabilityZoneId: 'use1-az2' } }],
      ['CreateVolume', { AvailabilityZone: 'us-east-1a', AvailabilityZoneId: 'use1-az2', Size: 1 }],
    ] as const) {
      const e = await refusal(op, input);
      expect(e.code).toBe('InvalidParameterCombination');
      expect(e.message).toContain('availabilityZoneId');
    }
  });

  test("a zone id that is not the given subnet's is refused", async () => {
    const subnets = await call<{ Subnets: { SubnetId: string; AvailabilityZone: string }[] }>('DescribeSubnets', {
      Filters: [{ Name: 'availability-zone', Values: ['us-east-1a'] }],
    });
    const e = await refusal('RunInstances', { ImageId: imageId, MinCount: 1, MaxCount: 1, SubnetId: subnets.Subnets[0]!.SubnetId, Placement: { AvailabilityZoneId: 'use1-az2' } });
    expect(e.code).toBe('InvalidParameterValue');
    expect(e.message).toContain('availabilityZoneId');
  });
});

describe('DeregisterImage DeleteAssociatedSnapshots', () => {
  const root = 'snap-0aaaaaaaaaaaaaa01';
  const data = 'snap-0aaaaaaaaaaaaaa02';
  const foreign = 'snap-0aaaaaaaaaaaaaa03';

  async function register(name: string, mappings: { device: string; snapshot: string }[]): Promise<string> {
    const out = await call<{ ImageId: string }>('RegisterImage', {
      Name: name,
      Architecture: 'x86_64',
      RootDeviceName: '/dev/xvda',
      VirtualizationType: 'hvm',
      BlockDeviceMappings: mappings.map((m) => ({ DeviceName: m.device, Ebs: { SnapshotId: m.snapshot } })),
    });
    return out.ImageId;
  }

  const snapshotIds = async () => (await call<DescribeSnapshotsResult>('DescribeSnapshots', { OwnerIds: ['self'] })).Snapshots!.map((x) => x.SnapshotId);

  test("deletes the image's snapshots, skips one another image uses, and says so per snapshot", async () => {
    await insertSnapshot(root);
    await insertSnapshot(data);
    const image = await register('with-two', [
      { device: '/dev/xvda', snapshot: root },
      { device: '/dev/xvdb', snapshot: data },
    ]);
    const sharing = await register('sharing-root', [{ device: '/dev/xvda', snapshot: root }]);

    const out = await call<{ Return: boolean; DeleteSnapshotResults: DeleteSnapshotReturnCode[] }>('DeregisterImage', { ImageId: image, DeleteAssociatedSnapshots: true });
    expect(out.Return).toBe(true);
    expect(out.DeleteSnapshotResults).toEqual([
      { SnapshotId: root, ReturnCode: 'skipped' },
      { SnapshotId: data, ReturnCode: 'success' },
    ]);
    const left = await snapshotIds();
    expect(left).toContain(root);
    expect(left).not.toContain(data);
    const jobs = await s.app.db.selectFrom('jobs').select('resource_id').where('kind', '=', 'snapshot.delete').execute();
    expect(jobs.map((j) => j.resource_id)).toContain(data);

    // The last image using it goes: now the snapshot goes with it.
    const last = await call<{ DeleteSnapshotResults: DeleteSnapshotReturnCode[] }>('DeregisterImage', { ImageId: sharing, DeleteAssociatedSnapshots: true });
    expect(last.DeleteSnapshotResults).toEqual([{ SnapshotId: root, ReturnCode: 'success' }]);
    expect(await snapshotIds()).not.toContain(root);
  });

  test('without it the snapshots stay; a snapshot of another account is missing-permissions', async () => {
    const kept = 'snap-0aaaaaaaaaaaaaa04';
    await insertSnapshot(kept);
    const image = await register('keeps', [{ device: '/dev/xvda', snapshot: kept }]);
    const out = await call<{ Return: boolean; DeleteSnapshotResults?: unknown }>('DeregisterImage', { ImageId: image });
    expect(out).toEqual({ Return: true });
    expect(await snapshotIds()).toContain(kept);

    const other = await s.app.accounts.create('other-members');
    await insertSnapshot(foreign, other.accountId);
    await s.app.db.insertInto('snapshot_permissions').values({ snapshot_id: foreign, grantee: s.admin.accountId }).execute();
    const shared = await register('foreign', [{ device: '/dev/xvda', snapshot: foreign }]);
    const res = await call<{ DeleteSnapshotResults: DeleteSnapshotReturnCode[] }>('DeregisterImage', { ImageId: shared, DeleteAssociatedSnapshots: true });
    expect(res.DeleteSnapshotResults).toEqual([{ SnapshotId: foreign, ReturnCode: 'missing-permissions' }]);
    const still = await s.app.db.selectFrom('snapshots').select('id').where('id', '=', foreign).execute();
    expect(still).toHaveLength(1);
  });
});

describe('members cumulo cannot honour are refused by name', () => {
  let instanceId: string;
  let vpcId: string;
  let routeTableId: string;
  let subnetId: string;
  let eniId: string;
  let volumeId: string;

  beforeAll(async () => {
    instanceId = await running();
    const vpcs = await call<DescribeVpcsResult>('DescribeVpcs', {});
    vpcId = vpcs.Vpcs!.find((v) => v.IsDefault)!.VpcId!;
    const tables = await call<{ RouteTables: RouteTable[] }>('DescribeRouteTables', { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] });
    routeTableId = tables.RouteTables[0]!.RouteTableId!;
    const subnets = await call<{ Subnets: { SubnetId: string }[] }>('DescribeSubnets', { Filters: [{ Name: 'availability-zone', Values: ['us-east-1a'] }] });
    subnetId = subnets.Subnets[0]!.SubnetId;
    eniId = (await call<{ NetworkInterface: { NetworkInterfaceId: string } }>('CreateNetworkInterface', { SubnetId: subnetId })).NetworkInterface.NetworkInterfaceId;
    volumeId = (await call<Volume>('CreateVolume', { AvailabilityZone: 'us-east-1a', Size: 1 })).VolumeId!;
  });

  const run = (extra: Record<string, unknown>) => ({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...extra });

  test.each([
    ['RunInstances', () => run({ Monitoring: { Enabled: false, MetricCategoryIds: ['cpu'] } }), 'UnsupportedOperation', 'Monitoring.MetricCategoryIds'],
    ['RunInstances', () => run({ CpuOptions: { NestedVirtualization: 'enabled' } }), 'Unsupported', 'CpuOptions.NestedVirtualization'],
    ['RunInstances', () => run({ CpuOptions: { NestedVirtualization: 'sometimes' } }), 'InvalidParameterValue', 'CpuOptions.NestedVirtualization'],
    ['RunInstances', () => run({ NetworkPerformanceOptions: { BandwidthWeighting: 'vpc-1' } }), 'Unsupported', 'NetworkPerformanceOptions.BandwidthWeighting'],
    ['RunInstances', () => run({ Operator: { Principal: 'elasticloadbalancing.amazonaws.com' } }), 'UnsupportedOperation', 'Operator'],
    ['RunInstances', () => run({ SecondaryInterfaces: [{ DeviceIndex: 1 }] }), 'Unsupported', 'SecondaryInterfaces'],
    ['RunInstances', () => run({ NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnetId, EnaQueueCount: 4 }] }), 'Unsupported', 'NetworkInterface.1.EnaQueueCount'],
    [
      'RunInstances',
      () => run({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { AvailabilityZone: 'us-east-1a' } }] }),
      'InvalidParameterCombination',
      'BlockDeviceMapping.1.Ebs.AvailabilityZone',
    ],
    [
      'RunInstances',
      () => run({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { AvailabilityZoneId: 'use1-az1' } }] }),
      'InvalidParameterCombination',
      'BlockDeviceMapping.1.Ebs.AvailabilityZoneId',
    ],
    [
      'RunInstances',
      () => run({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeInitializationRate: 200 } }] }),
      'UnsupportedOperation',
      'BlockDeviceMapping.1.Ebs.VolumeInitializationRate',
    ],
    ['RunInstances', () => run({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { EbsCardIndex: 1 } }] }), 'InvalidParameterValue', 'BlockDeviceMapping.1.Ebs.EbsCardIndex'],
    ['CreateVolume', () => ({ AvailabilityZone: 'us-east-1a', Size: 1, VolumeInitializationRate: 200 }), 'UnsupportedOperation', 'VolumeInitializationRate'],
    ['CreateVolume', () => ({ AvailabilityZone: 'us-east-1a', Size: 1, Operator: { Principal: 'x' } }), 'UnsupportedOperation', 'Operator'],
    ['AttachVolume', () => ({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf', EbsCardIndex: 1 }), 'InvalidParameterValue', 'EbsCardIndex'],
    ['CreateImage', () => ({ InstanceId: instanceId, Name: 'x', SnapshotLocation: 'local' }), 'InvalidParameterValue', 'SnapshotLocation'],
    ['CreateImage', () => ({ InstanceId: instanceId, Name: 'x', BootModeOverride: 'uefi-preferred' }), 'InvalidParameterValue', 'bootModeOverride'],
    [
      'CreateImage',
      () => ({ InstanceId: instanceId, Name: 'x', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { AvailabilityZoneId: 'use1-az1' } }] }),
      'InvalidParameterCombination',
      'Ebs.AvailabilityZoneId',
    ],
    [
      'RegisterImage',
      () => ({
        Name: 'x',
        RootDeviceName: '/dev/xvda',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaa09', VolumeInitializationRate: 100 } }],
      }),
      'UnsupportedOperation',
      'Ebs.VolumeInitializationRate',
    ],
    [
      'CopyImage',
      () => ({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'x', SnapshotCopyCompletionDurationMinutes: 15 }),
      'UnsupportedOperation',
      'SnapshotCopyCompletionDurationMinutes',
    ],
    [
      'CopyImage',
      () => ({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'x', DestinationAvailabilityZone: 'us-east-1-lax-1a' }),
      'UnsupportedOperation',
      'DestinationAvailabilityZone',
    ],
    [
      'CopyImage',
      () => ({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'x', DestinationAvailabilityZoneId: 'use1-lax1-az1' }),
      'UnsupportedOperation',
      'DestinationAvailabilityZoneId',
    ],
    ['CreateSnapshot', () => ({ VolumeId: volumeId, Location: 'local' }), 'InvalidParameterValue', 'Location'],
    ['CreateSnapshots', () => ({ InstanceSpecification: { InstanceId: instanceId }, Location: 'local' }), 'InvalidParameterValue', 'Location'],
    [
      'CopySnapshot',
      () => ({ SourceRegion: 'us-east-1', SourceSnapshotId: 'snap-0aaaaaaaaaaaaaa09', DestinationAvailabilityZone: 'us-east-1-lax-1a' }),
      'UnsupportedOperation',
      'DestinationAvailabilityZone',
    ],
    ['CreateNetworkInterface', () => ({ SubnetId: subnetId, Operator: { Principal: 'x' } }), 'UnsupportedOperation', 'Operator'],
    ['AttachNetworkInterface', () => ({ NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: 1, EnaQueueCount: 2 }), 'Unsupported', 'EnaQueueCount'],
    ['ModifyNetworkInterfaceAttribute', () => ({ NetworkInterfaceId: eniId, AssociatedSubnetIds: [subnetId] }), 'Unsupported', 'AssociatedSubnetIds'],
    [
      'ModifyNetworkInterfaceAttribute',
      () => ({ NetworkInterfaceId: eniId, Attachment: { AttachmentId: 'eni-attach-0aaaaaaaaaaaaaa01', EnaQueueCount: 2 } }),
      'Unsupported',
      'Attachment.EnaQueueCount',
    ],
    [
      'CreateRoute',
      () => ({ RouteTableId: routeTableId, DestinationCidrBlock: '10.99.0.0/16', OdbNetworkArn: 'arn:aws:odb:us-east-1:123456789012:odb-network/odb-1' }),
      'InvalidParameterValue',
      'ODB network',
    ],
    [
      'ReplaceRoute',
      () => ({ RouteTableId: routeTableId, DestinationCidrBlock: '0.0.0.0/0', OdbNetworkArn: 'arn:aws:odb:us-east-1:123456789012:odb-network/odb-1' }),
      'InvalidParameterValue',
      'ODB network',
    ],
    [
      'AssociateRouteTable',
      () => ({ RouteTableId: routeTableId, SubnetId: subnetId, PublicIpv4Pool: 'ipv4pool-ec2-0aaaaaaaaaaaaaa01' }),
      'InvalidParameterValue',
      'PublicIpv4Pool',
    ],
    ['CreateVpc', () => ({ CidrBlock: '10.50.0.0/16', VpcEncryptionControl: { Mode: 'enforce' } }), 'UnsupportedOperation', 'VpcEncryptionControl'],
    ['ModifyInstanceAttribute', () => ({ InstanceId: instanceId, EnclaveOptions: { Enabled: true } }), 'UnsupportedOperation', 'EnclaveOptions'],
  ] as const)('%s refuses %#', async (op, input, code, member) => {
    const e = await refusal(op, input() as Record<string, unknown>);
    expect(e.code).toBe(code);
    expect(e.message).toContain(member);
  });

  test('ModifyManagedPrefixList: no list is IPAM managed, so its sync can be turned off (a no-op) but never on', async () => {
    const list = await call<{ PrefixList: { PrefixListId: string; Version: number } }>('CreateManagedPrefixList', {
      PrefixListName: 'members',
      AddressFamily: 'IPv4',
      MaxEntries: 2,
    });
    const id = list.PrefixList.PrefixListId;
    const e = await refusal('ModifyManagedPrefixList', { PrefixListId: id, IpamPrefixListResolverSyncEnabled: true });
    expect(e.code).toBe('UnsupportedOperation');
    expect(e.message).toContain('IpamPrefixListResolverSyncEnabled');
    const off = await call<{ PrefixList: { Version: number } }>('ModifyManagedPrefixList', { PrefixListId: id, IpamPrefixListResolverSyncEnabled: false });
    expect(off.PrefixList.Version).toBe(list.PrefixList.Version);
  });

  test('what is the truth here is honoured: EBS card 0, regional snapshots, nested virtualization off, default bandwidth weighting, enclaves off', async () => {
    const id = await running({
      CpuOptions: { NestedVirtualization: 'disabled' },
      NetworkPerformanceOptions: { BandwidthWeighting: 'default' },
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { EbsCardIndex: 0 } }],
    });
    await call('ModifyInstanceAttribute', { InstanceId: id, EnclaveOptions: { Enabled: false } });
    const snap = await call<{ SnapshotId: string }>('CreateSnapshot', { VolumeId: volumeId, Location: 'regional' });
    expect(snap.SnapshotId).toMatch(/^snap-/);
    const attached = await call<{ State: string }>('AttachVolume', { VolumeId: volumeId, InstanceId: id, Device: '/dev/sdf', EbsCardIndex: 0 });
    expect(attached.State).toBe('attaching');
  });

  test('CreateImage BootModeOverride sets the new image’s boot mode', async () => {
    const out = await call<{ ImageId: string }>('CreateImage', {
      InstanceId: instanceId,
      Name: 'members-uefi',
      NoReboot: true,
      BootModeOverride: 'uefi',
      SnapshotLocation: 'regional',
    });
    const row = await s.app.db.selectFrom('images').select('boot_mode').where('id', '=', out.ImageId).executeTakeFirstOrThrow();
    expect(row.boot_mode).toBe('uefi');
  });
});

describe('through the SDK v3 on the wire (the current model parses them)', () => {
  test('terminate-instances --skip-os-shutdown, stop-instances --skip-os-shutdown, run-instances Placement.AvailabilityZoneId, create-volume AvailabilityZoneId', async () => {
    const ec2 = s.ec2();
    const r = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 2, MaxCount: 2, Placement: { AvailabilityZoneId: 'use1-az3' } }));
    const [a, b] = r.Instances!.map((i) => i.InstanceId!);
    expect(r.Instances!.map((i) => i.Placement?.AvailabilityZone)).toEqual(['us-east-1c', 'us-east-1c']);
    await until(async () => (await stateOf(a!)) === 'running' && (await stateOf(b!)) === 'running');
    await ec2.send(new StopInstancesCommand({ InstanceIds: [a!], SkipOsShutdown: true }));
    const t = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [b!], SkipOsShutdown: true }));
    expect(t.TerminatingInstances![0]!.CurrentState!.Name).toBe('shutting-down');
    await until(async () => (await stateOf(a!)) === 'stopped' && (await stateOf(b!)) === 'terminated');
    expect(driver.of(a!)).toEqual([`stop ${a} force`]);
    expect(driver.of(b!)).toEqual([`stop ${b} force`, `delete ${b}`]);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [a!] }));
    expect(described.Reservations![0]!.Instances![0]!.Placement!.AvailabilityZoneId).toBe('use1-az3');

    const v = await ec2.send(new CreateVolumeCommand({ AvailabilityZoneId: 'use1-az2', Size: 1 }));
    expect(v.AvailabilityZone).toBe('us-east-1b');
    const bad = await ec2.send(new CreateVolumeCommand({ AvailabilityZoneId: 'use1-az7', Size: 1 })).catch((e: Error) => e);
    expect((bad as Error).name).toBe('InvalidParameterValue');
  });

  test('deregister-image --delete-associated-snapshots answers DeleteSnapshotResults', async () => {
    const ec2 = s.ec2();
    const snap = 'snap-0aaaaaaaaaaaaaa05';
    await insertSnapshot(snap);
    const img = await ec2.send(
      new RegisterImageCommand({ Name: 'wire', RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snap } }] }),
    );
    const out = await ec2.send(new DeregisterImageCommand({ ImageId: img.ImageId, DeleteAssociatedSnapshots: true }));
    expect(out.Return).toBe(true);
    expect(out.DeleteSnapshotResults).toEqual([{ SnapshotId: snap, ReturnCode: 'success' }]);
  });
});
