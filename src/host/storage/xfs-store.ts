// EBS volumes on the host: one raw file per volume in an XFS filesystem that lives in a sparse
// file of the state folder, loop-mounted at $CUMULO_HOME/volumes. XFS because the host's ext4 has
// no reflink: a volume from a snapshot is a reflink clone (copy-on-write, well under a millisecond
// whatever its size), and a loop device turns a volume into a block device.
//
//   $CUMULO_HOME/volumes.xfs              sparse file, XFS with reflink, loop device with direct I/O
//   $CUMULO_HOME/volumes/                 its mount point
//   $CUMULO_HOME/volumes/<vol-id>.raw     a volume (ext4 for volumes made from image snapshots)
//   $CUMULO_HOME/volumes/snapshots/*.raw  snapshots copied into the store once, to reflink from
//   $CUMULO_HOME/volumes/captures/<snap-id>.raw  a volume as it was at a CreateSnapshot (a reflink
//                                          clone), kept until the snapshot is in the block store
//   $CUMULO_HOME/volumes/luks/             encrypted volumes' plaintext, exported by qemu-storage-daemon
//                                          as FUSE files (<vol-id>.plain, .pid): see luks.ts
//
// An encrypted volume's <vol-id>.raw is a LUKS image keyed by the account's EBS key: the host's disk
// never holds its plaintext. Attached, its loop device sits over the FUSE file of a daemon that
// outlives a server restart (adopted by its pidfile) and stops at detach, delete or close().
//
// The host mounts a volume's ext4 itself (a root volume), so it never mounts bytes a tenant may
// have written without checking them first (fsck.ts: e2fsck in a sandbox). A volume is trusted
// when it holds a record saying so:
//
//   <vol-id>.raw.trusted   made from a built-in image (createFromSnapshot), or checked since it
//                          was last written raw; removed before the volume becomes a block device
//                          of an instance (attachDevice)
//   <vol-id>.raw.growfs    restored from a snapshot smaller than the volume: its ext4 is grown
//                          (in the sandbox) once it has passed its check, not before
//
// Restored volumes (createWith, createEncryptedWith: snapshots, CreateImage, RegisterImage) are
// untrusted: their bytes may come from a volume a tenant wrote raw. mount() checks an untrusted
// volume first (ensureTrusted); a trusted one costs a stat.
import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Revert } from '../revert.js';
import { run } from './exec.js';
import { KeyedLock } from './lock.js';
import { attachLoop, canUseDirectIo, detachLoop, listLoopDevices, loopsOf, type LoopDevice } from './loop.js';
import type { FsckOptions } from './fsck.js';
import { createLuks, growLuks, isLuks, luksSize, LuksExports } from './luks.js';
import { isUnder, readMounts, umount, unmountTree } from './mounts.js';
import { checkName, exists, realish, sparseFile } from './paths.js';
import type { VolumeStore } from './store.js';
import { cloneForSnapshot } from './captures.js';
import { checkSize, closeStore, fitTo, growFile, growStore, makeStoreFile } from './image-files.js';
import { SnapshotImports } from './snapshot-import.js';
import { distrust, dropRecords, trustVolume, writeRecord } from './volume-trust.js';

const GiB = 1024 ** 3;

/** The account's EBS key, asked for only when an encrypted volume's daemon has to start. */
export type KeySource = () => Promise<Buffer>;
const noKey: KeySource = () => Promise.reject(new Error('an encrypted volume needs its account key to be opened'));

export interface XfsVolumeStoreOptions {
  home: string;
  /** Apparent size of the sparse XFS file (default: CUMULO_VOLUME_STORE_GIB, else 512). Grown on init when raised; never shrunk. */
  sizeGiB?: number;
  /** Progress of long steps: the first copy of a snapshot into the store. */
  onProgress?: (event: { step: string; done?: number; total?: number }) => void;
  /**
   * Limits of the sandboxed check of untrusted volumes (fsck.ts; defaults: 60 s, 1024 MiB, or
   * CUMULO_FSCK_TIMEOUT_MS and CUMULO_FSCK_MEMORY_MIB).
   */
  fsck?: Pick<FsckOptions, 'timeoutMs' | 'memoryMiB'>;
}

export class XfsVolumeStore implements VolumeStore {
  readonly home: string;
  readonly storeFile: string;
  readonly dir: string;
  readonly snapshotsDir: string;
  /** Point-in-time clones of volumes for snapshots being taken (captureForSnapshot). */
  readonly capturesDir: string;
  readonly sizeGiB: number;
  private ready?: Promise<void>;
  private storeDev = -1;
  private readonly locks = new KeyedLock();
  /** Snapshots from outside the store, copied in once. */
  private readonly snapshots: SnapshotImports;
  /** The plaintext exports of encrypted volumes. */
  readonly luks: LuksExports;
  private readonly fsck: FsckOptions;

  constructor(opts: XfsVolumeStoreOptions) {
    this.home = resolve(opts.home);
    this.storeFile = join(this.home, 'volumes.xfs');
    this.dir = join(this.home, 'volumes');
    this.snapshotsDir = join(this.dir, 'snapshots');
    this.capturesDir = join(this.dir, 'captures');
    this.luks = new LuksExports(join(this.dir, 'luks'));
    const envGiB = Number(process.env.CUMULO_VOLUME_STORE_GIB);
    this.sizeGiB = opts.sizeGiB ?? (envGiB > 0 ? envGiB : 512);
    if (!Number.isInteger(this.sizeGiB) || this.sizeGiB < 1) throw new Error(`volume store size must be a whole number of GiB, got ${this.sizeGiB}`);
    this.snapshots = new SnapshotImports(this.snapshotsDir, opts.onProgress ?? (() => undefined));
    const envMs = Number(process.env.CUMULO_FSCK_TIMEOUT_MS);
    const envMiB = Number(process.env.CUMULO_FSCK_MEMORY_MIB);
    this.fsck = {
      repair: true,
      timeoutMs: opts.fsck?.timeoutMs ?? (envMs > 0 ? envMs : undefined),
      memoryMiB: opts.fsck?.memoryMiB ?? (envMiB > 0 ? envMiB : undefined),
    };
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
          await makeStoreFile(this.storeFile, this.sizeGiB);
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
      await growStore(this.storeFile, this.sizeGiB, loops[0], dir);
      // mkfs.xfs makes its root 0755: the store is the host's alone, like the state folder around it.
      await chmod(dir, 0o700);
      await mkdir(this.snapshotsDir, { recursive: true });
      await mkdir(this.capturesDir, { recursive: true, mode: 0o700 });
      await this.removeTemporaries();
      for (const name of await this.luks.list()) {
        if (name.endsWith('.tmp') || name.endsWith('.clone') || !(await this.luks.isOpen(name))) await this.luks.close(name);
      }
      this.storeDev = (await stat(this.dir)).dev;
      revert.release();
    } catch (e) {
      await revert.unwind();
      throw e;
    }
  }

  /** Leftovers of creates interrupted by a kill: nothing else writes here while init runs. */
  private async removeTemporaries(): Promise<void> {
    for (const d of [this.dir, this.snapshotsDir, this.capturesDir]) {
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
    return (await readdir(this.dir))
      .filter((n) => n.endsWith('.raw'))
      .map((n) => n.slice(0, -'.raw'.length))
      .sort();
  }

  async exists(volumeId: string): Promise<boolean> {
    await this.init();
    return exists(this.volumeFile(volumeId));
  }

  /**
   * A volume from a built-in image's root snapshot (the image store's artifact, built by this
   * host): trusted, never checked. Idempotent: a volume that already exists is left as it is (a
   * retried create after a restart).
   */
  async createFromSnapshot(volumeId: string, snapshotFile: string, sizeGiB: number): Promise<void> {
    await this.buildVolume(volumeId, sizeGiB, async (tmp, revert) => {
      const source = await this.snapshots.storeCopyOf(snapshotFile, this.storeDev);
      await copyFile(source, tmp, constants.COPYFILE_FICLONE_FORCE);
      await fitTo(tmp, sizeGiB);
      await this.record(volumeId, 'trusted', 'built-in image\n', revert);
    });
  }

  /** A sparse volume; with a key, an encrypted one (qcow2 with LUKS: unwritten sectors read as zeros). */
  async createEmpty(volumeId: string, sizeGiB: number, opts: { key?: Buffer; owner?: string } = {}): Promise<void> {
    await this.buildVolume(volumeId, sizeGiB, async (tmp, revert) => {
      if (!opts.key) return sparseFile(tmp, sizeGiB * GiB);
      await createLuks(tmp, sizeGiB * GiB, opts.key);
      if (opts.owner) await this.setOwner(volumeId, opts.owner, revert);
    });
  }

  /** The volume's raw file (inside the XFS: reflinkable, where the region block stores live too). */
  fileOf(volumeId: string): string {
    return this.volumeFile(volumeId);
  }

  /** The raw files of volumes are made here; block stores live under blocks/<region>. */
  get blocksDir(): string {
    return join(this.dir, 'blocks');
  }

  /**
   * A volume written by `write` (a block-store restore) into a temporary file of the volume's
   * folder, then grown to sizeGiB and renamed into place: a volume file is always whole. Its bytes
   * are untrusted: the ext4 inside, if any, grows when it has passed its check (ensureTrusted).
   * Idempotent: an existing volume is left as it is.
   */
  async createWith(volumeId: string, sizeGiB: number, write: (tmpFile: string) => Promise<void>): Promise<void> {
    await this.buildVolume(volumeId, sizeGiB, async (tmp, revert) => {
      await write(tmp);
      if (await growFile(tmp, sizeGiB)) await this.record(volumeId, 'growfs', '', revert);
    });
  }

  /**
   * An encrypted volume of sizeGiB filled by `fill` (a block-store restoreInto) through the plaintext
   * export of its LUKS image, built under a temporary name and renamed when whole. Idempotent.
   */
  async createEncryptedWith(volumeId: string, sizeGiB: number, key: Buffer, fill: (plainFile: string) => Promise<void>, opts: { owner?: string } = {}): Promise<void> {
    const name = `${volumeId}.tmp`;
    await this.buildVolume(volumeId, sizeGiB, async (tmp, revert) => {
      await this.luks.close(name);
      await createLuks(tmp, sizeGiB * GiB, key);
      if (opts.owner) await this.setOwner(volumeId, opts.owner, revert);
      revert.add(() => this.luks.close(name));
      const plain = await this.luks.open(name, tmp, () => Promise.resolve(key));
      try {
        await fill(plain);
      } finally {
        await this.luks.close(name);
      }
      // Untrusted bytes: a filesystem restored from a smaller snapshot grows once checked (ensureTrusted).
      await this.record(volumeId, 'growfs', '', revert);
    });
  }

  /**
   * Every way of making a volume: \`make\` writes \`<volume>.tmp\` under the volume's lock, which is
   * renamed into place when whole (a volume file is always whole); a failure unwinds what make
   * registered and removes the temporary. An existing volume is left as it is (idempotent).
   */
  private async buildVolume(volumeId: string, sizeGiB: number, make: (tmp: string, revert: Revert) => Promise<void>): Promise<void> {
    const file = this.volumeFile(volumeId);
    checkSize(sizeGiB);
    await this.init();
    await this.locks.run(volumeId, async () => {
      if (await exists(file)) return;
      const tmp = `${file}.tmp`;
      const revert = new Revert();
      try {
        // Records of a create that died before its rename describe nothing.
        await this.dropRecords(volumeId);
        await rm(tmp, { force: true });
        revert.add(() => rm(tmp, { force: true }));
        await make(tmp, revert);
        await rename(tmp, file);
        revert.release();
      } catch (e) {
        await revert.unwind();
        throw e;
      }
    });
  }

  /** Run fn on the plaintext of a LUKS image (e.g. a clone for a snapshot), exported read-only for the time of fn. */
  async withPlaintext<T>(file: string, key: KeySource, fn: (plainFile: string) => Promise<T>): Promise<T> {
    const name = `${basename(file)
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 100)}.clone`;
    const plain = await this.luks.open(name, file, key, { readOnly: true });
    try {
      return await fn(plain);
    } finally {
      await this.luks.close(name);
    }
  }

  /** The account an encrypted volume was made for (whose key opens it), when the creator said. */
  async ownerOf(volumeId: string): Promise<string | undefined> {
    return (await readFile(`${this.volumeFile(volumeId)}.owner`, 'utf8').catch(() => '')).trim() || undefined;
  }

  /** Records whose key an encrypted volume is under (resizing it detached needs the key). */
  private async setOwner(volumeId: string, owner: string, revert: Revert): Promise<void> {
    checkName('owner', owner);
    const file = `${this.volumeFile(volumeId)}.owner`;
    await writeFile(file, owner);
    revert.add(() => rm(file, { force: true }));
  }

  private async record(volumeId: string, kind: 'trusted' | 'growfs', content: string, revert?: Revert): Promise<void> {
    await writeRecord(this.volumeFile(volumeId), kind, content, revert);
  }

  private async dropRecords(volumeId: string): Promise<void> {
    await dropRecords(this.volumeFile(volumeId));
  }

  /** Whether the host may mount the volume's filesystem without checking it (a stat). */
  async isTrusted(volumeId: string): Promise<boolean> {
    return exists(`${this.volumeFile(volumeId)}.trusted`);
  }

  /**
   * Make sure the host may mount the volume's filesystem: trusted already (a stat), or checked now
   * (e2fsck -fp in a sandbox: fsck.ts), grown to the volume's size if a restore left that to do,
   * and recorded as trusted. Throws UntrustedFilesystemError when the check fails, or when the
   * volume is a block device right now (what a tenant may still write cannot be vouched for).
   * mount() calls it; an encrypted volume's check reads its plaintext (key: its owner's).
   */
  async ensureTrusted(volumeId: string, opts: { key?: KeySource } = {}): Promise<void> {
    const file = this.volumeFile(volumeId);
    await this.init();
    await this.locks.run(volumeId, () => this.trust(volumeId, file, opts.key, { keepOpen: false }));
  }

  /** ensureTrusted under the volume's lock (volume-trust.ts); keepOpen leaves an encrypted volume's export open. */
  private trust(volumeId: string, file: string, key: KeySource = noKey, o: { keepOpen: boolean }): Promise<void> {
    return trustVolume({ volumeId, file, key, keepOpen: o.keepOpen, luks: this.luks, fsck: this.fsck, devicesOf: () => this.devicesOf(volumeId) });
  }

  /** The loop devices of a volume: over its raw file, or over its plaintext export when encrypted. */
  async devicesOf(volumeId: string): Promise<LoopDevice[]> {
    return [...(await loopsOf(this.volumeFile(volumeId))), ...(await loopsOf(this.luks.plainOf(volumeId)))];
  }

  /** Whether the volume is encrypted (its file a LUKS image). */
  async isEncrypted(volumeId: string): Promise<boolean> {
    const file = this.volumeFile(volumeId);
    return (await exists(file)) && isLuks(file);
  }

  /**
   * Grow a volume to sizeGiB (never shrinks; the same size is fine). Its loop devices learn the new
   * size at once (losetup -c), so an instance it is attached to sees it live. The filesystem
   * inside is the user's to grow (as on EC2: growpart/resize2fs).
   */
  async resize(volumeId: string, sizeGiB: number, opts: { key?: KeySource } = {}): Promise<void> {
    const file = this.volumeFile(volumeId);
    checkSize(sizeGiB);
    await this.init();
    await this.locks.run(volumeId, async () => {
      if (!(await exists(file))) throw new Error(`volume ${volumeId} does not exist`);
      const encrypted = await isLuks(file);
      const have = encrypted ? await luksSize(file) : (await stat(file)).size;
      const want = sizeGiB * GiB;
      if (want < have) throw new Error(`volume ${volumeId} is ${(have / GiB).toFixed(2)} GiB: it cannot shrink to ${sizeGiB} GiB`);
      if (encrypted) {
        if (want === have) return;
        if (await this.luks.isOpen(volumeId)) {
          // Attached: its daemon grows it (QMP block_resize), then the loop device learns the size.
          await this.luks.grow(volumeId, want);
          for (const loop of await loopsOf(this.luks.plainOf(volumeId))) await run('losetup', ['-c', loop.device]);
        } else await growLuks(file, want, await (opts.key ?? noKey)());
        return;
      }
      if (want > have) await truncate(file, want);
      for (const loop of await loopsOf(file)) await run('losetup', ['-c', loop.device]);
    });
  }

  /** The loop device of an attached volume (device and "major:minor"), attaching it if need be. */
  async attachDevice(volumeId: string, opts: { key?: KeySource } = {}): Promise<{ device: string; devNo: string }> {
    const file = this.volumeFile(volumeId);
    await this.init();
    return this.locks.run(volumeId, async () => {
      await distrust(file);
      const l = await this.attachFile(volumeId, file, opts.key);
      return { device: l.device, devNo: l.devNo };
    });
  }

  /**
   * The volume as it is now, for the snapshot `snapshotId`: a reflink clone made while `quiesce`
   * holds (e.g. a host-side fsfreeze of the mounted root volume), kept durably under the snapshot's
   * id (captureOf) until the snapshot is stored, then dropped (dropCapture). Made under a temporary
   * name and renamed when whole: a capture that exists is whole and of its request's moment. An
   * encrypted volume's capture is of its LUKS image.
   */
  async captureForSnapshot(volumeId: string, snapshotId: string, quiesce: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Promise<string> {
    const file = this.volumeFile(volumeId);
    const target = this.captureFile(snapshotId);
    await this.init();
    if (await exists(target)) return target;
    if (!(await exists(file))) throw new Error(`volume ${volumeId} does not exist`);
    const plain = this.luks.plainOf(volumeId);
    await cloneForSnapshot({ file, target, plain, encrypted: await this.luks.isOpen(volumeId), quiesce });
    return target;
  }

  private captureFile(snapshotId: string): string {
    checkName('snapshot id', snapshotId);
    return join(this.capturesDir, `${snapshotId}.raw`);
  }

  /** The capture of a snapshot (captureForSnapshot), if the host has it. */
  async captureOf(snapshotId: string): Promise<string | undefined> {
    await this.init();
    const file = this.captureFile(snapshotId);
    return (await exists(file)) ? file : undefined;
  }

  async dropCapture(snapshotId: string): Promise<void> {
    await this.init();
    await rm(this.captureFile(snapshotId), { force: true });
  }

  /** The snapshot ids with a capture on the host. */
  async captures(): Promise<string[]> {
    await this.init();
    return (await readdir(this.capturesDir))
      .filter((n) => n.endsWith('.raw'))
      .map((n) => n.slice(0, -'.raw'.length))
      .sort();
  }

  async attach(volumeId: string, opts: { key?: KeySource } = {}): Promise<{ device: string }> {
    const file = this.volumeFile(volumeId);
    await this.init();
    return this.locks.run(volumeId, async () => ({ device: (await this.attachFile(volumeId, file, opts.key)).device }));
  }

  /** The file the volume's loop device is made over: its raw file, or the plaintext export of its LUKS image. */
  private async backingOf(volumeId: string, file: string): Promise<string> {
    return (await this.luks.isOpen(volumeId)) ? this.luks.plainOf(volumeId) : file;
  }

  private async attachFile(volumeId: string, file: string, key: KeySource = noKey): Promise<LoopDevice> {
    const [existing] = await loopsOf(await this.backingOf(volumeId, file));
    if (existing) return existing;
    if (!(await exists(file))) throw new Error(`volume ${volumeId} does not exist`);
    if (await isLuks(file)) {
      const plain = await this.luks.open(volumeId, file, key);
      // No direct I/O over FUSE; the daemon writes through to the image (no cache of its own).
      return attachLoop(plain, { directIo: false });
    }
    return attachLoop(file, { directIo: await canUseDirectIo(file) });
  }

  /** Refuses while the volume is mounted: unmount first. */
  async detach(volumeId: string): Promise<void> {
    const file = this.volumeFile(volumeId);
    await this.init();
    await this.locks.run(volumeId, async () => {
      const loops = [...(await loopsOf(file)), ...(await loopsOf(this.luks.plainOf(volumeId)))];
      const mounts = await readMounts();
      for (const loop of loops) {
        const m = mounts.find((x) => x.devNo === loop.devNo);
        if (m) throw new Error(`volume ${volumeId} (${loop.device}) is mounted at ${m.mountPoint}; unmount it first`);
      }
      for (const loop of loops) await detachLoop(loop.device);
      // The loop device gone, its encrypted volume's daemon goes (and its FUSE file with it).
      await this.luks.close(volumeId);
    });
  }

  /** Mount the volume's ext4 at target; an untrusted volume is checked first (ensureTrusted), and refused with UntrustedFilesystemError if it fails. */
  async mount(volumeId: string, target: string, opts: { key?: KeySource } = {}): Promise<void> {
    const file = this.volumeFile(volumeId);
    await this.init();
    await this.locks.run(volumeId, async () => {
      const revert = new Revert();
      try {
        await mkdir(target, { recursive: true });
        const at = await realish(target);
        const devices = await this.devicesOf(volumeId);
        const top = (await readMounts()).filter((m) => m.mountPoint === at).pop();
        if (top && devices.some((d) => d.devNo === top.devNo)) return; // already mounted there
        const wasAttached = devices.length > 0;
        const wasOpen = await this.luks.isOpen(volumeId);
        if (!wasOpen) revert.add(() => this.luks.close(volumeId));
        await this.trust(volumeId, file, opts.key, { keepOpen: true });
        const loop = await this.attachFile(volumeId, file, opts.key);
        if (!wasAttached) revert.add(() => detachLoop(loop.device));
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
    const luksDir = await realish(this.luks.dir);
    const encrypted = loop !== undefined && isUnder(loop.backingFile, luksDir);
    const work = async () => {
      await umount(at);
      if (loop && !(await readMounts()).some((m) => m.devNo === loop.devNo)) {
        await detachLoop(loop.device);
        // An encrypted volume's daemon goes with its loop device.
        if (encrypted) await this.luks.close(basename(loop.backingFile, '.plain'));
      }
    };
    if (!loop) return work();
    await this.locks.run(basename(loop.backingFile).replace(/\.(raw|plain)$/, ''), work);
  }

  /** Unmounts (with whatever is mounted beneath), detaches and removes. Deleting a missing volume succeeds. */
  async delete(volumeId: string): Promise<void> {
    const file = this.volumeFile(volumeId);
    await this.init();
    await this.locks.run(volumeId, async () => {
      const loops = [...(await loopsOf(file)), ...(await loopsOf(this.luks.plainOf(volumeId)))];
      const mounts = await readMounts();
      const devNos = new Set(loops.map((l) => l.devNo));
      await unmountTree(mounts.filter((m) => devNos.has(m.devNo)).map((m) => m.mountPoint));
      for (const loop of loops) await detachLoop(loop.device);
      await this.luks.close(volumeId);
      await this.luks.close(`${volumeId}.tmp`);
      await rm(file, { force: true });
      await rm(`${file}.tmp`, { force: true });
      await rm(`${file}.owner`, { force: true });
      await this.dropRecords(volumeId);
    });
  }

  /** Unmount and detach every volume of the store, then the store itself. Best effort: tries everything, then reports what failed. */
  async close(): Promise<void> {
    if (this.ready) await this.ready.catch(() => undefined);
    this.ready = undefined;
    await closeStore({ storeFile: this.storeFile, dir: this.dir, luks: this.luks });
  }
}
