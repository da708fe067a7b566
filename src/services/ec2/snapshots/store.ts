// Snapshot rows: who may see them (owner, explicit create-volume permissions, public), the
// Snapshot shape DescribeSnapshots answers with, and the checks several calls share.
import type { Snapshot, Tag } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { idPattern, newId } from '../../../lib/ids.js';
import type { Tx } from '../../../store/db.js';
import type { NewRow, Row } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';

// For the handlers.

/** A snapshot deleted: its permissions go; later snapshots built on it take its parent. */
export async function deleteSnapshotRecords(db: Tx, id: string, parentId: string | null): Promise<void> {
  await db.deleteFrom('snapshot_permissions').where('snapshot_id', '=', id).execute();
  await db.deleteFrom('snapshots').where('id', '=', id).execute();
  await db.updateTable('snapshots').set({ parent_snapshot_id: parentId }).where('parent_snapshot_id', '=', id).execute();
}

export async function addSnapshotPermissions(db: Tx, snapshotId: string, grantees: string[]): Promise<void> {
  for (const g of grantees) {
    await db
      .insertInto('snapshot_permissions')
      .values({ snapshot_id: snapshotId, grantee: g })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/** Removes these grantees' create-volume permissions, or all of the snapshot's. */
export async function removeSnapshotPermissions(db: Tx, snapshotId: string, grantees?: string[]): Promise<void> {
  let q = db.deleteFrom('snapshot_permissions').where('snapshot_id', '=', snapshotId);
  if (grantees) q = q.where('grantee', 'in', grantees);
  await q.execute();
}

/** The grantees of a snapshot's create-volume permission, sorted. */
export async function snapshotGrantees(db: Tx, snapshotId: string): Promise<string[]> {
  return (await db.selectFrom('snapshot_permissions').select('grantee').where('snapshot_id', '=', snapshotId).orderBy('grantee').execute()).map((r) => r.grantee);
}

export async function insertSnapshots(db: Tx, rows: NewRow<'snapshots'>[]): Promise<void> {
  if (rows.length) await db.insertInto('snapshots').values(rows).execute();
}

/** Where a snapshot came from: its volume, or the snapshot it was copied from. */
export async function snapshotOrigin(db: Tx, id: string): Promise<Pick<SnapshotRow, 'volume_id' | 'source_snapshot_id'> | undefined> {
  return db.selectFrom('snapshots').select(['volume_id', 'source_snapshot_id']).where('id', '=', id).executeTakeFirst();
}

/** A snapshot of the region by id, whoever owns it. */
export async function snapshotInRegion(db: Tx, region: string, id: string): Promise<SnapshotRow | undefined> {
  return db.selectFrom('snapshots').selectAll().where('id', '=', id).where('region', '=', region).executeTakeFirst();
}

/** A snapshot of the region, whoever owns it: what CreateVolume needs of it. */
export async function findSnapshotInRegion(
  db: Tx,
  region: string,
  id: string,
): Promise<Pick<SnapshotRow, 'id' | 'account_id' | 'volume_size' | 'state' | 'encrypted' | 'kms_key_id'> | undefined> {
  return db
    .selectFrom('snapshots')
    .select(['id', 'account_id', 'volume_size', 'state', 'encrypted', 'kms_key_id'])
    .where('id', '=', id)
    .where('region', '=', region)
    .executeTakeFirst();
}

/** Whether the snapshot's create-volume permission names the account or all. */
export async function snapshotSharedWith(db: Tx, snapshotId: string, accountId: string): Promise<boolean> {
  const grant = await db.selectFrom('snapshot_permissions').select('grantee').where('snapshot_id', '=', snapshotId).where('grantee', 'in', [accountId, 'all']).executeTakeFirst();
  return grant !== undefined;
}

export type SnapshotRow = Row<'snapshots'>;

export const SNAPSHOT_ID = idPattern('snap');
/** EC2 shows this volume id on copied snapshots (they come from no volume of yours). */
export const COPY_VOLUME_ID = 'vol-ffffffff';
export const GiB = 1024 ** 3;

export function snapshotsNotFound(ids: string[]): ApiError {
  return Errors.notFound('InvalidSnapshot.NotFound', ids.length === 1 ? `The snapshot '${ids[0]}' does not exist.` : `The snapshots '${ids.join(', ')}' do not exist.`);
}

export function checkSnapshotId(id: string | undefined, param = 'SnapshotId'): string {
  if (id === undefined || id === '') throw Errors.missingParameter(param);
  if (!SNAPSHOT_ID.test(id)) throw Errors.notFound('InvalidSnapshotID.Malformed', `Invalid id: "${id}" (expecting "snap-...")`);
  return id;
}

/** Every grantee of each snapshot: account ids and 'all'. */
export async function permissionsOf(db: Tx, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!ids.length) return out;
  const rows = [];
  for (let i = 0; i < ids.length; i += 500) {
    rows.push(
      ...(await db
        .selectFrom('snapshot_permissions')
        .selectAll()
        .where('snapshot_id', 'in', ids.slice(i, i + 500))
        .execute()),
    );
  }
  for (const r of rows) {
    let list = out.get(r.snapshot_id);
    if (!list) out.set(r.snapshot_id, (list = []));
    list.push(r.grantee);
  }
  return out;
}

/**
 * The snapshots of `region` the caller may see: its own, those shared with it, public ones.
 * With `ids`, only those.
 */
export async function visibleSnapshots(ctx: Ctx, region: string, ids?: string[]): Promise<{ rows: SnapshotRow[]; grants: Map<string, string[]> }> {
  let q = ctx.db
    .selectFrom('snapshots')
    .selectAll()
    .where('region', '=', region)
    .where((eb) =>
      eb.or([
        eb('account_id', '=', ctx.accountId),
        eb.exists(
          eb
            .selectFrom('snapshot_permissions')
            .select('snapshot_permissions.snapshot_id')
            .whereRef('snapshot_permissions.snapshot_id', '=', 'snapshots.id')
            .where('snapshot_permissions.grantee', 'in', [ctx.accountId, 'all']),
        ),
      ]),
    );
  if (ids) q = q.where('id', 'in', ids.length ? ids : ['']);
  const rows = await q.execute();
  return {
    rows,
    grants: await permissionsOf(
      ctx.db,
      rows.map((r) => r.id),
    ),
  };
}

/** One snapshot the caller may use (own, shared with it, or public) in `region`, or NotFound. */
export async function findVisibleSnapshot(ctx: Ctx, region: string, id: string): Promise<SnapshotRow> {
  const { rows } = await visibleSnapshots(ctx, region, [id]);
  const row = rows[0];
  if (!row) throw snapshotsNotFound([id]);
  return row;
}

/** The caller's own snapshot in its region, or NotFound (another account's is as good as absent). */
export async function findOwnSnapshot(ctx: Ctx, id: string): Promise<SnapshotRow> {
  const row = await ctx.db.selectFrom('snapshots').selectAll().where('id', '=', id).where('account_id', '=', ctx.accountId).where('region', '=', ctx.region).executeTakeFirst();
  if (!row) throw snapshotsNotFound([id]);
  return row;
}

/** A registered image whose block device mappings name this snapshot, if any. */
export async function imageUsing(db: Tx, region: string, snapshotId: string): Promise<string | undefined> {
  const rows = await db
    .selectFrom('images')
    .select(['id', 'block_device_mappings'])
    .where('region', '=', region)
    .where('state', '!=', 'deregistered')
    .where('block_device_mappings', 'like', `%${snapshotId}%`)
    .execute();
  for (const r of rows) {
    let mappings: { Ebs?: { SnapshotId?: string } }[] = [];
    try {
      mappings = JSON.parse(r.block_device_mappings) as typeof mappings;
    } catch {
      continue;
    }
    if (Array.isArray(mappings) && mappings.some((m) => m?.Ebs?.SnapshotId === snapshotId)) return r.id;
  }
  return undefined;
}

/** The snapshot as DescribeSnapshots shows it. */
export function toSnapshot(row: SnapshotRow, tags: Tag[] | undefined): Snapshot {
  const out: Snapshot = {
    SnapshotId: row.id,
    VolumeId: row.volume_id,
    State: row.state as Snapshot['State'],
    StartTime: new Date(row.start_time),
    Progress: row.state === 'completed' ? '100%' : `${row.progress}%`,
    OwnerId: row.account_id,
    Description: row.description,
    VolumeSize: row.volume_size,
    Encrypted: row.encrypted === 1,
    StorageTier: 'standard',
  };
  if (row.kms_key_id) out.KmsKeyId = row.kms_key_id;
  if (row.state_message) out.StateMessage = row.state_message;
  if (row.completion_time) out.CompletionTime = new Date(row.completion_time);
  if (row.state === 'completed') out.FullSnapshotSizeInBytes = row.data_bytes;
  if (tags?.length) out.Tags = tags;
  return out;
}

/** The volume's latest completed snapshot: a new one stores only what changed since. */
export async function latestSnapshotOf(ctx: Ctx, volumeId: string): Promise<string | null> {
  const row = await ctx.db
    .selectFrom('snapshots')
    .select('id')
    .where('volume_id', '=', volumeId)
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .where('state', '=', 'completed')
    .orderBy('start_time', 'desc')
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}

/** A pending snapshot row of a volume, building on its latest one (the caller inserts it and queues the job). */
export async function pendingSnapshot(ctx: Ctx, volume: Pick<Row<'volumes'>, 'id' | 'size_gib' | 'encrypted' | 'kms_key_id'>, description: string): Promise<SnapshotRow> {
  const now = ctx.now.toISOString();
  return {
    id: newId('snap'),
    account_id: ctx.accountId,
    region: ctx.region,
    volume_id: volume.id,
    volume_size: volume.size_gib,
    state: 'pending',
    progress: 0,
    description,
    encrypted: volume.encrypted,
    kms_key_id: volume.encrypted ? volume.kms_key_id : null,
    state_message: null,
    start_time: now,
    completion_time: null,
    data_bytes: 0,
    added_bytes: 0,
    parent_snapshot_id: await latestSnapshotOf(ctx, volume.id),
    source_region: null,
    source_snapshot_id: null,
    created_at: now,
  };
}

/**
 * Each new snapshot's point in time, taken by the host inside the request, just before it commits
 * (the volumes one right after the other): the snapshot holds the volume as it was then, however
 * late its data is stored. One the host cannot take ends at once in 'error', with the reason.
 * Without a host that keeps volume data (the fake driver) there is nothing to take.
 */
export function captureBeforeCommit(ctx: Ctx, rows: Pick<SnapshotRow, 'id' | 'volume_id'>[]): void {
  const captures = ctx.captures;
  if (!captures || !rows.length) return;
  ctx.beforeCommit(async () => {
    for (const r of rows) {
      try {
        await captures.capture({ volumeId: r.volume_id, snapshotId: r.id });
      } catch (e) {
        await ctx.db
          .updateTable('snapshots')
          .set({
            state: 'error',
            state_message: `The volume's point-in-time copy could not be taken: ${(e as Error).message}`.slice(0, 1000),
            completion_time: ctx.now.toISOString(),
          })
          .where('id', '=', r.id)
          .execute();
      }
    }
  });
}

// For the controllers and the host.

export async function snapshotById(db: Tx, id: string): Promise<SnapshotRow | undefined> {
  return db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The snapshot's state, undefined when it is gone. */
export async function snapshotStateOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('snapshots').select('state').where('id', '=', id).executeTakeFirst())?.state;
}

/** Whether the snapshot is one of the region's block store (a row of snapshots). */
export async function isBlockStoreSnapshot(db: Tx, id: string): Promise<boolean> {
  return (await db.selectFrom('snapshots').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

export async function snapshotStates(db: Tx, ids: string[]): Promise<Pick<SnapshotRow, 'id' | 'state' | 'state_message'>[]> {
  return ids.length ? db.selectFrom('snapshots').select(['id', 'state', 'state_message']).where('id', 'in', ids).execute() : [];
}

/** Those of these snapshots that are pending (bounded IN lists). */
export async function pendingSnapshotIds(db: Tx, ids: string[]): Promise<Set<string>> {
  const pending = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('snapshots')
      .select('id')
      .where('id', 'in', ids.slice(i, i + 500))
      .where('state', '=', 'pending')
      .execute();
    for (const r of rows) pending.add(r.id);
  }
  return pending;
}

/** A pending snapshot's progress, only ever forward. */
export async function advanceSnapshotProgress(db: Tx, id: string, percent: number): Promise<void> {
  await db.updateTable('snapshots').set({ progress: percent }).where('id', '=', id).where('state', '=', 'pending').where('progress', '<', percent).execute();
}

/** A pending snapshot is completed with these sizes; false when it was not pending (deleted meanwhile). */
export async function completeSnapshot(db: Tx, id: string, dataBytes: number, addedBytes: number): Promise<boolean> {
  const r = await db
    .updateTable('snapshots')
    .set({ state: 'completed', progress: 100, data_bytes: dataBytes, added_bytes: addedBytes, completion_time: new Date().toISOString(), state_message: null })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** A pending snapshot fails, with EC2's state message. */
export async function failSnapshot(db: Tx, id: string, message: string): Promise<void> {
  await db
    .updateTable('snapshots')
    .set({ state: 'error', state_message: message.slice(0, 1000), completion_time: new Date().toISOString() })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .execute();
}
