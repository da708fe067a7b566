// The block store's public shapes: options, progress, the stats each operation returns, and its errors.

export const DEFAULT_CHUNK_SIZE = 512 * 1024;

export type BlockStep = 'snapshot' | 'restore' | 'copy';
export interface BlockProgress {
  step: BlockStep;
  snapshotId: string;
  done: number;
  total: number;
}
export type ProgressFn = (p: BlockProgress) => void;

export interface BlockStoreOptions {
  /** The store's folder (one per region). */
  dir: string;
  /** Bytes per chunk for new snapshots (default 512 KiB; a multiple of 4096 keeps chunks reflinkable). Manifests carry their own. */
  chunkSize?: number;
  /** Chunks read, hashed or copied at once (default 4). */
  concurrency?: number;
}

export interface SnapshotOptions {
  /** The previous snapshot of the same volume: its chunks that the volume still shares are not read again. */
  parent?: string;
  /** 32 bytes, per account: chunks are encrypted at rest with AES-256-GCM and addressed by an HMAC under it. */
  key?: Buffer;
  onProgress?: ProgressFn;
}

export interface SnapshotStats {
  snapshotId: string;
  sizeBytes: number;
  chunksTotal: number;
  /** All-zero chunks (holes, or zeros read): stored as nothing. */
  chunksZero: number;
  /** Chunks known unchanged since the parent without reading them (shared blocks). */
  chunksUnchanged: number;
  chunksRead: number;
  bytesRead: number;
  /** Chunks this snapshot added to the store, and their bytes on disk: what it costs. */
  chunksWritten: number;
  bytesWritten: number;
  /** Of the chunks written, those made as reflinks of the volume's blocks. */
  chunksReflinked: number;
  /** The volume was cloned first: the snapshot is of one instant however long it takes. */
  pointInTime: boolean;
  parentUsed: boolean;
  /** The snapshot existed already (a retried create): nothing was done. */
  existed: boolean;
  ms: number;
}

export interface RestoreOptions {
  key?: Buffer;
  onProgress?: ProgressFn;
}

export interface RestoreStats {
  sizeBytes: number;
  chunksReflinked: number;
  chunksCopied: number;
  chunksZero: number;
  bytesCopied: number;
  ms: number;
}

export interface CopyOptions {
  /** The snapshot's id in the other store (default: the same; CopySnapshot makes a new one). */
  targetId?: string;
  onProgress?: ProgressFn;
}

export interface DeleteStats {
  existed: boolean;
  chunksFreed: number;
  bytesFreed: number;
}

export interface SnapshotInfo {
  snapshotId: string;
  sizeBytes: number;
  chunkSize: number;
  chunks: number;
  zeroChunks: number;
  /** Bytes of the non-zero chunks (logical). */
  dataBytes: number;
  parent?: string;
  encrypted: boolean;
  keyId?: string;
  createdAt: string;
}

export interface SnapshotUsage extends SnapshotInfo {
  /** Chunks only this snapshot uses, and their bytes on disk: what deleting it frees. */
  uniqueChunks: number;
  uniqueBytes: number;
}

export interface StoreUsage {
  chunks: number;
  bytes: number;
  snapshots: SnapshotUsage[];
}

export interface FsckOptions {
  /** Read every chunk and check it against its name (plaintext) or its size (encrypted). */
  verify?: boolean;
}

export interface FsckReport {
  tempFilesRemoved: number;
  orphanChunksRemoved: number;
  orphanBytesRemoved: number;
  /** Chunks that failed verification (removed: the next snapshot holding those bytes writes them again). */
  corruptChunks: number;
  /** Chunks a manifest needs that are not there. */
  missingChunks: number;
  /** Snapshots that lost a chunk: restoring them fails. */
  damagedSnapshots: string[];
  /** Manifests that failed their checksum: renamed <id>.corrupt, no longer listed. */
  corruptManifests: string[];
  interruptedDeletes: number;
  snapshots: number;
  chunks: number;
}

/** A snapshot that is not in the store. */
export class SnapshotNotFoundError extends Error {
  constructor(readonly snapshotId: string) {
    super(`snapshot ${snapshotId} is not in the block store`);
  }
}
