// The volume reconcilers (issue 5: EBS). Each reads its row, acts on the host through the
// driver's BlockStorage ability (a driver without it, the fake, only moves the state on), and
// records the outcome guarded by the state it started from. All are safe to run again.
//
//   volume.create   creating → driver.createVolume → available; a snapshot gone or in error, or a
//                   PermanentFailure of the driver → error
//   volume.delete   deleting → driver.deleteVolume → row and tags gone; a row already gone
//                   (DeleteOnTermination at terminate) → its data goes from the host
//   volume.attach   attachment attaching → driver.attachVolume when the instance runs → attached
//                   (a stopped instance gets it through InstanceSpec.volumes at its next start)
//   volume.detach   attachment detaching → driver.detachVolume when the instance runs → row gone,
//                   the volume available when no attachment is left; { released: true } (the
//                   instance was terminated and its attachment is gone already): the host part only
//   volume.modify   modification modifying → driver.resizeVolume / setVolumeLimits (live on the
//                   running instances it is attached to) → the volume takes the target → optimizing
//                   → completed
//
// When a job gives up (runner.ts): a create ends in `error`, a delete lets the row go and queues
// the host part as a cleanup, an attach or detach ends the attachment (the volume available) and
// queues the host's detach, a modification ends `failed`.
import { PermanentFailure } from '../host/part.js';
import { accountDataKey } from '../services/ec2/volumes/keys.js';
import { instanceStateOf } from '../services/ec2/instances/store.js';
import { snapshotStateOf } from '../services/ec2/snapshots/store.js';
import {
  applyVolumeShape,
  attachmentOf,
  deleteAttachmentIf,
  deleteVolumeIfDeleting,
  freeVolumeIfUnattached,
  markAttachmentAttached,
  modificationOf,
  runningInstancesWithVolume,
  moveVolumeState,
  updateModification,
  volumeById,
  volumeStateOf,
} from '../services/ec2/volumes/store.js';
import { volumeLimits } from './specs.js';
import type { ControllerDeps, Job, JobResult, Runner } from './runner.js';
import { queueCleanup } from './cleanup.js';

/** How long a modification stays 'optimizing' (CUMULO_VOLUME_OPTIMIZE_MS overrides, for tests). */
export function optimizeMs(): number {
  const v = Number(process.env.CUMULO_VOLUME_OPTIMIZE_MS);
  return Number.isFinite(v) && v >= 0 && process.env.CUMULO_VOLUME_OPTIMIZE_MS !== undefined ? v : 2_000;
}

export function registerVolumeControllers(runner: Runner): void {
  runner.register('volume.create', createVolume, { giveUp: giveUpCreate });
  runner.register('volume.delete', deleteVolume, { giveUp: giveUpDelete });
  runner.register('volume.attach', attachVolume, { giveUp: giveUpAttachment });
  runner.register('volume.detach', detachVolume, { giveUp: giveUpAttachment });
  runner.register('volume.modify', modifyVolume, { giveUp: giveUpModify });
}

/** The host could not make it: `error`, as EC2 shows a volume whose creation failed (the user deletes it). */
async function giveUpCreate(job: Job<'volume.create'>, deps: ControllerDeps): Promise<void> {
  await moveVolumeState(deps.db, job.resource_id, 'creating', 'error');
}

/** Deleted as asked; the host's part goes on as a cleanup (retried, never dropped). */
async function giveUpDelete(job: Job<'volume.delete'>, deps: ControllerDeps): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await deleteVolumeIfDeleting(trx, job.resource_id);
    await queueCleanup(trx, { resourceId: job.resource_id, accountId: job.account_id, region: job.region }, { op: 'delete-volume' });
  });
}

/**
 * An attach or detach that kept failing: the attachment ends (the volume available again unless
 * another instance holds it) and the host's detach goes on as a cleanup.
 */
async function giveUpAttachment(job: Job<'volume.attach' | 'volume.detach'>, deps: ControllerDeps): Promise<void> {
  const instanceId = job.data.instanceId;
  await deps.db.transaction().execute(async (trx) => {
    const from = job.kind === 'volume.attach' ? 'attaching' : 'detaching';
    await deleteAttachmentIf(trx, job.resource_id, instanceId, from);
    await freeVolumeIfUnattached(trx, job.resource_id);
    if (instanceId) await queueCleanup(trx, { resourceId: job.resource_id, accountId: job.account_id, region: job.region }, { op: 'detach-volume', instanceId });
  });
}

/**
 * A modification the host could not make ends `failed` (the volume keeps what it had; the host's
 * words stay in the log); one that was only optimizing has taken effect already, so it completes.
 */
async function giveUpModify(job: Job<'volume.modify'>, deps: ControllerDeps): Promise<void> {
  const startTime = job.data.startTime;
  const now = new Date().toISOString();
  await updateModification(deps.db, job.resource_id, startTime, 'modifying', { state: 'failed', status_message: 'The modification failed on the host', end_time: now });
  await updateModification(deps.db, job.resource_id, startTime, 'optimizing', { state: 'completed', progress: 100, end_time: now });
}

async function createVolume(job: Job<'volume.create'>, deps: ControllerDeps): Promise<JobResult> {
  const row = await volumeById(deps.db, job.resource_id);
  if (!row || row.state !== 'creating') return;
  // Made from a snapshot that failed or is gone: no retry brings it back.
  if (row.snapshot_id) {
    const snap = await snapshotStateOf(deps.db, row.snapshot_id);
    if (!snap || snap === 'error') return volumeFailed(deps, row.id, `its snapshot ${row.snapshot_id} is ${snap ? 'in error' : 'gone'}`);
  }
  // The account's data key exists before its first encrypted volume is written.
  if (row.encrypted) await accountDataKey(deps.db, deps.secrets, row.account_id);
  try {
    await deps.storage.createVolume({
      volumeId: row.id,
      accountId: row.account_id,
      region: row.region,
      sizeGiB: row.size_gib,
      ...(row.snapshot_id ? { snapshotId: row.snapshot_id } : {}),
      encrypted: row.encrypted === 1,
    });
  } catch (e) {
    if (e instanceof PermanentFailure) return volumeFailed(deps, row.id, e.message);
    throw e;
  }
  await moveVolumeState(deps.db, row.id, 'creating', 'available');
}

/** A volume whose build cannot succeed: `error`, as EC2 shows it (DeleteVolume still removes it). */
async function volumeFailed(deps: ControllerDeps, volumeId: string, why: string): Promise<void> {
  deps.log(`volumes: creating ${volumeId} failed for good: ${why}`);
  await deps.storage.deleteVolume(volumeId).catch(() => undefined);
  await moveVolumeState(deps.db, volumeId, 'creating', 'error');
}

async function deleteVolume(job: Job<'volume.delete'>, deps: ControllerDeps): Promise<JobResult> {
  const state = await volumeStateOf(deps.db, job.resource_id);
  // A row in another state is not being deleted (ids are never reused, but be sure).
  if (state !== undefined && state !== 'deleting') return;
  await deps.storage.deleteVolume(job.resource_id);
  if (state === undefined) return;
  await deps.db.transaction().execute(async (trx) => {
    await deleteVolumeIfDeleting(trx, job.resource_id);
  });
}

async function instanceState(deps: ControllerDeps, id: string): Promise<string | undefined> {
  return instanceStateOf(deps.db, id);
}

async function attachVolume(job: Job<'volume.attach'>, deps: ControllerDeps): Promise<JobResult> {
  const instanceId = job.data.instanceId;
  const a = await attachmentOf(deps.db, job.resource_id, instanceId);
  if (!a || a.state !== 'attaching') return;
  const volume = await volumeById(deps.db, a.volume_id);
  if (!volume) return;
  if ((await instanceState(deps, instanceId)) === 'running') {
    await deps.compute.attachVolume(instanceId, { volumeId: volume.id, device: a.device, limits: volumeLimits(volume) });
  }
  await markAttachmentAttached(deps.db, a.volume_id, instanceId);
}

async function detachVolume(job: Job<'volume.detach'>, deps: ControllerDeps): Promise<JobResult> {
  const instanceId = job.data.instanceId;
  if (job.data.released) {
    // The instance is gone from the store's point of view; the host lets go of the volume.
    await deps.compute.detachVolume(instanceId, job.resource_id, { force: true });
    return;
  }
  const a = await attachmentOf(deps.db, job.resource_id, instanceId);
  if (!a || a.state !== 'detaching') return;
  if ((await instanceState(deps, instanceId)) !== undefined) {
    // Idempotent on the host: also when the instance is stopped (nothing to let go of there).
    await deps.compute.detachVolume(instanceId, a.volume_id, { force: Boolean(job.data.force) });
  }
  await deps.db.transaction().execute(async (trx) => {
    if (await deleteAttachmentIf(trx, a.volume_id, instanceId, 'detaching')) await freeVolumeIfUnattached(trx, a.volume_id);
  });
}

async function modifyVolume(job: Job<'volume.modify'>, deps: ControllerDeps): Promise<JobResult> {
  const startTime = job.data.startTime;
  const m = await modificationOf(deps.db, job.resource_id, startTime);
  if (!m) return;
  const volume = await volumeById(deps.db, m.volume_id);
  if (!volume) {
    await updateModification(deps.db, m.volume_id, startTime, undefined, { state: 'failed', status_message: 'The volume was deleted', end_time: new Date().toISOString() });
    return;
  }
  const target = m.target;
  if (m.state === 'modifying') {
    const next = { ...volume, size_gib: target.Size, volume_type: target.VolumeType, iops: target.Iops ?? null, throughput: target.Throughput ?? null };
    if (target.Size > volume.size_gib) await deps.storage.resizeVolume(volume.id, target.Size);
    for (const id of await runningInstancesWithVolume(deps.db, volume.id)) await deps.compute.setVolumeLimits(id, volume.id, volumeLimits(next));
    await deps.db.transaction().execute(async (trx) => {
      await applyVolumeShape(trx, volume.id, {
        size_gib: next.size_gib,
        volume_type: next.volume_type,
        iops: next.iops,
        throughput: next.throughput,
        multi_attach_enabled: target.MultiAttachEnabled ? 1 : 0,
      });
      await updateModification(trx, m.volume_id, startTime, 'modifying', { state: 'optimizing', progress: 50 });
    });
    return { retryAt: new Date(Date.now() + optimizeMs()) };
  }
  if (m.state === 'optimizing') {
    await updateModification(deps.db, m.volume_id, startTime, 'optimizing', { state: 'completed', progress: 100, end_time: new Date().toISOString() });
  }
}
