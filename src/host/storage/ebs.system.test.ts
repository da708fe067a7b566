// System test (root, real): what EBS adds to the XFS volume store — volumes restored from a region's
// block store, live growth seen through the loop device, point-in-time clones for snapshots.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requires } from '../../../test/requires.js';
import { UntrustedFilesystemError } from './fsck.js';
import { loopDevicesLeftUnder } from './loop.js';
import { RegionSnapshotStores } from './snapshots.js';
import { XfsVolumeStore } from './xfs-store.js';

const needs = requires({ root: true, commands: ['losetup', 'mkfs.xfs', 'mkfs.ext4'] });
const GiB = 1024 ** 3;
const sha = (file: string, bytes: number) => execFileSync('sh', ['-c', `head -c ${bytes} ${file} | sha256sum`], { encoding: 'utf8' }).split(' ')[0];

needs.describe('XfsVolumeStore for EBS (root)', () => {
  let home: string;
  let store: XfsVolumeStore;
  let regions: RegionSnapshotStores;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'cumulo-ebs-'));
    store = new XfsVolumeStore({ home, sizeGiB: 16 });
    regions = new RegionSnapshotStores(store);
    await store.init();
  });

  afterAll(async () => {
    try {
      await store.close();
      expect(await loopDevicesLeftUnder(home)).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('keeps one block store per region inside the XFS, and refuses odd region names', async () => {
    const a = await regions.of('us-east-1');
    expect(a.dir).toBe(join(store.dir, 'blocks', 'us-east-1'));
    expect(await regions.of('us-east-1')).toBe(a);
    expect(await a.canReflink()).toBe(true);
    await expect(regions.of('../x')).rejects.toThrow(/invalid region/);
  });

  it('grows a volume live: its loop device reports the new size; never shrinks', async () => {
    await store.createEmpty('vol-1', 1);
    const { device, devNo } = await store.attachDevice('vol-1');
    expect(devNo).toMatch(/^7:\d+$/);
    expect(await store.attachDevice('vol-1')).toEqual({ device, devNo });
    expect(execFileSync('blockdev', ['--getsize64', device], { encoding: 'utf8' }).trim()).toBe(String(GiB));
    await store.resize('vol-1', 3);
    expect(execFileSync('blockdev', ['--getsize64', device], { encoding: 'utf8' }).trim()).toBe(String(3 * GiB));
    await store.resize('vol-1', 3);
    await expect(store.resize('vol-1', 2)).rejects.toThrow(/cannot shrink/);
    await expect(store.resize('vol-missing', 2)).rejects.toThrow(/does not exist/);
    await store.detach('vol-1');
  });

  it('snapshot of a point-in-time clone, restored into a bigger volume: same bytes, its extents shared with the snapshot (a reflink, no copy)', async () => {
    const file = store.fileOf('vol-1');
    execFileSync('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', 'count=16', 'seek=100', 'conv=notrunc', 'status=none']);
    const want = execFileSync('sh', ['-c', `dd if=${file} bs=1M skip=100 count=16 status=none | sha256sum`], { encoding: 'utf8' });
    let quiesced = 0;
    const clone = await store.captureForSnapshot('vol-1', 'snap-1', async (fn) => {
      quiesced++;
      return fn();
    });
    expect(quiesced).toBe(1);
    // The volume goes on being written: the clone keeps the instant.
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=1', 'seek=100', 'conv=notrunc', 'status=none']);
    // Kept under the snapshot's id across a restart of the store (a half-made one is not).
    writeFileSync(`${clone}.tmp`, 'half-made');
    const again = new XfsVolumeStore({ home, sizeGiB: 16 }); // the same store, as a restarted server opens it
    await again.init();
    expect(await again.captureOf('snap-1')).toBe(clone);
    expect(await again.captures()).toEqual(['snap-1']);
    expect(existsSync(`${clone}.tmp`)).toBe(false);
    expect(await again.captureOf('snap-9')).toBeUndefined();
    const blocks = await regions.of('us-east-1');
    await blocks.snapshot('snap-1', clone);
    await again.dropCapture('snap-1');
    expect(await store.captures()).toEqual([]);
    // How long this takes is bench:ebs's (a); here, that it copied nothing: the data's extents are shared.
    await store.createWith('vol-2', 4, (tmp) => blocks.restore('snap-1', tmp, 3 * GiB).then(() => undefined));
    expect(execFileSync('filefrag', ['-v', store.fileOf('vol-2')], { encoding: 'utf8' })).toMatch(/\bshared\b/);
    expect(statSync(store.fileOf('vol-2')).size).toBe(4 * GiB);
    expect(execFileSync('sh', ['-c', `dd if=${store.fileOf('vol-2')} bs=1M skip=100 count=16 status=none | sha256sum`], { encoding: 'utf8' })).toBe(want);
    // Idempotent: an existing volume is left as it is.
    await store.createWith('vol-2', 4, () => Promise.reject(new Error('not called')));
    // Smaller than the snapshot: refused, and nothing left behind.
    await expect(store.createWith('vol-3', 1, (tmp) => blocks.restore('snap-1', tmp, 3 * GiB).then(() => undefined))).rejects.toThrow(/smaller than its snapshot/);
    expect(existsSync(store.fileOf('vol-3'))).toBe(false);
    expect(existsSync(`${store.fileOf('vol-3')}.tmp`)).toBe(false);
    // And copied to another region's store.
    const eu = await regions.of('eu-west-1');
    expect(await blocks.copyTo(eu, 'snap-1')).toBeGreaterThanOrEqual(16 * 2 ** 20);
    await store.createWith('vol-3', 3, (tmp) => eu.restore('snap-1', tmp, 3 * GiB).then(() => undefined));
    expect(sha(store.fileOf('vol-3'), 128 * 2 ** 20)).toBe(sha(store.fileOf('vol-2'), 128 * 2 ** 20));
    for (const v of ['vol-1', 'vol-2', 'vol-3']) await store.delete(v);
  });
});

// Encrypted volumes: a qcow2 image with LUKS encryption on the host's disk, its plaintext exported
// by a qemu-storage-daemon as a FUSE file, the loop device over that file.
needs.describe('encrypted volumes at rest (root)', () => {
  let home: string;
  let store: XfsVolumeStore;
  let regions: RegionSnapshotStores;
  const key = Buffer.alloc(32, 7);
  const keySource = () => Promise.resolve(key);
  const marker = `CUMULO-PLAINTEXT-MARKER-${Date.now()}`;
  const devSha = (device: string, skipMiB: number, countMiB: number) =>
    execFileSync('sh', ['-c', `dd if=${device} bs=1M skip=${skipMiB} count=${countMiB} iflag=direct status=none | sha256sum`], { encoding: 'utf8' }).split(' ')[0];
  const daemonsUnder = (dir: string) =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
        } catch {
          return '';
        }
      })
      .filter((c) => c.startsWith('qemu-storage-daemon') && c.includes(dir))
      .join('\n');
  const fuseMountsUnder = (dir: string) => execFileSync('sh', ['-c', `grep -F ${dir} /proc/self/mountinfo | grep -F fuse || true`], { encoding: 'utf8' }).trim();
  /** grep -c of a marker in a file (0: absent). */
  const count = (file: string, what: string) => Number(execFileSync('sh', ['-c', `grep -a -c -F '${what}' ${file} || true`], { encoding: 'utf8' }).trim() || 0);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'cumulo-ebs-enc-'));
    store = new XfsVolumeStore({ home, sizeGiB: 16 });
    regions = new RegionSnapshotStores(store);
    await store.init();
  });

  afterAll(async () => {
    try {
      await store.close();
      expect(await loopDevicesLeftUnder(home)).toEqual([]);
      expect(daemonsUnder(home)).toBe('');
      expect(fuseMountsUnder(home)).toBe('');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('keeps no plaintext on disk, round-trips through detach/attach and a new daemon, survives a restart, grows live, snapshots and restores', async () => {
    await store.createEmpty('vol-e1', 1, { key, owner: '123456789012' });
    expect(await store.isEncrypted('vol-e1')).toBe(true);
    expect(await store.ownerOf('vol-e1')).toBe('123456789012');
    const file = store.fileOf('vol-e1');
    // Sparse on disk, and reads as zeros.
    expect(statSync(file).blocks * 512).toBeLessThan(16 * 2 ** 20);
    await expect(store.attachDevice('vol-e1')).rejects.toThrow(/account key/);
    const { device, devNo } = await store.attachDevice('vol-e1', { key: keySource });
    expect(devNo).toMatch(/^7:\d+$/);
    expect(execFileSync('blockdev', ['--getsize64', device], { encoding: 'utf8' }).trim()).toBe(String(GiB));
    expect(devSha(device, 0, 4)).toBe(execFileSync('sh', ['-c', 'head -c 4194304 /dev/zero | sha256sum'], { encoding: 'utf8' }).split(' ')[0]);
    // Written through the device: a marker, and 16 MiB of random bytes.
    execFileSync('sh', ['-c', `printf '%s' '${marker}' | dd of=${device} bs=4096 seek=1000 conv=sync,fsync status=none`]);
    execFileSync('dd', ['if=/dev/urandom', `of=${device}`, 'bs=1M', 'count=16', 'seek=100', 'oflag=direct', 'conv=fsync', 'status=none']);
    const want = devSha(device, 100, 16);
    const plain = store.luks.plainOf('vol-e1');
    expect(count(plain, marker)).toBe(1); // the plaintext is there, through the export
    expect(count(file, marker)).toBe(0); // not on the host's disk
    const pid1 = await store.luks.pidOf('vol-e1');
    expect(pid1).toBeGreaterThan(1);

    // Detach: loop, daemon and FUSE mount go.
    await store.detach('vol-e1');
    expect(await loopDevicesLeftUnder(store.dir)).toEqual([]);
    expect(daemonsUnder(home)).toBe('');
    expect(fuseMountsUnder(home)).toBe('');
    expect(count(file, marker)).toBe(0);

    // Attached again: a new daemon, same bytes.
    const again = await store.attachDevice('vol-e1', { key: keySource });
    const pid2 = await store.luks.pidOf('vol-e1');
    expect(pid2).not.toBe(pid1);
    expect(devSha(again.device, 100, 16)).toBe(want);

    // A restarted server (a new store object) adopts the daemon and the loop device without the key.
    const restarted = new XfsVolumeStore({ home, sizeGiB: 16 });
    await restarted.init();
    expect(await restarted.attachDevice('vol-e1')).toEqual(again);
    expect(await restarted.luks.pidOf('vol-e1')).toBe(pid2);

    // Grown while attached (the daemon's block_resize): the loop device sees it; never shrinks.
    await store.resize('vol-e1', 2);
    expect(execFileSync('blockdev', ['--getsize64', again.device], { encoding: 'utf8' }).trim()).toBe(String(2 * GiB));
    await expect(store.resize('vol-e1', 1)).rejects.toThrow(/cannot shrink/);
    expect(devSha(again.device, 100, 16)).toBe(want);

    // A snapshot: a reflink clone of the encrypted image (point in time), read through a read-only export.
    const clone = await store.captureForSnapshot('vol-e1', 'snap-e1');
    expect(count(clone, marker)).toBe(0);
    const blocks = await regions.of('us-east-1');
    const stats = await store.withPlaintext(clone, keySource, (p) => blocks.snapshot('snap-e1', p, { key }));
    await store.dropCapture('snap-e1');
    expect(stats.sizeBytes).toBe(2 * GiB);
    expect(stats.chunksWritten).toBeLessThan(64); // zeros read as zeros: only the written chunks are stored
    expect(stats.chunksWritten).toBeGreaterThanOrEqual(33);
    await store.detach('vol-e1');

    // Offline growth needs the key.
    await expect(store.resize('vol-e1', 3)).rejects.toThrow(/account key/);
    await store.resize('vol-e1', 3, { key: keySource });

    // A volume from the encrypted snapshot: encrypted, the same bytes.
    await store.createEncryptedWith('vol-e2', 4, key, (p) => blocks.restoreInto('snap-e1', p, { key, fresh: true }).then(() => undefined));
    expect(await store.isEncrypted('vol-e2')).toBe(true);
    expect(count(store.fileOf('vol-e2'), marker)).toBe(0);
    const e2 = await store.attachDevice('vol-e2', { key: keySource });
    expect(execFileSync('blockdev', ['--getsize64', e2.device], { encoding: 'utf8' }).trim()).toBe(String(4 * GiB));
    expect(devSha(e2.device, 100, 16)).toBe(want);
    expect(execFileSync('sh', ['-c', `dd if=${e2.device} bs=4096 skip=1000 count=1 status=none | head -c ${marker.length}`], { encoding: 'utf8' })).toBe(marker);
    // What was never written reads as zeros, inside the snapshot's size and past it.
    const zeroSha = execFileSync('sh', ['-c', `head -c ${64 * 2 ** 20} /dev/zero | sha256sum`], { encoding: 'utf8' }).split(' ')[0];
    expect(devSha(e2.device, 200, 64)).toBe(zeroSha);
    expect(devSha(e2.device, 3000, 64)).toBe(zeroSha);
    // Restoring into a file too small is refused.
    await expect(store.createEncryptedWith('vol-e3', 1, key, (p) => blocks.restoreInto('snap-e1', p, { key, fresh: true }).then(() => undefined))).rejects.toThrow(
      /cannot restore/,
    );
    expect(existsSync(store.fileOf('vol-e3'))).toBe(false);
    // A wrong key does not open it (a new store: nothing to adopt).
    await store.detach('vol-e2');
    await expect(store.attachDevice('vol-e2', { key: () => Promise.resolve(Buffer.alloc(32, 9)) })).rejects.toThrow();
    expect(daemonsUnder(home)).toBe('');
    expect(fuseMountsUnder(home)).toBe('');

    // Left attached for close() to clean up.
    await store.attachDevice('vol-e2', { key: keySource });
    await store.delete('vol-e1');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.owner`)).toBe(false);
  });

  it('an encrypted volume restored with a filesystem is checked through its plaintext before it is mounted, and grown', async () => {
    const rootfs = join(home, 'rootfs-e4');
    mkdirSync(rootfs);
    writeFileSync(join(rootfs, 'hello'), marker);
    const image = join(home, 'e4.ext4');
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', rootfs, image, '64M']);
    await store.createEncryptedWith('vol-e4', 1, key, async (p) => void execFileSync('dd', [`if=${image}`, `of=${p}`, 'bs=1M', 'conv=notrunc,fsync', 'status=none']), {
      owner: '123456789012',
    });
    expect(await store.isTrusted('vol-e4')).toBe(false);
    const at = join(home, 'mnt-e4');
    await store.mount('vol-e4', at, { key: keySource });
    expect(readFileSync(join(at, 'hello'), 'utf8')).toBe(marker);
    const fs = statfsSync(at);
    expect(fs.blocks * fs.bsize).toBeGreaterThan(0.9 * GiB); // grown after its check
    expect(await store.isTrusted('vol-e4')).toBe(true);
    expect(count(store.fileOf('vol-e4'), marker)).toBe(0);
    await store.unmount(at);
    // A tenant's raw writes through its device: its root inode cleared. Refused; its export closed again.
    const { device } = await store.attachDevice('vol-e4', { key: keySource });
    expect(await store.isTrusted('vol-e4')).toBe(false);
    execFileSync('debugfs', ['-w', '-R', 'clri <2>', device], { stdio: 'ignore' });
    await store.detach('vol-e4');
    const e = await store.mount('vol-e4', at, { key: keySource }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UntrustedFilesystemError);
    expect((e as UntrustedFilesystemError).reason).toMatch(/Root inode is not a directory/);
    expect(await store.luks.isOpen('vol-e4')).toBe(false);
    expect(fuseMountsUnder(home)).not.toContain('vol-e4'); // (vol-e2 stays attached for close())
    // ensureTrusted alone opens and closes the export the same way.
    await expect(store.ensureTrusted('vol-e4', { key: keySource })).rejects.toThrow(UntrustedFilesystemError);
    expect(await store.luks.isOpen('vol-e4')).toBe(false);
    await store.delete('vol-e4');
  });
});
