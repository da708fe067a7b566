// The host's storage part: EBS volumes as files of the XFS volume store (reflinked, LUKS-encrypted
// when asked: xfs-store.ts, luks.ts), snapshots in the regions' content-addressed block stores
// (snapshots.ts), and the instance store's disks. The compute part mounts and attaches what this
// part makes (it holds `volumes` and `instanceStore`); a snapshot's capture asks the compute part
// to hold a mounted root still for its instant (RootQuiescer).
import type { CheckOutcome } from '../compute/driver.js';
import { PermanentFailure, type PartInfo } from '../part.js';
import type { InstanceStoreDisks } from './instance-store.js';
import { isLuks } from './luks.js';
import type { RootQuiescer, SnapshotResult, SnapshotStorage, VolumeSpec, VolumeStorage } from './part.js';
import { RegionSnapshotStores } from './snapshots.js';
import type { KeySource, XfsVolumeStore } from './xfs-store.js';

export interface EbsStorageOptions {
  volumes: XfsVolumeStore;
  instanceStore: InstanceStoreDisks;
  /** The regions' snapshot stores (default: under the volume store, $CUMULO_HOME/volumes/blocks/<region>). */
  snapshots?: RegionSnapshotStores;
  /** The account's EBS data key (32 bytes; the ebs_keys table): encrypted volumes and snapshots are sealed with it. */
  keyOf?: (accountId: string) => Promise<Buffer>;
}

export class EbsStorage implements VolumeStorage, SnapshotStorage {
  readonly volumes: XfsVolumeStore;
  readonly instanceStore: InstanceStoreDisks;
  readonly snapshots: RegionSnapshotStores;
  private quiescer?: RootQuiescer;

  constructor(private readonly opts: EbsStorageOptions) {
    this.volumes = opts.volumes;
    this.instanceStore = opts.instanceStore;
    this.snapshots = opts.snapshots ?? new RegionSnapshotStores(opts.volumes);
  }

  info(): PartInfo {
    return {
      name: 'xfs',
      description: 'EBS volumes as reflinked files on XFS (LUKS when encrypted), incremental snapshots in per-region block stores, instance-store disks',
      features: ['snapshots', 'encryption', 'live-resize', 'instance-store', 'volume-checks'],
    };
  }

  async init(): Promise<void> {
    await this.volumes.init();
  }

  async close(opts: { cleanup?: boolean } = {}): Promise<void> {
    if (!opts.cleanup) return;
    const errors: unknown[] = [];
    await this.instanceStore.close().catch((e) => errors.push(e));
    await this.volumes.close().catch((e) => errors.push(e));
    if (errors.length) throw errors[0];
  }

  /** The compute part that mounts roots (set once where the stack is assembled). */
  useQuiescer(q: RootQuiescer): void {
    this.quiescer = q;
  }

  async keyFor(accountId: string): Promise<Buffer> {
    if (!this.opts.keyOf) throw new Error("no EBS key source: encrypted volumes need the storage's keyOf option");
    const key = await this.opts.keyOf(accountId);
    if (key.length !== 32) throw new Error(`the EBS key of ${accountId} is ${key.length} bytes, not 32`);
    return key;
  }

  /**
   * The key source of an encrypted volume: its owner's key (recorded at create), else the account
   * using it. Asked for only when its daemon has to start.
   */
  volumeKey(volumeId: string, accountId: string): KeySource {
    return async () => this.keyFor((await this.volumes.ownerOf(volumeId)) ?? accountId);
  }

  /**
   * A volume from a snapshot of the region's store: chunks reflinked into the new file (well under a
   * second for GiBs). Encrypted (asked for, or from an encrypted snapshot): a LUKS-encrypted image,
   * the snapshot's chunks decrypted and written through its plaintext export.
   */
  async restoreVolume(spec: VolumeSpec & { snapshotId: string }): Promise<void> {
    const store = await this.snapshots.of(spec.region);
    const info = await store.info(spec.snapshotId);
    if (!info) throw new PermanentFailure(`snapshot ${spec.snapshotId} is not in the block store of ${spec.region}`);
    const key = info.encrypted ? await this.keyFor(spec.accountId) : undefined;
    if (spec.encrypted || info.encrypted) {
      const volumeKey = await this.keyFor(spec.accountId);
      await this.volumes.createEncryptedWith(
        spec.volumeId,
        spec.sizeGiB,
        volumeKey,
        async (plain) => {
          await store.restoreInto(spec.snapshotId, plain, { key, fresh: true });
        },
        { owner: spec.accountId },
      );
      return;
    }
    await this.volumes.createWith(spec.volumeId, spec.sizeGiB, async (tmp) => {
      await store.restore(spec.snapshotId, tmp, info.sizeBytes, { key });
    });
  }

  /**
   * An empty volume (a sparse file: no filesystem, the user formats it) or one from a snapshot.
   * Encrypted volumes are encrypted at rest on the host (a qcow2 image with LUKS encryption keyed
   * by the account's EBS key, opened by a qemu-storage-daemon while attached: luks.ts), and their
   * snapshots are sealed with the same key.
   */
  async createVolume(spec: VolumeSpec): Promise<void> {
    if (await this.volumes.exists(spec.volumeId)) return;
    if (spec.snapshotId) await this.restoreVolume({ ...spec, snapshotId: spec.snapshotId });
    else if (spec.encrypted) await this.volumes.createEmpty(spec.volumeId, spec.sizeGiB, { key: await this.keyFor(spec.accountId), owner: spec.accountId });
    else await this.volumes.createEmpty(spec.volumeId, spec.sizeGiB);
  }

  async resizeVolume(volumeId: string, sizeGiB: number): Promise<void> {
    // An encrypted volume grown while detached needs its owner's key (qemu-img resize).
    const owner = async () => {
      const account = await this.volumes.ownerOf(volumeId);
      if (!account) throw new Error(`encrypted volume ${volumeId} has no recorded owner: its key is unknown`);
      return this.keyFor(account);
    };
    await this.volumes.resize(volumeId, sizeGiB, { key: owner });
  }

  async deleteVolume(volumeId: string): Promise<void> {
    await this.volumes.delete(volumeId);
  }

  /** A volume's backing: its file in the volume store, and when in use, a live loop device over it (or over its plaintext export). */
  async checkVolume(volumeId: string, opts: { inUse: boolean }): Promise<CheckOutcome> {
    if (!(await this.volumes.exists(volumeId))) return { status: 'failed', reason: `its file ${this.volumes.fileOf(volumeId)} is missing` };
    if (!opts.inUse) return { status: 'passed' };
    if (!(await this.volumes.devicesOf(volumeId)).length) return { status: 'failed', reason: 'no block device serves it' };
    // Encrypted: the loop device reads through qemu-storage-daemon's FUSE export, which must be alive.
    if ((await this.volumes.isEncrypted(volumeId)) && !(await this.volumes.luks.isOpen(volumeId)))
      return { status: 'failed', reason: 'its decrypting export (qemu-storage-daemon) is gone' };
    return { status: 'passed' };
  }

  /**
   * The snapshot's instant: the volume reflink-cloned under the snapshot's id (a mounted root volume
   * frozen on the host for that instant: consistent, not just crash-consistent). Taken inside the
   * request; snapshotVolume stores it later, at leisure, even after a restart.
   */
  async captureVolume(o: { volumeId: string; snapshotId: string }): Promise<void> {
    const q = this.quiescer;
    await this.volumes.captureForSnapshot(o.volumeId, o.snapshotId, q ? (fn) => q.whileQuiesced(o.volumeId, fn) : undefined);
  }

  async discardCapture(snapshotId: string): Promise<void> {
    await this.volumes.dropCapture(snapshotId);
  }

  async captures(): Promise<string[]> {
    return this.volumes.captures();
  }

  /**
   * The snapshot's capture (captureVolume) chunked into the region's store, then dropped. Without
   * it the snapshot fails: a copy of the volume as it is now would not be of the request's moment.
   */
  async snapshotVolume(o: {
    volumeId: string;
    snapshotId: string;
    region: string;
    accountId: string;
    parentSnapshotId?: string;
    encrypted: boolean;
    onProgress?: (percent: number) => void;
  }): Promise<SnapshotResult> {
    const store = await this.snapshots.of(o.region);
    const done = await store.info(o.snapshotId);
    if (done) {
      await this.volumes.dropCapture(o.snapshotId);
      return { dataBytes: done.dataBytes, addedBytes: 0 };
    }
    const capture = await this.volumes.captureOf(o.snapshotId);
    if (!capture) throw new Error(`No copy of ${o.volumeId} from the moment of the request is left on the host: the snapshot cannot be of that moment.`);
    const key = o.encrypted ? await this.keyFor(o.accountId) : undefined;
    const parent = o.parentSnapshotId && (await store.has(o.parentSnapshotId)) ? o.parentSnapshotId : undefined;
    const onProgress = percentOnce(o.onProgress);
    const take = async (file: string, sealWith: Buffer | undefined) => store.snapshot(o.snapshotId, file, { parent, key: sealWith, onProgress });
    // An encrypted volume: the capture is of its encrypted image, read through a read-only
    // plaintext export of the capture; its snapshot is encrypted whatever was asked.
    const stats = (await isLuks(capture))
      ? await this.volumes.withPlaintext(capture, this.volumeKey(o.volumeId, o.accountId), async (plain) => take(plain, key ?? (await this.keyFor(o.accountId))))
      : await take(capture, key);
    const info = await store.info(o.snapshotId);
    await this.volumes.dropCapture(o.snapshotId);
    return { dataBytes: info?.dataBytes ?? stats.sizeBytes, addedBytes: stats.bytesWritten };
  }

  async deleteSnapshot(region: string, snapshotId: string): Promise<void> {
    await this.volumes.dropCapture(snapshotId);
    await (await this.snapshots.of(region)).delete(snapshotId);
  }

  async copySnapshot(o: {
    fromRegion: string;
    snapshotId: string;
    toRegion: string;
    newSnapshotId: string;
    accountId: string;
    onProgress?: (percent: number) => void;
  }): Promise<{ bytesCopied: number }> {
    const from = await this.snapshots.of(o.fromRegion);
    const to = await this.snapshots.of(o.toRegion);
    const bytesCopied = await from.copyTo(to, o.snapshotId, { targetId: o.newSnapshotId, onProgress: percentOnce(o.onProgress) });
    return { bytesCopied };
  }
}

/** The block store's progress (done of total) as whole percents, each said once. */
function percentOnce(on: ((percent: number) => void) | undefined): (p: { done: number; total: number }) => void {
  let last = -1;
  return (p) => {
    const pct = p.total ? Math.floor((p.done / p.total) * 100) : 100;
    if (pct !== last) on?.((last = pct));
  };
}
