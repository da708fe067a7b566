// DescribeVolumes filters, as EC2 documents them.
import type { Volume } from '@aws-sdk/client-ec2';
import type { FilterMap } from '../common/filters.js';

const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);

export const volumeFilters: FilterMap<Volume> = {
  'attachment.attach-time': (v) => (v.Attachments ?? []).map((a) => iso(a.AttachTime)),
  'attachment.delete-on-termination': (v) => (v.Attachments ?? []).map((a) => a.DeleteOnTermination),
  'attachment.device': (v) => (v.Attachments ?? []).map((a) => a.Device),
  'attachment.instance-id': (v) => (v.Attachments ?? []).map((a) => a.InstanceId),
  'attachment.status': (v) => (v.Attachments ?? []).map((a) => a.State),
  'availability-zone': (v) => v.AvailabilityZone,
  'availability-zone-id': (v) => v.AvailabilityZoneId,
  'create-time': (v) => iso(v.CreateTime),
  encrypted: (v) => v.Encrypted,
  'fast-restored': (v) => v.FastRestored ?? false,
  'multi-attach-enabled': (v) => v.MultiAttachEnabled,
  'operator.managed': (v) => v.Operator?.Managed ?? false,
  'operator.principal': (v) => v.Operator?.Principal,
  size: (v) => v.Size,
  'snapshot-id': (v) => v.SnapshotId,
  status: (v) => v.State,
  'volume-id': (v) => v.VolumeId,
  'volume-type': (v) => v.VolumeType,
};
