// System test (root): the runc driver on the host's storage part (EbsStorage over the real volume
// store and instance store) and network part, booting a tiny busybox image with the guest init
// (tiny-image.ts: made in a second, no wait for the built-in images). No control plane.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requires } from '../../../../test/requires.js';
import type { ImageStore } from '../../images/store.js';
import { LinuxHostNetwork } from '../../network/linux.js';
import { EbsStorage } from '../../storage/ebs.js';
import { InstanceStoreDisks } from '../../storage/instance-store.js';
import { XfsVolumeStore } from '../../storage/xfs-store.js';
import type { InterfaceSpec, VpcSpec } from '../../network/vpc-spec.js';
import type { InstanceSpec } from '../driver.js';
import { RuncDriver } from './driver.js';
import { tinyImage } from './tiny-image.js';

const needs = requires({ root: true, commands: ['runc', 'conmon', 'ip', 'nft', 'mkfs.ext4', 'mkfs.xfs', 'busybox'] });

needs.describe('RuncDriver (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-runc-'));
  let snapshot = '';
  let volumes: XfsVolumeStore;
  let network: LinuxHostNetwork;
  let instanceStore: InstanceStoreDisks;
  let storage: EbsStorage;
  let driver: RuncDriver;
  const exits: string[] = [];

  const images: ImageStore = { ensure: async () => ({ snapshotFile: snapshot, sizeGiB: 1, sshUser: 'ec2-user' }) };
  // Public IPs are routed on the host: a pool of this file's own (private addresses never are).
  const pool = `198.19.${250 + (process.pid % 5)}.0/24`;
  const publicIp = pool.replace(/0\/24$/, '9');
  const VPC = 'vpc-0d00000000000000d';
  const nic = (n: number, privateIp: string, publicIps: string[] = []): InterfaceSpec => ({
    eniId: `eni-0d00000000000000${n}`,
    instanceId: `i-0${n}000000000000${n}${n}${n}`.slice(0, 19),
    deviceIndex: 0,
    subnetId: 'subnet-0d00000000000000d',
    subnetCidr: '10.213.0.0/24',
    macAddress: `02:00:00:00:00:${String(10 + n).padStart(2, '0')}`,
    privateIps: [privateIp],
    groups: ['sg-0d00000000000000d'],
    publicIps: publicIps.map((p) => ({ publicIp: p, privateIp })),
    sourceDestCheck: true,
    metadataHopLimit: 1,
  });
  const vpcSpec = (interfaces: InterfaceSpec[]): VpcSpec => ({
    vpcId: VPC,
    accountId: '123456789012',
    region: 'us-east-1',
    cidrs: ['10.213.0.0/16'],
    internetGatewayId: 'igw-0d00000000000000d',
    dnsSupport: true,
    subnets: [
      {
        subnetId: 'subnet-0d00000000000000d',
        cidr: '10.213.0.0/24',
        routes: [
          { destination: '10.213.0.0/16', target: 'local', targetId: 'local' },
          { destination: '0.0.0.0/0', target: 'internet-gateway', targetId: 'igw-0d00000000000000d' },
        ],
        networkAcl: {
          networkAclId: 'acl-0d00000000000000d',
          entries: [
            { ruleNumber: 100, egress: false, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
            { ruleNumber: 100, egress: true, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
          ],
        },
      },
    ],
    securityGroups: [{ groupId: 'sg-0d00000000000000d', ingress: [{ protocol: 'all', cidr: '0.0.0.0/0' }], egress: [{ protocol: 'all', cidr: '0.0.0.0/0' }] }],
    interfaces,
  });
  const spec = (n: number, over: Partial<InstanceSpec> = {}): InstanceSpec => ({
    instanceId: `i-0${n}000000000000${n}${n}${n}`.slice(0, 19),
    accountId: '123456789012',
    region: 'us-east-1',
    availabilityZone: 'us-east-1a',
    imageId: 'ami-0123456789abcdef0',
    instanceType: 't3.nano',
    vcpus: 2,
    memoryMiB: 512,
    hostname: `ip-10-213-0-${10 + n}.ec2.internal`,
    privateIp: `10.213.0.${10 + n}`, // apart from other suites' addresses: host routes are host-wide
    macAddress: `02:00:00:00:00:${String(10 + n).padStart(2, '0')}`,
    subnetCidr: '10.213.0.0/24',
    publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZ0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5 test'],
    imageSource: { builtin: 'minimal', version: 'test', sshUser: 'ec2-user' },
    rootVolume: { volumeId: `vol-0${n}00000000000000${n}`.slice(0, 21), deviceName: '/dev/xvda', sizeGiB: 1 },
    metadataHopLimit: 1,
    vpcId: VPC,
    interfaces: [nic(n, `10.213.0.${10 + n}`, n === 1 ? [publicIp] : [])],
    dnsServer: '10.213.0.2',
    dnsDomain: 'ec2.internal',
    uidBase: 2 ** 30 + (40000 + n) * 65536, // slots no server's store hands out while this runs
    ...over,
  });
  const A = spec(1, { userData: Buffer.from('#!/bin/sh\necho user-data-ran-$(id -u) > /root/ud\n') });
  const B = spec(2, { instanceType: 'm5d.large', instanceStore: [{ count: 1, sizeGiB: 1, type: 'ssd' }] });

  const EBS_KEY = Buffer.alloc(32, 7);
  const ACCOUNT = '123456789012';
  const sha = (file: string, mib: number) => execFileSync('sh', ['-c', `head -c ${mib}M ${file} | sha256sum`], { encoding: 'utf8' }).split(' ')[0]!;
  const cg = (s: InstanceSpec, file: string) => readFileSync(join('/sys/fs/cgroup', file.split('.')[0]!, `cumulo_${driver.tag}`, s.instanceId, file), 'utf8');
  const rootfs = (s: InstanceSpec) => join(driver.mnt(s.instanceId), 'root'); // the host's view of its root volume
  const inGuest = (s: InstanceSpec, cmd: string) => execFileSync('runc', ['--root', join(home, 'runc'), 'exec', s.instanceId, 'sh', '-c', cmd], { encoding: 'utf8' });
  async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > end) {
        process.stderr.write(
          execFileSync('sh', ['-c', `ls -la ${home}/runc-exits; cat ${home}/runc-exits/* ; runc --root ${home}/runc list; tail -20 ${home}/instances/*/console.log`], {
            encoding: 'utf8',
          }),
        );
        throw new Error(`timed out waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    snapshot = tinyImage(home);
    volumes = new XfsVolumeStore({ home, sizeGiB: 8 });
    network = new LinuxHostNetwork({ home, imdsPort: 9, dnsPort: 9, apiPort: 9, publicPool: pool, egress: false });
    instanceStore = new InstanceStoreDisks({ home });
    storage = new EbsStorage({ volumes, instanceStore, keyOf: async () => EBS_KEY });
    driver = new RuncDriver({ home, images, storage, network, stopTimeoutMs: 5_000, log: (l) => process.stderr.write(l + '\n') });
    storage.useQuiescer(driver);
    driver.onExit((id) => exits.push(id));
    await driver.init();
  });

  afterAll(async () => {
    await network?.removeVpc(VPC).catch(() => undefined);
    await driver?.close({ cleanup: true });
    await network?.close();
    await instanceStore?.close();
    await volumes?.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('create + start boots the init with the type’s limits, its hostname and user data', async () => {
    const t0 = performance.now();
    await driver.create(A);
    const t1 = performance.now();
    await driver.start(A.instanceId);
    const t2 = performance.now();
    process.stderr.write(`create ${(t1 - t0).toFixed(0)} ms, start ${(t2 - t1).toFixed(0)} ms\n`);
    expect((await driver.inspect(A.instanceId)).state).toBe('running');
    await until('user data', () => existsSync(join(rootfs(A), 'root', 'ud')));
    expect(readFileSync(join(rootfs(A), 'root', 'ud'), 'utf8')).toBe('user-data-ran-0\n');
    expect(inGuest(A, 'hostname').trim()).toBe(A.hostname);
    expect(inGuest(A, 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes').trim()).toBe(String(512 * 2 ** 20));
    expect(inGuest(A, 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim()).toBe('200000');
    expect(inGuest(A, 'ip -4 addr show eth0')).toContain('10.213.0.11/24');
    expect(inGuest(A, 'cat /etc/resolv.conf')).toBe('nameserver 10.213.0.2\nsearch ec2.internal\n');
    expect(inGuest(A, 'cat /proc/1/cmdline')).toContain('/sbin/init');
    const out = (await driver.consoleOutput(A.instanceId)).toString();
    expect(out).toContain(`booting ${A.instanceId}`);
    expect(out).toContain('cumulo-init');
    expect(await driver.list()).toContain(A.instanceId);
    // Its VPC's data plane (what the vpc.sync controller does): the host reaches it at its public IP.
    await network.applyVpc(vpcSpec(A.interfaces!));
    expect(await network.vpcsPresent()).toEqual([VPC]);
    execFileSync('busybox', ['ping', '-c', '1', '-W', '2', publicIp], { stdio: 'ignore' });
  });

  test('metrics come from its cgroups and veth', async () => {
    const m = await driver.metrics(A.instanceId);
    expect(m).toBeDefined();
    expect(m!.cpuNs).toBeGreaterThan(0);
    expect(m!.memoryBytes).toBeGreaterThan(0);
    expect(m!.memoryLimitBytes).toBe(512 * 2 ** 20);
    expect(m!.pids).toBeGreaterThan(0);
    expect(m!.netOutBytes + m!.netInBytes).toBeGreaterThan(0);
    expect(m!.diskReadBytes + m!.diskWriteBytes).toBeGreaterThan(0);
  });

  test('reboot inside: booted again in place, user data not again', async () => {
    inGuest(A, 'echo again > /root/marker; rm /root/ud; /sbin/reboot');
    await until('the reboot', async () => (await driver.consoleOutput(A.instanceId)).toString().split(`booting ${A.instanceId}`).length === 3);
    await until('running again', async () => (await driver.inspect(A.instanceId)).state === 'running');
    // The new init has said it boots (its signal handlers are set: the poweroff below is heard).
    await until('the init', async () => (await driver.consoleOutput(A.instanceId)).toString().split('cumulo-init: booting').length === 3);
    expect(readFileSync(join(rootfs(A), 'root', 'marker'), 'utf8')).toBe('again\n');
    expect(existsSync(join(rootfs(A), 'root', 'ud'))).toBe(false);
    expect(exits).not.toContain(A.instanceId);
  });

  test('poweroff inside: stopped, reported; stop lets go; start boots the same root volume', async () => {
    // The exec'd shell may be killed with the instance before runc reports its exit: what counts is the exit below.
    try {
      inGuest(A, '/sbin/poweroff');
    } catch {
      // the instance went down under it
    }
    await until('the exit', () => exits.includes(A.instanceId));
    const seen = await driver.inspect(A.instanceId);
    expect(seen.state).toBe('stopped');
    expect(seen.exitedAt).toBeInstanceOf(Date);
    await driver.stop(A.instanceId);
    expect((await driver.inspect(A.instanceId)).state).toBe('stopped');
    expect(existsSync(join(rootfs(A), 'root'))).toBe(false); // unmounted
    await driver.start(A.instanceId);
    expect((await driver.inspect(A.instanceId)).state).toBe('running');
    expect(readFileSync(join(rootfs(A), 'root', 'marker'), 'utf8')).toBe('again\n');
  });

  test('stop from the host is graceful; a guest that ignores it is killed after the timeout', async () => {
    await driver.stop(A.instanceId);
    expect((await driver.inspect(A.instanceId)).state).toBe('stopped');
    // The guest init said goodbye: it was asked, not killed.
    expect((await driver.consoleOutput(A.instanceId)).toString().split('cumulo-init: booting').pop()).toMatch(/cumulo-init: .*(stop|power)/);
    await driver.start(A.instanceId);
    await until('the init', () => inGuest(A, '[ -e /run/cumulo/init ] && echo ok; true').includes('ok'));
    // A guest that does not shut down: its init frozen from the host (inside, PID 1 cannot be stopped).
    execFileSync('kill', ['-STOP', readFileSync(join(home, 'instances', A.instanceId, 'init.pid'), 'utf8').trim()]);
    // Not killed before its timeout was over (a lower bound: a slow machine cannot break it).
    const t = performance.now();
    await driver.stop(A.instanceId, { timeoutMs: 1_000 });
    expect(performance.now() - t).toBeGreaterThanOrEqual(1_000);
    expect((await driver.inspect(A.instanceId)).state).toBe('stopped');
  });

  test('instance store: kept across a reboot, gone after stop and start', async () => {
    await driver.create(B);
    await driver.start(B.instanceId);
    inGuest(B, 'echo keep > /mnt/file; sync');
    await driver.reboot(B.instanceId);
    expect((await driver.inspect(B.instanceId)).state).toBe('running');
    expect(inGuest(B, 'cat /mnt/file').trim()).toBe('keep');
    await driver.stop(B.instanceId);
    await driver.start(B.instanceId);
    expect(inGuest(B, 'cat /mnt/file 2>/dev/null || echo gone').trim()).toBe('gone');
  });

  test('memory beyond the type’s limit is killed', async () => {
    // 600 MiB in a 512 MiB instance: the OOM killer takes the process, the instance lives on.
    const out = inGuest(B, 'head -c 700m /dev/zero | tail > /dev/null; echo exit=$?');
    expect(out).toMatch(/exit=(137|1)/);
    expect((await driver.inspect(B.instanceId)).state).toBe('running');
    expect((await driver.metrics(B.instanceId))!.oomKills).toBeGreaterThan(0);
  });

  describe('EBS', () => {
    const V1 = 'vol-0e00000000000000e';
    const V2 = 'vol-0e00000000000000f';
    const V3 = 'vol-0e000000000000010';
    const S1 = 'snap-0e00000000000000e';
    const S2 = 'snap-0e00000000000000f';
    const vfile = (v: string) => join(home, 'volumes', `${v}.raw`);
    let written = '';

    test('an empty volume, attached live: usable inside at once; detached; attached to another, same bytes', async () => {
      await driver.start(A.instanceId);
      await until('the init', () => inGuest(A, '[ -e /run/cumulo/init ] && echo ok; true').includes('ok'));
      await storage.createVolume({ volumeId: V1, accountId: ACCOUNT, region: 'us-east-1', sizeGiB: 1, encrypted: false });
      await storage.createVolume({ volumeId: V1, accountId: ACCOUNT, region: 'us-east-1', sizeGiB: 1, encrypted: false }); // idempotent
      expect(statSync(vfile(V1)).size).toBe(2 ** 30);
      expect(statSync(vfile(V1)).blocks).toBe(0); // sparse: no filesystem, the user formats it
      await driver.attachVolume(A.instanceId, { volumeId: V1, device: '/dev/sdf', limits: { iops: 3000, throughputMiBps: 125 } });
      expect(inGuest(A, 'blockdev --getsize64 /dev/sdf').trim()).toBe(String(2 ** 30));
      written = inGuest(A, 'dd if=/dev/urandom of=/dev/sdf bs=1M count=8 conv=fsync 2>/dev/null; head -c 8388608 /dev/sdf | sha256sum').split(' ')[0]!;
      expect(written).toMatch(/^[0-9a-f]{64}$/);
      expect(sha(vfile(V1), 8)).toBe(written);
      expect(cg(A, 'blkio.throttle.read_iops_device')).toMatch(/^7:\d+ 3000$/m);
      expect(cg(A, 'blkio.throttle.write_bps_device')).toMatch(new RegExp(`^7:\\d+ ${125 * 2 ** 20}$`, 'm'));
      expect(cg(A, 'devices.list')).toMatch(/^b 7:\d+ rw$/m);
      await driver.detachVolume(A.instanceId, V1);
      expect(inGuest(A, 'test -e /dev/sdf && echo there || echo gone').trim()).toBe('gone');
      expect(cg(A, 'devices.list')).not.toMatch(/^b 7:/m);
      expect(cg(A, 'blkio.throttle.read_iops_device')).not.toMatch(/3000/);
      expect(execFileSync('losetup', ['-j', vfile(V1)], { encoding: 'utf8' }).trim()).toBe('');
      await driver.attachVolume(B.instanceId, { volumeId: V1, device: '/dev/xvdg', limits: {} });
      expect(inGuest(B, 'head -c 8388608 /dev/xvdg | sha256sum').split(' ')[0]).toBe(written);
    });

    test('grown live: the instance sees the new size at once', async () => {
      await storage.resizeVolume(V1, 2);
      expect(inGuest(B, 'blockdev --getsize64 /dev/xvdg').trim()).toBe(String(2 * 2 ** 30));
      await expect(storage.resizeVolume(V1, 1)).rejects.toThrow(/cannot shrink/);
    });

    test('throttled by the block I/O controller, live', async () => {
      await driver.setVolumeLimits(B.instanceId, V1, { iops: 40, throughputMiBps: 1 });
      expect(cg(B, 'blkio.throttle.read_bps_device')).toMatch(new RegExp(`^7:\\d+ ${2 ** 20}$`, 'm'));
      expect(cg(B, 'blkio.throttle.write_iops_device')).toMatch(/^7:\d+ 40$/m);
      // 3 MiB never read before (no page cache) at 1 MiB/s: at least 2 s.
      const t0 = performance.now();
      inGuest(B, 'dd if=/dev/xvdg of=/dev/null bs=1M skip=512 count=3 2>/dev/null');
      const took = performance.now() - t0;
      process.stderr.write(`3 MiB at 1 MiB/s: ${took.toFixed(0)} ms\n`);
      expect(took).toBeGreaterThan(1_800);
      await driver.setVolumeLimits(B.instanceId, V1, {});
      expect(cg(B, 'blkio.throttle.read_bps_device')).not.toMatch(/^7:/m);
    });

    test('attached volumes come back with the instance after stop and start (config.json)', async () => {
      await driver.stop(B.instanceId);
      expect(execFileSync('losetup', ['-j', vfile(V1)], { encoding: 'utf8' }).trim()).toBe('');
      await driver.start(B.instanceId);
      expect(inGuest(B, 'head -c 8388608 /dev/xvdg | sha256sum').split(' ')[0]).toBe(written);
    });

    test('snapshot → volume from it: the same bytes, its extents shared with the snapshot (no copy); encrypted too', async () => {
      const pct: number[] = [];
      // Nothing captured at the request: the snapshot fails rather than copying the volume as it is now.
      await expect(storage.snapshotVolume({ volumeId: V1, snapshotId: S1, region: 'us-east-1', accountId: ACCOUNT, encrypted: false })).rejects.toThrow(
        /No copy of vol-0e00000000000000e from the moment of the request/,
      );
      // The request's moment: what the volume holds at the capture, not what is written after it.
      const at = (file: string) => execFileSync('sh', ['-c', `dd if=${file} bs=1M skip=100 count=4 status=none | sha256sum`], { encoding: 'utf8' }).split(' ')[0];
      const captured = at(vfile(V1));
      await storage.captureVolume({ volumeId: V1, snapshotId: S1 });
      expect(await storage.captures()).toEqual([S1]);
      inGuest(B, 'dd if=/dev/urandom of=/dev/xvdg bs=1M count=4 seek=100 conv=notrunc,fsync 2>/dev/null');
      expect(at(vfile(V1))).not.toBe(captured);
      const r = await storage.snapshotVolume({ volumeId: V1, snapshotId: S1, region: 'us-east-1', accountId: ACCOUNT, encrypted: false, onProgress: (p) => pct.push(p) });
      expect(r.dataBytes).toBeGreaterThanOrEqual(8 * 2 ** 20);
      expect(r.addedBytes).toBeGreaterThanOrEqual(8 * 2 ** 20);
      expect(pct.at(-1)).toBe(100);
      expect(await storage.snapshotVolume({ volumeId: V1, snapshotId: S1, region: 'us-east-1', accountId: ACCOUNT, encrypted: false })).toEqual({
        dataBytes: r.dataBytes,
        addedBytes: 0,
      });
      // How long this takes is bench:ebs's (a).
      await storage.createVolume({ volumeId: V2, accountId: ACCOUNT, region: 'us-east-1', sizeGiB: 2, snapshotId: S1, encrypted: false });
      expect(sha(vfile(V2), 8)).toBe(written);
      expect(at(vfile(V2))).toBe(captured);
      expect(await storage.captures()).toEqual([]); // dropped once stored
      expect(execFileSync('filefrag', ['-v', vfile(V2)], { encoding: 'utf8' })).toMatch(/\bshared\b/);
      // Encrypted: sealed with the account's key, restored with it.
      await storage.captureVolume({ volumeId: V1, snapshotId: S2 });
      await storage.snapshotVolume({ volumeId: V1, snapshotId: S2, region: 'us-east-1', accountId: ACCOUNT, encrypted: true, parentSnapshotId: S1 });
      const store = await storage.snapshots.of('us-east-1');
      expect((await store.info(S2))!.encrypted).toBe(true);
      await storage.createVolume({ volumeId: V3, accountId: ACCOUNT, region: 'us-east-1', sizeGiB: 3, snapshotId: S2, encrypted: true });
      // Encrypted at rest: the file on the host is not the plaintext; the instance reads the plaintext.
      expect(await volumes.isEncrypted(V3)).toBe(true);
      expect(sha(vfile(V3), 8)).not.toBe(written);
      await driver.attachVolume(A.instanceId, { volumeId: V3, device: '/dev/sdh', limits: {} });
      expect(inGuest(A, 'blockdev --getsize64 /dev/sdh').trim()).toBe(String(3 * 2 ** 30));
      expect(inGuest(A, 'head -c 8388608 /dev/sdh | sha256sum').split(' ')[0]).toBe(written);
      await driver.detachVolume(A.instanceId, V3);
      await volumes.delete(V3);
      await storage.deleteSnapshot('us-east-1', S2);
      await storage.deleteSnapshot('us-east-1', S2);
      expect(await store.has(S2)).toBe(false);
    });

    test('copied to another region: only missing chunks travel; a volume there has the same bytes', async () => {
      const r = await storage.copySnapshot({ fromRegion: 'us-east-1', snapshotId: S1, toRegion: 'eu-west-1', newSnapshotId: 'snap-0e000000000000011', accountId: ACCOUNT });
      expect(r.bytesCopied).toBeGreaterThanOrEqual(8 * 2 ** 20);
      const again = await storage.copySnapshot({ fromRegion: 'us-east-1', snapshotId: S1, toRegion: 'eu-west-1', newSnapshotId: 'snap-0e000000000000012', accountId: ACCOUNT });
      expect(again.bytesCopied).toBe(0);
      await storage.createVolume({ volumeId: V3, accountId: ACCOUNT, region: 'eu-west-1', sizeGiB: 2, snapshotId: 'snap-0e000000000000012', encrypted: false });
      expect(sha(vfile(V3), 8)).toBe(written);
      await volumes.delete(V3);
    });

    test('the root volume of a running instance (frozen for the clone); an instance booted from that snapshot', async () => {
      // Not synced: the freeze flushes it into the clone.
      inGuest(A, 'echo from-the-snapshot > /root/imaged');
      const rootSnap = 'snap-0e000000000000013';
      await storage.captureVolume({ volumeId: A.rootVolume!.volumeId, snapshotId: rootSnap });
      expect(existsSync(join(home, 'instances', A.instanceId, 'frozen'))).toBe(false); // the freeze's marker went with the thaw
      inGuest(A, 'echo too-late > /root/imaged; sync');
      await storage.snapshotVolume({ volumeId: A.rootVolume!.volumeId, snapshotId: rootSnap, region: 'us-east-1', accountId: ACCOUNT, encrypted: false });
      expect(inGuest(A, 'echo still-writable > /root/after; cat /root/after').trim()).toBe('still-writable'); // unfrozen
      const C = spec(5, { rootSnapshotId: rootSnap, rootVolume: { volumeId: 'vol-0e000000000000014', deviceName: '/dev/xvda', sizeGiB: 2 } });
      await driver.create(C);
      await driver.start(C.instanceId);
      await until('the init', () => inGuest(C, '[ -e /run/cumulo/init ] && echo ok; true').includes('ok'));
      expect(inGuest(C, 'cat /root/imaged').trim()).toBe('from-the-snapshot');
      expect(inGuest(C, 'df -k / | tail -1').split(/\s+/)[1]!).toMatch(/^\d+$/);
      expect(Number(inGuest(C, 'df -k / | tail -1').split(/\s+/)[1])).toBeGreaterThan(1.5 * 2 ** 20); // grown to 2 GiB
      await driver.delete(C.instanceId);
      await volumes.delete(C.rootVolume!.volumeId);
      await storage.deleteSnapshot('us-east-1', rootSnap);
    });

    test('a freeze a crash left on a running root: thawed when a driver starts on the home', async () => {
      const root = rootfs(A);
      const marker = join(home, 'instances', A.instanceId, 'frozen');
      // As a server SIGKILLed between fsfreeze -f and -u leaves it: the marker, and the root frozen.
      writeFileSync(marker, JSON.stringify({ path: root }));
      execFileSync('fsfreeze', ['-f', root]);
      try {
        expect(spawnSync('fsfreeze', ['-f', root]).status).not.toBe(0); // frozen: a second freeze is refused
        const next = new RuncDriver({ home, images, storage, network, stopTimeoutMs: 5_000, log: (l) => process.stderr.write(l + '\n') });
        await next.init();
        await next.close();
        expect(existsSync(marker)).toBe(false);
        expect(spawnSync('fsfreeze', ['-f', root]).status).toBe(0); // not frozen any more: it can be frozen again
        execFileSync('fsfreeze', ['-u', root]);
      } finally {
        spawnSync('fsfreeze', ['-u', root]); // never left frozen by this test
      }
      expect(inGuest(A, 'echo thawed > /root/thawed; sync; cat /root/thawed').trim()).toBe('thawed');
    });

    test('an encrypted volume: no plaintext on the host disk; live attach, detach, another instance, a new daemon; grown live; snapshot → volume', async () => {
      const VE = 'vol-0e000000000000020';
      const VF = 'vol-0e000000000000021';
      const SE = 'snap-0e000000000000020';
      const marker = `CUMULO-E6-MARKER-${Date.now()}`;
      const count = (file: string) => Number(execFileSync('sh', ['-c', `grep -a -c -F '${marker}' ${file} || true`], { encoding: 'utf8' }).trim() || 0);
      const daemons = () =>
        readdirSync('/proc')
          .filter((p) => /^\d+$/.test(p))
          .map((p) => {
            try {
              return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
            } catch {
              return '';
            }
          })
          .filter((c) => c.startsWith('qemu-storage-daemon') && c.includes(home));
      const fuse = () =>
        readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .filter((l) => l.includes(home) && / - fuse /.test(l));
      await storage.createVolume({ volumeId: VE, accountId: ACCOUNT, region: 'us-east-1', sizeGiB: 1, encrypted: true });
      expect(await volumes.isEncrypted(VE)).toBe(true);
      expect(daemons()).toEqual([]);
      await driver.attachVolume(A.instanceId, { volumeId: VE, device: '/dev/sdj', limits: { iops: 3000 } });
      expect(daemons()).toHaveLength(1);
      expect(inGuest(A, 'blockdev --getsize64 /dev/sdj').trim()).toBe(String(2 ** 30));
      expect(inGuest(A, 'head -c 1048576 /dev/sdj | tr -d "\\000" | wc -c').trim()).toBe('0'); // an empty volume reads as zeros
      inGuest(A, `printf '%s' '${marker}' | dd of=/dev/sdj bs=4096 seek=300 conv=sync,fsync 2>/dev/null`);
      const data = inGuest(A, 'dd if=/dev/urandom of=/dev/sdj bs=1M count=8 seek=16 conv=fsync 2>/dev/null; dd if=/dev/sdj bs=1M skip=16 count=8 2>/dev/null | sha256sum').split(
        ' ',
      )[0]!;
      expect(cg(A, 'blkio.throttle.read_iops_device')).toMatch(/^7:\d+ 3000$/m);
      expect(count(vfile(VE))).toBe(0);
      await driver.detachVolume(A.instanceId, VE);
      expect(inGuest(A, 'test -e /dev/sdj && echo there || echo gone').trim()).toBe('gone');
      expect(daemons()).toEqual([]);
      expect(fuse()).toEqual([]);
      expect(count(vfile(VE))).toBe(0);
      await driver.attachVolume(B.instanceId, { volumeId: VE, device: '/dev/xvdk', limits: {} });
      expect(inGuest(B, 'dd if=/dev/xvdk bs=1M skip=16 count=8 2>/dev/null | sha256sum').split(' ')[0]).toBe(data);
      expect(inGuest(B, `dd if=/dev/xvdk bs=4096 skip=300 count=1 2>/dev/null | head -c ${marker.length}`)).toBe(marker);
      await storage.resizeVolume(VE, 2);
      expect(inGuest(B, 'blockdev --getsize64 /dev/xvdk').trim()).toBe(String(2 * 2 ** 30));
      // Its snapshot: encrypted whatever is asked; a volume from it: encrypted, the same bytes.
      await storage.captureVolume({ volumeId: VE, snapshotId: SE });
      await storage.snapshotVolume({ volumeId: VE, snapshotId: SE, region: 'us-east-1', accountId: ACCOUNT, encrypted: false });
      const store = await storage.snapshots.of('us-east-1');
      expect((await store.info(SE))!.encrypted).toBe(true);
      await storage.createVolume({ volumeId: VF, accountId: ACCOUNT, region: 'us-east-1', sizeGiB: 3, snapshotId: SE, encrypted: true });
      expect(await volumes.isEncrypted(VF)).toBe(true);
      expect(count(vfile(VF))).toBe(0);
      await driver.attachVolume(A.instanceId, { volumeId: VF, device: '/dev/sdl', limits: {} });
      expect(inGuest(A, 'dd if=/dev/sdl bs=1M skip=16 count=8 2>/dev/null | sha256sum').split(' ')[0]).toBe(data);
      expect(inGuest(A, 'blockdev --getsize64 /dev/sdl').trim()).toBe(String(3 * 2 ** 30));
      // Stop and start: the daemon goes with the loop device, and comes back.
      await driver.stop(A.instanceId);
      expect(daemons().filter((c) => c.includes(VF))).toEqual([]);
      await driver.start(A.instanceId);
      expect(inGuest(A, 'dd if=/dev/sdl bs=1M skip=16 count=8 2>/dev/null | sha256sum').split(' ')[0]).toBe(data);
      await driver.detachVolume(A.instanceId, VF);
      await driver.detachVolume(B.instanceId, VE);
      expect(daemons()).toEqual([]);
      expect(fuse()).toEqual([]);
      // Grown while detached (the owner's key), then deleted.
      await storage.resizeVolume(VF, 4);
      await storage.deleteVolume(VE);
      await storage.deleteVolume(VF);
      await storage.deleteSnapshot('us-east-1', SE);
      expect(daemons()).toEqual([]);
    });

    test('an instance booted from an encrypted snapshot of a root volume: its root is encrypted at rest', async () => {
      inGuest(A, 'echo encrypted-root > /root/enc; sync');
      const rootSnap = 'snap-0e000000000000022';
      await storage.captureVolume({ volumeId: A.rootVolume!.volumeId, snapshotId: rootSnap });
      await storage.snapshotVolume({ volumeId: A.rootVolume!.volumeId, snapshotId: rootSnap, region: 'us-east-1', accountId: ACCOUNT, encrypted: true });
      const D = spec(6, { rootSnapshotId: rootSnap, rootVolume: { volumeId: 'vol-0e000000000000023', deviceName: '/dev/xvda', sizeGiB: 2 } });
      await driver.create(D);
      expect(await volumes.isEncrypted(D.rootVolume!.volumeId)).toBe(true);
      await driver.start(D.instanceId);
      await until('the init', () => inGuest(D, '[ -e /run/cumulo/init ] && echo ok; true').includes('ok'));
      expect(inGuest(D, 'cat /root/enc').trim()).toBe('encrypted-root');
      expect(Number(inGuest(D, 'df -k / | tail -1').split(/\s+/)[1])).toBeGreaterThan(1.5 * 2 ** 20); // grown to 2 GiB
      expect(execFileSync('sh', ['-c', `grep -a -c -F encrypted-root ${vfile(D.rootVolume!.volumeId)} || true`], { encoding: 'utf8' }).trim()).toBe('0');
      // Its own snapshot, of a write not synced: the freeze flushes it through the encrypted image.
      inGuest(D, 'echo unsynced-encrypted > /root/unsynced');
      const again = 'snap-0e000000000000024';
      const VR = 'vol-0e000000000000025';
      await storage.captureVolume({ volumeId: D.rootVolume!.volumeId, snapshotId: again });
      await storage.snapshotVolume({ volumeId: D.rootVolume!.volumeId, snapshotId: again, region: 'us-east-1', accountId: ACCOUNT, encrypted: true });
      await storage.createVolume({ volumeId: VR, accountId: ACCOUNT, region: 'us-east-1', sizeGiB: 2, snapshotId: again, encrypted: true });
      const check = join(home, 'check-unsynced');
      mkdirSync(check);
      await volumes.mount(VR, check, { key: async () => EBS_KEY });
      try {
        expect(readFileSync(join(check, 'root', 'unsynced'), 'utf8').trim()).toBe('unsynced-encrypted');
      } finally {
        await volumes.unmount(check);
      }
      await volumes.delete(VR);
      await storage.deleteSnapshot('us-east-1', again);
      await driver.delete(D.instanceId);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(D.rootVolume!.volumeId);
      await volumes.delete(D.rootVolume!.volumeId);
      await storage.deleteSnapshot('us-east-1', rootSnap);
    });

    test('detach from a stopped instance; volumes deleted', async () => {
      await driver.stop(B.instanceId);
      await driver.detachVolume(B.instanceId, V1);
      await driver.start(B.instanceId);
      expect(inGuest(B, 'test -e /dev/xvdg && echo there || echo gone').trim()).toBe('gone');
      await storage.deleteVolume(V1);
      await storage.deleteVolume(V2);
      await storage.deleteSnapshot('us-east-1', S1);
      expect(await volumes.exists(V1)).toBe(false);
    });
  });

  test('a create that fails half-way unwinds every step it took', async () => {
    // The network refuses the subnet's router address: after the volume was made and mounted.
    const bad = spec(3, { privateIp: '10.213.0.1', interfaces: [nic(3, '10.213.0.1')] });
    await expect(driver.create(bad)).rejects.toThrow(/router/);
    expect(await volumes.exists(bad.rootVolume!.volumeId)).toBe(false);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(bad.instanceId);
    expect(execFileSync('losetup', ['-a'], { encoding: 'utf8' })).not.toContain(bad.rootVolume!.volumeId);
    await driver.delete(bad.instanceId);
    expect(await driver.list()).not.toContain(bad.instanceId);
  });

  test('a container made and never started (a server killed between runc create and start) is created, not running; start removes it and boots; each boot has its own id', async () => {
    const C = spec(5);
    await driver.create(C);
    // What a killed server leaves: runc create done, runc start never run.
    const made = spawnSync('runc', ['--root', join(home, 'runc'), 'create', '--bundle', join(driver.instancesDir, C.instanceId), C.instanceId], { stdio: 'ignore' });
    expect(made.status).toBe(0);
    expect(await driver.inspect(C.instanceId)).toEqual({ state: 'created' });
    await driver.start(C.instanceId);
    const first = await driver.inspect(C.instanceId);
    expect(first).toMatchObject({ state: 'running', bootId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(inGuest(C, 'cat /proc/1/cmdline')).toContain('/sbin/init');
    await driver.reboot(C.instanceId);
    const second = await driver.inspect(C.instanceId);
    expect(second.state).toBe('running');
    expect(second.bootId).not.toBe(first.bootId);
    await driver.delete(C.instanceId);
    expect((await driver.inspect(C.instanceId)).state).toBe('missing');
  });

  test('an instance without interfaces is refused', async () => {
    await expect(driver.create(spec(4, { interfaces: [] }))).rejects.toThrow(/no network interface/);
    await driver.delete(spec(4).instanceId);
    expect(await driver.list()).not.toContain(spec(4).instanceId);
  });

  test('delete removes everything; deleting again is fine; a lost instance is missing', async () => {
    await driver.delete(B.instanceId);
    await driver.delete(B.instanceId);
    expect((await driver.inspect(B.instanceId)).state).toBe('missing');
    expect(await driver.list()).not.toContain(B.instanceId);
    expect(await instanceStore.list()).not.toContain(B.instanceId);
    // A's container vanishes behind the driver's back (a host reboot): missing, and start brings it back.
    await driver.start(A.instanceId);
    execFileSync('runc', ['--root', join(home, 'runc'), 'delete', '--force', A.instanceId]);
    await until('conmon to notice', async () => (await driver.inspect(A.instanceId)).state !== 'running');
    expect((await driver.inspect(A.instanceId)).state).toMatch(/missing|stopped/);
  });
});
