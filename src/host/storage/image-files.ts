// The volume store's files: the store's own sparse XFS file, and volume images (fsync, grow, fit
// to a size, the ext4 inside them).
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import { run, CommandError } from './exec.js';
import { detachLoop, ext4BlockSize, listLoopDevices, loopsOf, type LoopDevice } from './loop.js';
import type { LuksExports } from './luks.js';
import { isUnder, readMounts, unmountTree } from './mounts.js';
import { exists, realish, sparseFile } from './paths.js';

const GiB = 1024 ** 3;

/** The store's sparse file with its XFS (reflink), unless it exists. */
export async function makeStoreFile(storeFile: string, sizeGiB: number): Promise<void> {
  if (await exists(storeFile)) return;
  // Made under a temporary name: a server killed during mkfs leaves no half-made store.
  const tmp = `${storeFile}.tmp`;
  await rm(tmp, { force: true });
  try {
    await sparseFile(tmp, sizeGiB * GiB);
    // -K: no discard pass over 512 GiB of holes. -s size=4096: mountable whatever the sector
    // size of a direct-I/O loop over the host's filesystem (512 here, 4096 on 4Kn disks).
    await run('mkfs.xfs', ['-q', '-K', '-m', 'reflink=1', '-s', 'size=4096', '-L', 'cumulo-vols', tmp]);
    await rename(tmp, storeFile);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** A store file raised in size (CUMULO_VOLUME_STORE_GIB): the file, its loop device and its XFS grown; never shrunk. */
export async function growStore(storeFile: string, sizeGiB: number, loop: LoopDevice, dir: string): Promise<void> {
  const want = sizeGiB * GiB;
  if ((await stat(storeFile)).size >= want) return;
  await truncate(storeFile, want);
  await run('losetup', ['-c', loop.device]);
  await run('xfs_growfs', [dir]);
}

/** fsync a file or a folder (a rename's entry). */
export async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Grow a raw image to size bytes, and the ext4 inside it with it. */
export async function growImage(file: string, size: number): Promise<void> {
  await truncate(file, size);
  if ((await ext4BlockSize(file)) === undefined) return; // a raw volume: nothing to grow inside
  await growFs(file);
}

/** Grow the ext4 in an image to the image's size (a no-op when it fills it already). */
export async function growFs(file: string): Promise<void> {
  try {
    await run('resize2fs', [file]);
  } catch (e) {
    // resize2fs wants a check when the filesystem was mounted since its last one.
    if (!(e instanceof CommandError) || !/e2fsck -f/.test(e.stderr)) throw e;
    await e2fsck(file);
    await run('resize2fs', [file]);
  }
}

/** e2fsck -fp: exit 1 and 2 mean "errors corrected", which is fine for an unmounted image. */
export async function e2fsck(file: string): Promise<void> {
  await run('e2fsck', ['-fp', file], { okCodes: [0, 1, 2] });
}

/**
 * An untrusted volume image made from a snapshot, grown to sizeGiB: the file only (what it holds
 * is not read). Whether it grew; never smaller than the snapshot.
 */
export async function growFile(file: string, sizeGiB: number): Promise<boolean> {
  const have = (await stat(file)).size;
  const want = sizeGiB * GiB;
  if (want < have) throw new Error(`volume size ${sizeGiB} GiB is smaller than its snapshot (${(have / GiB).toFixed(2)} GiB)`);
  if (want > have) await truncate(file, want);
  return want > have;
}

/** A volume image made from a trusted snapshot, grown to sizeGiB (with its ext4); never smaller than the snapshot. */
export async function fitTo(file: string, sizeGiB: number): Promise<void> {
  const have = (await stat(file)).size;
  const want = sizeGiB * GiB;
  if (want < have) throw new Error(`volume size ${sizeGiB} GiB is smaller than its snapshot (${(have / GiB).toFixed(2)} GiB)`);
  if (want > have) await growImage(file, want);
}

export function checkSize(sizeGiB: number): void {
  if (!Number.isInteger(sizeGiB) || sizeGiB < 1 || sizeGiB > 64 * 1024) throw new Error(`invalid volume size ${sizeGiB} GiB`);
}

/** Unmount and detach every volume of the store, then the store itself. Best effort: tries everything, then reports what failed. */
export async function closeStore(o: { storeFile: string; dir: string; luks: LuksExports }): Promise<void> {
  const errors: unknown[] = [];
  const attempt = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      errors.push(e);
    }
  };
  const dir = await realish(o.dir);
  const volumeLoops = (await listLoopDevices()).filter((l) => isUnder(l.backingFile, dir));
  const devNos = new Set(volumeLoops.map((l) => l.devNo));
  const mounts = await readMounts();
  await attempt(() => unmountTree(mounts.filter((m) => devNos.has(m.devNo)).map((m) => m.mountPoint)));
  for (const loop of volumeLoops) await attempt(() => detachLoop(loop.device));
  await attempt(() => o.luks.closeAll());
  await attempt(() => unmountTree([dir]));
  for (const loop of await loopsOf(o.storeFile)) await attempt(() => detachLoop(loop.device));
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new AggregateError(errors, `closing the volume store ${o.storeFile}: ${errors.map(String).join('; ')}`);
}
