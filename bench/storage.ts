// `npm run bench:storage` (root): how fast the volume store makes root volumes. Its own temp
// state folder; prints a table; never fails on a number.
//
//   - init of a fresh store (sparse file, mkfs.xfs, loop, mount) and of an existing one
//   - the first copy of a snapshot into the store (once per image build)
//   - createFromSnapshot at the snapshot's size (a reflink), and grown (reflink + resize2fs)
//   - attach, mount, unmount, delete; a root volume ready to boot (create + mount), one after
//     another and 20 at once
//   - for reference: `cp --reflink=always` (a process) against Node's FICLONE, and e2fsck
//   - the sandboxed full check (e2fsck -fp) that a volume not built by cumulo gets before the host
//     mounts it, of clones of the 1 GiB and the 8 GiB snapshot
//   - BENCH_DIO=1: a volume's loop device with and without direct I/O (host page cache, speed)
//   - the largest instance store (i3en.24xlarge: 8 × 7500 GiB, sparse ext4) made and destroyed
//   - how soon a timeout ends a host command that outlives it: exec's 200 ms timeout on a shell
//     and its children, and checkFilesystem's 150 ms timeout on e2fsck of a 200 GiB filesystem
//   (BENCH_STORAGE_ONLY=extra: only these last two)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CommandError, exec } from '../src/host/exec.js';
import { InstanceStoreDisks } from '../src/host/storage/instance-store.js';
import { run } from '../src/host/storage/exec.js';
import { checkFilesystem } from '../src/host/storage/fsck.js';
import { attachLoop, detachLoop, listLoopDevicesUnder } from '../src/host/storage/loop.js';
import { listMountsUnder } from '../src/host/storage/mounts.js';
import { XfsVolumeStore } from '../src/host/storage/xfs-store.js';

const N = Number(process.env.BENCH_N ?? 30);
const rows: [string, string][] = [];

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2);
  return `p50 ${q(0.5)} ms  p95 ${q(0.95)} ms  (n=${s.length})`;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function series(label: string, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push(await time(() => fn(i)));
  rows.push([label, stats(ms)]);
  console.error(`${label}: ${stats(ms)}`);
}

function once(label: string, ms: number): void {
  rows.push([label, `${ms.toFixed(1)} ms`]);
  console.error(`${label}: ${ms.toFixed(1)} ms`);
}

function cachedMiB(): number {
  return Number(/^Cached:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
}

function dropCaches(): void {
  execFileSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/** 512 MiB written through a mounted volume, then read back cold, with and without direct I/O on its loop. */
async function directIo(store: XfsVolumeStore, snap: string, home: string): Promise<void> {
  for (const dio of [false, true]) {
    const id = `vol-dio-${dio ? 'on' : 'off'}`;
    await store.createFromSnapshot(id, snap, 8);
    const loop = await attachLoop(join(store.dir, `${id}.raw`), { directIo: dio });
    const at = join(home, 'mnt', id);
    mkdirSync(at, { recursive: true });
    await run('mount', ['-t', 'ext4', loop.device, at]);
    try {
      dropCaches();
      const before = cachedMiB();
      const chunk = randomBytes(16 * 1024 ** 2);
      const w = await time(async () => {
        const fh = await open(join(at, 'blob'), 'w');
        for (let i = 0; i < 32; i++) await fh.write(chunk);
        await fh.sync();
        await fh.close();
        execFileSync('sync');
      });
      const grew = cachedMiB() - before;
      dropCaches();
      const r = await time(() => readFile(join(at, 'blob')));
      const label = `512 MiB through a volume, loop direct I/O ${dio ? 'on ' : 'off'}`;
      rows.push([label, `write+sync ${(512 / (w / 1000)).toFixed(0)} MiB/s, cold read ${(512 / (r / 1000)).toFixed(0)} MiB/s, host page cache +${grew.toFixed(0)} MiB`]);
    } finally {
      await run('umount', [at]);
      await detachLoop(loop.device);
      await store.delete(id);
    }
  }
}

/** The instance store's largest disks, and the timeouts of host commands (moved here from the tests). */
async function extra(home: string): Promise<void> {
  const disks = new InstanceStoreDisks({ home });
  await series('instance store 8 × 7500 GiB: create (sparse files, mkfs.ext4, losetup)', 3, async (i) => {
    await disks.create(`i-0000000000000big${i}`, [{ count: 8, sizeGiB: 7500, type: 'ssd' }]);
  });
  await series('instance store 8 × 7500 GiB: destroy', 3, (i) => disks.destroy(`i-0000000000000big${i}`));
  await series('exec with a 200 ms timeout: a shell and its children killed, the error back', 5, async () => {
    const e = await exec('sh', ['-c', 'sleep 20 & sleep 20; echo done'], { timeoutMs: 200 }).catch((x: unknown) => x);
    if (!(e instanceof CommandError) || !e.timedOut) throw new Error(`expected a timeout, got ${String(e)}`);
  });
  const big = join(home, 'big-200g.img');
  execFileSync('truncate', ['-s', '200G', big]);
  execFileSync('mkfs.ext4', ['-q', '-F', big]);
  await series('checkFilesystem with a 150 ms timeout, e2fsck of 200 GiB: the answer back', 3, async () => {
    const r = await checkFilesystem(big, { timeoutMs: 150 });
    if (r.ok) throw new Error('e2fsck of 200 GiB finished within 150 ms: the timeout was not exercised');
  });
  await rm(big);
}

function print(): void {
  const w = Math.max(...rows.map(([l]) => l.length));
  console.log('\nvolume store (XFS reflink + loop devices), ' + new Date().toISOString());
  for (const [l, v] of rows) console.log(`${l.padEnd(w)}  ${v}`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/storage.ts needs root (loop devices, mounts)');
  const home = mkdtempSync(join(tmpdir(), 'cumulo-bench-storage-'));
  if (process.env.BENCH_STORAGE_ONLY === 'extra') {
    try {
      await extra(home);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    print();
    return;
  }
  const store = new XfsVolumeStore({ home });
  try {
    once('init, fresh 512 GiB store (sparse file, mkfs.xfs, losetup, mount)', await time(() => store.init()));
    once('init, store already mounted (a restarted server)', await time(() => new XfsVolumeStore({ home }).init()));

    // Two snapshots as the image store makes them (mkfs.ext4 -d): a tiny root (the minimal image)
    // in 1 GiB, and 670 MB of files (/usr/share, about a Debian root) in 8 GiB.
    const images = join(home, 'images');
    const tiny = join(home, 'tiny-root');
    mkdirSync(join(tiny, 'etc'), { recursive: true });
    writeFileSync(join(tiny, 'etc', 'hostname'), 'bench\n');
    mkdirSync(images);
    const snap1 = join(images, 'minimal-1g.raw');
    const snap8 = join(images, 'debianish-8g.raw');
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', tiny, snap1, '1G']);
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', '/usr/share', snap8, '8G']);

    once('first use of the 1 GiB snapshot (sparse copy into the store, e2fsck)', await time(() => store.createFromSnapshot('vol-warm1', snap1, 1)));
    once('first use of the 8 GiB snapshot (670 MB of files)', await time(() => store.createFromSnapshot('vol-warm8', snap8, 8)));

    await series('createFromSnapshot 1 GiB, same size (reflink)', N, (i) => store.createFromSnapshot(`vol-a${i}`, snap1, 1));
    await series('createFromSnapshot 8 GiB, same size (reflink)', N, (i) => store.createFromSnapshot(`vol-b${i}`, snap8, 8));
    await series('createFromSnapshot 1 → 8 GiB (reflink + resize2fs)', 10, (i) => store.createFromSnapshot(`vol-c${i}`, snap1, 8));
    await series('createFromSnapshot 8 → 16 GiB (reflink + resize2fs)', 10, (i) => store.createFromSnapshot(`vol-d${i}`, snap8, 16));
    await series('createFromSnapshot 8 → 100 GiB (reflink + resize2fs)', 5, (i) => store.createFromSnapshot(`vol-e${i}`, snap8, 100));

    const inStore = readdirSync(store.snapshotsDir).find((n) => n.startsWith('debianish'))!;
    const src8 = join(store.snapshotsDir, inStore);
    await series('  reference: cp --reflink=always, 8 GiB (a process)', N, (i) => run('cp', ['--reflink=always', src8, join(store.dir, `ref-cp-${i}.raw`)]));
    await series('  reference: copyFile FICLONE_FORCE, 8 GiB (what the store does)', N, (i) =>
      copyFile(src8, join(store.dir, `ref-fi-${i}.raw`), constants.COPYFILE_FICLONE_FORCE),
    );
    await series('  reference: e2fsck -fp of the 8 GiB clone (what the store avoids)', 5, (i) => run('e2fsck', ['-fp', join(store.dir, `ref-fi-${i}.raw`)], { okCodes: [0, 1] }));
    // As mount() checks an untrusted volume: preening (-fp), on a clone.
    const checked = async (path: string) => {
      const r = await checkFilesystem(path, { repair: true });
      if (!r.ok) throw new Error(`the sandboxed check failed a clean filesystem: ${r.reason}`);
    };
    const clone1 = join(store.dir, 'ref-check-1g.raw');
    const src1 = join(
      store.snapshotsDir,
      readdirSync(store.snapshotsDir).find((n) => n.startsWith('minimal'))!,
    );
    await copyFile(src1, clone1, constants.COPYFILE_FICLONE_FORCE);
    await series('sandboxed e2fsck -fp of an untrusted 1 GiB volume (minimal image)', 10, () => checked(clone1));
    await series('sandboxed e2fsck -fp of an untrusted 8 GiB volume (670 MB of files)', 5, (i) => checked(join(store.dir, `ref-fi-${i}.raw`)));
    await rm(clone1);
    for (let i = 0; i < N; i++) await Promise.all([rm(join(store.dir, `ref-cp-${i}.raw`)), rm(join(store.dir, `ref-fi-${i}.raw`))]);

    await series('attach (losetup, direct I/O)', N, (i) => store.attach(`vol-a${i}`));
    await series('attach again (found in sysfs)', N, (i) => store.attach(`vol-a${i}`));
    await series('detach', N, (i) => store.detach(`vol-a${i}`));
    await series('mount 8 GiB volume (losetup + mount)', N, (i) => store.mount(`vol-b${i}`, join(home, 'mnt', `b${i}`)));
    await series('unmount (umount + losetup -d)', N, (i) => store.unmount(join(home, 'mnt', `b${i}`)));
    await series('delete (unmounted)', N, (i) => store.delete(`vol-a${i}`));
    for (let i = 0; i < N; i++) await store.mount(`vol-b${i}`, join(home, 'mnt', `b${i}`));
    await series('delete (mounted: umount + losetup -d + rm)', N, (i) => store.delete(`vol-b${i}`));

    for (const [snap, size, tag] of [
      [snap1, 1, 'minimal 1 GiB'],
      [snap8, 8, 'debian-like 8 GiB'],
    ] as const) {
      await series(`root volume ready, ${tag} (create + mount), one after another`, 20, async (i) => {
        await store.createFromSnapshot(`vol-r${tag[0]}${i}`, snap, size);
        await store.mount(`vol-r${tag[0]}${i}`, join(home, 'mnt', `r${tag[0]}${i}`));
      });
      const each: number[] = [];
      const all = await time(() =>
        Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            each.push(
              await time(async () => {
                await store.createFromSnapshot(`vol-p${tag[0]}${i}`, snap, size);
                await store.mount(`vol-p${tag[0]}${i}`, join(home, 'mnt', `p${tag[0]}${i}`));
              }),
            );
          }),
        ),
      );
      rows.push([`root volume ready, ${tag}, 20 at once`, `${stats(each)}; all in ${all.toFixed(0)} ms`]);
    }
    if (process.env.BENCH_DIO) await directIo(store, snap8, home);
    await extra(home);
  } finally {
    const t = performance.now();
    await store.close();
    once('close (every volume unmounted and detached, store unmounted)', performance.now() - t);
    const leaks = [...(await listLoopDevicesUnder(home)), ...(await listMountsUnder(home))];
    if (leaks.length) console.error('LEFT BEHIND:', leaks);
    rmSync(home, { recursive: true, force: true });
  }
  print();
}

await main();
