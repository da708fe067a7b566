// Deleting a snapshot: DeleteSnapshot's, and DeregisterImage's with DeleteAssociatedSnapshots.
import type { DeleteSnapshotReturnCode } from '@aws-sdk/client-ec2';
import type { Ctx } from '../../context.js';
import { deleteAllTags } from '../tags/store.js';
import { deleteSnapshotRecords, imageUsing, snapshotInRegion, type SnapshotRow } from './store.js';

/** Gone at once, as EC2 shows it; the host frees its chunks (those no other snapshot uses) later. */
export async function removeSnapshot(ctx: Ctx, row: SnapshotRow): Promise<void> {
  // Later snapshots of the volume built on this one: they are whole on their own in the store.
  await deleteSnapshotRecords(ctx.db, row.id, row.parent_snapshot_id);
  await deleteAllTags(ctx, row.id);
  await ctx.enqueue('snapshot.delete', row.id, { region: ctx.region });
}

/**
 * The snapshots of an image just deregistered, deleted where they can be, each with EC2's return
 * code: skipped when another registered image still uses it, missing-permissions when another
 * account owns it, client-error when it no longer exists.
 */
export async function deleteImageSnapshots(ctx: Ctx, snapshotIds: string[]): Promise<DeleteSnapshotReturnCode[]> {
  const out: DeleteSnapshotReturnCode[] = [];
  for (const id of [...new Set(snapshotIds)]) {
    const row = await snapshotInRegion(ctx.db, ctx.region, id);
    if (!row) out.push({ SnapshotId: id, ReturnCode: 'client-error' });
    else if (row.account_id !== ctx.accountId) out.push({ SnapshotId: id, ReturnCode: 'missing-permissions' });
    else if (await imageUsing(ctx.db, ctx.region, id)) out.push({ SnapshotId: id, ReturnCode: 'skipped' });
    else {
      await removeSnapshot(ctx, row);
      out.push({ SnapshotId: id, ReturnCode: 'success' });
    }
  }
  return out;
}
