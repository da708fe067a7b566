// The storage part of a host: EBS volumes as the host keeps them, their point-in-time captures and
// snapshots in the regions' block stores, and checks of a volume's backing. Attaching a volume to
// an instance is the compute part's (the device appears inside the instance it runs).
import type { CheckOutcome } from '../compute/driver.js';
import type { HostPart } from '../part.js';

/** An EBS volume as the host makes it. */
export interface VolumeSpec {
  volumeId: string;
  accountId: string;
  region: string;
  sizeGiB: number;
  /** Made from this snapshot of the region's block store (lazy/copy-on-write); absent: empty. */
  snapshotId?: string;
  /** Encrypted at rest with the account's data key. */
  encrypted: boolean;
}

export interface SnapshotResult {
  /** The volume's data (what the snapshot restores). */
  dataBytes: number;
  /** What this snapshot added to the store (incremental: only chunks no snapshot had). */
  addedBytes: number;
}

/**
 * EBS volumes on a host: real block devices, grown live, their backing checked. Every method is
 * idempotent (the controllers retry after a crash).
 */
export interface VolumeStorage extends HostPart {
  createVolume(spec: VolumeSpec): Promise<void>;
  /** Grow a volume (never shrink); live when it is attached: the instance sees the new size. */
  resizeVolume(volumeId: string, sizeGiB: number): Promise<void>;
  /** Remove a volume's data from the host (DeleteVolume, DeleteOnTermination). Idempotent. */
  deleteVolume(volumeId: string): Promise<void>;
  /** A volume's backing on this host (its data there; when inUse, its block device too). */
  checkVolume(volumeId: string, opts: { inUse: boolean }): Promise<CheckOutcome>;
}

/**
 * Snapshots of a storage that keeps volume data: incremental, content-addressed, per region. A
 * storage without data (the fake) has none: the stack leaves `snapshots` out, and the controllers
 * complete snapshot rows without moving data.
 */
export interface SnapshotStorage {
  /**
   * The snapshot's point in time: the volume as it is now (a mounted root frozen for that instant),
   * kept on the host under the snapshot's id until snapshotVolume has stored it. Called inside the
   * request (CreateSnapshot, CreateSnapshots, CreateImage); quick (a reflink clone).
   */
  captureVolume(o: { volumeId: string; snapshotId: string }): Promise<void>;
  /** Drop a snapshot's capture (the snapshot failed or went, or its request never committed). */
  discardCapture(snapshotId: string): Promise<void>;
  /** The snapshot ids whose capture the host holds. */
  captures(): Promise<string[]>;
  /**
   * Store the snapshot's capture in the region's store, building on `parentSnapshotId`, then drop
   * the capture. Without a capture (and the snapshot not stored yet) it fails: it never takes the
   * volume as it is later.
   */
  snapshotVolume(o: {
    volumeId: string;
    snapshotId: string;
    region: string;
    accountId: string;
    parentSnapshotId?: string;
    encrypted: boolean;
    onProgress?: (percent: number) => void;
  }): Promise<SnapshotResult>;
  deleteSnapshot(region: string, snapshotId: string): Promise<void>;
  /** Copy a snapshot into another region's store, copying only the chunks that store lacks. */
  copySnapshot(o: {
    fromRegion: string;
    snapshotId: string;
    toRegion: string;
    newSnapshotId: string;
    accountId: string;
    onProgress?: (percent: number) => void;
  }): Promise<{ bytesCopied: number }>;
}

/** What a storage part's snapshot capture asks of the compute part: a mounted root held still for an instant. */
export interface RootQuiescer {
  /** Runs fn with the volume's filesystem frozen when an instance has it mounted as its root; else just runs fn. */
  whileQuiesced<T>(volumeId: string, fn: () => Promise<T>): Promise<T>;
}
