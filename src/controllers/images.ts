// The image reconcilers (issue 5: EBS). CreateImage and CopyImage leave a 'pending' image whose
// block device mappings name snapshots being taken (snapshot.create) or copied (snapshot.copy);
// image.create / image.copy wait for them: all completed → 'available', one failed or gone →
// 'failed' with a state reason. The host work is the snapshot controllers'; this one only looks.
import { finishPendingImage, imageWithMappings } from '../services/ec2/images/store.js';
import { snapshotStates } from '../services/ec2/snapshots/store.js';
import type { GiveUp, Reconciler, Runner } from './runner.js';

/** How often a pending image looks at its snapshots again. */
const POLL_MS = 250;

export const reconcileImage: Reconciler<'image.create' | 'image.copy'> = async (job, deps) => {
  const image = await imageWithMappings(deps.db, job.resource_id);
  // Deregistered (or never written) while its snapshots were taken: nothing left to finish.
  if (!image || image.state !== 'pending') return;
  const ids = image.blockDeviceMappings.map((m) => m.Ebs?.SnapshotId).filter((s): s is string => typeof s === 'string');
  const rows = await snapshotStates(deps.db, ids);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const failed = ids.find((id) => byId.get(id)?.state === 'error' || !byId.has(id));
  if (failed) {
    const snap = byId.get(failed);
    const why = snap ? (snap.state_message ?? 'the snapshot failed') : 'the snapshot was deleted';
    const reason = { Code: 'Client.SnapshotError', Message: `Snapshot ${failed} of the image could not be ${job.kind === 'image.copy' ? 'copied' : 'created'}: ${why}` };
    await finishPendingImage(deps.db, image.id, 'failed', reason);
    deps.log(`images: ${image.id} failed: ${reason.Message}`);
    return;
  }
  if (ids.every((id) => byId.get(id)!.state === 'completed')) {
    await finishPendingImage(deps.db, image.id, 'available', null);
    return;
  }
  return { retryAt: new Date(Date.now() + POLL_MS) };
};

/** Waiting on its snapshots kept failing: `failed`, with a state reason. */
const giveUp: GiveUp<'image.create' | 'image.copy'> = async (job, deps) => {
  const reason = { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error' };
  await finishPendingImage(deps.db, job.resource_id, 'failed', reason);
};

export function registerImageControllers(runner: Runner): void {
  runner.register('image.create', reconcileImage, { giveUp });
  runner.register('image.copy', reconcileImage, { giveUp });
}
