// System test (root, real): instance-store disks as sparse files behind loop devices.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requires } from '../../../test/requires.js';
import { InstanceStoreDisks } from './instance-store.js';
import { ext4BlockSize, listLoopDevicesUnder, loopDevicesLeftUnder } from './loop.js';
import { listMountsUnder } from './mounts.js';

const needs = requires({ root: true, commands: ['losetup', 'mkfs.xfs', 'mkfs.ext4'] });
const GiB = 1024 ** 3;

needs.describe('InstanceStoreDisks (root)', () => {
  let home: string;
  let disks: InstanceStoreDisks;
  const id = 'i-0123456789abcdef0';
  const mnt = () => join(home, 'mnt');

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'cumulo-istore-'));
    disks = new InstanceStoreDisks({ home });
    mkdirSync(mnt());
  });

  afterAll(async () => {
    try {
      await disks.close();
      expect(await loopDevicesLeftUnder(home)).toEqual([]);
      expect(await listMountsUnder(home)).toEqual([]);
    } finally {
      await scrub(home);
    }
  });

  it('creates the disks of the type: sparse, the first formatted ext4, one loop device each', async () => {
    const devices = await disks.create(id, [{ count: 2, sizeGiB: 8, type: 'ssd' }]);
    expect(devices).toHaveLength(2);
    for (const d of devices) expect(d).toMatch(/^\/dev\/loop\d+$/);
    expect(new Set(devices).size).toBe(2);
    const first = join(disks.dir, id, 'ephemeral0.raw');
    expect(statSync(first).size).toBe(8 * GiB);
    expect(statSync(first).blocks * 512).toBeLessThan(64 * 1024 ** 2);
    expect(await ext4BlockSize(first)).toBe(4096);
    expect(await ext4BlockSize(join(disks.dir, id, 'ephemeral1.raw'))).toBeUndefined(); // raw, as EC2 hands it out
    expect(await disks.list()).toEqual([id]);
  });

  it('data survives a reboot (create again reuses the disks and their loop devices)', async () => {
    const [dev] = await disks.create(id, [{ count: 2, sizeGiB: 8, type: 'ssd' }]);
    execFileSync('mount', ['-t', 'ext4', dev, mnt()]);
    writeFileSync(join(mnt(), 'scratch'), 'survives reboot');
    execFileSync('umount', [mnt()]);
    const again = await disks.create(id, [{ count: 2, sizeGiB: 8, type: 'ssd' }]);
    expect(again[0]).toBe(dev);
    // a restarted server (new helper, loops still there) finds the same devices
    expect(await new InstanceStoreDisks({ home }).create(id, [{ count: 2, sizeGiB: 8, type: 'ssd' }])).toEqual(again);
    execFileSync('mount', ['-t', 'ext4', again[0], mnt()]);
    expect(readFileSync(join(mnt(), 'scratch'), 'utf8')).toBe('survives reboot');
  });

  it('destroy (stop, terminate) unmounts, detaches and deletes; a new create starts empty', async () => {
    await disks.destroy(id); // still mounted at mnt(): destroy unmounts it
    expect(existsSync(join(disks.dir, id))).toBe(false);
    expect(await loopDevicesLeftUnder(home)).toEqual([]);
    expect(await listMountsUnder(home)).toEqual([]);
    await disks.destroy(id); // idempotent
    const [dev] = await disks.create(id, [{ count: 1, sizeGiB: 8, type: 'ssd' }]);
    execFileSync('mount', ['-t', 'ext4', dev, mnt()]);
    expect(existsSync(join(mnt(), 'scratch'))).toBe(false);
    execFileSync('umount', [mnt()]);
    await disks.destroy(id);
  });

  it('a set a killed server left half-made is made again', async () => {
    const dir = join(disks.dir, 'i-00000000000000001');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ephemeral0.raw'), 'half');
    const devices = await disks.create('i-00000000000000001', [{ count: 1, sizeGiB: 4, type: 'hdd' }]);
    expect(devices).toHaveLength(1);
    expect(await ext4BlockSize(join(dir, 'ephemeral0.raw'))).toBe(4096);
    await disks.destroy('i-00000000000000001');
  });

  // How long they take is bench:storage's.
  it('the largest disks (i3en.24xlarge: 8 × 7500 GiB) are made sparse: filesystem metadata only', async () => {
    const devices = await disks.create('i-0000000000000big0', [{ count: 8, sizeGiB: 7500, type: 'ssd' }]);
    expect(devices).toHaveLength(8);
    const size = Number(readFileSync(`/sys/block/${devices[7].slice(5)}/size`, 'utf8')) * 512;
    expect(size).toBe(7500 * GiB);
    // ext4's metadata of a 7500 GiB filesystem, lazily initialised: about 100 MiB, the rest holes
    expect(statSync(join(disks.dir, 'i-0000000000000big0', 'ephemeral0.raw')).blocks * 512).toBeLessThan(256 * 1024 ** 2);
    expect(statSync(join(disks.dir, 'i-0000000000000big0', 'ephemeral7.raw')).blocks).toBe(0);
    await disks.destroy('i-0000000000000big0');
  });

  it('a failed create unwinds: no file, no loop device left', async () => {
    // The second disk is larger than the host's ext4 allows in one file (16 TiB): the first,
    // already made and formatted, goes too.
    await expect(
      disks.create('i-00000000000000003', [
        { count: 1, sizeGiB: 8, type: 'ssd' },
        { count: 1, sizeGiB: 20_000, type: 'ssd' },
      ]),
    ).rejects.toThrow();
    expect(existsSync(join(disks.dir, 'i-00000000000000003'))).toBe(false);
    expect(await listLoopDevicesUnder(disks.dir)).toEqual([]);
  });

  it('no disks for EBS-only types; bad ids refused', async () => {
    expect(await disks.create('i-00000000000000002', [])).toEqual([]);
    await expect(disks.create('../x', [{ count: 1, sizeGiB: 1, type: 'ssd' }])).rejects.toThrow(/invalid instance id/);
  });
});

/** Last resort after a failed test: leave the host clean whatever state the store is in. */
async function scrub(home: string): Promise<void> {
  for (const m of (await listMountsUnder(home)).reverse()) spawnSync('umount', ['-l', m.mountPoint]);
  for (const l of await listLoopDevicesUnder(home)) spawnSync('losetup', ['-d', l.device]);
  rmSync(home, { recursive: true, force: true });
}
