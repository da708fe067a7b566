// System test (root): the runc driver on its own, with the real volume store, instance store and
// host network, booting a tiny busybox image with the guest init (made here in a second, so that
// this test does not wait for the built-in images). No control plane: the driver's own contract.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ImageStore } from '../../images/store.js';
import { LinuxHostNetwork } from '../../network/linux.js';
import { InstanceStoreDisks } from '../../storage/instance-store.js';
import { XfsVolumeStore } from '../../storage/xfs-store.js';
import type { InterfaceSpec, VpcSpec } from '../../network/vpc-spec.js';
import type { InstanceSpec } from '../driver.js';
import { RuncDriver } from './driver.js';

const here = dirname(fileURLToPath(import.meta.url));
const guest = join(here, '..', '..', 'images', 'guest');
const canRun =
  process.getuid?.() === 0 &&
  ['runc', 'conmon', 'ip', 'nft', 'mkfs.ext4', 'mkfs.xfs', 'busybox'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0) &&
  existsSync(join(guest, 'init.sh'));

/** busybox, the guest init and its shutdown commands: enough to boot, reboot and power off. */
function tinyImage(dir: string): string {
  const root = join(dir, 'root');
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'var/log', 'var/lib', 'mnt', 'usr/bin', 'usr/sbin']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim(), join(root, 'bin', 'busybox'));
  execFileSync('chroot', [root, '/bin/busybox', '--install', '-s']);
  for (const cmd of ['poweroff', 'reboot', 'halt', 'init']) rmSync(join(root, 'sbin', cmd), { force: true });
  copyFileSync(join(guest, 'init.sh'), join(root, 'sbin', 'init'));
  for (const cmd of ['poweroff', 'reboot', 'halt']) copyFileSync(join(guest, 'shutdown.sh'), join(root, 'sbin', cmd));
  execFileSync('chmod', ['755', join(root, 'sbin', 'init'), join(root, 'sbin', 'poweroff'), join(root, 'sbin', 'reboot'), join(root, 'sbin', 'halt')]);
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(root, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\n');
  const image = join(dir, 'tiny.raw');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', root, image, '64M']);
  return image;
}

describe.skipIf(!canRun)('RuncDriver (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-runc-'));
  let snapshot = '';
  let volumes: XfsVolumeStore;
  let network: LinuxHostNetwork;
  let instanceStore: InstanceStoreDisks;
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
        routes: [{ destination: '10.213.0.0/16', target: 'local', targetId: 'local' }, { destination: '0.0.0.0/0', target: 'internet-gateway', targetId: 'igw-0d00000000000000d' }],
        networkAcl: { networkAclId: 'acl-0d00000000000000d', entries: [{ ruleNumber: 100, egress: false, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' }, { ruleNumber: 100, egress: true, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' }] },
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
    ...over,
  });
  const A = spec(1, { userData: Buffer.from('#!/bin/sh\necho user-data-ran-$(id -u) > /root/ud\n') });
  const B = spec(2, { instanceType: 'm5d.large', instanceStore: [{ count: 1, sizeGiB: 1, type: 'ssd' }] });

  const rootfs = (s: InstanceSpec) => join(home, 'instances', s.instanceId, 'rootfs');
  const inGuest = (s: InstanceSpec, cmd: string) => execFileSync('runc', ['--root', join(home, 'runc'), 'exec', s.instanceId, 'sh', '-c', cmd], { encoding: 'utf8' });
  async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > end) {
        process.stderr.write(execFileSync('sh', ['-c', `ls -la ${home}/runc-exits; cat ${home}/runc-exits/* ; runc --root ${home}/runc list; tail -20 ${home}/instances/*/console.log`], { encoding: 'utf8' }));
        throw new Error(`timed out waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    snapshot = tinyImage(home);
    volumes = new XfsVolumeStore({ home, sizeGiB: 8 });
    network = new LinuxHostNetwork({ home, imdsPort: 9, dnsPort: 9, publicPool: pool, egress: false });
    instanceStore = new InstanceStoreDisks({ home });
    driver = new RuncDriver({ home, images, volumes, network, instanceStore, stopTimeoutMs: 5_000, log: (l) => process.stderr.write(l + '\n') });
    driver.onExit((id) => exits.push(id));
    await driver.init();
  });

  afterAll(async () => {
    await driver?.removeVpc(VPC).catch(() => undefined);
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
    await driver.applyVpc(vpcSpec(A.interfaces!));
    expect(await driver.vpcsPresent()).toEqual([VPC]);
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
    await until('the init', () => inGuest(A, 'cat /run/cumulo/ready; echo ok').includes('ok'));
    expect(readFileSync(join(rootfs(A), 'root', 'marker'), 'utf8')).toBe('again\n');
    expect(existsSync(join(rootfs(A), 'root', 'ud'))).toBe(false);
    expect(exits).not.toContain(A.instanceId);
  });

  test('poweroff inside: stopped, reported; stop lets go; start boots the same root volume', async () => {
    inGuest(A, '/sbin/poweroff');
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
    let t = performance.now();
    await driver.stop(A.instanceId);
    expect(performance.now() - t).toBeLessThan(4_000);
    expect((await driver.inspect(A.instanceId)).state).toBe('stopped');
    // The guest init said goodbye: it was asked, not killed.
    expect((await driver.consoleOutput(A.instanceId)).toString().split('cumulo-init: booting').pop()).toMatch(/cumulo-init: .*(stop|power)/);
    await driver.start(A.instanceId);
    await until('the init', () => inGuest(A, 'cat /run/cumulo/ready; echo ok').includes('ok'));
    // A guest that does not shut down: its init frozen from the host (inside, PID 1 cannot be stopped).
    execFileSync('kill', ['-STOP', readFileSync(join(home, 'instances', A.instanceId, 'init.pid'), 'utf8').trim()]);
    t = performance.now();
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
