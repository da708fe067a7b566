// `npm run bench:ebs` (root): EBS through the EC2 API against a real server with the runc driver.
// Prints tables; never fails on a number; cleans up (instances, volumes, host objects, temp files).
//
//   (a) a volume from a 1 GiB snapshot of random data: CreateVolume → DescribeVolumes says
//       `available`, and the host part alone (the driver's createVolume from the snapshot).
//       Target: under 200 ms. And an empty volume attached to the running instance, live:
//       AttachVolume → the device there inside, and DetachVolume → available. Target: under 1 s.
//   (b) a snapshot of that 1 GiB volume after changing 1% of it inside the instance (10 MiB of
//       1 MiB direct writes): CreateSnapshot → `completed`, and the bytes the snapshot added (the
//       store's own accounting, snapshots.added_bytes) against the bytes changed. Targets: under
//       1 s and under 1.2× the changed bytes.
//   (c) throughput on an unthrottled volume (io2, 128 GiB sparse, 64,000 IOPS: io2 allows 500
//       IOPS per GiB, so a small io2 volume cannot be given many IOPS), against the host's own disk
//       (a file under /var/tmp) and the XFS volume store (a file in it), measured in the same run:
//         sequential   1 MiB direct dd, 1 GiB written then read: inside the instance over SSH with
//                      its busybox dd (timed from the host less an empty SSH round trip), and the
//                      same busybox dd on the host's files
//         random 4 KiB direct reads and writes at random offsets for a few seconds, by a small
//                      Python program on the HOST against the block device that backs the
//                      instance's /dev/sdf (found by its major:minor as the instance sees it), and
//                      against the host's files. Why the host: the minimal image has busybox and
//                      no fio, and a dd per 4 KiB I/O measures process start-up (half a
//                      millisecond here), not the volume. The device is the very one the instance
//                      reads; the instance's own block I/O limits (its cgroup) are not in that
//                      path, which is what "unthrottled" asks anyway. The in-instance dd loop is
//                      printed too, for what it is.
//
// The server runs in this process (startApp, like the system tests): the measures need its store
// (added bytes) and its driver (the host part alone).
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  AttachInternetGatewayCommand,
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateKeyPairCommand,
  CreateRouteCommand,
  CreateSnapshotCommand,
  CreateSubnetCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DeleteVolumeCommand,
  DetachVolumeCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  type VolumeType,
} from '@aws-sdk/client-ec2';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { hostTag } from '../src/host/tag.js';
import { describe1, hostRun, imageAvailable, publicPoolFor, ssh, until, waitState } from '../test/runc-harness.js';

process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';
process.env.CUMULO_INSTANCE_POLL_MS ??= '2000';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const CHANGED = 10 * MiB; // ~1% of 1 GiB
const RUNS = Number(process.env.BENCH_EBS_RUNS ?? 5);
const RANDOM_SECONDS = Number(process.env.BENCH_EBS_RANDOM_SECONDS ?? 3);
const DEVICE = '/dev/sdf';

const ms = (t: number) => `${t.toFixed(1)} ms`;
const mib = (b: number) => `${(b / MiB).toFixed(2)} MiB`;
const p50 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
const min = (xs: number[]) => Math.min(...xs);

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
}

const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED');

// A small O_DIRECT random I/O loop (4 KiB, page-aligned buffer from mmap), for `seconds`; prints "ops bytes seconds".
const RANDOM_IO_PY = `
import mmap, os, random, sys, time
path, mode, seconds, span = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
fd = os.open(path, (os.O_RDWR if mode == 'write' else os.O_RDONLY) | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
buf.write(os.urandom(4096))
blocks = span // 4096
ops = 0
t0 = time.perf_counter(); end = t0 + seconds
while True:
    for _ in range(64):
        off = random.randrange(blocks) * 4096
        if mode == 'write': os.pwritev(fd, [buf], off)
        else: os.preadv(fd, [buf], off)
    ops += 64
    if time.perf_counter() >= end: break
el = time.perf_counter() - t0
os.close(fd)
print(ops, ops * 4096, el)
`;

interface Rate {
  mibps?: number;
  iops?: number;
  note?: string;
}

function randomIo(path: string, mode: 'read' | 'write', span: number): Rate {
  try {
    const out = execFileSync('python3', ['-c', RANDOM_IO_PY, path, mode, String(RANDOM_SECONDS), String(span)], { encoding: 'utf8', timeout: (RANDOM_SECONDS + 30) * 1000 });
    const [ops, bytes, secs] = out.trim().split(/\s+/).map(Number);
    return { iops: ops! / secs!, mibps: bytes! / secs! / MiB };
  } catch (e) {
    return { note: `failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** The instance's dd (busybox) on the host, timed here. */
async function hostDd(args: string[], bytes: number): Promise<Rate> {
  const t0 = performance.now();
  const r = await hostRun(['busybox', 'dd', ...args], 300_000);
  const secs = (performance.now() - t0) / 1000;
  return r.code === 0 ? { mibps: bytes / secs / MiB } : { note: `dd failed: ${r.stderr.trim().split('\n').pop()}` };
}

const fmtRate = (r: Rate) => r.note ?? `${r.mibps!.toFixed(0)} MiB/s${r.iops !== undefined ? `, ${r.iops.toFixed(0)} IOPS` : ''}`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('bench:ebs needs root (real instances with the runc driver)');
    return;
  }
  const home = mkdtempSync(join(tmpdir(), 'cumulo-bench-ebs-'));
  const hostDir = mkdtempSync('/var/tmp/cumulo-bench-ebs-disk-');
  let app: App | undefined;
  try {
    const config = loadConfig({ CUMULO_HOME: home, CUMULO_PORT: '0', CUMULO_DRIVER: 'runc', CUMULO_PUBLIC_IPV4_POOL: publicPoolFor(parseInt(hostTag(home), 16) % 100) });
    const logs: string[] = [];
    app = await startApp(config, { log: (l) => logs.push(l), cleanupHost: true });
    const ec2 = new EC2Client({
      endpoint: app.url,
      region: 'us-east-1',
      credentials: { accessKeyId: app.admin.accessKeyId, secretAccessKey: app.admin.secretAccessKey },
      maxAttempts: 1,
    });
    const db = app.db;

    // A public subnet with SSH open, a key pair, one t3.nano.
    const key = (await ec2.send(new CreateKeyPairCommand({ KeyName: 'bench-ebs', KeyType: 'ed25519' }))).KeyMaterial!;
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
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.71.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
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
    const ami = await imageAvailable(ec2, 'cumulo-minimal-x86_64-*');
    const run = await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, KeyName: 'bench-ebs', SubnetId: subnetId }));
    const instanceId = run.Instances![0]!.InstanceId!;
    await waitState(ec2, instanceId, 'running', 300_000);
    const sh = async (cmd: string, timeoutMs = 300_000) => ssh((await describe1(ec2, instanceId)).PublicIpAddress!, 'ec2-user', key, cmd, timeoutMs);
    await until('ssh', async () => (await sh('true', 5_000)).code === 0, 60_000, 200);
    console.error(`instance ${instanceId} up`);

    const waitVolume = (id: string, state: string, every = 5) =>
      until(`${id} ${state}`, async () => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes![0]!.State === state, 120_000, every);
    const newVolume = async (type: VolumeType, size: number, extra: { Iops?: number; SnapshotId?: string } = {}) => {
      const v = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', VolumeType: type, Size: size, ...extra }));
      await waitVolume(v.VolumeId!, 'available');
      return v.VolumeId!;
    };
    const attach = async (volumeId: string) => {
      await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: DEVICE }));
      await waitVolume(volumeId, 'in-use', 20);
      await until(`${DEVICE} inside`, async () => (await sh(`test -b ${DEVICE}`, 10_000)).code === 0, 30_000, 100);
    };
    const detach = async (volumeId: string) => {
      await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }));
      await waitVolume(volumeId, 'available', 20);
    };
    const snapshot = async (volumeId: string) => {
      const t0 = performance.now();
      const s = await ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId }));
      await until(
        `${s.SnapshotId} completed`,
        async () => {
          const d = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [s.SnapshotId!] }));
          if (d.Snapshots![0]!.State === 'error') throw new Error(`snapshot failed: ${d.Snapshots![0]!.StateMessage}`);
          return d.Snapshots![0]!.State === 'completed';
        },
        300_000,
        5,
      );
      const t = performance.now() - t0;
      const acc = await db.selectFrom('snapshots').select(['data_bytes', 'added_bytes']).where('id', '=', s.SnapshotId!).executeTakeFirstOrThrow();
      return { id: s.SnapshotId!, ms: t, added: Number(acc.added_bytes), data: Number(acc.data_bytes) };
    };

    // ---------------------------------------------------------------------------------------
    // (a) and (b): a 1 GiB volume of random data, its snapshot, volumes from it, 1% changed, a second snapshot.
    const vol = await newVolume('gp3', 1);
    await attach(vol);
    const fill = await sh(`sudo -n dd if=/dev/urandom of=${DEVICE} bs=1M count=1024 oflag=direct`, 600_000);
    if (fill.code !== 0) throw new Error(`filling the volume: ${fill.stderr}`);
    console.error(`filled ${vol}`);
    const first = await snapshot(vol);
    console.error(`first snapshot ${first.id}: ${ms(first.ms)}, added ${mib(first.added)}`);

    const apiTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const v = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', VolumeType: 'gp3', SnapshotId: first.id }));
      await waitVolume(v.VolumeId!, 'available', 2);
      apiTimes.push(performance.now() - t0);
    }
    const hostTimes: number[] = [];
    let hostNote = '';
    const storage = app.host.storage;
    if (app.host.snapshots) {
      for (let i = 0; i < RUNS; i++) {
        const volumeId = `vol-${randomBytes(9).toString('hex').slice(0, 17)}`;
        const t0 = performance.now();
        await storage.createVolume({ volumeId, accountId: app.admin.accountId, region: 'us-east-1', sizeGiB: 1, snapshotId: first.id, encrypted: false });
        hostTimes.push(performance.now() - t0);
        await storage.deleteVolume(volumeId);
      }
    } else hostNote = 'the host storage keeps no volume data';

    const changed = await sh(`sudo -n dd if=/dev/urandom of=${DEVICE} bs=1M count=${CHANGED / MiB} seek=300 conv=notrunc oflag=direct`);
    if (changed.code !== 0) throw new Error(`changing 1%: ${changed.stderr}`);
    const second = await snapshot(vol);
    await detach(vol);

    table(
      '(a) a volume from a 1 GiB snapshot (random data)',
      ['measure', 'p50', 'min', 'target', 'verdict'],
      [
        ['CreateVolume → available (API, polled every 2 ms)', ms(p50(apiTimes)), ms(min(apiTimes)), '< 200 ms', verdict(p50(apiTimes) < 200)],
        [
          'host part alone (driver.createVolume)',
          hostTimes.length ? ms(p50(hostTimes)) : hostNote,
          hostTimes.length ? ms(min(hostTimes)) : '',
          '< 200 ms',
          verdict(hostTimes.length ? p50(hostTimes) < 200 : undefined),
        ],
      ],
    );
    // (a) continued: attaching live (moved from driver.system.test.ts).
    const empty = await newVolume('gp3', 1);
    const attachTimes: number[] = [];
    const detachTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      await attach(empty);
      attachTimes.push(performance.now() - t0);
      t0 = performance.now();
      await detach(empty);
      detachTimes.push(performance.now() - t0);
    }
    await ec2.send(new DeleteVolumeCommand({ VolumeId: empty }));
    table(
      '(a) attaching an empty 1 GiB volume to the running instance, live',
      ['measure', 'p50', 'min', 'target', 'verdict'],
      [
        [`AttachVolume → ${DEVICE} there inside (ssh test -b, polled every 100 ms)`, ms(p50(attachTimes)), ms(min(attachTimes)), '< 1 s', verdict(p50(attachTimes) < 1000)],
        ['DetachVolume → available', ms(p50(detachTimes)), ms(min(detachTimes)), '', ''],
      ],
    );
    table(
      '(b) snapshots of the 1 GiB volume',
      ['snapshot', 'CreateSnapshot → completed', 'bytes added', 'changed bytes', 'added / changed', 'targets', 'verdict'],
      [
        ['first (1 GiB random)', ms(first.ms), mib(first.added), mib(GiB), (first.added / GiB).toFixed(3), '', ''],
        [
          'second (1% changed)',
          ms(second.ms),
          mib(second.added),
          mib(CHANGED),
          (second.added / CHANGED).toFixed(3),
          '< 1 s, < 1.2×',
          `${verdict(second.ms < 1000)} / ${verdict(second.added < 1.2 * CHANGED)}`,
        ],
      ],
    );

    // ---------------------------------------------------------------------------------------
    // (c) throughput: an io2 volume with as many IOPS as EC2 allows, against the host's disk and the XFS store.
    let fast = '';
    try {
      fast = await newVolume('io2', 128, { Iops: 64_000 });
    } catch (e) {
      console.error(`io2 128 GiB / 64,000 IOPS refused (${(e as Error).message}); gp3 16,000 IOPS instead`);
      fast = await newVolume('gp3', 32, { Iops: 16_000 });
    }
    const fastDesc = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [fast] }))).Volumes![0]!;
    await attach(fast);
    // Timed from the host, less an SSH round trip that runs nothing: Debian's busybox dd prints no
    // "copied, … seconds" line and its date has no %N.
    const timedInside = async (cmd: string, bytes: number): Promise<Rate> => {
      const t0 = performance.now();
      const base = await sh('true');
      const t1 = performance.now();
      const r = await sh(cmd);
      const secs = (performance.now() - t1 - (t1 - t0)) / 1000;
      if (r.code !== 0 || base.code !== 0) return { note: `failed: ${r.stderr.trim().split('\n').pop()}` };
      return { mibps: bytes / secs / MiB };
    };
    const inside = {
      seqWrite: await timedInside(`sudo -n dd if=/dev/zero of=${DEVICE} bs=1M count=1024 oflag=direct`, GiB),
      seqRead: await timedInside(`sudo -n dd if=${DEVICE} of=/dev/null bs=1M count=1024 iflag=direct`, GiB),
    };
    // The in-instance dd loop: one process per 4 KiB read (what a busybox image can do).
    const loopN = 500;
    const loopRate = await timedInside(
      `sudo -n sh -c 'i=0; while [ $i -lt ${loopN} ]; do dd if=${DEVICE} of=/dev/null bs=4k count=1 skip=$(( (i * 7919) % 262144 )) iflag=direct 2>/dev/null || exit 1; i=$((i+1)); done'`,
      loopN * 4096,
    );
    if (loopRate.mibps) loopRate.iops = (loopRate.mibps * MiB) / 4096;
    // The block device behind the instance's /dev/sdf, by major:minor.
    const mm = (await sh(`stat -L -c '%t:%T' ${DEVICE}`)).stdout
      .trim()
      .split(':')
      .map((x) => parseInt(x, 16));
    let hostDev = '';
    try {
      hostDev = `/dev/${readFileSync(`/sys/dev/block/${mm[0]}:${mm[1]}/uevent`, 'utf8').match(/DEVNAME=(\S+)/)![1]}`;
    } catch {
      hostDev = '';
    }
    const span = 1 * GiB; // random offsets within the first GiB (written above: real blocks, not holes)
    const devRandom = hostDev
      ? { read: randomIo(hostDev, 'read', span), write: randomIo(hostDev, 'write', span) }
      : { read: { note: 'device not found on the host' }, write: { note: '' } };
    await detach(fast);

    // The host's own disk and the XFS store, the same measures.
    const files: [string, string][] = [
      ['host disk (/var/tmp)', join(hostDir, 'raw')],
      ['XFS volume store', join(home, 'volumes', 'bench-raw.raw')],
    ];
    const hostRows: string[][] = [];
    for (const [label, file] of files) {
      const w = await hostDd(['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=1024', 'oflag=direct'], GiB);
      const r = await hostDd([`if=${file}`, 'of=/dev/null', 'bs=1M', 'count=1024', 'iflag=direct'], GiB);
      const rr = randomIo(file, 'read', span);
      const rw = randomIo(file, 'write', span);
      hostRows.push([label, fmtRate(w), fmtRate(r), fmtRate(rr), fmtRate(rw), '']);
      rmSync(file, { force: true });
    }
    table(
      `(c) throughput: ${fastDesc.VolumeType} ${fastDesc.Size} GiB, ${fastDesc.Iops ?? '?'} IOPS, ${fastDesc.Throughput ?? '?'} MiB/s provisioned (host device ${hostDev || '?'})`,
      ['where', 'seq write 1 MiB', 'seq read 1 MiB', 'random read 4 KiB', 'random write 4 KiB', 'note'],
      [
        ['inside the instance (busybox dd)', fmtRate(inside.seqWrite), fmtRate(inside.seqRead), fmtRate(loopRate), '', 'random: one dd process per I/O'],
        ['its device, from the host (Python O_DIRECT)', '', '', fmtRate(devRandom.read), fmtRate(devRandom.write), 'no cgroup limits in this path'],
        ...hostRows,
      ],
    );
  } finally {
    if (app) {
      // Instances, volumes and every host object go with a server stopped with cleanupHost.
      await app.stop().catch((e) => console.error(`stop: ${(e as Error).message}`));
    }
    rmSync(hostDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
