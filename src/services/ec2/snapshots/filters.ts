// DescribeSnapshots filters, as EC2 documents them (tag:<key>, tag-key and tag-value come from common/filters).
import type { Snapshot } from '@aws-sdk/client-ec2';
import type { FilterMap } from '../common/filters.js';

export const snapshotFilters: FilterMap<Snapshot> = {
  description: (s) => s.Description,
  encrypted: (s) => s.Encrypted,
  'kms-key-id': (s) => s.KmsKeyId,
  'owner-alias': (s) => s.OwnerAlias,
  'owner-id': (s) => s.OwnerId,
  progress: (s) => s.Progress,
  'snapshot-id': (s) => s.SnapshotId,
  'start-time': (s) => s.StartTime?.toISOString(),
  status: (s) => s.State,
  'storage-tier': (s) => s.StorageTier,
  'transfer-type': (s) => s.TransferType,
  'volume-id': (s) => s.VolumeId,
  'volume-size': (s) => s.VolumeSize,
};
