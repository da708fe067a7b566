// EBS volumes on the host: one raw file per volume in an XFS filesystem that lives in a sparse
// file of the state folder, loop-mounted at $CUMULO_HOME/volumes. XFS because the host's ext4 has
// no reflink: a volume from a snapshot is a reflink clone (copy-on-write, well under a millisecond
// whatever its size), and a loop device turns a volume into a block device.
//
//   $CUMULO_HOME/volumes.xfs              sparse file, XFS with reflink, loop device with direct I/O
//   $CUMULO_HOME/volumes/                 its mount point
//   $CUMULO_HOME/volumes/<vol-id>.raw     a volume (ext4 for volumes made from image snapshots)
//   $CUMULO_HOME/volumes/snapshots/*.raw  snapshots copied into the store once, to reflink from
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Revert } from '../revert.js';
import { run, CommandError } from './exec.js';
import { KeyedLock } from './lock.js';
import { attachLoop, canUseDirectIo, detachLoop, ext4BlockSize, listLoopDevices, loopsOf, type LoopDevice } from './loop.js';
import { isUnder, readMounts, umount, unmountTree } from './mounts.js';
import { checkName, exists, realish, sparseFile } from './paths.js';
import type { VolumeStore } from './store.js';

const GiB = 1024 ** 3;

export interface XfsVolumeStoreOptions {
  home: string;
  /** Apparent size of the sparse XFS file (default: CUMULO_VOLUME_STORE_GIB, else 512). Grown on init when raised; never shrunk. */
  sizeGiB?: number;
  /** Progress of long steps: the first copy of a snapshot into the store. */
  onProgress?: (event: { step: string; done?: number; total?: number }) => void;
}

export class XfsVolumeStore implements VolumeStore {
  readonly home: string;
  readonly storeFile: string;
  readonly dir: string;
  readonly snapshotsDir: string;
  readonly sizeGiB: number;
  private readonly onProgress: NonNullable<XfsVolumeStoreOptions['onProgress']>;
  private ready?: Promise<void>;
  private storeDev = -1;
  private readonly locks = new KeyedLock();
  private readonly imports = new Map<string, Promise<string>>();

  constructor(opts: XfsVolumeStoreOptions) {
    this.home = resolve(opts.home);
    this.storeFile = join(this.home, 'volumes.xfs');
    this.dir = join(this.home, 'volumes');
    this.snapshotsDir = join(this.dir, 'snapshots');
    const envGiB = Number(process.env.CUMULO_VOLUME_STORE_GIB);
    this.sizeGiB = opts.sizeGiB ?? (envGiB > 0 ? envGiB : 512);
    if (!Number.isInteger(this.sizeGiB) || this.sizeGiB < 1) throw new Error(`volume store size must be a whole number of GiB, got ${this.sizeGiB}`);
    this.onProgress = opts.onProgress ?? (() => undefined);
  }

  /** Idempotent and restart-safe: reuses a mount or a loop device left by a killed server. */
  init(): Promise<void> {
    this.ready ??= this.setUp().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async setUp(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const dir = await realish(this.dir);
    const revert = new Revert();
    try {
      let loops = await loopsOf(this.storeFile);
      const mounts = await readMounts();
      const ours = mounts.find((m) => m.mountPoint === dir && loops.some((l) => l.devNo === m.devNo));
      if (!ours) {
        const other = mounts.find((m) => m.mountPoint === dir);
        if (other) throw new Error(`${dir} is a mount point of ${other.source} (${other.fsType}), not of ${this.storeFile}`);
        if (!loops.length) {
          await this.makeStoreFile();
          const loop = await attachLoop(this.storeFile, { directIo: true });
          revert.add(() => detachLoop(loop.device));
          loops = [loop];
        }
        // A loop left by a killed server: mount it (never a second loop for the same file).
        await run('mount', ['-t', 'xfs', '-o', 'discard', loops[0].device, dir]);
        revert.add(() => umount(dir));
      }
      for (const extra of loops.slice(1)) {
        if (!(await readMounts()).some((m) => m.devNo === extra.devNo)) await detachLoop(extra.device);
      }
      await this.growStore(loops[0], dir);
      await mkdir(this.snapshotsDir, { recursive: true });
      await this.removeTemporaries();
      this.storeDev = (await stat(this.dir)).dev;
      revert.release();
    } catch (e) {
      await revert.unwind();
      throw e;
    }
  }

  private async makeStoreFile(): Promise<void> {
    if (await exists(this.storeFile)) return;
    // Made under a temporary name: a server killed during mkfs leaves no half-made store.
    const tmp = `${this.storeFile}.tmp`;
    await rm(tmp, { force: true });
    try {
      await sparseFile(tmp, this.sizeGiB * GiB);
      // -K: no discard pass over 512 GiB of holes. -s size=4096: mountable whatever the sector
      // size of a direct-I/O loop over the host's filesystem (512 here, 4096 on 4Kn disks).
      await run('mkfs.xfs', ['-q', '-K', '-m', 'reflink=1', '-s', 'size=4096', '-L', 'cumulo-vols', tmp]);
      await rename(tmp, this.storeFile);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  private async growStore(loop: LoopDevice, dir: string): Promise<void> {
    const want = this.sizeGiB * GiB;
    if ((await stat(this.storeFile)).size >= want) return;
    await truncate(this.storeFile, want);
    await run('losetup', ['-c', loop.device]);
    await run('xfs_growfs', [dir]);
  }

  /** Leftovers of creates interrupted by a kill: nothing else writes here while init runs. */
  private async removeTemporaries(): Promise<void> {
    for (const d of [this.dir, this.snapshotsDir]) {
      for (const name of await readdir(d)) {
        if (name.endsWith('.tmp')) await rm(join(d, name), { force: true });
      }
    }
  }

  private volumeFile(volumeId: string): string {
    checkName('volume id', volumeId);
    return join(this.dir, `${volumeId}.raw`);
  }

  /** Volumes in the store (for adoption and orphan cleanup after a restart). */
  async list(): Promise<string[]> {
    await this.init();
    return (await readdir(this.dir)).filter((n) => n.endsWith('.raw')).map((n) => n.slice(0, -'.raw'.length)).sort();
  }

  async exists(volumeId: string): Promise<boolean> {
    await this.init();
    return exists(this.volumeFile(volumeId));
  }

  /** Idempotent: a volume that already exists is left as it is (a retried create after a restart). */
  async createFromSnapshot(volumeId: string, snapshotFile: string, sizeGiB: number): Promise<void> {
    const file = this.volumeFile(volumeId);
    checkSize(sizeGiB);
    await this.init();
    await this.locks.run(volumeId, async () => {
      if (await exists(file)) return;
      const source = await this.storeCopyOf(snapshotFile);
      const have = (await stat(source)).size;
      const want = sizeGiB * GiB;
      if (want < have) throw new Error(`volume size ${sizeGiB} GiB is smaller than its snapshot (${(have / GiB).toFixed(2)} GiB)`);
      // Built under a temporary name, renamed when complete: a volume file is always whole.
      const tmp = `${file}.tmp`;
      const revert = new Revert();
      try {
        await rm(tmp, { force: true });
        revert.add(() => rm(tmp, { force: true }));
        await copyFile(source, tmp, constants.COPYFILE_FICLONE_FORCE);
        if (want > have) await growImage(tmp, want);
        await rename(tmp, file);
        revert.release();
      } catch (e) {
        await revert.unwind();
        throw e;
      }
    });
  }

  async createEmpty(volumeId: string, sizeGiB: number): Promise<void> {
    const file = this.volumeFile(volumeId);
    checkSize(sizeGiB);
    await this.init();
    await this.locks.run(volumeId, async () => {
      if (await exists(file)) return;
      const tmp = `${file}.tmp`;
      try {
        await sparseFile(tmp, sizeGiB * GiB);
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    });
  }

  /**
   * The snapshot as a file inside the store, where it can be reflinked. A file already on the
   * store is used as it is; another (an image under $CUMULO_HOME/images, on the host's ext4) is
   * copied in once, sparse, and its filesystem checked once, so that growing a clone never needs
   * e2fsck again (resize2fs trusts a filesystem checked since it was last mounted).
   */
  private async storeCopyOf(snapshotFile: string): Promise<string> {
    let st;
    try {
      st = await stat(snapshotFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`snapshot file ${snapshotFile} does not exist`);
      throw e;
    }
    if (!st.isFile()) throw new Error(`snapshot ${snapshotFile} is not a regular file`);
    if (st.dev === this.storeDev) return snapshotFile;
    // Same path, size, inode and mtime: the same snapshot. A rebuilt image gets a new copy.
    const path = await realish(snapshotFile);
    const key = createHash('sha256').update(`${path}\0${st.size}\0${st.ino}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
    const stem = basename(path).replace(/\.(raw|img|ext4)$/, '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
    const dest = join(this.snapshotsDir, `${stem}-${key}.raw`);
    let pending = this.imports.get(dest);
    if (!pending) {
      pending = this.importSnapshot(snapshotFile, dest, st.size).finally(() => this.imports.delete(dest));
      this.imports.set(dest, pending);
    }
    return pending;
  }

  private async importSnapshot(from: string, dest: string, size: number): Promise<string> {
    if (await exists(dest)) return dest;
    const tmp = `${dest}.tmp`;
    const step = `copying snapshot ${basename(from)} into the volume store`;
    try {
      this.onProgress({ step, done: 0, total: size });
      await run('cp', ['--sparse=always', from, tmp]);
      if ((await ext4BlockSize(tmp)) !== undefined) await e2fsck(tmp);
      await rename(tmp, dest);
      this.onProgress({ step, done: size, total: size });
      return dest;
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async attach(volumeId: string): Promise<{ device: string }> {
    const file = this.volumeFile(volumeId);
    await this.init();
    return this.locks.run(volumeId, async () => ({ device: (await this.attachFile(volumeId, file)).device }));
  }

  private async attachFile(volumeId: string, file: string): Promise<LoopDevice> {
    const [existing] = await loopsOf(file);
    if (existing) return existing;
    if (!(await exists(file))) throw new Error(`volume ${volumeId} does not exist`);
    return attachLoop(file, { directIo: await canUseDirectIo(file) });
  }

  /** Refuses while the volume is mounted: unmount first. */
  async detach(volumeId: string): Promise<void> {
    const file = this.volumeFile(volumeId);
    await this.init();
    await this.locks.run(volumeId, async () => {
      const loops = await loopsOf(file);
      const mounts = await readMounts();
      for (const loop of loops) {
        const m = mounts.find((x) => x.devNo === loop.devNo);
        if (m) throw new Error(`volume ${volumeId} (${loop.device}) is mounted at ${m.mountPoint}; unmount it first`);
      }
      for (const loop of loops) await detachLoop(loop.device);
    });
  }

  async mount(volumeId: string, target: string): Promise<void> {
    const file = this.volumeFile(volumeId);
    await this.init();
    await this.locks.run(volumeId, async () => {
      const revert = new Revert();
      try {
        const wasAttached = (await loopsOf(file)).length > 0;
        const loop = await this.attachFile(volumeId, file);
        if (!wasAttached) revert.add(() => detachLoop(loop.device));
        await mkdir(target, { recursive: true });
        const at = await realish(target);
        const top = (await readMounts()).filter((m) => m.mountPoint === at).pop();
        if (top?.devNo === loop.devNo) return revert.release(); // already mounted there
        await run('mount', ['-t', 'ext4', loop.device, at]);
        revert.release();
      } catch (e) {
        await revert.unwind();
        throw e;
      }
    });
  }

  /** Unmount target (the topmost mount there); its loop device goes too when it was ours and nothing else mounts it. */
  async unmount(target: string): Promise<void> {
    const at = await realish(target);
    const top = (await readMounts()).filter((m) => m.mountPoint === at).pop();
    if (!top) return;
    const dir = await realish(this.dir);
    const loop = (await listLoopDevices()).find((l) => l.devNo === top.devNo && isUnder(l.backingFile, dir));
    const work = async () => {
      await umount(at);
      if (loop && !(await readMounts()).some((m) => m.devNo === loop.devNo)) await detachLoop(loop.device);
    };
    if (!loop) return work();
    await this.locks.run(basename(loop.backingFile, '.raw'), work);
  }

  /** Unmounts (with whatever is mounted beneath), detaches and removes. Deleting a missing volume succeeds. */
  async delete(volumeId: string): Promise<void> {
    const file = this.volumeFile(volumeId);
    await this.init();
    await this.locks.run(volumeId, async () => {
      const loops = await loopsOf(file);
      const mounts = await readMounts();
      const devNos = new Set(loops.map((l) => l.devNo));
      await unmountTree(mounts.filter((m) => devNos.has(m.devNo)).map((m) => m.mountPoint));
      for (const loop of loops) await detachLoop(loop.device);
      await rm(file, { force: true });
      await rm(`${file}.tmp`, { force: true });
    });
  }

  /** Unmount and detach every volume of the store, then the store itself. Best effort: tries everything, then reports what failed. */
  async close(): Promise<void> {
    if (this.ready) await this.ready.catch(() => undefined);
    this.ready = undefined;
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    const dir = await realish(this.dir);
    const volumeLoops = (await listLoopDevices()).filter((l) => isUnder(l.backingFile, dir));
    const devNos = new Set(volumeLoops.map((l) => l.devNo));
    const mounts = await readMounts();
    await attempt(() => unmountTree(mounts.filter((m) => devNos.has(m.devNo)).map((m) => m.mountPoint)));
    for (const loop of volumeLoops) await attempt(() => detachLoop(loop.device));
    await attempt(() => unmountTree([dir]));
    for (const loop of await loopsOf(this.storeFile)) await attempt(() => detachLoop(loop.device));
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new AggregateError(errors, `closing the volume store ${this.storeFile}: ${errors.map(String).join('; ')}`);
  }
}

/** Grow a raw image to size bytes, and the ext4 inside it with it. */
async function growImage(file: string, size: number): Promise<void> {
  await truncate(file, size);
  if ((await ext4BlockSize(file)) === undefined) return; // a raw volume: nothing to grow inside
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
async function e2fsck(file: string): Promise<void> {
  await run('e2fsck', ['-fp', file], { okCodes: [0, 1, 2] });
}

function checkSize(sizeGiB: number): void {
  if (!Number.isInteger(sizeGiB) || sizeGiB < 1 || sizeGiB > 64 * 1024) throw new Error(`invalid volume size ${sizeGiB} GiB`);
}
