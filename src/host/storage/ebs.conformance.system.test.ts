// System test (root): the storage contract against the host's storage (XFS volume store with the
// regions' block stores).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requires } from '../../../test/requires.js';
import { conformance } from '../conformance.js';
import { storageCases, type StorageHarness } from './conformance.js';
import { EbsStorage } from './ebs.js';
import { InstanceStoreDisks } from './instance-store.js';
import { XfsVolumeStore } from './xfs-store.js';

const needs = requires({ root: true, commands: ['mkfs.xfs', 'losetup', 'e2fsck', 'qemu-img'] });

conformance<StorageHarness>(
  'storage',
  storageCases,
  {
    name: 'xfs',
    make: async () => {
      const home = mkdtempSync(join(tmpdir(), 'cumulo-storage-conf-'));
      const storage = new EbsStorage({
        volumes: new XfsVolumeStore({ home, sizeGiB: 8 }),
        instanceStore: new InstanceStoreDisks({ home }),
        keyOf: async () => Buffer.alloc(32, 3),
      });
      await storage.init();
      return {
        name: 'xfs',
        storage,
        snapshots: storage,
        close: async () => {
          await storage.close({ cleanup: true });
          rmSync(home, { recursive: true, force: true });
        },
      };
    },
  },
  needs.describe,
);
