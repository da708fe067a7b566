// System test (root): EBS data integrity with real instances, through the SDK. 64 MiB of random data
// written inside an instance to a raw attached volume (instances have no CAP_SYS_ADMIN: no mount,
// raw block I/O only), checksummed, then carried through every path a volume's bytes take: a
// snapshot, a change of 1%, a restore into a new volume on another instance, an incremental second
// snapshot (measured from the store's own accounting), a copy to another region and a volume there,
// stop/start with the volume attached, a live grow, detach and attach again, and an AMI made from
// the instance. The checksum must match at every step.
//
// The steps share one server and build on each other (a later step needs the volumes and snapshots
// of the earlier ones); each says which earlier step it needs when that one did not get there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachInternetGatewayCommand,
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CopySnapshotCommand,
  CreateImageCommand,
  CreateInternetGatewayCommand,
  CreateKeyPairCommand,
  CreateRouteCommand,
  CreateSnapshotCommand,
  CreateSubnetCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  DetachVolumeCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  ModifyVolumeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  waitUntilImageAvailable,
  waitUntilSnapshotCompleted,
  waitUntilVolumeAvailable,
  waitUntilVolumeInUse,
  type BlockDeviceMapping,
  type Instance,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { needsInstances, describe1, sleep, ssh, startRuncServer, until, waitState, type RuncServer } from './runc-harness.js';

process.env.CUMULO_INSTANCE_POLL_MS = '1000';
// Built images are shared by every state folder of the machine.
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const CHUNK = 512 * 1024; // the block store's chunk (src/host/storage/blocks/types.ts)
const DATA = 64 * MiB; // what the suite writes and checksums
const CHANGED = 10 * MiB; // ~1% of the 1 GiB volume, 1 MiB-aligned, inside the checksummed 64 MiB
const DEVICE = '/dev/sdf';
const WEST = 'us-west-2';
// The SDK's waiters poll every 15 s by default: these answer in well under a second.
const fast = (client: EC2Client, maxWaitTime = 300) => ({ client, maxWaitTime, minDelay: 1, maxDelay: 2 });

needsInstances.describe('EBS data integrity with real instances (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-ebs-integrity-'));
  let server: RuncServer | undefined;
  let east: EC2Client;
  let west: EC2Client;
  const region: Record<string, { ec2: EC2Client; key: string; subnetId: string; ami: string; zone: string }> = {};

  // What the steps hand on.
  let a: Instance | undefined; // instance A (us-east-1a)
  let b: Instance | undefined; // instance B (us-east-1a)
  let volA = '';
  let sum1 = ''; // the 64 MiB as first written
  let sum2 = ''; // after the 1% change
  let snap1 = '';
  let snap2 = '';

  const need = (what: string, v: unknown) => {
    if (!v) throw new Error(`needs ${what} from an earlier step, which did not get there`);
  };

  /** A public subnet in the region's first zone, SSH open on the default group, a key pair, the minimal image. */
  async function setUpRegion(name: string, ec2: EC2Client, net: string): Promise<void> {
    const zone = `${name}a`;
    const key = (await ec2.send(new CreateKeyPairCommand({ KeyName: 'ebs-test', KeyType: 'ed25519' }))).KeyMaterial!;
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: `${net}.0.0/16` }))).Vpc!.VpcId!;
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
    const main = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'association.main', Values: ['true'] },
        ],
      }),
    );
    await ec2.send(new CreateRouteCommand({ RouteTableId: main.RouteTables![0]!.RouteTableId!, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `${net}.1.0/24`, AvailabilityZone: zone }))).Subnet!.SubnetId!;
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'group-name', Values: ['default'] },
        ],
      }),
    );
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groups.SecurityGroups![0]!.GroupId!,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
    region[name] = { ec2, key, subnetId, ami: images.Images![0]!.ImageId!, zone };
  }

  /** A running t3.nano in the region's subnet, answering SSH. */
  async function launch(name: string, imageId?: string, mappings?: BlockDeviceMapping[]): Promise<Instance> {
    const r = region[name]!;
    const run = await r.ec2.send(
      new RunInstancesCommand({
        ImageId: imageId ?? r.ami,
        InstanceType: 't3.nano',
        MinCount: 1,
        MaxCount: 1,
        KeyName: 'ebs-test',
        SubnetId: r.subnetId,
        BlockDeviceMappings: mappings,
      }),
    );
    // The first launch may build the image; a failed launch ends the wait at once, with its reason.
    const id = run.Instances![0]!.InstanceId!;
    let i = await describe1(r.ec2, id);
    for (const end = Date.now() + 300_000; i.State?.Name !== 'running'; i = await describe1(r.ec2, id)) {
      if (i.State?.Name === 'terminated') throw new Error(`${id} did not launch: ${i.StateReason?.Message ?? i.StateTransitionReason}`);
      if (Date.now() > end) throw new Error(`${id} not running after 300 s: ${i.State?.Name}`);
      await sleep(100);
    }
    await until(`ssh to ${i.InstanceId}`, async () => (await ssh(i.PublicIpAddress!, 'ec2-user', r.key, 'true', 5_000)).code === 0, 60_000, 200);
    return i;
  }

  /** Run a shell line inside the instance (its public IP as described now: it changes on stop/start). */
  async function sh(name: string, instanceId: string, cmd: string, timeoutMs = 60_000) {
    const ip = (await describe1(region[name]!.ec2, instanceId)).PublicIpAddress!;
    return ssh(ip, 'ec2-user', region[name]!.key, cmd, timeoutMs);
  }

  async function ok(name: string, instanceId: string, cmd: string, timeoutMs = 60_000): Promise<string> {
    const r = await sh(name, instanceId, cmd, timeoutMs);
    if (r.code !== 0) throw new Error(`${cmd} in ${instanceId}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** sha256 of the first 64 MiB of the device, read inside the instance. */
  async function checksum(name: string, instanceId: string, device = DEVICE): Promise<string> {
    const out = await ok(name, instanceId, `sudo -n head -c ${DATA} ${device} | sha256sum`);
    const sum = /^[0-9a-f]{64}/.exec(out.trim())?.[0];
    if (!sum) throw new Error(`no checksum from ${instanceId}: ${out}`);
    return sum;
  }

  /** The device shows up inside the instance (the issue: within a second of the attachment). */
  async function deviceAppears(name: string, instanceId: string, device = DEVICE, ms = 15_000): Promise<void> {
    await until(`${device} in ${instanceId}`, async () => (await sh(name, instanceId, `test -b ${device}`, 10_000)).code === 0, ms, 200);
  }

  async function attach(name: string, volumeId: string, instanceId: string): Promise<void> {
    const ec2 = region[name]!.ec2;
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: DEVICE }));
    await waitUntilVolumeInUse(fast(ec2, 60), { VolumeIds: [volumeId] });
    await deviceAppears(name, instanceId);
  }

  async function snapshot(volumeId: string, description: string): Promise<Snapshot> {
    const s = await east.send(new CreateSnapshotCommand({ VolumeId: volumeId, Description: description }));
    expect(s.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    expect(['pending', 'completed']).toContain(s.State);
    const done = await waitUntilSnapshotCompleted(fast(east), { SnapshotIds: [s.SnapshotId!] });
    return done.reason!.Snapshots![0]!;
  }

  /** The host's accounting of a snapshot (the snapshots table: what the block store reported). */
  async function accounting(snapshotId: string) {
    return server!.app.db.selectFrom('snapshots').select(['data_bytes', 'added_bytes', 'parent_snapshot_id', 'state']).where('id', '=', snapshotId).executeTakeFirstOrThrow();
  }

  beforeAll(async () => {
    server = await startRuncServer(home);
    east = server.ec2;
    west = new EC2Client({
      endpoint: server.app.url,
      region: WEST,
      credentials: { accessKeyId: server.app.admin.accessKeyId, secretAccessKey: server.app.admin.secretAccessKey },
      maxAttempts: 1,
    });
    await setUpRegion('us-east-1', east, '10.61');
    await setUpRegion(WEST, west, '10.62');
    [a, b] = await Promise.all([launch('us-east-1'), launch('us-east-1')]);
  }, 600_000);

  afterAll(async () => {
    // Whatever happened above, a server on this home with cleanup removes every instance and host object.
    if (server) await server.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
    const cleaner = await startRuncServer(home);
    await cleaner.stop();
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 300_000);

  test('a 1 GiB gp3 volume attached at /dev/sdf takes 64 MiB of random data written inside the instance', async () => {
    need('instance A', a);
    const v = await east.send(new CreateVolumeCommand({ Size: 1, VolumeType: 'gp3', AvailabilityZone: 'us-east-1a' }));
    volA = v.VolumeId!;
    expect(volA).toMatch(/^vol-[0-9a-f]{17}$/);
    await waitUntilVolumeAvailable(fast(east, 60), { VolumeIds: [volA] });
    await attach('us-east-1', volA, a!.InstanceId!);
    expect((await ok('us-east-1', a!.InstanceId!, `sudo -n blockdev --getsize64 ${DEVICE}`)).trim()).toBe(String(GiB));
    // A new volume reads as zeros.
    const zeros = await checksum('us-east-1', a!.InstanceId!, '/dev/zero');
    expect(await checksum('us-east-1', a!.InstanceId!)).toBe(zeros);
    await ok('us-east-1', a!.InstanceId!, `sudo -n dd if=/dev/urandom of=${DEVICE} bs=1M count=64 oflag=direct`, 120_000);
    sum1 = await checksum('us-east-1', a!.InstanceId!);
    expect(sum1).not.toBe(zeros);
  }, 300_000);

  test('a snapshot completes; the block store holds only the written data', async () => {
    need('the written volume', sum1);
    const s = await snapshot(volA, 'integrity: first');
    snap1 = s.SnapshotId!;
    expect(s).toMatchObject({ State: 'completed', VolumeId: volA, VolumeSize: 1, Progress: '100%' });
    const acc = await accounting(snap1);
    process.stderr.write(`first snapshot: data ${acc.data_bytes} bytes, added ${acc.added_bytes} bytes, FullSnapshotSizeInBytes ${s.FullSnapshotSizeInBytes}\n`);
    // 64 MiB of unique random chunks; the zeros of the rest are one chunk at most.
    expect(acc.added_bytes).toBeGreaterThanOrEqual(DATA);
    expect(acc.added_bytes).toBeLessThanOrEqual(DATA + 2 * CHUNK);
  }, 300_000);

  test('a change of 1% inside the volume changes its checksum', async () => {
    need('the first snapshot', snap1);
    await ok('us-east-1', a!.InstanceId!, `sudo -n dd if=/dev/urandom of=${DEVICE} bs=1M count=${CHANGED / MiB} seek=16 conv=notrunc oflag=direct`, 120_000);
    sum2 = await checksum('us-east-1', a!.InstanceId!);
    expect(sum2).not.toBe(sum1);
  }, 300_000);

  test('the first snapshot restored to a new volume on instance B reads as first written', async () => {
    need('instance B and the first snapshot', b && snap1 && sum2);
    const v = await east.send(new CreateVolumeCommand({ SnapshotId: snap1, AvailabilityZone: 'us-east-1a', VolumeType: 'gp3' }));
    expect(v).toMatchObject({ SnapshotId: snap1, Size: 1 });
    await waitUntilVolumeAvailable(fast(east, 60), { VolumeIds: [v.VolumeId!] });
    await attach('us-east-1', v.VolumeId!, b!.InstanceId!);
    expect(await checksum('us-east-1', b!.InstanceId!)).toBe(sum1);
  }, 300_000);

  test("a second snapshot after the 1% change adds about 1% (the store's own accounting)", async () => {
    need('the changed volume', sum2);
    const s = await snapshot(volA, 'integrity: second');
    snap2 = s.SnapshotId!;
    const acc = await accounting(snap2);
    process.stderr.write(
      `second snapshot: data ${acc.data_bytes} bytes, added ${acc.added_bytes} bytes (changed ${CHANGED}), parent ${acc.parent_snapshot_id}, FullSnapshotSizeInBytes ${s.FullSnapshotSizeInBytes}\n`,
    );
    expect(acc.parent_snapshot_id).toBe(snap1);
    expect(acc.added_bytes).toBeGreaterThanOrEqual(CHANGED * 0.9);
    expect(acc.added_bytes).toBeLessThanOrEqual(CHANGED * 1.2);
    // The snapshot still describes the whole volume's data, not the increment.
    expect(acc.data_bytes).toBeGreaterThanOrEqual(DATA);
  }, 300_000);

  test('CopySnapshot to us-west-2; a volume there from the copy reads as the source', async () => {
    need('the second snapshot', snap2);
    const c = await west.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: snap2, Description: 'integrity: copy' }));
    expect(c.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    expect(c.SnapshotId).not.toBe(snap2);
    const done = await waitUntilSnapshotCompleted(fast(west), { SnapshotIds: [c.SnapshotId!] });
    expect(done.reason!.Snapshots![0]).toMatchObject({ State: 'completed', VolumeSize: 1 });
    // The copy is not visible in the source region, nor the source in the target.
    const inEast = await east.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    expect(inEast.Snapshots!.map((s) => s.SnapshotId)).not.toContain(c.SnapshotId);
    const w = await launch(WEST);
    const v = await west.send(new CreateVolumeCommand({ SnapshotId: c.SnapshotId!, AvailabilityZone: `${WEST}a` }));
    await waitUntilVolumeAvailable(fast(west, 60), { VolumeIds: [v.VolumeId!] });
    await attach(WEST, v.VolumeId!, w.InstanceId!);
    expect(await checksum(WEST, w.InstanceId!)).toBe(sum2);
  }, 600_000);

  test('stop and start A: the still-attached volume reads the same', async () => {
    need('the changed volume', sum2);
    await east.send(new StopInstancesCommand({ InstanceIds: [a!.InstanceId!] }));
    await waitState(east, a!.InstanceId!, 'stopped', 120_000);
    const vols = await east.send(new DescribeVolumesCommand({ VolumeIds: [volA] }));
    expect(vols.Volumes![0]!.Attachments).toMatchObject([{ InstanceId: a!.InstanceId, Device: DEVICE, State: 'attached' }]);
    await east.send(new StartInstancesCommand({ InstanceIds: [a!.InstanceId!] }));
    const i = await waitState(east, a!.InstanceId!, 'running', 120_000);
    await until('ssh after start', async () => (await ssh(i.PublicIpAddress!, 'ec2-user', region['us-east-1']!.key, 'true', 5_000)).code === 0, 60_000, 200);
    await deviceAppears('us-east-1', a!.InstanceId!);
    expect(await checksum('us-east-1', a!.InstanceId!)).toBe(sum2);
  }, 300_000);

  test('ModifyVolume grows the volume to 2 GiB while attached: the instance sees the new size, the data stays', async () => {
    need('the changed volume', sum2);
    const m = await east.send(new ModifyVolumeCommand({ VolumeId: volA, Size: 2 }));
    expect(m.VolumeModification).toMatchObject({ VolumeId: volA, OriginalSize: 1, TargetSize: 2 });
    await until(
      '2 GiB inside A',
      async () => (await sh('us-east-1', a!.InstanceId!, `sudo -n blockdev --getsize64 ${DEVICE}`, 10_000)).stdout.trim() === String(2 * GiB),
      60_000,
      250,
    );
    const d = await east.send(new DescribeVolumesCommand({ VolumeIds: [volA] }));
    expect(d.Volumes![0]).toMatchObject({ Size: 2, State: 'in-use' });
    const mods = await east.send(new DescribeVolumesModificationsCommand({ VolumeIds: [volA] }));
    expect(mods.VolumesModifications![0]).toMatchObject({ VolumeId: volA, TargetSize: 2 });
    expect(await checksum('us-east-1', a!.InstanceId!)).toBe(sum2);
    // The new space is there and writable (past the old end).
    await ok('us-east-1', a!.InstanceId!, `sudo -n dd if=/dev/urandom of=${DEVICE} bs=1M count=1 seek=1500 conv=notrunc oflag=direct`);
  }, 300_000);

  test('detach and attach again: the device leaves and comes back with the same data', async () => {
    need('the changed volume', sum2);
    await east.send(new DetachVolumeCommand({ VolumeId: volA }));
    await waitUntilVolumeAvailable(fast(east, 60), { VolumeIds: [volA] });
    await until(`${DEVICE} gone from A`, async () => (await sh('us-east-1', a!.InstanceId!, `test -b ${DEVICE}`, 10_000)).code === 1, 15_000, 200);
    await attach('us-east-1', volA, a!.InstanceId!);
    expect(await checksum('us-east-1', a!.InstanceId!)).toBe(sum2);
    expect((await ok('us-east-1', a!.InstanceId!, `sudo -n blockdev --getsize64 ${DEVICE}`)).trim()).toBe(String(2 * GiB));
  }, 300_000);

  let image = '';
  let marker = '';
  test('CreateImage from A: the root and the data volume become snapshots of the image', async () => {
    need('instance A and the changed volume', a && sum2);
    marker = `ebs-${Date.now()}`;
    await ok('us-east-1', a!.InstanceId!, `echo ${marker} > /home/ec2-user/marker && sync`);
    const img = await east.send(new CreateImageCommand({ InstanceId: a!.InstanceId!, Name: `integrity-${Date.now()}` }));
    expect(img.ImageId).toMatch(/^ami-[0-9a-f]{17}$/);
    await waitUntilImageAvailable(fast(east, 600), { ImageIds: [img.ImageId!] });
    image = img.ImageId!;
    const d = await east.send(new DescribeImagesCommand({ ImageIds: [image] }));
    const maps = d.Images![0]!.BlockDeviceMappings ?? [];
    expect(maps.find((m) => m.DeviceName === DEVICE)?.Ebs).toMatchObject({ VolumeSize: 2, SnapshotId: expect.stringMatching(/^snap-/) });
    expect(maps.find((m) => m.DeviceName === d.Images![0]!.RootDeviceName)?.Ebs?.SnapshotId).toMatch(/^snap-/);
    // A comes back (CreateImage without NoReboot reboots it).
    await waitState(east, a!.InstanceId!, 'running', 120_000);
  }, 900_000);

  test("an instance launched from the image (its data volume left out) has the file written to A's root", async () => {
    need('the image', image);
    const n = await launch('us-east-1', image, [{ DeviceName: DEVICE, NoDevice: '' }]);
    expect((await ok('us-east-1', n.InstanceId!, 'cat /home/ec2-user/marker')).trim()).toBe(marker);
  }, 600_000);

  test('an instance launched from the image with its data volume reads the data at /dev/sdf', async () => {
    need('the image', image);
    const n = await launch('us-east-1', image);
    expect((await ok('us-east-1', n.InstanceId!, 'cat /home/ec2-user/marker')).trim()).toBe(marker);
    await deviceAppears('us-east-1', n.InstanceId!);
    expect(await checksum('us-east-1', n.InstanceId!)).toBe(sum2);
  }, 600_000);
});
