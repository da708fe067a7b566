// System test (root): every instance is a hostile tenant. Real instances of two accounts, tried
// from inside as a tenant would and checked from the host:
//   - the guest's root is an unprivileged host uid of a range of its own (never shared);
//   - what would reach past its namespaces fails inside: unshare -U, mount, module loading,
//     /proc/kcore, kexec, bpf, perf_event_open;
//   - the route that rewrote an instance's own cgroup limits (user + mount + cgroup namespaces,
//     then mounting the cgroup hierarchy) fails, and so does every direct write; the host sees the
//     limits unchanged;
//   - the host's pid space: pid_max raised, all instances capped below it, a fork bomb held at its
//     instance's pids limit;
//   - free, uptime, nproc and /proc/meminfo show the instance's own size and uptime;
//   - a root filesystem a tenant wrote raw (snapshot → RegisterImage) is checked before the host
//     mounts it, and the launch fails with EC2's state reason.
// SSH, sudo, user data, reboot/poweroff inside, volumes and the metadata service are the subject
// of instances-runc, ebs-integrity and vpc-dataplane, which all run in user namespaces too.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  DescribeImagesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  ModifySubnetAttributeCommand,
  RegisterImageCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Instance,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { needsInstances, clientFor, describe1, hostRun, imageAvailable, publicPoolFor, ssh, startRuncServer, until, waitState, type RuncServer } from './runc-harness.js';
import { raiseQuotas } from './harness.js';
import { hostTag } from '../src/host/tag.js';

process.env.CUMULO_INSTANCE_POLL_MS = '1000';
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

const GUEST_IDS = 65536;

needsInstances.describe('tenants are isolated (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-isolation-'));
  let server: RuncServer | undefined;
  const pool = publicPoolFor(250 + (process.pid % 3));
  const tenants: { ec2: EC2Client; key: string; subnetId: string; net: string }[] = [];
  let minimalAmi = '';
  let debianAmi = '';
  let a: Instance; // account 1, minimal, t3.nano
  let b: Instance; // account 2, minimal
  let d: Instance; // account 1, Debian (perl makes raw syscalls)

  async function setUp(ec2: EC2Client, net: string): Promise<{ ec2: EC2Client; key: string; subnetId: string; net: string }> {
    const key = (await ec2.send(new CreateKeyPairCommand({ KeyName: 'isolation', KeyType: 'ed25519' }))).KeyMaterial!;
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
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `${net}.1.0/24`, AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
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
    return { ec2, key, subnetId, net };
  }

  async function launch(t: (typeof tenants)[number], imageId: string, type: _InstanceType = 't3.nano'): Promise<Instance> {
    const r = await t.ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: type, MinCount: 1, MaxCount: 1, KeyName: 'isolation', SubnetId: t.subnetId }));
    return r.Instances![0]!;
  }

  /** A command as root inside (SSH as the image's user, then sudo). */
  async function root(t: (typeof tenants)[number], i: Instance, cmd: string, user = 'ec2-user'): Promise<{ code: number; stdout: string; stderr: string }> {
    // Single quotes: nothing in cmd is expanded by the login shell, only by root's.
    return ssh(i.PublicIpAddress!, user, t.key, `sudo sh -c '${cmd.replace(/'/g, `'\\''`)}'`, 120_000);
  }

  const sshReady = (t: (typeof tenants)[number], i: Instance, user = 'ec2-user') =>
    until(`ssh to ${i.InstanceId}`, async () => (await ssh(i.PublicIpAddress!, user, t.key, 'true', 5_000).catch(() => ({ code: -1 }))).code === 0, 60_000, 200);

  /** The host pid of the instance's init (runc's state). */
  async function initPid(id: string): Promise<number> {
    const r = await hostRun(['runc', '--root', join(home, 'runc'), 'state', id]);
    return (JSON.parse(r.stdout) as { pid: number }).pid;
  }
  const cgroupFile = (id: string, controller: string, file: string) => readFileSync(join('/sys/fs/cgroup', controller, `cumulo_${hostTag(home)}`, id, file), 'utf8').trim();

  beforeAll(async () => {
    server = await startRuncServer(home, { env: { CUMULO_PUBLIC_IPV4_POOL: pool } });
    const other = await server.app.accounts.create('isolation-b');
    await raiseQuotas(server.app.db, other.accountId);
    tenants.push(await setUp(server.ec2, '10.120'));
    tenants.push(await setUp(clientFor(server.app.url, other), '10.121'));
    const images = await server.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*', 'debian-12-amd64-*'] }] }));
    minimalAmi = images.Images!.find((i) => i.Name!.startsWith('cumulo-minimal'))!.ImageId!;
    debianAmi = images.Images!.find((i) => i.Name!.startsWith('debian-12'))!.ImageId!;
    const [t1, t2] = tenants as [(typeof tenants)[number], (typeof tenants)[number]];
    a = await launch(t1, minimalAmi);
    b = await launch(t2, minimalAmi);
    await imageAvailable(server.ec2, 'debian-12-amd64-*', 600_000); // built at the server's start where the machine's cache lacks it
    d = await launch(t1, debianAmi, 't3.micro');
    a = await waitState(t1.ec2, a.InstanceId!, 'running', 300_000);
    b = await waitState(t2.ec2, b.InstanceId!, 'running', 300_000);
    d = await waitState(t1.ec2, d.InstanceId!, 'running', 600_000); // the first Debian launch builds the image
    await Promise.all([sshReady(t1, a), sshReady(t2, b), sshReady(t1, d, 'admin')]);
  }, 900_000);

  afterAll(async () => {
    if (server) await server.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 300_000);

  test('the guest’s processes run as an unprivileged host uid, of a range no other instance has', async () => {
    const [t1, t2] = tenants as [(typeof tenants)[number], (typeof tenants)[number]];
    const ranges: number[] = [];
    for (const i of [a, b, d]) {
      const pid = await initPid(i.InstanceId!);
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uids = /^Uid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/).map(Number);
      const gids = /^Gid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/).map(Number);
      // Real, effective, saved and filesystem ids: all the range's first id, far from the host's root.
      expect(new Set(uids).size).toBe(1);
      expect(uids[0]).toBeGreaterThanOrEqual(2 ** 30);
      expect(uids[0]! % GUEST_IDS).toBe(0);
      expect(gids).toEqual(uids);
      expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number)).toEqual([0, uids[0], GUEST_IDS]);
      // Every process of the instance (sshd, its shells) is inside the range. One may exit between
      // listing and reading (a short-lived child): it has no uid left to check.
      let seen = 0;
      for (const p of readFileSync(join('/sys/fs/cgroup/pids', `cumulo_${hostTag(home)}`, i.InstanceId!, 'cgroup.procs'), 'utf8')
        .trim()
        .split('\n')) {
        const status = readIfAlive(`/proc/${p}/status`);
        if (status === undefined) continue;
        const u = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
        expect(u >= uids[0]! && u < uids[0]! + GUEST_IDS).toBe(true);
        seen++;
      }
      // Its init at least is there to check.
      expect(seen).toBeGreaterThan(0);
      ranges.push(uids[0]!);
    }
    expect(new Set(ranges).size).toBe(3);
    const rows = await server!.app.db.selectFrom('uid_ranges').select(['slot', 'instance_id']).execute();
    expect(rows.map((r) => r.instance_id).sort()).toEqual([a, b, d].map((i) => i.InstanceId!).sort());
    // Inside, it is root of its own machine; its root filesystem is its own.
    const inA = await root(t1, a, 'id -u; stat -c %u /etc/passwd /usr/bin/sudo; cat /proc/self/uid_map');
    expect(inA.stdout.split('\n').slice(0, 3)).toEqual(['0', '0', '0']);
    expect(inA.stdout).toContain(String(ranges[0]));
    expect((await root(t2, b, 'id -u')).stdout.trim()).toBe('0');
    // Its root filesystem, as runc binds it, belongs to its range (an idmapped view); on disk the
    // image's own ids stay (nothing was rewritten: a snapshot of it is like any other).
    const mnt = join('/run/cumulo', hostTag(home), a.InstanceId!);
    expect((await hostRun(['stat', '-c', '%u %g', join(mnt, 'rootfs', 'etc', 'passwd')])).stdout.trim()).toBe(`${ranges[0]} ${ranges[0]}`);
    expect((await hostRun(['stat', '-c', '%u %g', join(mnt, 'root', 'etc', 'passwd')])).stdout.trim()).toBe('0 0');
    // No other instance's group may enter its folder there; no one may list the folder of folders.
    expect((await hostRun(['stat', '-c', '%a %u %g', mnt])).stdout.trim()).toBe(`710 0 ${ranges[0]}`);
    // The host's view of its root (the image's own ids) is out of reach of every other range.
    const other = await hostRun(['setpriv', `--reuid=${ranges[1]}`, `--regid=${ranges[1]}`, '--clear-groups', 'ls', join(mnt, 'root')]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('Permission denied');
  });

  test('unshare -U, mount, module loading and /proc/kcore fail inside', async () => {
    const t1 = tenants[0]!;
    const r = await root(
      t1,
      a,
      [
        'unshare -U true; echo "unshare=$?"',
        'mkdir -p /tmp/m; mount -t tmpfs none /tmp/m; echo "mount=$?"',
        'mount -t proc proc /tmp/m; echo "mountproc=$?"',
        'echo junk > /tmp/x.ko; insmod /tmp/x.ko; echo "insmod=$?"',
        'head -c 16 /proc/kcore | wc -c',
      ].join('; '),
    );
    expect(r.stdout).toMatch(/unshare=[1-9]/);
    expect(r.stdout).toMatch(/mount=[1-9]/);
    expect(r.stdout).toMatch(/mountproc=[1-9]/);
    expect(r.stdout).toMatch(/insmod=[1-9]/);
    expect(r.stderr).toMatch(/insmod.*(Operation not permitted|not permitted)/i); // refused, not merely a bad module
    expect(r.stdout.trim().split('\n').pop()).toBe('0'); // /proc/kcore reads as nothing
  });

  test('kexec_load, kexec_file_load, bpf, perf_event_open, init_module, unshare and setns are refused by the kernel (raw syscalls)', async () => {
    const t1 = tenants[0]!;
    // x86_64 numbers; each call's errno as perl sees it (EPERM: the seccomp allow-list, or no capability).
    const calls = {
      kexec_load: 246,
      kexec_file_load: 320,
      bpf: 321,
      perf_event_open: 298,
      init_module: 175,
      finit_module: 313,
      unshare_newuser: 272,
      setns: 308,
      open_by_handle_at: 304,
      userfaultfd: 323,
    };
    const args: Record<string, string> = { unshare_newuser: '0x10000000', setns: '0, 0' };
    const script = Object.entries(calls)
      .map(([name, nr]) => `$! = 0; my $r_${name} = syscall(${nr}, ${args[name] ?? '0, 0, 0, 0, 0'}); print "${name}=", ($r_${name} == -1 ? ($!+0) : "ok"), "\\n";`)
      .join(' ');
    const r = await root(t1, d, `perl -e '${script}'`, 'admin');
    expect(r.code).toBe(0);
    const got = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    for (const name of Object.keys(calls)) expect([name, got[name]]).toEqual([name, '1']); // EPERM
    // The everyday ones still work under the allow-list: the same script style, getpid and uname.
    const ok = await root(t1, d, `perl -e 'print syscall(39) > 1 ? "getpid ok\\n" : "getpid bad\\n"'`, 'admin');
    expect(ok.stdout).toContain('getpid ok');
    // The x32 ABI is not in the filter: a call through it ends the caller (SIGSYS: 128 + 31).
    const x32 = await root(t1, d, `perl -e 'syscall(0x40000000 + 39); print "survived\\n"'; echo "x32=$?"`, 'admin');
    expect(x32.stdout).toContain('x32=159');
    expect(x32.stdout).not.toContain('survived');
  });

  test('the instance cannot change its own limits: not by the user+mount+cgroup namespace route, not by v1 or v2 mounts, not by writing them', async () => {
    const t1 = tenants[0]!;
    const id = a.InstanceId!;
    const before = {
      memory: cgroupFile(id, 'memory', 'memory.limit_in_bytes'),
      pids: cgroupFile(id, 'pids', 'pids.max'),
      cpu: cgroupFile(id, 'cpu', 'cpu.cfs_quota_us'),
    };
    expect(Number(before.memory)).toBe(512 * 2 ** 20); // t3.nano
    const attempts = [
      // The route that worked before user namespaces: a user, mount and cgroup namespace, then the v1 hierarchy.
      `unshare -U -m -C --map-root-user sh -c 'mkdir -p /tmp/cg && mount -t cgroup -o memory,pids,cpu cgroup /tmp/cg && echo 8589934592 > /tmp/cg/memory.limit_in_bytes && echo max > /tmp/cg/pids.max && echo -1 > /tmp/cg/cpu.cfs_quota_us'; echo "route=$?"`,
      `mkdir -p /tmp/cg1 && mount -t cgroup -o memory cgroup /tmp/cg1; echo "v1=$?"`,
      `mkdir -p /tmp/cg2 && mount -t cgroup2 none /tmp/cg2; echo "v2=$?"`,
      `echo 8589934592 > /sys/fs/cgroup/memory/memory.limit_in_bytes; echo "write-memory=$?"`,
      `echo max > /sys/fs/cgroup/pids/pids.max; echo "write-pids=$?"`,
      `echo -1 > /sys/fs/cgroup/cpu/cpu.cfs_quota_us; echo "write-cpu=$?"`,
      `mount -o remount,rw /sys/fs/cgroup/memory; echo "remount=$?"`,
    ].join('; ');
    const r = await root(t1, a, attempts);
    for (const step of ['route', 'v1', 'v2', 'write-memory', 'write-pids', 'write-cpu', 'remount']) expect(r.stdout).toMatch(new RegExp(`${step}=[1-9]`));
    expect({
      memory: cgroupFile(id, 'memory', 'memory.limit_in_bytes'),
      pids: cgroupFile(id, 'pids', 'pids.max'),
      cpu: cgroupFile(id, 'cpu', 'cpu.cfs_quota_us'),
    }).toEqual(before);
  });

  test('the host’s pid space: pid_max raised, every instance together capped below it, a fork bomb held at its instance’s limit', async () => {
    const t1 = tenants[0]!;
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    expect(pidMax).toBeGreaterThanOrEqual(4_194_304);
    const parent = Number(readFileSync(join('/sys/fs/cgroup/pids', `cumulo_${hostTag(home)}`, 'pids.max'), 'utf8'));
    expect(parent).toBeLessThanOrEqual(pidMax / 2);
    // Its own instance, with memory for 4,096 small processes (a t3.nano's 512 MiB runs out first:
    // then the memory cgroup's OOM killer picks among equals, the instance's init included).
    let bomber = await launch(t1, minimalAmi, 't3.small');
    const id = bomber.InstanceId!;
    bomber = await waitState(t1.ec2, id, 'running', 120_000);
    await sshReady(t1, bomber);
    const limit = Number(cgroupFile(id, 'pids', 'pids.max'));
    expect(limit).toBe(4096);
    // 5,000 sleepers: the fork that would pass the limit fails, inside the instance only.
    try {
      // (busybox's shell gives up at the first fork that fails: what it prints does not matter.)
      await root(t1, bomber, 'i=0; while [ $i -lt 5000 ]; do sleep 120 2>/dev/null & i=$((i+1)); done 2>/dev/null; true');
      const current = Number(cgroupFile(id, 'pids', 'pids.current'));
      const events = cgroupFile(id, 'pids', 'pids.events');
      const diagnosis = JSON.stringify({ current, events, memoryFailures: cgroupFile(id, 'memory', 'memory.failcnt') });
      expect(current, diagnosis).toBeLessThanOrEqual(limit);
      expect(current, diagnosis).toBeGreaterThan(limit - 200); // it did fill up to its limit
      expect(Number(/max (\d+)/.exec(events)?.[1]), diagnosis).toBeGreaterThan(0); // and a fork past it failed
      expect(Number(cgroupFile(id, 'pids', 'pids.peak'))).toBeLessThanOrEqual(limit);
      // The host forks as usual, and the instance lives through it (its init is there).
      expect((await hostRun(['true'])).code).toBe(0);
      expect(cgroupFile(id, 'pids', 'cgroup.procs').split('\n')).toContain(String(await initPid(id)));
    } finally {
      // The sleepers go (the instance's own kill, from the host: every sleep of its cgroup).
      for (const p of cgroupFile(id, 'pids', 'cgroup.procs').split('\n')) {
        try {
          if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'sleep') process.kill(Number(p), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await until('the sleepers to go', async () => Number(cgroupFile(id, 'pids', 'pids.current')) < 100, 30_000, 200);
      await t1.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    }
  }, 300_000);

  test('free, uptime, nproc and /proc/meminfo show the instance’s own size and uptime, not the host’s', async () => {
    const t1 = tenants[0]!;
    const hostUp = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const hostCpus = Number((await hostRun(['nproc'])).stdout.trim());
    // The minimal image (t3.nano: 2 vCPUs, 0.5 GiB): /proc as LXCFS serves it.
    const m = await root(t1, a, 'grep MemTotal /proc/meminfo; cat /proc/uptime; nproc; grep -c ^processor /proc/cpuinfo');
    const [memLine, upLine, nprocLine] = m.stdout.trim().split('\n');
    expect(Number(/MemTotal:\s+(\d+)/.exec(memLine!)![1])).toBe(512 * 1024);
    expect(Number(upLine!.split(' ')[0])).toBeLessThan(Math.min(900, hostUp));
    expect(Number(nprocLine)).toBe(Math.min(2, hostCpus));
    // Debian (t3.micro: 2 vCPUs, 1 GiB): procps' free and uptime, and coreutils' nproc.
    const r = await root(t1, d, 'free -m; uptime; cat /proc/uptime; nproc', 'admin');
    expect(r.code).toBe(0);
    expect(Number(/Mem:\s+(\d+)/.exec(r.stdout)![1])).toBe(1024);
    expect(r.stdout).toMatch(/ up +(\d+ min|\d+:\d+),/);
    const up = Number(r.stdout.trim().split('\n').slice(-2)[0]!.split(' ')[0]);
    expect(up).toBeLessThan(Math.min(900, hostUp));
    expect(Number(r.stdout.trim().split('\n').pop())).toBe(Math.min(2, hostCpus));
  });

  test('a root filesystem a tenant wrote raw is checked before the host mounts it: the launch fails with EC2’s state reason', async () => {
    const t1 = tenants[0]!;
    const ec2 = t1.ec2;
    const vol = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 1, VolumeType: 'gp3' }))).VolumeId!;
    await until('the volume', async () => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [vol] }))).Volumes![0]!.State === 'available', 60_000, 200);
    // A trap first: the name the volume will take, a symlink to a host path. The host replaces it, never follows it.
    const shadow = (await hostRun(['stat', '-c', '%a %u %g', '/etc/shadow'])).stdout;
    expect((await root(t1, a, 'ln -sf /etc/shadow /dev/sdf && echo planted')).stdout).toContain('planted');
    await ec2.send(new AttachVolumeCommand({ VolumeId: vol, InstanceId: a.InstanceId!, Device: '/dev/sdf' }));
    await until('the device inside', async () => (await root(t1, a, 'test -b /dev/sdf && echo yes')).stdout.includes('yes'), 30_000, 200);
    expect((await hostRun(['stat', '-c', '%a %u %g', '/etc/shadow'])).stdout).toBe(shadow);
    // Random bytes with an ext4 superblock's magic: it looks like ext4 and is not one.
    const w = await root(
      t1,
      a,
      "dd if=/dev/urandom of=/dev/sdf bs=1M count=8 conv=fsync 2>/dev/null; printf '\\123\\357' | dd of=/dev/sdf bs=1 seek=1080 conv=notrunc,fsync 2>/dev/null; sync; echo written",
    );
    expect(w.stdout).toContain('written');
    // Snapshotted and registered while attached to A (so the image boots like A's: cumulo's minimal image).
    const snap = (await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }))).SnapshotId!;
    await until('the snapshot', async () => (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap] }))).Snapshots![0]!.State === 'completed', 60_000, 200);
    const ami = (
      await ec2.send(
        new RegisterImageCommand({
          Name: 'tenant-raw',
          RootDeviceName: '/dev/xvda',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snap } }],
          Architecture: 'x86_64',
          VirtualizationType: 'hvm',
        }),
      )
    ).ImageId!;
    await ec2.send(new DetachVolumeCommand({ VolumeId: vol }));
    await until('detached', async () => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [vol] }))).Volumes![0]!.State === 'available', 60_000, 200);
    const i = await launch(t1, ami);
    const gone = await waitState(ec2, i.InstanceId!, 'terminated', 120_000);
    expect(gone.StateReason).toEqual({ Code: 'Client.InternalError', Message: 'Client.InternalError: Client error on launch' });
    // Nothing of it is mounted on the host.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(i.InstanceId!);
    const inst = await describe1(ec2, i.InstanceId!);
    expect(inst.State?.Name).toBe('terminated');
  });
});

/** A /proc file of a process, or undefined once the process is gone. */
function readIfAlive(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw e;
  }
}
