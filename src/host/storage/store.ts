// The contract of the host's block storage: EBS volumes and instance-store disks as real block
// devices, copy-on-write from snapshots.
export interface VolumeStore {
  /** Prepare the backing store (idempotent). */
  init(): Promise<void>;
  /** A new volume from a raw snapshot file, fast (copy-on-write), grown to sizeGiB (and its ext4 with it). */
  createFromSnapshot(volumeId: string, snapshotFile: string, sizeGiB: number): Promise<void>;
  createEmpty(volumeId: string, sizeGiB: number): Promise<void>;
  exists(volumeId: string): Promise<boolean>;
  /** A block device for the volume (a loop device); idempotent. */
  attach(volumeId: string): Promise<{ device: string }>;
  detach(volumeId: string): Promise<void>;
  /**
   * Mount the volume's filesystem at target (attaching it first). A volume the host does not
   * trust (bytes a tenant may have written) is checked first, and refused with
   * UntrustedFilesystemError (fsck.ts) when the check fails.
   */
  mount(volumeId: string, target: string): Promise<void>;
  unmount(target: string): Promise<void>;
  delete(volumeId: string): Promise<void>;
  /** Release every loop device and mount the store made (server stop, test teardown). */
  close(): Promise<void>;
}
