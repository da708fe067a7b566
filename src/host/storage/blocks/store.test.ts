// The snapshot block store on the test machine's filesystem (no reflink there: the copy paths).
// The XFS paths (point-in-time clones, reflinked chunks, unchanged chunks known from FIEMAP) are
// in store.system.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENCRYPTION_OVERHEAD } from './encryption.js';
import { BlockStore } from './store.js';
import { SnapshotNotFoundError } from './types.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 16 * KiB;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cumulo-blocks-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const store = (name = 'us-east-1', chunkSize = CHUNK) => new BlockStore({ dir: join(root, 'blocks', name), chunkSize });
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A sparse volume of size bytes with random data in the given [offset, length] ranges. */
function volume(name: string, size: number, data: [number, number][]): string {
  const file = join(root, name);
  const fd = openSync(file, 'w');
  ftruncateSync(fd, size);
  for (const [off, len] of data) writeSync(fd, randomBytes(len), 0, len, off);
  closeSync(fd);
  return file;
}

/** Overwrite the given chunks of a volume with new random bytes. */
function change(file: string, chunks: number[], chunkSize = CHUNK): void {
  const fd = openSync(file, 'r+');
  for (const i of chunks) writeSync(fd, randomBytes(chunkSize), 0, chunkSize, i * chunkSize);
  closeSync(fd);
}

function chunkFiles(dir: string): string[] {
  const top = join(dir, 'chunks');
  return readdirSync(top).flatMap((sub) => readdirSync(join(top, sub)).map((n) => join(top, sub, n)));
}

/** n distinct chunk indexes in [0, of), spread at random. */
function someChunks(n: number, of: number): number[] {
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(Math.random() * of));
  return [...picked];
}

describe('BlockStore', () => {
  it('snapshot and restore round-trip byte for byte, zero chunks stored as nothing and restored as holes', async () => {
    const s = store();
    const vol = volume('vol.raw', 4 * MiB, [
      [0, 100 * KiB],
      [1 * MiB + 5, 300 * KiB],
      [3 * MiB, 64 * KiB],
    ]);
    const fd = openSync(vol, 'r+');
    writeSync(fd, Buffer.alloc(CHUNK), 0, CHUNK, 2 * MiB); // zeros written as data: still a zero chunk
    closeSync(fd);
    const stats = await s.snapshot('snap-0000000000000000a', vol);
    expect(stats).toMatchObject({ chunksTotal: 256, pointInTime: false, existed: false });
    const dataChunks = 7 + 19 + 4; // 100 KiB → 7 chunks; 300 KiB from 1 MiB+5 → 19; 64 KiB → 4
    expect(stats.chunksTotal - stats.chunksZero).toBe(dataChunks);
    expect(stats.chunksWritten).toBe(dataChunks);
    expect(stats.bytesWritten).toBe(dataChunks * CHUNK);
    expect(stats.chunksRead).toBeLessThan(64); // holes are not read (FIEMAP)
    expect(chunkFiles(s.dir)).toHaveLength(dataChunks);

    const out = join(root, 'restored.raw');
    const r = await s.restore('snap-0000000000000000a', out, 4 * MiB);
    expect(r).toMatchObject({ chunksCopied: dataChunks, chunksReflinked: 0, chunksZero: 256 - dataChunks });
    expect(sha(out)).toBe(sha(vol));
    expect(statSync(out).blocks * 512).toBeLessThanOrEqual(dataChunks * CHUNK + 64 * KiB); // sparse

    // A grown volume: the snapshot, then zeros.
    const grown = join(root, 'grown.raw');
    await s.restore('snap-0000000000000000a', grown, 6 * MiB);
    const g = readFileSync(grown);
    expect(g.length).toBe(6 * MiB);
    expect(
      createHash('sha256')
        .update(g.subarray(0, 4 * MiB))
        .digest('hex'),
    ).toBe(sha(vol));
    expect(g.subarray(4 * MiB).equals(Buffer.alloc(2 * MiB))).toBe(true);

    await expect(s.restore('snap-0000000000000000a', join(root, 'small.raw'), 2 * MiB)).rejects.toThrow(/into 2097152 bytes/);
    await expect(s.restore('snap-0000000000000000a', out, 4 * MiB)).rejects.toThrow(/already exists/);
    await expect(s.restore('snap-00000000000000404', join(root, 'x.raw'), 4 * MiB)).rejects.toBeInstanceOf(SnapshotNotFoundError);
    expect(readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a volume whose size is not a multiple of the chunk size keeps its short last chunk', async () => {
    const s = store();
    const size = 5 * CHUNK + 1234;
    const vol = volume('odd.raw', size, [[0, size]]);
    const stats = await s.snapshot('snap-odd', vol);
    expect(stats.chunksTotal).toBe(6);
    expect(stats.bytesWritten).toBe(size);
    const out = join(root, 'odd-restored.raw');
    await s.restore('snap-odd', out, size);
    expect(sha(out)).toBe(sha(vol));
  });

  it('a second snapshot after changing 1% of the volume adds about 1% of its size', async () => {
    const s = store();
    const size = 16 * MiB; // 1024 chunks
    const vol = volume('vol.raw', size, [[0, size]]);
    const first = await s.snapshot('snap-1', vol);
    expect(first.bytesWritten).toBe(size);
    const before = await s.usage();

    const changed = someChunks(10, 1024); // ~1%
    change(vol, changed);
    const second = await s.snapshot('snap-2', vol, { parent: 'snap-1' });
    expect(second.chunksWritten).toBe(10);
    expect(second.bytesWritten).toBe(10 * CHUNK);
    const after = await s.usage();
    const added = after.bytes - before.bytes;
    expect(added).toBe(10 * CHUNK);
    expect(added / size).toBeGreaterThan(0.005);
    expect(added / size).toBeLessThan(0.012);
    // What deleting each would free: the 10 chunks each holds alone.
    expect(after.snapshots.map((x) => [x.snapshotId, x.uniqueBytes])).toEqual([
      ['snap-1', 10 * CHUNK],
      ['snap-2', 10 * CHUNK],
    ]);
    expect(after.chunks).toBe(1024 + 10);

    // Scattered small writes touch more chunks than their bytes: the store counts whole chunks.
    const fd = openSync(vol, 'r+');
    for (const i of someChunks(20, 1024)) writeSync(fd, randomBytes(512), 0, 512, i * CHUNK + 100);
    closeSync(fd);
    const third = await s.snapshot('snap-3', vol, { parent: 'snap-2' });
    expect(third.chunksWritten).toBe(20);

    for (const id of ['snap-1', 'snap-2', 'snap-3']) {
      const out = join(root, `${id}.raw`);
      await s.restore(id, out, size);
    }
    expect(sha(join(root, 'snap-3.raw'))).toBe(sha(vol));
  });

  it('snapshot is idempotent: a retried create finds the snapshot made', async () => {
    const s = store();
    const vol = volume('vol.raw', 1 * MiB, [[0, 1 * MiB]]);
    await s.snapshot('snap-idem', vol);
    change(vol, [0]);
    const again = await s.snapshot('snap-idem', vol);
    expect(again).toMatchObject({ existed: true, chunksWritten: 0, chunksTotal: 64 });
    expect(await s.list()).toEqual(['snap-idem']);
  });

  it('delete frees only the chunks no other snapshot uses', async () => {
    const s = store();
    const size = 4 * MiB;
    const vol = volume('vol.raw', size, [[0, size]]);
    await s.snapshot('snap-a', vol);
    change(vol, [1, 2, 3]);
    await s.snapshot('snap-b', vol, { parent: 'snap-a' });
    const want = sha(vol);
    const usage = await s.usage();
    const uniqueA = usage.snapshots.find((x) => x.snapshotId === 'snap-a')!.uniqueBytes;
    expect(uniqueA).toBe(3 * CHUNK);

    const del = await s.delete('snap-a');
    expect(del).toEqual({ existed: true, chunksFreed: 3, bytesFreed: uniqueA });
    expect(chunkFiles(s.dir)).toHaveLength(256);
    expect((await s.usage()).bytes).toBe(size);
    const out = join(root, 'b.raw');
    await s.restore('snap-b', out, size);
    expect(sha(out)).toBe(want);

    expect(await s.delete('snap-a')).toEqual({ existed: false, chunksFreed: 0, bytesFreed: 0 });
    expect(await s.delete('snap-b')).toMatchObject({ existed: true, chunksFreed: 256, bytesFreed: size });
    expect(chunkFiles(s.dir)).toEqual([]);
    expect(await s.usage()).toEqual({ chunks: 0, bytes: 0, snapshots: [] });
    expect(await s.list()).toEqual([]);
  });

  it('identical chunks are stored once, across snapshots and within one', async () => {
    const s = store();
    const block = randomBytes(CHUNK);
    const vol = join(root, 'rep.raw');
    writeFileSync(vol, Buffer.concat(Array.from({ length: 32 }, () => block)));
    const stats = await s.snapshot('snap-rep', vol);
    expect(stats.chunksWritten).toBe(1);
    expect(stats.bytesWritten).toBe(CHUNK);
    const other = join(root, 'rep2.raw');
    writeFileSync(other, Buffer.concat([block, randomBytes(CHUNK)]));
    expect((await s.snapshot('snap-rep2', other)).chunksWritten).toBe(1);
    expect((await s.delete('snap-rep')).chunksFreed).toBe(0);
    const out = join(root, 'rep2-restored.raw');
    await s.restore('snap-rep2', out, 2 * CHUNK);
    expect(sha(out)).toBe(sha(other));
  });

  it('copyTo copies only the chunks the other store lacks', async () => {
    const east = store('us-east-1');
    const west = store('us-west-2');
    const size = 4 * MiB;
    const vol = volume('vol.raw', size, [[0, 3 * MiB]]);
    await east.snapshot('snap-1', vol);
    change(vol, [5, 6]);
    await east.snapshot('snap-2', vol, { parent: 'snap-1' });
    const want = sha(vol);

    const progress: number[] = [];
    expect(await east.copyTo(west, 'snap-1', { onProgress: (p) => progress.push(p.done) })).toBe(3 * MiB);
    expect(progress.at(-1)).toBe(3 * MiB);
    expect(await east.copyTo(west, 'snap-2', { targetId: 'snap-copy-2' })).toBe(2 * CHUNK);
    expect(await east.copyTo(west, 'snap-2', { targetId: 'snap-copy-2' })).toBe(0); // already there
    expect(await west.list()).toEqual(['snap-1', 'snap-copy-2']);
    expect((await west.usage()).bytes).toBe((await east.usage()).bytes);

    await east.delete('snap-2');
    await east.delete('snap-1');
    const out = join(root, 'west.raw');
    await west.restore('snap-copy-2', out, size);
    expect(sha(out)).toBe(want);
    await expect(east.copyTo(west, 'snap-1', { targetId: 'snap-x' })).rejects.toBeInstanceOf(SnapshotNotFoundError);
    expect(await west.list()).toEqual(['snap-1', 'snap-copy-2']);
    expect((await west.fsck()).orphanChunksRemoved).toBe(0);
  });

  it('a crash leaves temporaries, orphan chunks and a stale index: init and fsck put it right', async () => {
    const dir = join(root, 'blocks', 'crashy');
    let s = new BlockStore({ dir, chunkSize: CHUNK });
    const size = 2 * MiB;
    const vol = volume('vol.raw', size, [[0, size]]);
    await s.snapshot('snap-keep', vol);
    const index = readFileSync(join(dir, 'refs.idx'));
    change(vol, [0, 1]);
    await s.snapshot('snap-late', vol);

    // Killed mid-snapshot: a chunk temp file, a manifest temp file, an orphan chunk whose manifest never came.
    writeFileSync(join(dir, 'tmp', 'deadbeefdeadbeef.chunk'), randomBytes(CHUNK));
    writeFileSync(join(dir, 'tmp', 'cafe.part'), 'half a manifest');
    const orphan = randomBytes(CHUNK);
    const orphanHex = createHash('sha256').update(orphan).digest('hex');
    mkdirSync(join(dir, 'chunks', orphanHex.slice(0, 2)), { recursive: true });
    writeFileSync(join(dir, 'chunks', orphanHex.slice(0, 2), orphanHex), orphan);
    // ...and before the index caught up with snap-late.
    writeFileSync(join(dir, 'refs.idx'), index);

    s = new BlockStore({ dir, chunkSize: CHUNK }); // a restarted server
    expect(await s.list()).toEqual(['snap-keep', 'snap-late']); // the index reconciled with the manifests
    expect((await s.usage()).chunks).toBe(128 + 2);
    writeFileSync(join(dir, 'tmp', 'left.chunk'), 'x'); // init cleared the first ones; this one is fsck's
    const report = await s.fsck();
    expect(report).toMatchObject({
      tempFilesRemoved: 1,
      orphanChunksRemoved: 1,
      orphanBytesRemoved: CHUNK,
      missingChunks: 0,
      corruptChunks: 0,
      damagedSnapshots: [],
      corruptManifests: [],
      snapshots: 2,
      chunks: 130,
    });
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    expect(existsSync(join(dir, 'chunks', orphanHex.slice(0, 2), orphanHex))).toBe(false);
    const out = join(root, 'late.raw');
    await s.restore('snap-late', out, size);
    expect(sha(out)).toBe(sha(vol));
  });

  it('a delete interrupted after renaming the manifest is finished by the next init', async () => {
    const dir = join(root, 'blocks', 'del');
    let s = new BlockStore({ dir, chunkSize: CHUNK });
    const vol = volume('vol.raw', 1 * MiB, [[0, 1 * MiB]]);
    await s.snapshot('snap-a', vol);
    change(vol, [3]);
    await s.snapshot('snap-b', vol);
    renameSync(join(dir, 'manifests', 'snap-a.snap'), join(dir, 'manifests', 'snap-a.deleting'));
    s = new BlockStore({ dir, chunkSize: CHUNK });
    expect(await s.list()).toEqual(['snap-b']);
    expect(chunkFiles(dir)).toHaveLength(64);
    expect(readdirSync(join(dir, 'manifests'))).toEqual(['snap-b.snap']);
    expect((await s.fsck()).orphanChunksRemoved).toBe(0);
  });

  it('a missing or damaged index is rebuilt from the manifests; a damaged manifest is set aside', async () => {
    const dir = join(root, 'blocks', 'idx');
    let s = new BlockStore({ dir, chunkSize: CHUNK });
    const vol = volume('vol.raw', 1 * MiB, [[0, 1 * MiB]]);
    await s.snapshot('snap-a', vol);
    change(vol, [0]);
    await s.snapshot('snap-b', vol);
    rmSync(join(dir, 'refs.idx'));
    s = new BlockStore({ dir, chunkSize: CHUNK });
    expect((await s.usage()).chunks).toBe(65);

    const bad = readFileSync(join(dir, 'manifests', 'snap-b.snap'));
    bad[bad.length - 40] ^= 0xff;
    writeFileSync(join(dir, 'manifests', 'snap-b.snap'), bad);
    s = new BlockStore({ dir, chunkSize: CHUNK });
    await expect(s.restore('snap-b', join(root, 'b.raw'), 1 * MiB)).rejects.toThrow(/checksum mismatch/);
    expect((await s.fsck()).corruptManifests).toEqual(['snap-b']);
    expect(await s.list()).toEqual(['snap-a']);
    expect(readdirSync(join(dir, 'manifests')).sort()).toEqual(['snap-a.snap', 'snap-b.corrupt']);
    expect((await s.usage()).chunks).toBe(64); // snap-b's own chunk was an orphan and went
  });

  it('fsck with verify finds damaged and missing chunks and names the snapshots that lost them', async () => {
    const s = store();
    const vol = volume('vol.raw', 1 * MiB, [[0, 1 * MiB]]);
    await s.snapshot('snap-v', vol);
    const files = chunkFiles(s.dir);
    const damaged = readFileSync(files[0]);
    damaged[10] ^= 1;
    writeFileSync(files[0], damaged);
    rmSync(files[1]);
    expect(await s.fsck()).toMatchObject({ missingChunks: 1, corruptChunks: 0, damagedSnapshots: ['snap-v'] });
    const report = await s.fsck({ verify: true });
    expect(report).toMatchObject({ missingChunks: 1, corruptChunks: 1, damagedSnapshots: ['snap-v'] });
    await expect(s.restore('snap-v', join(root, 'v.raw'), 1 * MiB)).rejects.toThrow(/ENOENT|damaged/);
    // A new snapshot of the same bytes writes the lost chunks again and heals the old one.
    await s.snapshot('snap-w', vol);
    await s.restore('snap-v', join(root, 'v.raw'), 1 * MiB);
    expect(sha(join(root, 'v.raw'))).toBe(sha(vol));
  });

  it('encrypted snapshots: ciphertext at rest, no chunk shared with other keys or plaintext, restore needs the key', async () => {
    const s = store();
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    const marker = Buffer.from('PLAINTEXT-MARKER-0123456789;');
    const size = 1 * MiB;
    const vol = join(root, 'secret.raw');
    writeFileSync(vol, Buffer.concat([Buffer.alloc(Math.ceil(size / marker.length) * marker.length, marker).subarray(0, size - 3 * CHUNK), Buffer.alloc(3 * CHUNK)]));

    const a = await s.snapshot('snap-enc-a', vol, { key: keyA });
    expect(a.chunksZero).toBe(3);
    // The marker repeats with period 28: few distinct chunks, all of them encrypted.
    for (const f of chunkFiles(s.dir)) {
      const bytes = readFileSync(f);
      expect(bytes.includes(marker.subarray(0, 16))).toBe(false);
      expect(bytes.length).toBe(CHUNK + ENCRYPTION_OVERHEAD);
    }
    const countA = chunkFiles(s.dir).length;
    expect(a.chunksWritten).toBe(countA);
    expect(a.bytesWritten).toBe(countA * (CHUNK + ENCRYPTION_OVERHEAD));

    expect((await s.snapshot('snap-enc-a2', vol, { key: keyA })).chunksWritten).toBe(0); // same account: shared
    expect((await s.snapshot('snap-enc-b', vol, { key: keyB })).chunksWritten).toBe(countA); // another account: not
    expect((await s.snapshot('snap-plain', vol)).chunksWritten).toBe(countA);
    expect(chunkFiles(s.dir)).toHaveLength(3 * countA);
    expect((await s.info('snap-enc-a'))?.encrypted).toBe(true);

    const out = join(root, 'dec.raw');
    await expect(s.restore('snap-enc-a', out, size)).rejects.toThrow(/encrypted: its key is needed/);
    await expect(s.restore('snap-enc-a', out, size, { key: keyB })).rejects.toThrow(/another key/);
    await s.restore('snap-enc-a', out, size, { key: keyA });
    expect(sha(out)).toBe(sha(vol));

    // A chunk file tampered with fails authentication.
    await s.delete('snap-plain');
    await s.delete('snap-enc-b');
    await s.delete('snap-enc-a2');
    const f = chunkFiles(s.dir)[0];
    const bytes = readFileSync(f);
    bytes[20] ^= 1;
    writeFileSync(f, bytes);
    await expect(s.restore('snap-enc-a', join(root, 'tampered.raw'), size, { key: keyA })).rejects.toThrow(/authenticate/);
    expect(existsSync(join(root, 'tampered.raw'))).toBe(false);
    await expect(s.snapshot('snap-badkey', vol, { key: randomBytes(16) })).rejects.toThrow(/32 bytes/);
  });

  it('concurrent snapshots of the same bytes store each chunk once; a delete running alongside frees nothing they need', async () => {
    const s = store();
    const size = 4 * MiB;
    const vol = volume('vol.raw', size, [[0, size]]);
    await s.snapshot('snap-base', vol);
    const copies = [1, 2, 3].map((i) => {
      const f = join(root, `copy${i}.raw`);
      writeFileSync(f, readFileSync(vol));
      return f;
    });
    change(copies[0], [7]);
    const results = await Promise.all([s.snapshot('snap-c1', copies[0]), s.delete('snap-base'), s.snapshot('snap-c2', copies[1]), s.snapshot('snap-c3', copies[2])]);
    const written = results.filter((r): r is Awaited<ReturnType<BlockStore['snapshot']>> => 'chunksRead' in r).reduce((a, r) => a + r.chunksWritten, 0);
    expect(written).toBeLessThanOrEqual(1 + 256); // chunk 7 once, the rest at most once more after the delete
    const report = await s.fsck({ verify: true });
    expect(report).toMatchObject({ missingChunks: 0, corruptChunks: 0, orphanChunksRemoved: 0, damagedSnapshots: [] });
    for (const [i, id] of ['snap-c1', 'snap-c2', 'snap-c3'].entries()) {
      const out = join(root, `${id}.raw`);
      await s.restore(id, out, size);
      expect(sha(out)).toBe(sha(copies[i]));
    }
    expect((await s.usage()).chunks).toBe(257);
  });

  it('a snapshot that fails midway leaves no manifest, no chunk of its own and no pin', async () => {
    const s = store();
    const vol = volume('vol.raw', 2 * MiB, [[0, 2 * MiB]]);
    await s.snapshot('snap-ok', vol);
    change(vol, [1, 2, 3]);
    const tmp = join(s.dir, 'tmp');
    rmSync(tmp, { recursive: true });
    writeFileSync(tmp, 'not a folder'); // every chunk write fails
    await expect(s.snapshot('snap-fail', vol)).rejects.toThrow(/ENOTDIR/);
    rmSync(tmp);
    mkdirSync(tmp);
    expect(await s.list()).toEqual(['snap-ok']);
    expect(await s.fsck()).toMatchObject({ orphanChunksRemoved: 0, missingChunks: 0 });
    // The chunks it held are free to go with the snapshot that uses them.
    expect(await s.delete('snap-ok')).toMatchObject({ chunksFreed: 128 });
    expect(chunkFiles(s.dir)).toEqual([]);
    expect((await s.snapshot('snap-fail', vol)).chunksWritten).toBe(128);
  });

  it('reports progress and validates its input', async () => {
    const s = store();
    const vol = volume('vol.raw', 2 * MiB, [[0, 1 * MiB]]);
    const seen: number[] = [];
    await s.snapshot('snap-p', vol, { onProgress: (p) => seen.push(p.done) });
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(2 * MiB);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    await expect(s.snapshot('../evil', vol)).rejects.toThrow(/invalid snapshot id/);
    await expect(s.snapshot('snap-none', join(root, 'missing.raw'))).rejects.toThrow(/ENOENT/);
    expect(() => new BlockStore({ dir: root, chunkSize: 1000 })).toThrow(/chunk size/);
    expect(readdirSync(join(s.dir, 'tmp'))).toEqual([]);
    expect(await s.list()).toEqual(['snap-p']);
  });
});
