// The volume_modifications table: ModifyVolume's changes, from their original shape to their target.
import type { VolumeModification } from '@aws-sdk/client-ec2';
import type { NewRow, Row, RowUpdate } from '../../../../store/schema.js';
import { jsonColumn } from '../../../../store/json-column.js';
import type { Tx } from '../../../../store/db.js';
import type { VolumeRow } from './volumes.js';

/** The state of the volume's modification still under way (modifying or optimizing), if any. */
export async function activeModificationState(db: Tx, volumeId: string): Promise<string | undefined> {
  const row = await db.selectFrom('volume_modifications').select('state').where('volume_id', '=', volumeId).where('state', 'in', ['modifying', 'optimizing']).executeTakeFirst();
  return row?.state;
}

export async function insertModification(db: Tx, row: NewRow<'volume_modifications'>): Promise<void> {
  await db.insertInto('volume_modifications').values(row).execute();
}

/** Every modification of these volumes. */
export async function modificationsOf(db: Tx, volumeIds: string[]): Promise<ModificationRow[]> {
  return volumeIds.length ? db.selectFrom('volume_modifications').selectAll().where('volume_id', 'in', volumeIds).execute() : [];
}

/** The attributes a modification starts from or goes to (volume_modifications.original / target). */
export interface VolumeShape {
  Size: number;
  VolumeType: string;
  Iops?: number;
  Throughput?: number;
  MultiAttachEnabled: boolean;
}

export function shapeOf(row: VolumeRow): VolumeShape {
  const s: VolumeShape = { Size: row.size_gib, VolumeType: row.volume_type, MultiAttachEnabled: row.multi_attach_enabled === 1 };
  if (row.iops !== null) s.Iops = row.iops;
  if (row.throughput !== null) s.Throughput = row.throughput;
  return s;
}

export type ModificationRow = Row<'volume_modifications'>;

export function toVolumeModification(m: ModificationRow): VolumeModification {
  const o = JSON.parse(m.original) as VolumeShape;
  const t = JSON.parse(m.target) as VolumeShape;
  const out: VolumeModification = {
    VolumeId: m.volume_id,
    ModificationState: m.state as VolumeModification['ModificationState'],
    TargetSize: t.Size,
    TargetVolumeType: t.VolumeType as VolumeModification['TargetVolumeType'],
    TargetMultiAttachEnabled: t.MultiAttachEnabled,
    OriginalSize: o.Size,
    OriginalVolumeType: o.VolumeType as VolumeModification['OriginalVolumeType'],
    OriginalMultiAttachEnabled: o.MultiAttachEnabled,
    Progress: m.progress,
    StartTime: new Date(m.start_time),
  };
  if (t.Iops !== undefined) out.TargetIops = t.Iops;
  if (t.Throughput !== undefined) out.TargetThroughput = t.Throughput;
  if (o.Iops !== undefined) out.OriginalIops = o.Iops;
  if (o.Throughput !== undefined) out.OriginalThroughput = o.Throughput;
  if (m.status_message) out.StatusMessage = m.status_message;
  if (m.end_time) out.EndTime = new Date(m.end_time);
  return out;
}

/** volume_modifications.original and .target. */
export const volumeShapeColumn = jsonColumn<VolumeShape>();

/** A modification with its shapes decoded. */
export type Modification = Omit<ModificationRow, 'original' | 'target'> & { original: VolumeShape; target: VolumeShape };

export async function modificationOf(db: Tx, volumeId: string, startTime: string): Promise<Modification | undefined> {
  const m = await db.selectFrom('volume_modifications').selectAll().where('volume_id', '=', volumeId).where('start_time', '=', startTime).executeTakeFirst();
  return m && { ...m, original: volumeShapeColumn.decode(m.original), target: volumeShapeColumn.decode(m.target) };
}

/** Move a modification on, if it is in state `from` (any state when undefined). */
export async function updateModification(
  db: Tx,
  volumeId: string,
  startTime: string,
  from: string | undefined,
  change: Pick<RowUpdate<'volume_modifications'>, 'state' | 'progress' | 'status_message' | 'end_time'>,
): Promise<void> {
  let q = db.updateTable('volume_modifications').set(change).where('volume_id', '=', volumeId).where('start_time', '=', startTime);
  if (from !== undefined) q = q.where('state', '=', from);
  await q.execute();
}

/** The volume takes the shape its modification asked for. */
export async function applyVolumeShape(db: Tx, id: string, shape: Pick<VolumeRow, 'size_gib' | 'volume_type' | 'iops' | 'throughput' | 'multi_attach_enabled'>): Promise<void> {
  await db.updateTable('volumes').set(shape).where('id', '=', id).execute();
}
