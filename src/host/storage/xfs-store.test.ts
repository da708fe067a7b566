// System test (root, real): the XFS volume store with real loop devices and mounts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requires } from '../../../test/requires.js';
import { listLoopDevicesUnder, loopDevicesLeftUnder, loopsOf } from './loop.js';
import { listMountsUnder, readMounts } from './mounts.js';
import { UntrustedFilesystemError } from './fsck.js';
import { XfsVolumeStore } from './xfs-store.js';

const needs = requires({ root: true, commands: ['losetup', 'mkfs.xfs', 'mkfs.ext4'] });
const GiB = 1024 ** 3;
// A loop device detached while another mount namespace holds a copy of its mount (made at that
// moment by a concurrent process, e.g. another test's container) is freed when that copy goes.
const released = { timeout: 10_000, interval: 50 };

needs.describe('XfsVolumeStore (root)', () => {
  let home: string;
  let store: XfsVolumeStore;
  let snapshot: string;
  const mnt = (name: string) => join(home, 'mnt', name);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'cumulo-xfs-'));
    store = new XfsVolumeStore({ home, sizeGiB: 64 });
    // An image's root snapshot, as the image store makes it: mkfs.ext4 -d of a folder.
    const rootfs = join(home, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'hostname'), 'from-the-snapshot\n');
    mkdirSync(join(home, 'images'));
    snapshot = join(home, 'images', 'root.raw');
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', rootfs, snapshot, '1G']);
  });

  afterAll(async () => {
    try {
      await store.close();
      expect(await loopDevicesLeftUnder(home)).toEqual([]);
      expect(await listMountsUnder(home)).toEqual([]);
    } finally {
      // Never leave the host dirty, even when close() failed.
      await scrub(home);
    }
  });

  it('init twice, and again from a new server: one loop device, one mount', async () => {
    await store.init();
    await store.init();
    await new XfsVolumeStore({ home, sizeGiB: 64 }).init(); // a restarted server finds the mount
    expect(await loopsOf(store.storeFile)).toHaveLength(1);
    const mounts = (await readMounts()).filter((m) => m.mountPoint === store.dir);
    expect(mounts.map((m) => m.fsType)).toEqual(['xfs']);
    expect(statSync(store.storeFile).size).toBe(64 * GiB);
    expect(statSync(store.storeFile).blocks * 512).toBeLessThan(256 * 1024 ** 2); // sparse
  });

  it('a killed server left the loop device but not the mount: init mounts it, with no second loop', async () => {
    const [loop] = await loopsOf(store.storeFile);
    execFileSync('umount', [store.dir]);
    const again = new XfsVolumeStore({ home, sizeGiB: 64 });
    await again.init();
    expect((await loopsOf(store.storeFile)).map((l) => l.device)).toEqual([loop.device]);
    expect((await readMounts()).filter((m) => m.mountPoint === store.dir)).toHaveLength(1);
  });

  it('raising the size grows the store', async () => {
    await new XfsVolumeStore({ home, sizeGiB: 80 }).init();
    expect(statSync(store.storeFile).size).toBe(80 * GiB);
    expect(statfsSync(store.dir).blocks * statfsSync(store.dir).bsize).toBeGreaterThan(79 * GiB);
  });

  it('a volume from a snapshot: mount, write, unmount, remount, read back', async () => {
    await store.createFromSnapshot('vol-0000000000000001', snapshot, 1);
    expect(await store.exists('vol-0000000000000001')).toBe(true);
    await store.mount('vol-0000000000000001', mnt('a'));
    await store.mount('vol-0000000000000001', mnt('a')); // idempotent
    expect((await readMounts()).filter((m) => m.mountPoint === mnt('a'))).toHaveLength(1);
    expect(readFileSync(join(mnt('a'), 'etc', 'hostname'), 'utf8')).toBe('from-the-snapshot\n');
    writeFileSync(join(mnt('a'), 'data'), 'kept');
    await store.unmount(mnt('a'));
    expect((await readMounts()).some((m) => m.mountPoint === mnt('a'))).toBe(false);
    await expect.poll(() => loopsOf(join(store.dir, 'vol-0000000000000001.raw')), released).toEqual([]); // detached with the unmount
    await store.unmount(mnt('a')); // idempotent
    await store.mount('vol-0000000000000001', mnt('a'));
    expect(readFileSync(join(mnt('a'), 'data'), 'utf8')).toBe('kept');
    await store.unmount(mnt('a'));
  });

  it('the snapshot is copied into the store once, and volumes are reflink clones', async () => {
    await store.createFromSnapshot('vol-0000000000000002', snapshot, 1);
    expect(readdirSync(store.snapshotsDir).filter((n) => n.startsWith('root-'))).toHaveLength(1);
    // copy-on-write: cloning a 1 GiB volume takes no space of its own
    const st = statSync(join(store.dir, 'vol-0000000000000002.raw'));
    expect(st.size).toBe(GiB);
  });

  it('grows the volume and its filesystem to the requested size', async () => {
    await store.createFromSnapshot('vol-0000000000000003', snapshot, 8);
    expect(statSync(join(store.dir, 'vol-0000000000000003.raw')).size).toBe(8 * GiB);
    await store.mount('vol-0000000000000003', mnt('big'));
    const fs = statfsSync(mnt('big'));
    expect(fs.blocks * fs.bsize).toBeGreaterThan(7.5 * GiB);
    expect(readFileSync(join(mnt('big'), 'etc', 'hostname'), 'utf8')).toBe('from-the-snapshot\n');
    await store.unmount(mnt('big'));
  });

  it('two volumes from one snapshot are independent (copy-on-write)', async () => {
    await store.mount('vol-0000000000000001', mnt('a'));
    await store.mount('vol-0000000000000002', mnt('b'));
    writeFileSync(join(mnt('b'), 'etc', 'hostname'), 'changed-in-b\n');
    writeFileSync(join(mnt('b'), 'only-b'), 'b');
    expect(readFileSync(join(mnt('a'), 'etc', 'hostname'), 'utf8')).toBe('from-the-snapshot\n');
    expect(existsSync(join(mnt('a'), 'only-b'))).toBe(false);
    await store.unmount(mnt('a'));
    await store.unmount(mnt('b'));
    await store.createFromSnapshot('vol-0000000000000004', snapshot, 1);
    await store.mount('vol-0000000000000004', mnt('c'));
    expect(readFileSync(join(mnt('c'), 'etc', 'hostname'), 'utf8')).toBe('from-the-snapshot\n');
    await store.unmount(mnt('c'));
  });

  it('attach is idempotent; detach refuses while mounted', async () => {
    const a = await store.attach('vol-0000000000000004');
    const b = await store.attach('vol-0000000000000004');
    expect(b.device).toBe(a.device);
    expect(a.device).toMatch(/^\/dev\/loop\d+$/);
    await store.mount('vol-0000000000000004', mnt('d'));
    await expect(store.detach('vol-0000000000000004')).rejects.toThrow(/mounted at/);
    await store.unmount(mnt('d'));
    await store.detach('vol-0000000000000004');
    await store.detach('vol-0000000000000004');
    await expect.poll(() => loopsOf(join(store.dir, 'vol-0000000000000004.raw')), released).toEqual([]);
  });

  it('an empty volume is a sparse raw file', async () => {
    await store.createEmpty('vol-00000000000000e0', 16);
    const st = statSync(join(store.dir, 'vol-00000000000000e0.raw'));
    expect(st.size).toBe(16 * GiB);
    expect(st.blocks).toBe(0);
    const { device } = await store.attach('vol-00000000000000e0');
    expect(Number(readFileSync(`/sys/block/${device.slice(5)}/size`, 'utf8')) * 512).toBe(16 * GiB);
    await store.delete('vol-00000000000000e0');
  });

  it('delete unmounts, detaches and frees the space', async () => {
    await store.createFromSnapshot('vol-00000000000000d0', snapshot, 2);
    await store.mount('vol-00000000000000d0', mnt('del'));
    writeFileSync(join(mnt('del'), 'blob'), Buffer.alloc(64 * 1024 ** 2, 7));
    execFileSync('sync');
    const used = () => {
      const s = statfsSync(store.dir);
      return (s.blocks - s.bfree) * s.bsize;
    };
    const before = used();
    await store.delete('vol-00000000000000d0');
    expect(await store.exists('vol-00000000000000d0')).toBe(false);
    expect((await readMounts()).some((m) => m.mountPoint === mnt('del'))).toBe(false);
    await expect.poll(async () => (await listLoopDevicesUnder(home)).filter((l) => l.backingFile.includes('vol-00000000000000d0')), released).toEqual([]);
    // XFS frees a deleted file's blocks in the background (inode GC, online discard).
    await expect.poll(() => before - used(), { timeout: 10_000, interval: 100 }).toBeGreaterThan(48 * 1024 ** 2);
    await store.delete('vol-00000000000000d0'); // idempotent
  });

  it('a failed create unwinds: missing snapshot, corrupt snapshot, too small', async () => {
    const leftovers = () => readdirSync(store.dir).filter((n) => n.startsWith('vol-00000000000000f'));
    await expect(store.createFromSnapshot('vol-00000000000000f1', join(home, 'images', 'nope.raw'), 1)).rejects.toThrow(/does not exist/);
    // ext4's magic and nothing else: the copy and the clone succeed, growing the filesystem fails.
    const corrupt = join(home, 'images', 'corrupt.raw');
    const bytes = Buffer.alloc(1024 ** 2);
    bytes.writeUInt16LE(0xef53, 1024 + 0x38);
    writeFileSync(corrupt, bytes);
    await expect(store.createFromSnapshot('vol-00000000000000f2', corrupt, 1)).rejects.toThrow(/e2fsck/); // checked on its way in
    expect(readdirSync(store.snapshotsDir).filter((n) => n.startsWith('corrupt'))).toEqual([]);
    // Already on the store, it is cloned as it is: the clone is made, then growing it fails.
    const onStore = join(store.snapshotsDir, 'corrupt-in-store.raw');
    writeFileSync(onStore, bytes);
    await expect(store.createFromSnapshot('vol-00000000000000f4', onStore, 1)).rejects.toThrow(/resize2fs|e2fsck/);
    rmSync(onStore);
    await expect(store.createFromSnapshot('vol-00000000000000f3', snapshot, 0)).rejects.toThrow(/invalid volume size/);
    await expect(store.createFromSnapshot('../escape', snapshot, 1)).rejects.toThrow(/invalid volume id/);
    expect(leftovers()).toEqual([]);
    expect((await listLoopDevicesUnder(store.dir)).map((l) => l.backingFile).filter((f) => f.includes('vol-00000000000000f'))).toEqual([]);
  });

  it('a snapshot smaller than its 1 KiB-block filesystem needs still mounts (buffered loop)', async () => {
    const small = join(home, 'images', 'small.raw');
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', join(home, 'rootfs'), small, '100M']);
    await store.createFromSnapshot('vol-00000000000000c1', small, 1);
    await store.mount('vol-00000000000000c1', mnt('small'));
    expect(readFileSync(join(mnt('small'), 'etc', 'hostname'), 'utf8')).toBe('from-the-snapshot\n');
    await store.unmount(mnt('small'));
  });

  it('trusts volumes of built-in images; checks one written raw or restored before mounting it', async () => {
    const [a1, a2, a3, a4] = ['vol-00000000000000a1', 'vol-00000000000000a2', 'vol-00000000000000a3', 'vol-00000000000000a4'];
    const records = (v: string) => ['trusted', 'growfs'].filter((k) => existsSync(`${store.fileOf(v)}.${k}`));
    // Built from the image artifact: trusted at once.
    await store.createFromSnapshot(a1, snapshot, 1);
    expect(await store.isTrusted(a1)).toBe(true);
    // A block device of an instance: whatever it holds from now on was written raw.
    await store.attachDevice(a1);
    expect(await store.isTrusted(a1)).toBe(false);
    const busy = await store.mount(a1, mnt('t1')).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(UntrustedFilesystemError);
    expect((busy as UntrustedFilesystemError).reason).toMatch(/in use as a block device/);
    await store.detach(a1);
    await expect.poll(() => loopsOf(store.fileOf(a1)), released).toEqual([]);
    // What a tenant wrote: its root inode cleared. Refused with e2fsck's reason; nothing left mounted or attached.
    execFileSync('debugfs', ['-w', '-R', 'clri <2>', store.fileOf(a1)], { stdio: 'ignore' });
    const bad = await store.mount(a1, mnt('t1')).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UntrustedFilesystemError);
    expect(bad).toMatchObject({ volumeId: a1, reason: expect.stringMatching(/exit 4.*Root inode is not a directory/) });
    expect((await readMounts()).some((m) => m.mountPoint === mnt('t1'))).toBe(false);
    expect(await loopsOf(store.fileOf(a1))).toEqual([]);
    expect(await store.isTrusted(a1)).toBe(false);

    // Attached raw and left intact: checked once at its next mount, trusted from then on.
    await store.createFromSnapshot(a2, snapshot, 1);
    await store.attachDevice(a2);
    await store.detach(a2);
    await expect.poll(() => loopsOf(store.fileOf(a2)), released).toEqual([]);
    await store.mount(a2, mnt('t2'));
    expect(readFileSync(join(mnt('t2'), 'etc', 'hostname'), 'utf8')).toBe('from-the-snapshot\n');
    expect(await store.isTrusted(a2)).toBe(true);
    await store.unmount(mnt('t2'));

    // Restored from a smaller snapshot (a block-store restore): untrusted, its ext4 not grown yet;
    // the check at its mount passes, then the filesystem grows (in the sandbox too).
    const small = join(home, 'images', 'restored.raw');
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', join(home, 'rootfs'), small, '64M']);
    await store.createWith(a3, 2, async (tmp) => void execFileSync('cp', ['--sparse=always', small, tmp]));
    expect(await store.isTrusted(a3)).toBe(false);
    expect(records(a3)).toEqual(['growfs']);
    expect(execFileSync('dumpe2fs', ['-h', store.fileOf(a3)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toMatch(/Block count:\s+65536/); // 64 MiB of 1 KiB blocks
    await store.mount(a3, mnt('t3'));
    const fs = statfsSync(mnt('t3'));
    expect(fs.blocks * fs.bsize).toBeGreaterThan(1.8 * GiB);
    expect(readFileSync(join(mnt('t3'), 'etc', 'hostname'), 'utf8')).toBe('from-the-snapshot\n');
    expect(records(a3)).toEqual(['trusted']);
    await store.unmount(mnt('t3'));
    await store.ensureTrusted(a3); // trusted: a stat

    // Restored bytes that are no filesystem at all.
    await store.createWith(a4, 1, async (tmp) => writeFileSync(tmp, Buffer.alloc(2 ** 20, 0xab)));
    await expect(store.ensureTrusted(a4)).rejects.toThrow(/not an ext2\/3\/4 filesystem/);
    expect((await listLoopDevicesUnder(store.dir)).filter((l) => /vol-00000000000000a/.test(l.backingFile))).toEqual([]);

    for (const v of [a1, a2, a3, a4]) {
      await store.delete(v);
      expect(records(v)).toEqual([]);
    }
  });

  it('close() leaves no loop device and no mount; init() brings the store back', async () => {
    await store.mount('vol-0000000000000001', mnt('a'));
    await store.attach('vol-0000000000000002');
    await store.close();
    expect(await loopDevicesLeftUnder(home)).toEqual([]);
    expect(await listMountsUnder(home)).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(home);
    await store.init();
    await store.mount('vol-0000000000000001', mnt('a'));
    expect(readFileSync(join(mnt('a'), 'data'), 'utf8')).toBe('kept');
  });
});

needs.describe('XfsVolumeStore after a SIGKILL of the server (root)', () => {
  let home: string;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'cumulo-xfs-kill-'));
  });

  afterAll(async () => {
    try {
      await new XfsVolumeStore({ home }).close();
      expect(await loopDevicesLeftUnder(home)).toEqual([]);
      expect(await listMountsUnder(home)).toEqual([]);
    } finally {
      await scrub(home);
    }
  });

  it('a new server adopts the store, its loop devices and mounts, and drops half-made files', async () => {
    const rootfs = join(home, 'rootfs');
    mkdirSync(rootfs);
    writeFileSync(join(rootfs, 'hello'), 'hi');
    const snap = join(home, 'snap.raw');
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', rootfs, snap, '1G']);
    const target = join(home, 'instances', 'i-1', 'rootfs');
    // The server: makes the store, a mounted root volume and an attached one, then is killed.
    const script = join(home, 'server.mts');
    writeFileSync(
      script,
      `import { XfsVolumeStore } from ${JSON.stringify(new URL('./xfs-store.ts', import.meta.url).href)};
const s = new XfsVolumeStore({ home: ${JSON.stringify(home)}, sizeGiB: 16 });
await s.createFromSnapshot('vol-k1', ${JSON.stringify(snap)}, 1);
await s.mount('vol-k1', ${JSON.stringify(target)});
await s.createFromSnapshot('vol-k2', ${JSON.stringify(snap)}, 2);
await s.attach('vol-k2');
process.stdout.write('ready\\n');
setInterval(() => undefined, 1000);
`,
    );
    // One process (node --import tsx), not the tsx CLI, which would leave its node child running.
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok, fail) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && ok());
      child.on('exit', (code) => fail(new Error(`server exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((ok) => child.once('exit', ok));
    // A create the kill interrupted left its temporary file.
    writeFileSync(join(home, 'volumes', 'vol-k3.raw.tmp'), 'half');

    const store = new XfsVolumeStore({ home, sizeGiB: 16 });
    await store.init();
    expect(await loopsOf(store.storeFile)).toHaveLength(1);
    expect(existsSync(join(store.dir, 'vol-k3.raw.tmp'))).toBe(false);
    expect(await store.list()).toEqual(['vol-k1', 'vol-k2']);
    const k1 = await loopsOf(join(store.dir, 'vol-k1.raw'));
    expect(k1).toHaveLength(1);
    await store.mount('vol-k1', target); // already mounted: adopted, not mounted twice
    expect((await readMounts()).filter((m) => m.mountPoint === target)).toHaveLength(1);
    expect((await store.attach('vol-k1')).device).toBe(k1[0].device);
    expect(readFileSync(join(target, 'hello'), 'utf8')).toBe('hi');
    const [k2] = await loopsOf(join(store.dir, 'vol-k2.raw'));
    expect((await store.attach('vol-k2')).device).toBe(k2.device);
    await store.close();
    expect(await loopDevicesLeftUnder(home)).toEqual([]);
    expect(await listMountsUnder(home)).toEqual([]);
  });
});

/** Last resort after a failed test: leave the host clean whatever state the store is in. */
async function scrub(home: string): Promise<void> {
  for (const m of (await listMountsUnder(home)).reverse()) spawnSync('umount', ['-l', m.mountPoint]);
  for (const l of await listLoopDevicesUnder(home)) spawnSync('losetup', ['-d', l.device]);
  rmSync(home, { recursive: true, force: true });
}
