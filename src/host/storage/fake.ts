// The fake storage: keeps no data, only what it was asked to make (volume ids and sizes). For tests
// of the control plane. It has no snapshots (there is no data to store): the stack it is in has no
// SnapshotStorage, and the controllers complete snapshot rows without moving data.
import type { CheckOutcome } from '../compute/driver.js';
import type { PartInfo } from '../part.js';
import type { VolumeSpec, VolumeStorage } from './part.js';

export class FakeStorage implements VolumeStorage {
  private volumes = new Map<string, { sizeGiB: number; snapshotId?: string; encrypted: boolean }>();

  info(): PartInfo {
    return { name: 'fake', description: 'records volumes in memory; stores no data', features: [] };
  }

  async init(): Promise<void> {}
  async close(): Promise<void> {}

  async createVolume(spec: VolumeSpec): Promise<void> {
    if (this.volumes.has(spec.volumeId)) return;
    this.volumes.set(spec.volumeId, { sizeGiB: spec.sizeGiB, snapshotId: spec.snapshotId, encrypted: spec.encrypted });
  }

  async resizeVolume(volumeId: string, sizeGiB: number): Promise<void> {
    const v = this.volumes.get(volumeId);
    if (!v) throw new Error(`volume ${volumeId} does not exist`);
    if (sizeGiB < v.sizeGiB) throw new Error(`volume ${volumeId} cannot shrink from ${v.sizeGiB} GiB to ${sizeGiB} GiB`);
    v.sizeGiB = sizeGiB;
  }

  async deleteVolume(volumeId: string): Promise<void> {
    this.volumes.delete(volumeId);
  }

  /** No data, so nothing to check: EC2's insufficient-data. */
  async checkVolume(): Promise<CheckOutcome> {
    return { status: 'insufficient-data', reason: 'the fake storage stores no volume data' };
  }

  /** Test hook: the volumes it holds, with their sizes. */
  sizeOf(volumeId: string): number | undefined {
    return this.volumes.get(volumeId)?.sizeGiB;
  }
}
