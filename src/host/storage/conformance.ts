// The storage part's contract, run against every implementation (fake.conformance.test.ts,
// ebs.conformance.system.test.ts).
import { expect } from 'vitest';
import { PermanentFailure } from '../part.js';
import type { ConformanceCase } from '../conformance.js';
import type { SnapshotStorage, VolumeStorage } from './part.js';

export interface StorageHarness {
  storage: VolumeStorage;
  snapshots?: SnapshotStorage;
  /** The implementation's name, as info() says it. */
  name: string;
}

const ACCOUNT = '123456789012';
const vol = (n: number) => `vol-0c${String(n).padStart(15, '0')}`;
const snap = (n: number) => `snap-0c${String(n).padStart(15, '0')}`;
const spec = (n: number, over: { sizeGiB?: number; snapshotId?: string; region?: string } = {}) => ({
  volumeId: vol(n),
  accountId: ACCOUNT,
  region: over.region ?? 'us-east-1',
  sizeGiB: over.sizeGiB ?? 1,
  encrypted: false,
  ...(over.snapshotId ? { snapshotId: over.snapshotId } : {}),
});

export const storageCases: ConformanceCase<StorageHarness>[] = [
  {
    name: 'info() names the part and lists what it supports',
    run: async (h) => {
      const info = h.storage.info();
      expect(info.name).toBe(h.name);
      expect(info.description).not.toBe('');
      expect(Array.isArray(info.features)).toBe(true);
    },
  },
  {
    name: 'createVolume is idempotent; resizeVolume grows and never shrinks',
    run: async (h) => {
      await h.storage.createVolume(spec(1));
      await h.storage.createVolume(spec(1));
      await h.storage.resizeVolume(vol(1), 2);
      await h.storage.resizeVolume(vol(1), 2);
      await expect(h.storage.resizeVolume(vol(1), 1)).rejects.toThrow(/shrink/);
      await h.storage.deleteVolume(vol(1));
    },
  },
  {
    name: 'a volume the host does not have cannot be resized',
    run: async (h) => {
      await expect(h.storage.resizeVolume(vol(2), 2)).rejects.toThrow();
    },
  },
  {
    name: 'deleteVolume removes the volume and is idempotent',
    run: async (h) => {
      await h.storage.createVolume(spec(3));
      await h.storage.deleteVolume(vol(3));
      await h.storage.deleteVolume(vol(3));
      await expect(h.storage.resizeVolume(vol(3), 2)).rejects.toThrow();
    },
  },
  {
    name: 'checkVolume: a volume it has passes when not in use, one it lacks fails',
    run: async (h) => {
      await h.storage.createVolume(spec(4));
      expect(await h.storage.checkVolume(vol(4), { inUse: false })).toEqual({ status: 'passed' });
      // In use, yet no instance holds its block device: the host owes it a device.
      expect((await h.storage.checkVolume(vol(4), { inUse: true })).status).toBe('failed');
      await h.storage.deleteVolume(vol(4));
      expect((await h.storage.checkVolume(vol(4), { inUse: false })).status).toBe('failed');
    },
  },
  {
    name: 'snapshots: captured in the request, stored from the capture, restored, copied, deleted',
    timeout: 180_000,
    run: async (h) => {
      const s = h.snapshots!;
      await h.storage.createVolume(spec(5));
      // No capture: the snapshot cannot be of the request's moment.
      await expect(s.snapshotVolume({ volumeId: vol(5), snapshotId: snap(5), region: 'us-east-1', accountId: ACCOUNT, encrypted: false })).rejects.toThrow(/moment/);
      await s.captureVolume({ volumeId: vol(5), snapshotId: snap(5) });
      expect(await s.captures()).toContain(snap(5));
      const r = await s.snapshotVolume({ volumeId: vol(5), snapshotId: snap(5), region: 'us-east-1', accountId: ACCOUNT, encrypted: false });
      expect(r.dataBytes).toBeGreaterThanOrEqual(0);
      expect(await s.captures()).not.toContain(snap(5));
      // Stored once: again is the same snapshot, nothing added.
      expect(await s.snapshotVolume({ volumeId: vol(5), snapshotId: snap(5), region: 'us-east-1', accountId: ACCOUNT, encrypted: false })).toEqual({
        dataBytes: r.dataBytes,
        addedBytes: 0,
      });
      await h.storage.createVolume(spec(6, { sizeGiB: 2, snapshotId: snap(5) }));
      const copied = await s.copySnapshot({ fromRegion: 'us-east-1', snapshotId: snap(5), toRegion: 'eu-west-1', newSnapshotId: snap(7), accountId: ACCOUNT });
      expect(copied.bytesCopied).toBeGreaterThanOrEqual(0);
      await h.storage.createVolume(spec(7, { region: 'eu-west-1', snapshotId: snap(7) }));
      await s.discardCapture(snap(9));
      for (const id of [snap(5), snap(5)]) await s.deleteSnapshot('us-east-1', id);
      await s.deleteSnapshot('eu-west-1', snap(7));
      for (const n of [5, 6, 7]) await h.storage.deleteVolume(vol(n));
    },
  },
  {
    name: 'a volume from a snapshot the store lacks fails for good (PermanentFailure)',
    run: async (h) => {
      await expect(h.storage.createVolume(spec(8, { snapshotId: snap(8) }))).rejects.toBeInstanceOf(PermanentFailure);
    },
  },
];
