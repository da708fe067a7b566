// System test (root): a server SIGKILLed while snapshots of a volume being written are pending.
// An instance keeps writing its attached volume; before each CreateSnapshot the test writes a
// numbered marker to the volume's first block, and the next marker right after the answer; a
// CreateImage of the running instance sits among them (its root gets a marker file, not synced:
// the host's freeze of the root flushes it). Right after the last answer the server is SIGKILLed,
// and the volume gets a marker no snapshot may hold. A new server on the same state folder must
// leave no snapshot or image pending for more than a minute, and every snapshot restored to a
// volume must hold the marker of its own request's moment (the image: both of its volumes).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachInternetGatewayCommand,
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateImageCommand,
  CreateInternetGatewayCommand,
  CreateKeyPairCommand,
  CreateRouteCommand,
  CreateSnapshotCommand,
  CreateSubnetCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DeleteVolumeCommand,
  DescribeImagesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DetachVolumeCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilVolumeAvailable,
  waitUntilVolumeInUse,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Credentials } from '../src/services/accounts.js';
import { needsInstances, killServers, spawnServer, clientFor, describe1, sleep, ssh, startRuncServer, until, waitState, type RuncServer } from './runc-harness.js';

process.env.CUMULO_INSTANCE_POLL_MS = '1000';
// Built images are shared by every state folder of the machine.
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

const DEVICE = '/dev/sdf';
const SNAPSHOTS = 4;
const fast = (client: EC2Client, maxWaitTime = 120) => ({ client, maxWaitTime, minDelay: 1, maxDelay: 2 });
/** The marker of step n: 8 bytes at the start of the volume. */
const mark = (n: number) => `M${String(n).padStart(7, '0')}`;
const AFTER_CRASH = mark(9999999);

needsInstances.describe('snapshots across a SIGKILLed server (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-snap-crash-'));
  let setup: RuncServer | undefined;
  let admin: Credentials;
  let key = '';
  let subnetId = '';
  let ami = '';
  let a: Instance | undefined;
  let vol = '';

  /** A command over SSH to the instance (by its public IP: it answers while no server runs). */
  const ok = async (i: Instance, cmd: string, timeoutMs = 60_000): Promise<string> => {
    const r = await ssh(i.PublicIpAddress!, 'ec2-user', key, cmd, timeoutMs);
    if (r.code !== 0) throw new Error(`${cmd} in ${i.InstanceId}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const writeMark = (marker: string) => ok(a!, `printf '%s' '${marker}' | sudo -n dd of=${DEVICE} bs=4096 count=1 conv=sync,notrunc,fsync oflag=direct 2>/dev/null`);
  const readMark = async (i: Instance, device: string) => (await ok(i, `sudo -n dd if=${device} bs=4096 count=1 2>/dev/null | head -c 8`)).trim();

  async function launch(ec2: EC2Client, imageId = ami): Promise<Instance> {
    const run = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, KeyName: 'crash', SubnetId: subnetId }));
    const id = run.Instances![0]!.InstanceId!;
    let i = await describe1(ec2, id);
    for (const end = Date.now() + 300_000; i.State?.Name !== 'running'; i = await describe1(ec2, id)) {
      if (i.State?.Name === 'terminated') throw new Error(`${id} did not launch: ${i.StateReason?.Message}`);
      if (Date.now() > end) throw new Error(`${id} not running after 300 s`);
      await sleep(200);
    }
    await until(`ssh to ${id}`, async () => (await ssh(i.PublicIpAddress!, 'ec2-user', key, 'true', 5_000)).code === 0, 60_000, 200);
    return i;
  }

  async function deviceIn(i: Instance, device: string): Promise<void> {
    await until(`${device} in ${i.InstanceId}`, async () => (await ssh(i.PublicIpAddress!, 'ec2-user', key, `test -b ${device}`, 10_000)).code === 0, 30_000, 200);
  }

  async function attach(ec2: EC2Client, volumeId: string, i: Instance, device: string): Promise<void> {
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: i.InstanceId!, Device: device }));
    await waitUntilVolumeInUse(fast(ec2), { VolumeIds: [volumeId] });
    await deviceIn(i, device);
  }

  beforeAll(async () => {
    // Set up in this process (keepHost: the instance keeps running when it stops).
    setup = await startRuncServer(home, { keepHost: true });
    const ec2 = setup.ec2;
    admin = setup.app.admin;
    key = (await ec2.send(new CreateKeyPairCommand({ KeyName: 'crash', KeyType: 'ed25519' }))).KeyMaterial!;
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.71.0.0/16' }))).Vpc!.VpcId!;
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
    subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.71.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
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
    ami = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }))).Images![0]!.ImageId!;
    a = await launch(ec2);
    vol = (await ec2.send(new CreateVolumeCommand({ Size: 1, VolumeType: 'gp3', AvailabilityZone: 'us-east-1a' }))).VolumeId!;
    await waitUntilVolumeAvailable(fast(ec2), { VolumeIds: [vol] });
    await attach(ec2, vol, a, DEVICE);
    // Data enough that storing a snapshot takes a while (the kill comes while they are pending).
    await ok(a, `sudo -n dd if=/dev/urandom of=${DEVICE} bs=1M count=128 seek=8 oflag=direct 2>/dev/null`, 300_000);
    // … and the volume is written all the time, past its first MiB (where the markers are): within
    // those 128 MiB (what a snapshot has to store stays the same however long the test runs), at
    // about 10 MiB/s (the snapshots' reads compete with it).
    await ok(
      a,
      `sudo -n sh -c 'i=0; while :; do i=$(( (i + 37) % 128 )); dd if=/dev/urandom of=${DEVICE} bs=1M count=1 seek=$(( i + 8 )) conv=notrunc oflag=direct 2>/dev/null; sleep 0.1 2>/dev/null || sleep 1; done' >/dev/null 2>&1 </dev/null &`,
    );
    await setup.stop();
    setup = undefined;
  }, 900_000);

  afterAll(async () => {
    await killServers();
    if (setup) await setup.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
    // Whatever happened above, a server on this home with cleanup removes every instance and host object.
    const cleaner = await startRuncServer(home);
    await cleaner.stop();
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 300_000);

  test('every snapshot pending at the kill ends within a minute of the restart, holding its own moment', async () => {
    if (!a) throw new Error('needs the instance and volume of the setup, which did not get there');
    const first = await spawnServer(home);
    const ec2 = clientFor(first.url, admin);
    const taken: { id: string; n: number }[] = [];
    const rootMarker = `root-${Date.now()}`;
    let image = '';
    let imageN = 0;
    for (let n = 1; n <= SNAPSHOTS; n++) {
      await writeMark(mark(n));
      if (n === 2) {
        // The image's moment: marker 2 on the data volume, and a file on the root not yet synced.
        await ok(a, `echo ${rootMarker} > /home/ec2-user/marker`);
        image = (await ec2.send(new CreateImageCommand({ InstanceId: a.InstanceId!, Name: `crash-${Date.now()}`, NoReboot: true }))).ImageId!;
        imageN = n;
      }
      const s = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol, Description: `crash ${n}` }));
      taken.push({ id: s.SnapshotId!, n });
    }
    const atKill = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: taken.map((t) => t.id) }));
    await first.kill('SIGKILL');
    // After the kill: data none of the snapshots may hold.
    await writeMark(AFTER_CRASH);
    const pendingAtKill = atKill.Snapshots!.filter((s) => s.State === 'pending').map((s) => s.SnapshotId);
    process.stderr.write(`pending when the server was killed: ${pendingAtKill.length} of ${taken.length}\n`);
    expect(pendingAtKill.length).toBeGreaterThan(0); // else this run did not test a crash

    const second = await spawnServer(home);
    const ec2b = clientFor(second.url, admin);
    // No snapshot (nor the image) stays pending for more than a minute after the restart.
    let seen = '';
    const restarted = Date.now();
    const final = await until(
      'no pending snapshot',
      async () => {
        const d = await ec2b.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
        const img = (await ec2b.send(new DescribeImagesCommand({ ImageIds: [image] }))).Images![0]!;
        seen = `${d.Snapshots!.map((s) => `${s.SnapshotId} ${s.State} ${s.Progress}`).join(', ')}; image ${img.State}`;
        return d.Snapshots!.every((s) => s.State !== 'pending') && img.State !== 'pending' ? { snapshots: d.Snapshots!, image: img } : undefined;
      },
      60_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${seen}\n--- server output ---\n${second.output().slice(-6000)}`);
    });
    process.stderr.write(`no snapshot pending ${((Date.now() - restarted) / 1000).toFixed(1)} s after the restart\n`);
    const byId = new Map(final.snapshots.map((s) => [s.SnapshotId!, s]));
    for (const t of taken) expect(byId.get(t.id), `${t.id}: ${byId.get(t.id)?.StateMessage ?? ''}`).toMatchObject({ State: 'completed' });
    expect(final.image.State).toBe('available');
    // No capture is left on the host once its snapshot is stored.
    expect(readdirSync(join(home, 'volumes', 'captures'))).toEqual([]);

    // Each snapshot, restored: the marker written just before its request, not one from after.
    for (const t of taken) {
      const v = (await ec2b.send(new CreateVolumeCommand({ SnapshotId: t.id, AvailabilityZone: 'us-east-1a' }))).VolumeId!;
      await waitUntilVolumeAvailable(fast(ec2b), { VolumeIds: [v] });
      await attach(ec2b, v, a, '/dev/sdg');
      expect(await readMark(a, '/dev/sdg'), `${t.id} (request ${t.n})`).toBe(mark(t.n));
      await ec2b.send(new DetachVolumeCommand({ VolumeId: v }));
      await waitUntilVolumeAvailable(fast(ec2b), { VolumeIds: [v] });
      await ec2b.send(new DeleteVolumeCommand({ VolumeId: v }));
    }
    // The image: its root has the file written before CreateImage, its data volume marker 2.
    const b = await launch(ec2b, image);
    expect((await ok(b, 'cat /home/ec2-user/marker')).trim()).toBe(rootMarker);
    await deviceIn(b, DEVICE);
    expect(await readMark(b, DEVICE)).toBe(mark(imageN));
    // The volume itself went on: it holds the marker written after the kill.
    expect(await readMark(a, DEVICE)).toBe(AFTER_CRASH);
    await ec2b.send(new TerminateInstancesCommand({ InstanceIds: [a.InstanceId!, b.InstanceId!] }));
    await waitState(ec2b, a.InstanceId!, 'terminated', 120_000);
    await waitState(ec2b, b.InstanceId!, 'terminated', 120_000);
    await second.kill('SIGTERM');
  }, 900_000);
});
