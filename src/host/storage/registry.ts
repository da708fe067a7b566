// The storage parts by name: the host's (xfs: the XFS volume store with the regions' block stores)
// and the fake one (tests). The host's is made where the stack is assembled (src/host/stack.ts).
import { EbsStorage } from './ebs.js';
import { FakeStorage } from './fake.js';

export const storageParts = {
  xfs: { description: 'EBS volumes on XFS (reflinks, LUKS), snapshots in per-region block stores', make: EbsStorage },
  fake: { description: 'records volumes in memory; stores no data', make: FakeStorage },
} as const;
