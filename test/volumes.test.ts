// EBS volumes through @aws-sdk/client-ec2 against a server with the fake driver (no BlockStorage:
// the controllers only move the states on): CreateVolume (sizes, types, snapshots, encryption,
// Multi-Attach, tags, ClientToken), DeleteVolume, AttachVolume/DetachVolume on running and
// stopped instances, ModifyVolume and its modifications, status and attributes, waiters, filters,
// DryRun and account isolation, and what terminating an instance does to its volumes.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeVolumeAttributeCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  DescribeVolumeStatusCommand,
  DetachVolumeCommand,
  EC2Client,
  ModifyVolumeAttributeCommand,
  ModifyVolumeCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
  waitUntilVolumeAvailable,
  waitUntilVolumeDeleted,
  waitUntilVolumeInUse,
  type Volume,
} from '@aws-sdk/client-ec2';
import { errorOf, startTestServer, type TestServer } from './harness.js';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };

let s: TestServer;
let ec2: EC2Client;
let imageId: string;
let instanceId: string;
let zone: string;
let otherZone: string;

async function volume(id: string): Promise<Volume> {
  return (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes![0]!;
}

async function create(more: Partial<ConstructorParameters<typeof CreateVolumeCommand>[0]> = {}, client = ec2): Promise<Volume> {
  return client.send(new CreateVolumeCommand({ AvailabilityZone: zone, Size: 10, ...more }));
}

async function launch(): Promise<string> {
  const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', Placement: { AvailabilityZone: zone } }));
  const id = out.Instances![0]!.InstanceId!;
  await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
  return id;
}

async function insertSnapshot(id: string, o: { account?: string; size?: number; state?: string; encrypted?: boolean } = {}): Promise<void> {
  const now = new Date().toISOString();
  await s.app.db
    .insertInto('snapshots')
    .values({
      id,
      account_id: o.account ?? s.admin.accountId,
      region: 'us-east-1',
      volume_id: 'vol-ffffffff',
      volume_size: o.size ?? 8,
      state: o.state ?? 'completed',
      progress: 100,
      encrypted: o.encrypted ? 1 : 0,
      kms_key_id: o.encrypted ? 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-4333-a444-555555555555' : null,
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
  s = await startTestServer({ env: { CUMULO_VOLUME_OPTIMIZE_MS: '50' } });
  process.env.CUMULO_VOLUME_OPTIMIZE_MS = '50';
  ec2 = s.ec2();
  imageId = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }))).Images![0]!.ImageId!;
  zone = 'us-east-1a';
  otherZone = 'us-east-1b';
  instanceId = await launch();
});

afterAll(async () => {
  delete process.env.CUMULO_VOLUME_OPTIMIZE_MS;
  await s?.stop();
});

describe('CreateVolume', () => {
  test('a gp2 volume by default: creating, then available', async () => {
    const v = await create({ TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'data' }] }] });
    expect(v).toMatchObject({ AvailabilityZone: zone, Size: 10, VolumeType: 'gp2', Iops: 100, Encrypted: false, State: 'creating', MultiAttachEnabled: false, SnapshotId: '' });
    expect(v.Tags).toEqual([{ Key: 'Name', Value: 'data' }]);
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    expect((await volume(v.VolumeId!)).State).toBe('available');
  });

  test('gp3 defaults, io2 with IOPS, Multi-Attach', async () => {
    expect(await create({ VolumeType: 'gp3' })).toMatchObject({ VolumeType: 'gp3', Iops: 3000, Throughput: 125 });
    expect(await create({ VolumeType: 'gp3', Iops: 6000, Throughput: 500 })).toMatchObject({ Iops: 6000, Throughput: 500 });
    expect(await create({ VolumeType: 'io2', Iops: 5000, MultiAttachEnabled: true })).toMatchObject({ VolumeType: 'io2', Iops: 5000, MultiAttachEnabled: true });
  });

  test('validation', async () => {
    expect((await errorOf(ec2.send(new CreateVolumeCommand({ Size: 10 } as never)))).name).toBe('MissingParameter');
    expect((await errorOf(create({ AvailabilityZone: 'us-east-1z' }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(create({ Size: undefined }))).name).toBe('MissingParameter');
    expect((await errorOf(create({ VolumeType: 'fast' as never }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(create({ VolumeType: 'st1', Size: 100 }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(create({ VolumeType: 'gp2', Iops: 500 }))).name).toBe('InvalidParameterCombination');
    expect((await errorOf(create({ VolumeType: 'io1' }))).name).toBe('MissingParameter');
    expect((await errorOf(create({ VolumeType: 'gp3', Throughput: 2000 }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(create({ VolumeType: 'gp3', MultiAttachEnabled: true }))).name).toBe('InvalidParameterCombination');
    expect((await errorOf(create({ KmsKeyId: 'alias/aws/ebs' }))).name).toBe('InvalidParameterDependency');
    expect((await errorOf(create({ Size: 0 }))).name).toBe('InvalidParameterValue');
  });

  test('encryption: the aws/ebs managed key by default, a given key kept', async () => {
    const a = await create({ Encrypted: true });
    expect(a.Encrypted).toBe(true);
    expect(a.KmsKeyId).toMatch(new RegExp(`^arn:aws:kms:us-east-1:${s.admin.accountId}:key/[0-9a-f-]{36}$`));
    expect((await create({ Encrypted: true })).KmsKeyId).toBe(a.KmsKeyId);
    const b = await create({ Encrypted: true, KmsKeyId: '0b2d5c4e-1234-4abc-8def-0123456789ab' });
    expect(b.KmsKeyId).toBe(`arn:aws:kms:us-east-1:${s.admin.accountId}:key/0b2d5c4e-1234-4abc-8def-0123456789ab`);
    expect((await errorOf(create({ Encrypted: true, KmsKeyId: 'not a key' }))).name).toBe('InvalidParameterValue');
  });

  test('from a snapshot: its size by default, never smaller; encrypted from an encrypted one', async () => {
    await insertSnapshot('snap-0a000000000000001', { size: 8 });
    await insertSnapshot('snap-0a000000000000002', { size: 4, encrypted: true });
    await insertSnapshot('snap-0a000000000000003', { state: 'pending' });
    const v = await create({ Size: undefined, SnapshotId: 'snap-0a000000000000001' });
    expect(v).toMatchObject({ Size: 8, SnapshotId: 'snap-0a000000000000001', Encrypted: false });
    expect((await create({ Size: 20, SnapshotId: 'snap-0a000000000000001' })).Size).toBe(20);
    expect((await errorOf(create({ Size: 4, SnapshotId: 'snap-0a000000000000001' }))).name).toBe('InvalidParameterValue');
    const e = await create({ Size: undefined, SnapshotId: 'snap-0a000000000000002' });
    expect(e).toMatchObject({ Encrypted: true, KmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-4333-a444-555555555555' });
    expect((await errorOf(create({ SnapshotId: 'snap-0a000000000000002', Encrypted: false }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(create({ SnapshotId: 'snap-0a000000000000003' }))).name).toBe('IncorrectState');
    expect((await errorOf(create({ SnapshotId: 'snap-0a000000000000099' }))).name).toBe('InvalidSnapshot.NotFound');
    expect((await errorOf(create({ SnapshotId: 'snap-x' }))).name).toBe('InvalidSnapshotID.Malformed');
  });

  test('ClientToken: a retry gets the same volume, other arguments a mismatch', async () => {
    const a = await create({ ClientToken: 'tok-1' });
    const b = await create({ ClientToken: 'tok-1' });
    expect(b.VolumeId).toBe(a.VolumeId);
    expect((await errorOf(create({ ClientToken: 'tok-1', Size: 11 }))).name).toBe('IdempotentParameterMismatch');
  });

  test('DryRun creates nothing', async () => {
    const before = (await ec2.send(new DescribeVolumesCommand({}))).Volumes!.length;
    expect((await errorOf(create({ DryRun: true }))).name).toBe('DryRunOperation');
    expect((await ec2.send(new DescribeVolumesCommand({}))).Volumes!.length).toBe(before);
  });
});

describe('DeleteVolume', () => {
  test('an available volume goes; a deleted one is not found', async () => {
    const v = await create();
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    await ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId! }));
    await waitUntilVolumeDeleted({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    expect((await errorOf(volume(v.VolumeId!))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId! })))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(ec2.send(new DeleteVolumeCommand({ VolumeId: 'vol-nope' })))).name).toBe('InvalidVolumeID.Malformed');
  });
});

describe('AttachVolume, DetachVolume', () => {
  test('attach to a running instance: attaching, then attached and in-use; what the instance shows', async () => {
    const v = await create();
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    const a = await ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: instanceId, Device: '/dev/sdf' }));
    expect(a).toMatchObject({ VolumeId: v.VolumeId, InstanceId: instanceId, Device: '/dev/sdf', State: 'attaching' });
    await waitUntilVolumeInUse({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    await s.app.runner.idle();
    const got = await volume(v.VolumeId!);
    expect(got.State).toBe('in-use');
    expect(got.Attachments).toMatchObject([{ InstanceId: instanceId, Device: '/dev/sdf', State: 'attached', DeleteOnTermination: false }]);
    const filtered = await ec2.send(
      new DescribeVolumesCommand({
        Filters: [
          { Name: 'attachment.instance-id', Values: [instanceId] },
          { Name: 'attachment.device', Values: ['/dev/sdf'] },
        ],
      }),
    );
    expect(filtered.Volumes!.map((x) => x.VolumeId)).toEqual([v.VolumeId]);
    const i = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances![0]!;
    expect(i.BlockDeviceMappings!.map((m) => m.DeviceName)).toContain('/dev/sdf');

    // In use: no delete, no second attach, the device is taken.
    expect((await errorOf(ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId! })))).name).toBe('VolumeInUse');
    expect((await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: instanceId, Device: '/dev/sdg' })))).name).toBe('VolumeInUse');
    const w = await create();
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [w.VolumeId!] });
    const taken = await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: w.VolumeId!, InstanceId: instanceId, Device: '/dev/sdf' })));
    expect([taken.name, taken.message]).toEqual(['InvalidParameterValue', 'Attachment point /dev/sdf is already in use']);

    // Detach: wrong instance, wrong device, then detaching → available.
    expect((await errorOf(ec2.send(new DetachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: 'i-0123456789abcdef0' })))).name).toBe('InvalidAttachment.NotFound');
    expect((await errorOf(ec2.send(new DetachVolumeCommand({ VolumeId: v.VolumeId!, Device: '/dev/sdz' })))).name).toBe('InvalidAttachment.NotFound');
    const d = await ec2.send(new DetachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: instanceId }));
    expect(d).toMatchObject({ State: 'detaching', Device: '/dev/sdf', InstanceId: instanceId });
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    expect((await volume(v.VolumeId!)).Attachments).toEqual([]);
    expect((await errorOf(ec2.send(new DetachVolumeCommand({ VolumeId: v.VolumeId! })))).name).toBe('IncorrectState');
  });

  test('errors: zone, device name, unknown instance, a creating volume, the root volume', async () => {
    const far = await create({ AvailabilityZone: otherZone });
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [far.VolumeId!] });
    expect((await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: far.VolumeId!, InstanceId: instanceId, Device: '/dev/sdh' })))).name).toBe('InvalidVolume.ZoneMismatch');
    const v = await create();
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    expect((await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: instanceId, Device: 'floppy' })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdh' })))).name).toBe(
      'InvalidInstanceID.NotFound',
    );
    const i = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances![0]!;
    expect((await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: instanceId, Device: i.RootDeviceName! })))).name).toBe('InvalidParameterValue');
    const root = i.BlockDeviceMappings!.find((m) => m.DeviceName === i.RootDeviceName)!.Ebs!.VolumeId!;
    const e = await errorOf(ec2.send(new DetachVolumeCommand({ VolumeId: root })));
    expect([e.name, e.message]).toEqual(['IncorrectState', `Unable to detach root volume '${root}' from instance '${instanceId}'`]);
    await s.app.runner.stop();
    try {
      const creating = await create();
      expect((await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: creating.VolumeId!, InstanceId: instanceId, Device: '/dev/sdh' })))).name).toBe('IncorrectState');
    } finally {
      s.app.runner.start();
    }
  });

  test('a stopped instance: attached at once, the volume in its spec at the next start; DryRun', async () => {
    const id = await launch();
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [id] });
    const v = await create({ VolumeType: 'gp3', Throughput: 250 });
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    expect((await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: id, Device: '/dev/xvdf', DryRun: true })))).name).toBe('DryRunOperation');
    expect((await volume(v.VolumeId!)).State).toBe('available');
    await ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: id, Device: '/dev/xvdf' }));
    await waitUntilVolumeInUse({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    await s.app.runner.idle();
    expect((await volume(v.VolumeId!)).Attachments![0]!.State).toBe('attached');
    const { specOf } = await import('../src/controllers/instances.js');
    const row = await s.app.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const spec = await specOf({ db: s.app.db }, row);
    expect(spec.volumes).toEqual([{ volumeId: v.VolumeId, device: '/dev/xvdf', limits: { iops: 3000, throughputMiBps: 250 } }]);
    expect(spec.rootSnapshotId).toBeUndefined();
    // Terminating keeps a volume without DeleteOnTermination: it comes back available.
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [id] });
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    expect((await volume(v.VolumeId!)).Attachments).toEqual([]);
  });

  test('Multi-Attach: an io2 volume on two instances; detach names the instance', async () => {
    const other = await launch();
    const v = await create({ VolumeType: 'io2', Iops: 1000, MultiAttachEnabled: true });
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    await ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: instanceId, Device: '/dev/sdm' }));
    await ec2.send(new AttachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: other, Device: '/dev/sdm' }));
    await s.app.runner.idle();
    expect((await volume(v.VolumeId!)).Attachments!.map((a) => [a.InstanceId, a.State]).sort()).toEqual(
      [
        [instanceId, 'attached'],
        [other, 'attached'],
      ].sort(),
    );
    expect((await errorOf(ec2.send(new DetachVolumeCommand({ VolumeId: v.VolumeId! })))).name).toBe('MissingParameter');
    await ec2.send(new DetachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: other }));
    await s.app.runner.idle();
    expect((await volume(v.VolumeId!)).State).toBe('in-use');
    await ec2.send(new DetachVolumeCommand({ VolumeId: v.VolumeId!, InstanceId: instanceId }));
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
  });
});

describe('ModifyVolume', () => {
  test('grow and change type: modifying → optimizing → completed; the volume takes the target', async () => {
    const v = await create({ Size: 10, VolumeType: 'gp2' });
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    const small = await errorOf(ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, Size: 5 })));
    expect([small.name, small.message]).toEqual(['InvalidParameterValue', 'New size cannot be smaller than existing size']);
    expect((await errorOf(ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, Size: 10 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, VolumeType: 'gp3', Iops: 100 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, Throughput: 200 })))).name).toBe('InvalidParameterCombination');
    await s.app.runner.stop();
    let m;
    try {
      m = (await ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, Size: 20, VolumeType: 'gp3', Throughput: 300 }))).VolumeModification!;
      expect(m).toMatchObject({
        VolumeId: v.VolumeId,
        ModificationState: 'modifying',
        OriginalSize: 10,
        TargetSize: 20,
        OriginalVolumeType: 'gp2',
        TargetVolumeType: 'gp3',
        TargetIops: 3000,
        TargetThroughput: 300,
        OriginalIops: 100,
        Progress: 0,
      });
      expect((await errorOf(ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, Size: 30 })))).name).toBe('IncorrectModificationState');
    } finally {
      s.app.runner.start();
    }
    const done = async () => (await ec2.send(new DescribeVolumesModificationsCommand({ VolumeIds: [v.VolumeId!] }))).VolumesModifications![0]!;
    const end = Date.now() + 10_000;
    while ((await done()).ModificationState !== 'completed' && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(await done()).toMatchObject({ ModificationState: 'completed', Progress: 100, TargetSize: 20 });
    expect((await done()).EndTime).toBeInstanceOf(Date);
    expect(await volume(v.VolumeId!)).toMatchObject({ Size: 20, VolumeType: 'gp3', Iops: 3000, Throughput: 300 });
    // Another modification is allowed once the first completed.
    await ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, Size: 30 }));
    await s.app.runner.idle();
    const byFilter = async (name: string, value: string) =>
      (await ec2.send(new DescribeVolumesModificationsCommand({ Filters: [{ Name: name, Values: [value] }] }))).VolumesModifications!.map((x) => x.VolumeId);
    expect(await byFilter('target-size', '30')).toContain(v.VolumeId);
    expect(await byFilter('original-size', '20')).toContain(v.VolumeId);
    expect(await byFilter('target-volume-type', 'gp3')).toContain(v.VolumeId);
    expect(await byFilter('target-size', '31')).not.toContain(v.VolumeId);
    expect((await errorOf(ec2.send(new DescribeVolumesModificationsCommand({ Filters: [{ Name: 'bogus', Values: ['x'] }] })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeVolumesModificationsCommand({ VolumeIds: ['vol-0123456789abcdef0'] })))).name).toBe('InvalidVolume.NotFound');
  });
});

describe('status and attributes', () => {
  test("DescribeVolumeStatus: the fake driver stores no data, so nothing is known of a volume's I/O", async () => {
    const v = await create();
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    const out = await ec2.send(new DescribeVolumeStatusCommand({ VolumeIds: [v.VolumeId!] }));
    expect(out.VolumeStatuses).toMatchObject([
      {
        VolumeId: v.VolumeId,
        AvailabilityZone: zone,
        VolumeStatus: {
          Status: 'insufficient-data',
          Details: [
            { Name: 'io-enabled', Status: 'insufficient-data' },
            { Name: 'io-performance', Status: 'not-applicable' },
          ],
        },
      },
    ]);
    const f = await ec2.send(new DescribeVolumeStatusCommand({ Filters: [{ Name: 'volume-status.status', Values: ['impaired'] }] }));
    expect(f.VolumeStatuses!.map((x) => x.VolumeId)).not.toContain(v.VolumeId);
  });

  test('a volume whose snapshot is gone before it is built goes to error, and is impaired', async () => {
    const snap = 'snap-0e0e0e0e0e0e0e0e0';
    await insertSnapshot(snap);
    // The controllers wait while the snapshot goes, as if lost between the request and the build.
    await s.app.runner.stop();
    let v: Volume;
    try {
      v = await create({ SnapshotId: snap });
      await s.app.db.deleteFrom('snapshots').where('id', '=', snap).execute();
    } finally {
      s.app.runner.start();
    }
    await s.app.runner.idle();
    expect((await volume(v!.VolumeId!)).State).toBe('error');
    const st = (await ec2.send(new DescribeVolumeStatusCommand({ VolumeIds: [v!.VolumeId!] }))).VolumeStatuses![0]!;
    expect(st.VolumeStatus).toEqual({
      Status: 'impaired',
      Details: [
        { Name: 'io-enabled', Status: 'failed' },
        { Name: 'io-performance', Status: 'not-applicable' },
      ],
    });
    const f = await ec2.send(new DescribeVolumeStatusCommand({ Filters: [{ Name: 'volume-status.details-status', Values: ['failed'] }] }));
    expect(f.VolumeStatuses!.map((x) => x.VolumeId)).toContain(v!.VolumeId);
    const byState = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['error'] }] }));
    expect(byState.Volumes!.map((x) => x.VolumeId)).toContain(v!.VolumeId);
    // It cannot be attached; it can still be deleted.
    expect((await errorOf(ec2.send(new AttachVolumeCommand({ VolumeId: v!.VolumeId!, InstanceId: instanceId, Device: '/dev/sdk' })))).name).toBe('IncorrectState');
    await ec2.send(new DeleteVolumeCommand({ VolumeId: v!.VolumeId! }));
  });

  test('DescribeVolumeAttribute, ModifyVolumeAttribute', async () => {
    const v = await create();
    expect((await ec2.send(new DescribeVolumeAttributeCommand({ VolumeId: v.VolumeId!, Attribute: 'autoEnableIO' }))).AutoEnableIO).toEqual({ Value: false });
    expect((await ec2.send(new DescribeVolumeAttributeCommand({ VolumeId: v.VolumeId!, Attribute: 'productCodes' }))).ProductCodes).toEqual([]);
    expect((await errorOf(ec2.send(new DescribeVolumeAttributeCommand({ VolumeId: v.VolumeId!, Attribute: 'size' as never })))).name).toBe('InvalidParameterValue');
    await ec2.send(new ModifyVolumeAttributeCommand({ VolumeId: v.VolumeId!, AutoEnableIO: { Value: true } }));
    expect((await errorOf(ec2.send(new ModifyVolumeAttributeCommand({ VolumeId: v.VolumeId! })))).name).toBe('MissingParameter');
  });
});

describe('filters and isolation', () => {
  test('DescribeVolumes filters by status, type, size, snapshot, encryption', async () => {
    const v = await create({ VolumeType: 'sc1', Size: 500, Encrypted: true });
    const ids = async (name: string, value: string) => (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: name, Values: [value] }] }))).Volumes!.map((x) => x.VolumeId);
    expect(await ids('volume-type', 'sc1')).toEqual([v.VolumeId]);
    expect(await ids('size', '500')).toEqual([v.VolumeId]);
    expect(await ids('encrypted', 'true')).toContain(v.VolumeId);
    expect(await ids('snapshot-id', 'snap-0a000000000000001')).not.toContain(v.VolumeId);
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    expect(await ids('status', 'available')).toContain(v.VolumeId);
    expect(await ids('status', 'in-use')).not.toContain(v.VolumeId);
  });

  test('another account sees none of these volumes and cannot use them; a shared snapshot works', async () => {
    const creds = await s.app.accounts.create('other-volumes');
    const other = s.ec2({ credentials: creds });
    const mine = await create();
    expect((await other.send(new DescribeVolumesCommand({}))).Volumes).toEqual([]);
    expect((await errorOf(other.send(new DescribeVolumesCommand({ VolumeIds: [mine.VolumeId!] })))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(other.send(new DeleteVolumeCommand({ VolumeId: mine.VolumeId! })))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(other.send(new ModifyVolumeCommand({ VolumeId: mine.VolumeId!, Size: 50 })))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(other.send(new AttachVolumeCommand({ VolumeId: mine.VolumeId!, InstanceId: instanceId, Device: '/dev/sdq' })))).name).toBe('InvalidVolume.NotFound');
    expect((await errorOf(create({ SnapshotId: 'snap-0a000000000000001' }, other))).name).toBe('InvalidSnapshot.NotFound');
    await s.app.db.insertInto('snapshot_permissions').values({ snapshot_id: 'snap-0a000000000000001', grantee: creds.accountId }).execute();
    const theirs = await create({ Size: undefined, SnapshotId: 'snap-0a000000000000001' }, other);
    expect(theirs.Size).toBe(8);
    expect((await errorOf(other.send(new AttachVolumeCommand({ VolumeId: theirs.VolumeId!, InstanceId: instanceId, Device: '/dev/sdq' })))).name).toBe(
      'InvalidInstanceID.NotFound',
    );
  });
});
