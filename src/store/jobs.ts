// Writing to the durable work queue. Handlers, the runner and reconcilers all queue through here,
// inside whatever transaction they are in.
import type { Tx } from './db.js';

export interface NewJob {
  kind: string;
  resourceId: string;
  accountId: string;
  region: string;
  payload?: unknown;
  runAt?: Date;
}

export async function insertJob(db: Tx, job: NewJob): Promise<void> {
  const now = new Date();
  await db
    .insertInto('jobs')
    .values({
      kind: job.kind,
      resource_id: job.resourceId,
      account_id: job.accountId,
      region: job.region,
      payload: JSON.stringify(job.payload ?? {}),
      run_at: (job.runAt ?? now).toISOString(),
      attempts: 0,
      locked_by: null,
      locked_until: null,
      last_error: null,
      created_at: now.toISOString(),
    })
    .execute();
}
