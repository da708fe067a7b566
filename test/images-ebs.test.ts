// AMIs made here (issue 5): CreateImage from an instance, RegisterImage from a snapshot, CopyImage
// to another region, DeregisterImage, launch permissions between accounts, and many instances
// from one image — through the SDK against a server with the fake driver (no host data: the
// snapshot controllers just complete the rows).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CopyImageCommand,
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  ModifyImageAttributeCommand,
  RegisterImageCommand,
  ResetImageAttributeCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  waitUntilImageAvailable,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  type EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import { errorOf, startTestServer, type TestServer } from './harness.js';
import { builtinImageId, builtinImages } from '../src/services/ec2/images/builtin.js';
import { reconcileImage } from '../src/controllers/images.js';
import { FakeDriver } from '../src/host/compute/fake.js';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };
const minimal = builtinImages.find((i) => i.source.builtin === 'minimal')!;
const MINIMAL = builtinImageId('us-east-1', minimal.name);

let s: TestServer;
let ec2: EC2Client;
let west: EC2Client;
let other: EC2Client;
let otherId: string;
let instanceId: string;
let imageId: string;
let image: Image;

async function image1(client: EC2Client, id: string): Promise<Image> {
  return (await client.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images![0]!;
}

async function runningInstance(client: EC2Client, imageId: string, count = 1): Promise<string[]> {
  const out = await client.send(new RunInstancesCommand({ ImageId: imageId, MinCount: count, MaxCount: count, InstanceType: 't3.micro' }));
  const ids = out.Instances!.map((i) => i.InstanceId!);
  await waitUntilInstanceRunning({ client, ...wait }, { InstanceIds: ids });
  return ids;
}

beforeAll(async () => {
  s = await startTestServer({ env: { CUMULO_REGIONS: 'us-east-1,eu-west-1' } });
  ec2 = s.ec2();
  west = s.ec2({ region: 'eu-west-1' });
  const c = await s.app.accounts.create('images-other');
  otherId = c.accountId;
  other = s.ec2({ credentials: c });
  [instanceId] = await runningInstance(ec2, MINIMAL);
  // A data volume beside the root one: the image gets a snapshot of each.
  const out = await ec2.send(
    new CreateImageCommand({
      InstanceId: instanceId,
      Name: 'web-server (v1.0) [test]',
      Description: 'my web server',
      NoReboot: true,
      TagSpecifications: [
        { ResourceType: 'image', Tags: [{ Key: 'app', Value: 'web' }] },
        { ResourceType: 'snapshot', Tags: [{ Key: 'made-by', Value: 'create-image' }] },
      ],
    }),
  );
  imageId = out.ImageId!;
});
afterAll(async () => {
  await s?.stop();
});

describe('CreateImage', () => {
  test('pending, then available, with a snapshot per EBS volume', async () => {
    expect(imageId).toMatch(/^ami-[0-9a-f]{17}$/);
    const first = await image1(ec2, imageId);
    expect(['pending', 'available']).toContain(first.State);
    await waitUntilImageAvailable({ client: ec2, ...wait }, { ImageIds: [imageId] });
    image = await image1(ec2, imageId);
    expect(image).toMatchObject({
      State: 'available',
      Name: 'web-server (v1.0) [test]',
      Description: 'my web server',
      OwnerId: s.admin.accountId,
      Public: false,
      Architecture: 'x86_64',
      RootDeviceName: '/dev/xvda',
      RootDeviceType: 'ebs',
      PlatformDetails: 'Linux/UNIX',
      ImageLocation: `${s.admin.accountId}/web-server (v1.0) [test]`,
      SourceInstanceId: instanceId,
      Tags: [{ Key: 'app', Value: 'web' }],
    });
    const root = image.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/xvda')!;
    expect(root.Ebs).toMatchObject({ VolumeSize: minimal.volumeSizeGiB, DeleteOnTermination: true, VolumeType: 'gp3', Encrypted: false });
    expect(root.Ebs!.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    // The snapshot is a new one of the instance's root volume, not the built-in's.
    const builtin = (await image1(ec2, MINIMAL)).BlockDeviceMappings![0]!.Ebs!.SnapshotId;
    expect(root.Ebs!.SnapshotId).not.toBe(builtin);
    const snaps = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [root.Ebs!.SnapshotId!] }));
    const vol = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances![0]!.BlockDeviceMappings![0]!.Ebs!.VolumeId;
    expect(snaps.Snapshots![0]).toMatchObject({ State: 'completed', VolumeId: vol, VolumeSize: minimal.volumeSizeGiB, Tags: [{ Key: 'made-by', Value: 'create-image' }] });
    expect(snaps.Snapshots![0]!.Description).toContain(imageId);
    // The launch path knows where the root comes from, and the login user carries over.
    const row = await s.app.db.selectFrom('images').select('source').where('id', '=', imageId).executeTakeFirstOrThrow();
    expect(JSON.parse(row.source)).toMatchObject({ rootSnapshotId: root.Ebs!.SnapshotId, sshUser: 'ec2-user', builtin: 'minimal', noReboot: true });
  });

  test('block device mapping overrides: grow, keep on termination, add an empty volume, leave one out', async () => {
    const out = await ec2.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: 'web-big',
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 4, DeleteOnTermination: false } },
          { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 2, VolumeType: 'gp3' } },
          { DeviceName: '/dev/sdg', NoDevice: '' },
        ],
      }),
    );
    await waitUntilImageAvailable({ client: ec2, ...wait }, { ImageIds: [out.ImageId!] });
    const img = await image1(ec2, out.ImageId!);
    expect(img.BlockDeviceMappings).toHaveLength(2);
    expect(img.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/xvda')!.Ebs).toMatchObject({ VolumeSize: 4, DeleteOnTermination: false });
    const added = img.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/sdf')!.Ebs!;
    expect(added).toMatchObject({ VolumeSize: 2, VolumeType: 'gp3' });
    expect(added.SnapshotId).toBeUndefined();
  });

  test('without NoReboot a running instance is rebooted (after its volumes are captured); with it, not', async () => {
    const driver = s.app.driver as FakeDriver;
    const [id] = await runningInstance(ec2, MINIMAL);
    const boots = driver.bootsOf(id!);
    const quiet = await ec2.send(new CreateImageCommand({ InstanceId: id!, Name: 'no-reboot', NoReboot: true }));
    await waitUntilImageAvailable({ client: ec2, ...wait }, { ImageIds: [quiet.ImageId!] });
    await s.app.runner.idle();
    expect(driver.bootsOf(id!)).toBe(boots);
    const loud = await ec2.send(new CreateImageCommand({ InstanceId: id!, Name: 'with-reboot' }));
    await waitUntilImageAvailable({ client: ec2, ...wait }, { ImageIds: [loud.ImageId!] });
    await s.app.runner.idle();
    expect(driver.bootsOf(id!)).toBe(boots + 1);
    expect((await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id!] }))).Reservations![0]!.Instances![0]!.State!.Name).toBe('running');
  });

  test('a stopped instance can be imaged too', async () => {
    const [id] = await runningInstance(ec2, MINIMAL);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id!] }));
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [id!] });
    const out = await ec2.send(new CreateImageCommand({ InstanceId: id!, Name: 'from-stopped' }));
    await waitUntilImageAvailable({ client: ec2, ...wait }, { ImageIds: [out.ImageId!] });
    expect((await image1(ec2, out.ImageId!)).SourceInstanceId).toBe(id);
  });

  test('errors', async () => {
    expect((await errorOf(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'web-server (v1.0) [test]' })))).name).toBe('InvalidAMIName.Duplicate');
    expect((await errorOf(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'ab' })))).name).toBe('InvalidAMIName.Malformed');
    expect((await errorOf(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'bad*name' })))).name).toBe('InvalidAMIName.Malformed');
    expect((await errorOf(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'x'.repeat(129) })))).name).toBe('InvalidAMIName.Malformed');
    expect((await errorOf(ec2.send(new CreateImageCommand({ InstanceId: 'i-0123456789abcdef0', Name: 'nope' })))).name).toBe('InvalidInstanceID.NotFound');
    expect((await errorOf(ec2.send(new CreateImageCommand({ InstanceId: 'i-xyz', Name: 'nope' })))).name).toBe('InvalidInstanceID.Malformed');
    // Another account's instance is as good as absent.
    expect((await errorOf(other.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'theirs' })))).name).toBe('InvalidInstanceID.NotFound');
    expect(
      (await errorOf(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'no-root', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', NoDevice: '' }] })))).name,
    ).toBe('InvalidBlockDeviceMapping');
    expect(
      (await errorOf(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'shrink', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 0 } }] }))))
        .name,
    ).toBe('InvalidBlockDeviceMapping');
    expect(
      (
        await errorOf(
          ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'bad-tags', TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'a', Value: 'b' }] }] })),
        )
      ).name,
    ).toBe('InvalidParameterValue');
    const dry = await errorOf(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'dry-run', DryRun: true })));
    expect(dry.name).toBe('DryRunOperation');
    const names = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.map((i) => i.Name);
    expect(names).not.toContain('dry-run');
  });
});

describe('launching from the new image', () => {
  test('three instances, each root volume made from the image’s root snapshot', async () => {
    const rootSnap = image.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/xvda')!.Ebs!.SnapshotId!;
    const ids = await runningInstance(ec2, imageId, 3);
    expect(ids).toHaveLength(3);
    const vols = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: ids }] }));
    expect(vols.Volumes).toHaveLength(3);
    for (const v of vols.Volumes!) expect(v).toMatchObject({ SnapshotId: rootSnap, Size: minimal.volumeSizeGiB });
    const inst = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) => r.Instances!);
    for (const i of inst) expect(i.ImageId).toBe(imageId);
  });
});

describe('RegisterImage', () => {
  test('from a completed snapshot: available at once', async () => {
    const rootSnap = image.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/xvda')!.Ebs!.SnapshotId!;
    const out = await ec2.send(
      new RegisterImageCommand({
        Name: 'registered-1',
        Description: 'from a snapshot',
        RootDeviceName: '/dev/xvda',
        Architecture: 'x86_64',
        VirtualizationType: 'hvm',
        EnaSupport: true,
        BootMode: 'uefi',
        ImdsSupport: 'v2.0',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: rootSnap, VolumeSize: 3, VolumeType: 'gp3' } }],
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'k', Value: 'v' }] }],
      }),
    );
    const img = await image1(ec2, out.ImageId!);
    expect(img).toMatchObject({
      State: 'available',
      Name: 'registered-1',
      BootMode: 'uefi',
      ImdsSupport: 'v2.0',
      EnaSupport: true,
      RootDeviceName: '/dev/xvda',
      Tags: [{ Key: 'k', Value: 'v' }],
    });
    expect(img.BlockDeviceMappings![0]!.Ebs).toMatchObject({ SnapshotId: rootSnap, VolumeSize: 3, VolumeType: 'gp3', DeleteOnTermination: true });
    const row = await s.app.db.selectFrom('images').select('source').where('id', '=', out.ImageId!).executeTakeFirstOrThrow();
    expect(JSON.parse(row.source)).toMatchObject({ rootSnapshotId: rootSnap, sshUser: 'ec2-user' });
    const [id] = await runningInstance(ec2, out.ImageId!);
    const vols = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id!] }] }));
    expect(vols.Volumes![0]).toMatchObject({ SnapshotId: rootSnap, Size: 3 });
  });

  test('errors', async () => {
    const rootSnap = image.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/xvda')!.Ebs!.SnapshotId!;
    const base = { Name: 'reg-err', RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: rootSnap } }] };
    const code = async (input: object, client = ec2) => (await errorOf(client.send(new RegisterImageCommand({ ...base, ...input })))).name;
    expect(await code({ ImageLocation: 'my-bucket/image.manifest.xml' })).toBe('UnsupportedOperation');
    expect(await code({ RootDeviceName: undefined })).toBe('MissingParameter');
    expect(await code({ Name: 'registered-1' })).toBe('InvalidAMIName.Duplicate');
    expect(await code({ Name: 'x' })).toBe('InvalidAMIName.Malformed');
    expect(await code({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }] })).toBe('InvalidSnapshot.NotFound');
    expect(await code({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-zz' } }] })).toBe('InvalidSnapshotID.Malformed');
    expect(await code({ BlockDeviceMappings: [{ DeviceName: '/dev/xvdb', Ebs: { SnapshotId: rootSnap } }] })).toBe('InvalidBlockDeviceMapping');
    expect(await code({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: rootSnap, VolumeSize: 0 } }] })).toBe('InvalidBlockDeviceMapping');
    expect(await code({ Architecture: 'sparc' })).toBe('InvalidParameterValue');
    expect(await code({ VirtualizationType: 'paravirtual' })).toBe('InvalidParameterValue');
    // Another account cannot use a snapshot that is not shared with it.
    expect(await code({}, other)).toBe('InvalidSnapshot.NotFound');
  });
});

describe('CopyImage', () => {
  test('to another region: pending there, its snapshots copied, then available', async () => {
    const out = await west.send(
      new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'web-copy', Description: 'copied', CopyImageTags: true, ClientToken: 'copy-1' }),
    );
    const again = await west.send(
      new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'web-copy', Description: 'copied', CopyImageTags: true, ClientToken: 'copy-1' }),
    );
    expect(again.ImageId).toBe(out.ImageId);
    await waitUntilImageAvailable({ client: west, ...wait }, { ImageIds: [out.ImageId!] });
    const img = await image1(west, out.ImageId!);
    expect(img).toMatchObject({ State: 'available', Name: 'web-copy', Description: 'copied', Tags: [{ Key: 'app', Value: 'web' }] });
    // The served model's Image has no SourceImageId/SourceImageRegion elements yet; the filters see them.
    const bySource = await west.send(
      new DescribeImagesCommand({
        Filters: [
          { Name: 'source-image-id', Values: [imageId] },
          { Name: 'source-image-region', Values: ['us-east-1'] },
        ],
      }),
    );
    expect(bySource.Images!.map((i) => i.ImageId)).toEqual([out.ImageId]);
    const snap = img.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/xvda')!.Ebs!.SnapshotId!;
    const rootSnap = image.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/xvda')!.Ebs!.SnapshotId!;
    expect(snap).not.toBe(rootSnap);
    const snaps = await west.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap] }));
    expect(snaps.Snapshots![0]).toMatchObject({ State: 'completed', VolumeId: 'vol-ffffffff' });
    // The image is in the destination region only.
    expect((await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [out.ImageId!] })))).name).toBe('InvalidAMIID.NotFound');
    // It launches there, from its own root snapshot.
    const [id] = await runningInstance(west, out.ImageId!);
    const vols = await west.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id!] }] }));
    expect(vols.Volumes![0]!.SnapshotId).toBe(snap);
    const row = await s.app.db.selectFrom('images').select('source').where('id', '=', out.ImageId!).executeTakeFirstOrThrow();
    expect(JSON.parse(row.source)).toMatchObject({ rootSnapshotId: snap, sshUser: 'ec2-user' });
  });

  test('a built-in image copies at once', async () => {
    const out = await west.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: MINIMAL, Name: 'my-minimal' }));
    const img = await image1(west, out.ImageId!);
    expect(img).toMatchObject({ State: 'available', OwnerId: s.admin.accountId, Public: false });
    const bySource = await west.send(new DescribeImagesCommand({ Filters: [{ Name: 'source-image-id', Values: [MINIMAL] }] }));
    expect(bySource.Images!.map((i) => i.ImageId)).toEqual([out.ImageId]);
    // It launches in its new region as the built-in does.
    const [id] = await runningInstance(west, out.ImageId!);
    expect(id).toMatch(/^i-/);
  });

  test('errors', async () => {
    const code = async (input: object) => (await errorOf(west.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'copy-err', ...input })))).name;
    expect(await code({ SourceRegion: 'mars-east-1' })).toBe('InvalidParameterValue');
    expect(await code({ SourceImageId: 'ami-0123456789abcdef0' })).toBe('InvalidAMIID.NotFound');
    expect(await code({ SourceImageId: 'ami-nope' })).toBe('InvalidAMIID.Malformed');
    expect(await code({ Name: 'web-copy' })).toBe('InvalidAMIName.Duplicate');
    expect(await code({ ClientToken: 'copy-1' })).toBe('IdempotentParameterMismatch');
    expect(await code({ KmsKeyId: 'alias/x' })).toBe('InvalidParameterDependency');
    // Another account cannot copy a private image it was not given.
    const theirs = (await errorOf(other.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'stolen' })))).name;
    expect(theirs).toBe('InvalidAMIID.NotFound');
  });
});

describe('launch permissions between accounts', () => {
  test('private until shared; shared by account, then public, then reset', async () => {
    expect((await errorOf(other.send(new DescribeImagesCommand({ ImageIds: [imageId] })))).name).toBe('InvalidAMIID.NotFound');
    expect((await errorOf(other.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' })))).name).toBe('InvalidAMIID.NotFound');

    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: otherId }] } }));
    const perms = await ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }));
    expect(perms.LaunchPermissions).toEqual([{ UserId: otherId }]);
    const seen = await other.send(new DescribeImagesCommand({ ExecutableUsers: ['self'] }));
    expect(seen.Images!.map((i) => i.ImageId)).toContain(imageId);
    const mine = await ec2.send(new DescribeImagesCommand({ ExecutableUsers: [otherId], Owners: ['self'] }));
    expect(mine.Images!.map((i) => i.ImageId)).toEqual([imageId]);
    const [id] = await runningInstance(other, imageId);
    expect(id).toMatch(/^i-/);
    // Only the owner reads or changes who may launch.
    expect((await errorOf(other.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' })))).name).toBe('AuthFailure');
    expect((await errorOf(other.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: 'all' }] } })))).name).toBe('AuthFailure');

    // The older form: Attribute + OperationType + UserIds.
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission', OperationType: 'remove', UserIds: [otherId] }));
    expect((await errorOf(other.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' })))).name).toBe('InvalidAMIID.NotFound');

    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: 'all' }] } }));
    expect((await image1(other, imageId)).Public).toBe(true);
    const pub = await ec2.send(new DescribeImagesCommand({ ExecutableUsers: ['all'], Owners: ['self'] }));
    expect(pub.Images!.map((i) => i.ImageId)).toEqual([imageId]);
    expect((await ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }))).LaunchPermissions).toEqual([{ Group: 'all' }]);

    await ec2.send(new ResetImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }));
    expect((await image1(ec2, imageId)).Public).toBe(false);
    expect((await errorOf(other.send(new DescribeImagesCommand({ ImageIds: [imageId] })))).name).toBe('InvalidAMIID.NotFound');
  });

  test('description', async () => {
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, Description: { Value: 'new words' } }));
    expect((await ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'description' }))).Description).toEqual({ Value: 'new words' });
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, Attribute: 'description', Value: 'my web server' }));
    expect((await image1(ec2, imageId)).Description).toBe('my web server');
  });

  test('errors', async () => {
    const code = async (input: object, client = ec2) => (await errorOf(client.send(new ModifyImageAttributeCommand({ ImageId: imageId, ...input })))).name;
    expect(await code({ LaunchPermission: { Add: [{ UserId: '12345' }] } })).toBe('InvalidAMIAttributeItemValue');
    expect(await code({ LaunchPermission: { Add: [{ Group: 'everyone' as 'all' }] } })).toBe('InvalidAMIAttributeItemValue');
    expect(await code({ Attribute: 'kernel', Value: 'aki-1' })).toBe('InvalidParameterValue');
    expect(await code({})).toBe('MissingParameter');
    expect(await code({ ImageId: MINIMAL, LaunchPermission: { Add: [{ UserId: otherId }] } })).toBe('AuthFailure');
    expect(await code({ ImageId: 'ami-0123456789abcdef0', Description: { Value: 'x' } })).toBe('InvalidAMIID.NotFound');
    expect((await errorOf(ec2.send(new ResetImageAttributeCommand({ ImageId: imageId, Attribute: 'description' as 'launchPermission' })))).name).toBe('InvalidParameterValue');
  });
});

describe('DeregisterImage', () => {
  test('the image goes, its snapshots stay, instances from it keep running', async () => {
    const out = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'to-deregister', NoReboot: true }));
    await waitUntilImageAvailable({ client: ec2, ...wait }, { ImageIds: [out.ImageId!] });
    const snap = (await image1(ec2, out.ImageId!)).BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
    const [id] = await runningInstance(ec2, out.ImageId!);
    await ec2.send(new DeregisterImageCommand({ ImageId: out.ImageId! }));
    expect((await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [out.ImageId!] })))).name).toBe('InvalidAMIID.NotFound');
    expect((await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap] }))).Snapshots![0]!.State).toBe('completed');
    expect((await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id!] }))).Reservations![0]!.Instances![0]!.State!.Name).toBe('running');
    expect((await errorOf(ec2.send(new RunInstancesCommand({ ImageId: out.ImageId!, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' })))).name).toBe('InvalidAMIID.NotFound');
    // Twice: it is gone.
    expect((await errorOf(ec2.send(new DeregisterImageCommand({ ImageId: out.ImageId! })))).name).toBe('InvalidAMIID.NotFound');
    // Its name is free again.
    const again = await ec2.send(
      new RegisterImageCommand({ Name: 'to-deregister', RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snap } }] }),
    );
    expect(again.ImageId).toMatch(/^ami-/);
  });

  test('errors: built-in and other accounts’ images, malformed ids', async () => {
    expect((await errorOf(ec2.send(new DeregisterImageCommand({ ImageId: MINIMAL })))).name).toBe('AuthFailure');
    expect((await errorOf(other.send(new DeregisterImageCommand({ ImageId: imageId })))).name).toBe('InvalidAMIID.NotFound');
    expect((await errorOf(ec2.send(new DeregisterImageCommand({ ImageId: 'ami-x' })))).name).toBe('InvalidAMIID.Malformed');
    expect((await image1(ec2, MINIMAL)).State).toBe('available');
  });
});

describe('image.create controller', () => {
  test('a failed snapshot fails the image, with a state reason', async () => {
    const [id] = await runningInstance(ec2, MINIMAL);
    const out = await ec2.send(new CreateImageCommand({ InstanceId: id!, Name: 'doomed' }));
    const img = await s.app.db.selectFrom('images').select('block_device_mappings').where('id', '=', out.ImageId!).executeTakeFirstOrThrow();
    const snap = JSON.parse(img.block_device_mappings)[0].Ebs.SnapshotId as string;
    await s.app.runner.idle();
    // Whatever the snapshot controller did, mark the snapshot failed and the image pending again, then reconcile.
    await s.app.db.updateTable('snapshots').set({ state: 'error', state_message: 'disk on fire' }).where('id', '=', snap).execute();
    await s.app.db.updateTable('images').set({ state: 'pending' }).where('id', '=', out.ImageId!).execute();
    const job = { resource_id: out.ImageId!, kind: 'image.create', data: {} } as Parameters<typeof reconcileImage>[0];
    expect(await reconcileImage(job, s.app.runner.deps)).toBeUndefined();
    const failed = await image1(ec2, out.ImageId!);
    expect(failed.State).toBe('failed');
    expect(failed.StateReason).toMatchObject({ Code: 'Client.SnapshotError' });
    expect(failed.StateReason!.Message).toContain('disk on fire');
  });

  test('pending snapshots: it looks again later; a deregistered image is left alone', async () => {
    const [id] = await runningInstance(ec2, MINIMAL);
    const out = await ec2.send(new CreateImageCommand({ InstanceId: id!, Name: 'waiting' }));
    await s.app.runner.idle();
    const img = await s.app.db.selectFrom('images').select('block_device_mappings').where('id', '=', out.ImageId!).executeTakeFirstOrThrow();
    const snap = JSON.parse(img.block_device_mappings)[0].Ebs.SnapshotId as string;
    await s.app.db.updateTable('snapshots').set({ state: 'pending' }).where('id', '=', snap).execute();
    await s.app.db.updateTable('images').set({ state: 'pending' }).where('id', '=', out.ImageId!).execute();
    const job = { resource_id: out.ImageId!, kind: 'image.create', data: {} } as Parameters<typeof reconcileImage>[0];
    const r = await reconcileImage(job, s.app.runner.deps);
    expect(r && 'retryAt' in r).toBe(true);
    await ec2.send(new DeregisterImageCommand({ ImageId: out.ImageId! }));
    expect(await reconcileImage(job, s.app.runner.deps)).toBeUndefined();
    const row = await s.app.db.selectFrom('images').select('state').where('id', '=', out.ImageId!).executeTakeFirstOrThrow();
    expect(row.state).toBe('deregistered');
    await s.app.db.updateTable('snapshots').set({ state: 'completed' }).where('id', '=', snap).execute();
  });
});
