// The image reconcilers (issue 5: EBS). CreateImage and CopyImage leave a 'pending' image whose
// block device mappings name snapshots being taken (snapshot.create) or copied (snapshot.copy);
// image.create / image.copy wait for them: all completed → 'available', one failed or gone →
// 'failed' with a state reason. The host work is the snapshot controllers'; this one only looks.
import type { BlockDeviceMapping } from '@aws-sdk/client-ec2';
import type { GiveUp, Reconciler, Runner } from './runner.js';

/** How often a pending image looks at its snapshots again. */
const POLL_MS = 250;

export const reconcileImage: Reconciler<'image.create' | 'image.copy'> = async (job, deps) => {
  const image = await deps.db.selectFrom('images').select(['id', 'state', 'block_device_mappings']).where('id', '=', job.resource_id).executeTakeFirst();
  // Deregistered (or never written) while its snapshots were taken: nothing left to finish.
  if (!image || image.state !== 'pending') return;
  let mappings: BlockDeviceMapping[] = [];
  try {
    mappings = JSON.parse(image.block_device_mappings) as BlockDeviceMapping[];
  } catch {
    mappings = [];
  }
  const ids = mappings.map((m) => m.Ebs?.SnapshotId).filter((s): s is string => typeof s === 'string');
  const rows = ids.length ? await deps.db.selectFrom('snapshots').select(['id', 'state', 'state_message']).where('id', 'in', ids).execute() : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const failed = ids.find((id) => byId.get(id)?.state === 'error' || !byId.has(id));
  if (failed) {
    const snap = byId.get(failed);
    const why = snap ? (snap.state_message ?? 'the snapshot failed') : 'the snapshot was deleted';
    const reason = { Code: 'Client.SnapshotError', Message: `Snapshot ${failed} of the image could not be ${job.kind === 'image.copy' ? 'copied' : 'created'}: ${why}` };
    await deps.db.updateTable('images').set({ state: 'failed', state_reason: JSON.stringify(reason) }).where('id', '=', image.id).where('state', '=', 'pending').execute();
    deps.log(`images: ${image.id} failed: ${reason.Message}`);
    return;
  }
  if (ids.every((id) => byId.get(id)!.state === 'completed')) {
    await deps.db.updateTable('images').set({ state: 'available', state_reason: null }).where('id', '=', image.id).where('state', '=', 'pending').execute();
    return;
  }
  return { retryAt: new Date(Date.now() + POLL_MS) };
};

/** Waiting on its snapshots kept failing: `failed`, with a state reason. */
const giveUp: GiveUp<'image.create' | 'image.copy'> = async (job, deps) => {
  const reason = { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error' };
  await deps.db.updateTable('images').set({ state: 'failed', state_reason: JSON.stringify(reason) }).where('id', '=', job.resource_id).where('state', '=', 'pending').execute();
};

export function registerImageControllers(runner: Runner): void {
  runner.register('image.create', reconcileImage, { giveUp });
  runner.register('image.copy', reconcileImage, { giveUp });
}
