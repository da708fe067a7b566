// DescribeVolumes filters, as EC2 documents them.
import type { Volume, VolumeModification, VolumeStatusItem } from '@aws-sdk/client-ec2';
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

/** DescribeVolumesModifications filters. */
export const volumeModificationFilters: FilterMap<VolumeModification> = {
  'modification-state': (m) => m.ModificationState,
  'original-iops': (m) => m.OriginalIops,
  'original-size': (m) => m.OriginalSize,
  'original-throughput': (m) => m.OriginalThroughput,
  'original-volume-type': (m) => m.OriginalVolumeType,
  'original-multi-attach-enabled': (m) => m.OriginalMultiAttachEnabled,
  'start-time': (m) => iso(m.StartTime),
  'target-iops': (m) => m.TargetIops,
  'target-size': (m) => m.TargetSize,
  'target-throughput': (m) => m.TargetThroughput,
  'target-volume-type': (m) => m.TargetVolumeType,
  'target-multi-attach-enabled': (m) => m.TargetMultiAttachEnabled,
  'volume-id': (m) => m.VolumeId,
};

/** DescribeVolumeStatus filters. */
export const volumeStatusFilters: FilterMap<VolumeStatusItem> = {
  'availability-zone': (v) => v.AvailabilityZone,
  'volume-status.status': (v) => v.VolumeStatus?.Status,
  'volume-status.details-name': (v) => (v.VolumeStatus?.Details ?? []).map((d) => d.Name),
  'volume-status.details-status': (v) => (v.VolumeStatus?.Details ?? []).map((d) => d.Status),
  'action.code': (v) => (v.Actions ?? []).map((a) => a.Code),
  'action.description': (v) => (v.Actions ?? []).map((a) => a.Description),
  'action.event-id': (v) => (v.Actions ?? []).map((a) => a.EventId),
  'event.description': (v) => (v.Events ?? []).map((e) => e.Description),
  'event.event-id': (v) => (v.Events ?? []).map((e) => e.EventId),
  'event.event-type': (v) => (v.Events ?? []).map((e) => e.EventType),
  'event.not-after': (v) => (v.Events ?? []).map((e) => iso(e.NotAfter)),
  'event.not-before': (v) => (v.Events ?? []).map((e) => iso(e.NotBefore)),
};
