// System test (root, real): the snapshot block store inside the volume store's XFS, where
// snapshots are point-in-time reflink clones, new chunks are reflinks, unchanged chunks are known
// from FIEMAP without reading them, and restores are reflinks.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { requires } from '../../../../test/requires.js';
import { BlockStore } from './store.js';
import { listLoopDevicesUnder, loopDevicesLeftUnder } from '../loop.js';
import { listMountsUnder } from '../mounts.js';
import { XfsVolumeStore } from '../xfs-store.js';

const needs = requires({ root: true, commands: ['losetup', 'mkfs.xfs', 'mkfs.ext4'] });
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const CHUNK = 512 * 1024;

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function write(file: string, off: number, data: Buffer): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, data, 0, data.length, off);
  closeSync(fd);
}

/** FIEMAP flags of a file's extents, as xfs_io prints them. */
function extentFlags(file: string): number[] {
  const out = execFileSync('xfs_io', ['-r', '-c', 'fiemap -v', file], { encoding: 'utf8' });
  return [...out.matchAll(/\d+\.\.\d+\s+\d+\s+(0x[0-9a-f]+)/g)].map((m) => Number(m[1]));
}

needs.describe('BlockStore on XFS (root)', () => {
  let home: string;
  let volumes: XfsVolumeStore;
  let east: BlockStore;
  let vol: string;
  let afterFirst: string;
  let afterSecond: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'cumulo-blocks-xfs-'));
    volumes = new XfsVolumeStore({ home, sizeGiB: 4 });
    await volumes.init();
    east = new BlockStore({ dir: join(volumes.dir, 'blocks', 'us-east-1') });
    await volumes.createEmpty('vol-0123456789abcdef0', 1);
    vol = join(volumes.dir, 'vol-0123456789abcdef0.raw');
    write(vol, 0, randomBytes(64 * MiB));
    write(vol, 512 * MiB, randomBytes(16 * MiB));
  });

  afterAll(async () => {
    try {
      await volumes.close();
      // A loop device detached while another mount namespace (a concurrent test's container) holds a
      // copy of its mount is freed when that copy goes.
      await vi.waitFor(async () => expect(await loopDevicesLeftUnder(home)).toEqual([]), { timeout: 10_000, interval: 50 });
      expect(await listMountsUnder(home)).toEqual([]);
    } finally {
      for (const m of (await listMountsUnder(home)).reverse()) spawnSync('umount', ['-l', m.mountPoint]);
      for (const l of await listLoopDevicesUnder(home)) spawnSync('losetup', ['-d', l.device]);
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('a first snapshot clones the volume, skips its holes and reflinks its data into chunks', async () => {
    expect(await east.canReflink()).toBe(true);
    const s = await east.snapshot('snap-0000000000000001', vol);
    expect(s).toMatchObject({ pointInTime: true, chunksTotal: 2048, chunksZero: 2048 - 160, chunksRead: 160, chunksWritten: 160, chunksReflinked: 160, bytesWritten: 80 * MiB });
    expect(readdirSync(join(east.dir, 'tmp'))).toEqual([]); // the clone is gone
    expect(extentFlags(vol).every((f) => f & 0x2000)).toBe(true); // the volume's blocks are the chunks' blocks
    afterFirst = sha(vol);
  });

  it('after changing 1%, the next snapshot reads only the changed chunks and adds only them', async () => {
    write(vol, 10 * CHUNK, randomBytes(CHUNK)); // two whole chunks
    write(vol, 11 * CHUNK, randomBytes(CHUNK));
    write(vol, 512 * MiB + 3 * CHUNK + 4096, randomBytes(4096)); // 4 KiB inside a third
    const s = await east.snapshot('snap-0000000000000002', vol, { parent: 'snap-0000000000000001' });
    expect(s).toMatchObject({ parentUsed: true, chunksUnchanged: 157, chunksRead: 3, chunksWritten: 3, bytesWritten: 3 * CHUNK });
    const usage = await east.usage();
    expect(usage.bytes).toBe(163 * CHUNK);
    expect(usage.snapshots.map((u) => u.uniqueBytes)).toEqual([3 * CHUNK, 3 * CHUNK]);
    afterSecond = sha(vol);
  });

  it('restore on the same XFS reflinks every chunk; a snapshot of the restored volume costs nothing', async () => {
    const out = join(volumes.dir, 'vol-0000000000000000r.raw');
    const r = await east.restore('snap-0000000000000002', out, 2 * GiB);
    expect(r).toMatchObject({ chunksReflinked: 160, chunksCopied: 0, chunksZero: 2048 - 160 });
    expect(statSync(out).size).toBe(2 * GiB);
    expect(statSync(out).blocks * 512).toBeLessThanOrEqual(80 * MiB);
    execFileSync('truncate', ['-s', String(GiB), out]);
    expect(sha(out)).toBe(sha(vol));

    const again = await east.snapshot('snap-0000000000000003', out, { parent: 'snap-0000000000000002' });
    expect(again).toMatchObject({ chunksUnchanged: 160, chunksRead: 0, chunksWritten: 0, bytesWritten: 0 });
    rmSync(out);
  });

  it('restore off the XFS copies and checks every chunk', async () => {
    const out = join(home, 'elsewhere.raw');
    const r = await east.restore('snap-0000000000000001', out, GiB);
    expect(r).toMatchObject({ chunksReflinked: 0, chunksCopied: 160, bytesCopied: 80 * MiB });
    expect(sha(out)).toBe(afterFirst);
    rmSync(out);
  });

  it('the snapshot is of the instant it began: writes after the clone are not in it', async () => {
    const before = sha(vol);
    let wrote = false;
    const s = await east.snapshot('snap-0000000000000004', vol, {
      parent: 'snap-0000000000000002',
      onProgress: (p) => {
        if (p.done === 0 && !wrote) {
          write(vol, 0, randomBytes(CHUNK)); // the instance goes on writing
          wrote = true;
        }
      },
    });
    expect(wrote).toBe(true);
    expect(s.chunksWritten).toBe(0);
    const out = join(volumes.dir, 'vol-0000000000000000p.raw');
    await east.restore('snap-0000000000000004', out, GiB);
    expect(sha(out)).toBe(before);
    expect(sha(vol)).not.toBe(before);
    rmSync(out);
  });

  it('encrypted snapshots are not reflinked (ciphertext) but still point-in-time', async () => {
    const key = randomBytes(32);
    const s = await east.snapshot('snap-0000000000000005', vol, { key, parent: 'snap-0000000000000004' });
    expect(s).toMatchObject({ pointInTime: true, parentUsed: false, chunksReflinked: 0, chunksRead: 160, chunksWritten: 160 });
    const out = join(volumes.dir, 'vol-0000000000000000e.raw');
    const r = await east.restore('snap-0000000000000005', out, GiB, { key });
    expect(r.chunksReflinked).toBe(0);
    expect(sha(out)).toBe(sha(vol));
    rmSync(out);
    await east.delete('snap-0000000000000005');
  });

  it('copyTo another region on the same filesystem copies the missing chunks (as reflinks)', async () => {
    const west = new BlockStore({ dir: join(volumes.dir, 'blocks', 'us-west-2') });
    expect(await east.copyTo(west, 'snap-0000000000000001')).toBe(80 * MiB);
    expect(await east.copyTo(west, 'snap-0000000000000002', { targetId: 'snap-00000000000000w2' })).toBe(3 * CHUNK);
    const out = join(volumes.dir, 'vol-0000000000000000w.raw');
    await west.restore('snap-00000000000000w2', out, GiB);
    expect(sha(out)).toBe(afterSecond);
    rmSync(out);
    for (const id of await west.list()) await west.delete(id);
    expect(await west.usage()).toEqual({ chunks: 0, bytes: 0, snapshots: [] });
  });

  it('deleting every snapshot frees every chunk; fsck finds nothing', async () => {
    for (const id of await east.list()) await east.delete(id);
    expect(await east.usage()).toEqual({ chunks: 0, bytes: 0, snapshots: [] });
    expect(await east.fsck({ verify: true })).toMatchObject({ orphanChunksRemoved: 0, missingChunks: 0, corruptChunks: 0, tempFilesRemoved: 0 });
  });
});
