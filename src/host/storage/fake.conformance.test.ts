// The storage contract against the fake storage (the block store's is ebs.conformance.system.test.ts).
import { conformance } from '../conformance.js';
import { storageCases, type StorageHarness } from './conformance.js';
import { FakeStorage } from './fake.js';

const noData = 'it keeps no volume data';
conformance<StorageHarness>('storage', storageCases, {
  name: 'fake',
  make: async () => ({ name: 'fake', storage: new FakeStorage() }),
  skips: {
    'checkVolume: a volume it has passes when not in use, one it lacks fails': `${noData}: every check is insufficient-data`,
    'snapshots: captured in the request, stored from the capture, restored, copied, deleted': `${noData}, so the stack has no SnapshotStorage (snapshot rows complete without data)`,
    'a volume from a snapshot the store lacks fails for good (PermanentFailure)': `${noData} and no snapshots: a volume from a snapshot is recorded, never restored`,
  },
});
