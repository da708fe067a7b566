// The snapshot reconcilers (issue 5: EBS). Handlers write the rows, have the host capture each
// volume's point in time inside the request (a reflink clone kept under the snapshot's id:
// BlockStorage.captureVolume), and queue these jobs:
//   snapshot.create      store one snapshot's capture in the region's block store
//   snapshot.create-set  CreateSnapshots, CreateImage: the captures of one instance's volumes
//   snapshot.copy        CopySnapshot: copy a snapshot from its region's store into this one's
//   snapshot.delete      free a deleted snapshot's chunks (those no other snapshot holds)
// A host whose storage keeps no data (the fake stack: no SnapshotStorage) has no data to move: the rows just complete.
// Every step is idempotent: the host's methods are, and a row already completed (or gone) is
// left as it is.
import type { Row } from '../store/schema.js';
import { advanceSnapshotProgress, completeSnapshot, failSnapshot, pendingSnapshotIds, snapshotById, snapshotStateOf } from '../services/ec2/snapshots/store.js';
import type { ControllerDeps, Job, Runner } from './runner.js';

type SnapshotRow = Row<'snapshots'>;

const GiB = 1024 ** 3;
/** Progress reaches the row at most this often. */
const PROGRESS_MS = 250;

async function loadRow(deps: ControllerDeps, id: string): Promise<SnapshotRow | undefined> {
  return snapshotById(deps.db, id);
}

/** Writes progress to a pending row, at most every PROGRESS_MS; never after `stop()`. */
function progressWriter(deps: ControllerDeps, id: string): { onProgress: (percent: number) => void; stop: () => Promise<void> } {
  let last = 0;
  let stopped = false;
  let pending: Promise<unknown> = Promise.resolve();
  return {
    onProgress(percent) {
      const now = Date.now();
      if (stopped || now - last < PROGRESS_MS) return;
      last = now;
      // Never 100 before the row is completed: completion writes that.
      const p = Math.max(0, Math.min(99, Math.floor(percent)));
      pending = advanceSnapshotProgress(deps.db, id, p).catch((e) => deps.log(`snapshots: progress of ${id}: ${(e as Error).message}`));
    },
    async stop() {
      stopped = true;
      await pending;
    },
  };
}

async function complete(deps: ControllerDeps, id: string, dataBytes: number, addedBytes: number): Promise<boolean> {
  return completeSnapshot(deps.db, id, dataBytes, addedBytes);
}

async function fail(deps: ControllerDeps, id: string, message: string): Promise<void> {
  deps.log(`snapshots: ${id} failed: ${message}`);
  // Its capture is of no use any more (and may be large): the failed snapshot never gets data.
  await deps.snapshots?.discardCapture(id).catch((e) => deps.log(`snapshots: dropping the capture of ${id}: ${(e as Error).message}`));
  await failSnapshot(deps.db, id, message);
}

/** The parent to build on, if it is still there and completed (a deleted one is no help). */
async function usableParent(deps: ControllerDeps, row: SnapshotRow): Promise<string | undefined> {
  if (!row.parent_snapshot_id) return undefined;
  return (await snapshotStateOf(deps.db, row.parent_snapshot_id)) === 'completed' ? row.parent_snapshot_id : undefined;
}

/** Take one pending snapshot; a row gone meanwhile (DeleteSnapshot) has its data dropped again. */
async function takeOne(deps: ControllerDeps, id: string): Promise<void> {
  const row = await loadRow(deps, id);
  if (!row || row.state !== 'pending') return;
  const bs = deps.snapshots;
  if (!bs) {
    await complete(deps, id, row.volume_size * GiB, 0);
    return;
  }
  const progress = progressWriter(deps, id);
  try {
    const result = await bs.snapshotVolume({
      volumeId: row.volume_id,
      snapshotId: row.id,
      region: row.region,
      accountId: row.account_id,
      parentSnapshotId: await usableParent(deps, row),
      encrypted: row.encrypted === 1,
      onProgress: progress.onProgress,
    });
    await progress.stop();
    if (!(await complete(deps, id, result.dataBytes, result.addedBytes))) {
      // Deleted while it was being taken: its delete job may have run before the data existed.
      if (!(await loadRow(deps, id))) await bs.deleteSnapshot(row.region, id);
    }
  } catch (e) {
    await progress.stop();
    await fail(deps, id, (e as Error).message);
  }
}

async function createOne(job: Job<'snapshot.create'>, deps: ControllerDeps): Promise<void> {
  await takeOne(deps, job.resource_id);
}

/**
 * CreateSnapshots and CreateImage: every capture of the set in turn. The volumes were captured in
 * the request one right after the other, so the point in time is per volume, the volumes
 * milliseconds apart (crash-consistent per volume, not across volumes).
 */
async function createSet(job: Job<'snapshot.create-set'>, deps: ControllerDeps): Promise<void> {
  for (const id of job.data.snapshotIds) await takeOne(deps, id);
}

async function copy(job: Job<'snapshot.copy'>, deps: ControllerDeps): Promise<void> {
  const row = await loadRow(deps, job.resource_id);
  if (!row || row.state !== 'pending') return;
  const source = row.source_snapshot_id ? await loadRow(deps, row.source_snapshot_id) : undefined;
  if (!source || source.state !== 'completed' || source.region !== row.source_region) {
    await fail(deps, row.id, `The source snapshot ${row.source_snapshot_id ?? ''} is no longer available.`);
    return;
  }
  const bs = deps.snapshots;
  if (!bs) {
    await complete(deps, row.id, source.data_bytes || source.volume_size * GiB, 0);
    return;
  }
  const progress = progressWriter(deps, row.id);
  try {
    const { bytesCopied } = await bs.copySnapshot({
      fromRegion: source.region,
      snapshotId: source.id,
      toRegion: row.region,
      newSnapshotId: row.id,
      accountId: row.account_id,
      onProgress: progress.onProgress,
    });
    await progress.stop();
    if (!(await complete(deps, row.id, source.data_bytes, bytesCopied))) {
      if (!(await loadRow(deps, row.id))) await bs.deleteSnapshot(row.region, row.id);
    }
  } catch (e) {
    await progress.stop();
    await fail(deps, row.id, (e as Error).message);
  }
}

async function remove(job: Job<'snapshot.delete'>, deps: ControllerDeps): Promise<void> {
  // The row is gone already (EC2 shows a deleted snapshot gone at once); a row with the same id
  // would be a bug, never a reason to keep the data of a snapshot the user deleted.
  const bs = deps.snapshots;
  if (!bs) return;
  await bs.deleteSnapshot(job.data.region ?? job.region, job.resource_id);
}

/**
 * At server start (before requests and jobs): drop the captures no pending snapshot needs: those of
 * requests that never committed (the server died between the capture and the commit) or of
 * snapshots that went meanwhile.
 */
export async function adoptCaptures(deps: Pick<ControllerDeps, 'db' | 'snapshots' | 'log'>): Promise<void> {
  const bs = deps.snapshots;
  if (!bs) return;
  const ids = await bs.captures();
  const pending = await pendingSnapshotIds(deps.db, ids);
  for (const id of ids) {
    if (pending.has(id)) continue;
    deps.log(`snapshots: dropping the capture of ${id} (no pending snapshot needs it)`);
    await bs.discardCapture(id).catch((e) => deps.log(`snapshots: dropping the capture of ${id}: ${(e as Error).message}`));
  }
}

/**
 * A take or a copy that kept failing outside the host's work (which fails the snapshot at once):
 * `error` with a state message. snapshot.delete has no hook: freeing chunks is host cleanup, parked
 * and retried at the next start.
 */
async function giveUp(job: Job<'snapshot.create' | 'snapshot.create-set' | 'snapshot.copy'>, deps: ControllerDeps): Promise<void> {
  const ids = job.kind === 'snapshot.create-set' ? job.data.snapshotIds : [job.resource_id];
  for (const id of ids) await fail(deps, id, 'The snapshot could not be completed: internal error');
}

export function registerSnapshotControllers(runner: Runner): void {
  runner.register('snapshot.create', createOne, { giveUp });
  runner.register('snapshot.create-set', createSet, { giveUp });
  runner.register('snapshot.copy', copy, { giveUp });
  runner.register('snapshot.delete', remove);
}
