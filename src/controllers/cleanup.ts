// Host cleanup that failed, queued so that it is retried rather than dropped (issue 10):
//
//   host.cleanup  { op: 'delete-instance' }    a terminated instance's (or failed launch's) container,
//                                               mounts, namespaces and interfaces → compute.delete;
//                                               its uid range is free only then
//                 { op: 'stop-instance' }      a stopped instance the host still runs → compute.stop (forced)
//                 { op: 'delete-volume' }      a deleted volume's data → storage.deleteVolume
//                 { op: 'detach-volume', instanceId }  a volume the instance no longer has → compute.detachVolume
//
// Each looks at the store first, so a cleanup never undoes what came after it (an instance started
// again, a volume attached again). No give-up hook: after its attempts a cleanup is parked and the
// next server start runs it again; adoptHost also removes whatever the store no longer knows.
import { instanceStateOf } from '../services/ec2/instances/store.js';
import { releaseUidRange } from '../services/ec2/instances/uid-ranges.js';
import { isAttachedTo, volumeStateOf } from '../services/ec2/volumes/store.js';
import type { Tx } from '../store/db.js';
import { insertJob } from '../store/jobs.js';
import type { CleanupOp } from '../store/job-kinds.js';
import type { ControllerDeps, Job, JobResult, Runner } from './runner.js';

export const CLEANUP = 'host.cleanup';

export type { CleanupOp };

/** Queue a cleanup of `resourceId` (an instance or a volume id), inside the caller's transaction when it has one. */
export async function queueCleanup(db: Tx, what: { resourceId: string; accountId: string; region: string }, op: CleanupOp): Promise<void> {
  await insertJob(db, { kind: CLEANUP, ...what, payload: op });
}

export function registerCleanupControllers(runner: Runner): void {
  runner.register(CLEANUP, cleanup);
}

async function cleanup(job: Job<typeof CLEANUP>, deps: ControllerDeps): Promise<JobResult> {
  const op = job.data;
  const id = job.resource_id;
  switch (op.op) {
    case 'delete-instance': {
      const state = await instanceStateOf(deps.db, id);
      if (state !== undefined && state !== 'terminated') return; // not ours to remove
      await deps.compute.delete(id);
      // The host has let go of it: its uids may serve another instance.
      await releaseUidRange(deps.db, id);
      deps.log(`cleanup: ${id} removed from the host`);
      return;
    }
    case 'stop-instance': {
      if ((await instanceStateOf(deps.db, id)) !== 'stopped') return; // started again (or gone: adoption removes it)
      await deps.compute.stop(id, { force: true });
      deps.log(`cleanup: ${id} stopped on the host`);
      return;
    }
    case 'delete-volume': {
      const state = await volumeStateOf(deps.db, id);
      if (state !== undefined && state !== 'deleting') return;
      await deps.storage.deleteVolume(id);
      deps.log(`cleanup: the data of ${id} removed from the host`);
      return;
    }
    case 'detach-volume': {
      if (await isAttachedTo(deps.db, id, op.instanceId)) return; // attached again since
      await deps.compute.detachVolume(op.instanceId, id, { force: true });
      return;
    }
    default:
      throw new Error(`unknown cleanup ${JSON.stringify(op)}`);
  }
}
