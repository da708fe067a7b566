// `npx tsx bench/ebs-blocks.ts`: the snapshot block store on a 1 GiB volume. Prints a table; never
// fails on a number; cleans up after itself.
//
//   - in a temp folder under /var/tmp (the host's filesystem: chunks copied, every chunk read)
//   - as root, also inside an XFS volume store (reflink: point-in-time clone, reflinked chunks,
//     unchanged chunks known from FIEMAP, reflinked restores)
//
// In each: the first snapshot; a second after changing 1% as whole 512 KiB chunks (the bytes it
// adds against the bytes changed: the target is under 1 s and under 1.2×); a third after
// changing 1% as scattered 4 KiB writes (chunk granularity makes it cost more); a restore of the
// second into a new volume (target: under 200 ms); a copy to another region's store; a delete.
// BENCH_GIB sets the volume size (default 1).
import { randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BlockStore } from '../src/host/storage/blocks/store.js';
import { DEFAULT_CHUNK_SIZE, type SnapshotStats } from '../src/host/storage/blocks/types.js';
import { XfsVolumeStore } from '../src/host/storage/xfs-store.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const SIZE = Math.max(1, Number(process.env.BENCH_GIB ?? 1)) * GiB;
const CHUNK = DEFAULT_CHUNK_SIZE;
const rows: [string, string, string][] = [];

function row(mode: string, what: string, value: string): void {
  rows.push([mode, what, value]);
  console.error(`${mode}: ${what}: ${value}`);
}

const mib = (b: number) => `${(b / MiB).toFixed(2)} MiB`;
const ms = (t: number) => `${t.toFixed(1)} ms`;

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** A volume of SIZE bytes of random data (unique chunks: nothing dedups by accident). */
function makeVolume(file: string): void {
  const fd = openSync(file, 'w');
  const buf = Buffer.allocUnsafe(64 * MiB);
  for (let off = 0; off < SIZE; off += buf.length) {
    randomFillSync(buf);
    writeSync(fd, buf, 0, Math.min(buf.length, SIZE - off), off);
  }
  closeSync(fd);
}

/** Overwrite n distinct random pieces of size bytes, aligned to size; returns the bytes changed. */
function scribble(file: string, n: number, size: number): number {
  const fd = openSync(file, 'r+');
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(Math.random() * (SIZE / size)));
  for (const i of picked) writeSync(fd, randomBytes(size), 0, size, i * size);
  closeSync(fd);
  return n * size;
}

function describe(s: SnapshotStats): string {
  return `read ${s.chunksRead}, unchanged ${s.chunksUnchanged}, zero ${s.chunksZero}, written ${s.chunksWritten} (${s.chunksReflinked} reflinked)${s.pointInTime ? ', point-in-time' : ''}`;
}

async function run(mode: string, dir: string, volume: string, otherDir: string): Promise<void> {
  const store = new BlockStore({ dir });
  const west = new BlockStore({ dir: otherDir });
  await store.init();
  row(mode, 'reflink', String(await store.canReflink()));
  let t = performance.now();
  makeVolume(volume);
  row(mode, `write the ${mib(SIZE)} volume (random data)`, ms(performance.now() - t));

  const [first, t1] = await time(() => store.snapshot('snap-bench-1', volume));
  row(mode, 'first snapshot', `${ms(t1)}  (${(SIZE / MiB / (t1 / 1000)).toFixed(0)} MiB/s; ${describe(first)})`);
  row(mode, 'first snapshot adds', mib(first.bytesWritten));

  const before = (await store.usage()).bytes;
  const changed = scribble(volume, Math.round((SIZE * 0.01) / CHUNK), CHUNK);
  const [second, t2] = await time(() => store.snapshot('snap-bench-2', volume, { parent: 'snap-bench-1' }));
  const added = (await store.usage()).bytes - before;
  row(mode, '1% changed (whole chunks): snapshot', `${ms(t2)}  (${describe(second)})`);
  row(mode, '1% changed (whole chunks): adds', `${mib(added)} for ${mib(changed)} changed = ${(added / changed).toFixed(2)}×`);

  const before3 = (await store.usage()).bytes;
  const changed3 = scribble(volume, Math.round((SIZE * 0.01) / 4096), 4096);
  const [third, t3] = await time(() => store.snapshot('snap-bench-3', volume, { parent: 'snap-bench-2' }));
  const added3 = (await store.usage()).bytes - before3;
  row(mode, '1% changed (4 KiB writes): snapshot', `${ms(t3)}  (${describe(third)})`);
  row(mode, '1% changed (4 KiB writes): adds', `${mib(added3)} for ${mib(changed3)} changed = ${(added3 / changed3).toFixed(2)}×`);

  const restored = join(dirname(volume), 'vol-restored.raw');
  const [r, tr] = await time(() => store.restore('snap-bench-2', restored, SIZE));
  row(mode, 'restore (volume from snapshot)', `${ms(tr)}  (${r.chunksReflinked} reflinked, ${r.chunksCopied} copied)`);
  t = performance.now();
  const again = await store.snapshot('snap-bench-r', restored, { parent: 'snap-bench-2' });
  row(mode, 'snapshot of the unchanged restored volume', `${ms(performance.now() - t)}  (${describe(again)})`);
  rmSync(restored, { force: true });

  const [copied, tc] = await time(() => store.copyTo(west, 'snap-bench-2'));
  row(mode, 'copy to another region', `${ms(tc)}  (${mib(copied)})`);
  const [copied2, tc2] = await time(() => store.copyTo(west, 'snap-bench-3'));
  row(mode, 'copy the next snapshot to it', `${ms(tc2)}  (${mib(copied2)})`);

  const [del, td] = await time(() => store.delete('snap-bench-1'));
  row(mode, 'delete the first snapshot', `${ms(td)}  (frees ${mib(del.bytesFreed)})`);
  const [report, tf] = await time(() => store.fsck());
  row(mode, 'fsck', `${ms(tf)}  (${report.chunks} chunks, ${report.orphanChunksRemoved} orphans, ${report.missingChunks} missing)`);
}

async function main(): Promise<void> {
  const base = mkdtempSync('/var/tmp/cumulo-bench-blocks-');
  let xfs: XfsVolumeStore | undefined;
  try {
    await run('host fs', join(base, 'blocks', 'us-east-1'), join(base, 'vol-bench.raw'), join(base, 'blocks', 'us-west-2'));
    rmSync(join(base, 'blocks'), { recursive: true, force: true });
    rmSync(join(base, 'vol-bench.raw'), { force: true });
    if (process.getuid?.() === 0) {
      xfs = new XfsVolumeStore({ home: join(base, 'home'), sizeGiB: Math.ceil((SIZE * 4) / GiB) + 2 });
      await xfs.init();
      await run('xfs', join(xfs.dir, 'blocks', 'us-east-1'), join(xfs.dir, 'vol-bench.raw'), join(xfs.dir, 'blocks', 'us-west-2'));
    } else {
      row('xfs', 'skipped', 'not root (an XFS volume store needs a loop mount)');
    }
  } catch (e) {
    console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
  } finally {
    if (xfs) await xfs.close().catch((e) => console.error(`closing the XFS store: ${String(e)}`));
    rmSync(base, { recursive: true, force: true });
  }
  const w0 = Math.max(...rows.map((r) => r[0].length), 4);
  const w1 = Math.max(...rows.map((r) => r[1].length), 6);
  console.log(`\nEBS snapshot block store, ${mib(SIZE)} volume, ${CHUNK / 1024} KiB chunks\n`);
  console.log(`${'mode'.padEnd(w0)}  ${'metric'.padEnd(w1)}  value`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
}

await main();
