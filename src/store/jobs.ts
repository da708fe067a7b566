// Writing to the durable work queue. Handlers, the runner and reconcilers all queue through here,
// inside whatever transaction they are in. Kinds and payloads are typed by JobPayloads (job-kinds.ts).
import type { Tx } from './db.js';
import type { JobPayloads, KindOf, PayloadField } from './job-kinds.js';

export type NewJob<K extends KindOf<M>, M = JobPayloads> = {
  kind: K;
  resourceId: string;
  accountId: string;
  region: string;
  runAt?: Date;
} & PayloadField<M, K>;

export async function insertJob<K extends keyof JobPayloads>(db: Tx, job: NewJob<K>): Promise<void> {
  await insertJobOf<JobPayloads, K>(db, job);
}

/**
 * For code that forwards a job it took through a signature of its own (ctx.enqueue, the runner's
 * enqueue): kind and payload are still checked against M, but a required payload only there.
 * M is JobPayloads but in the runner's tests, which run kinds of their own.
 */
export async function insertJobOf<M, K extends KindOf<M>>(
  db: Tx,
  job: { kind: K; resourceId: string; accountId: string; region: string; runAt?: Date; payload?: M[K] },
): Promise<void> {
  const now = new Date();
  const payload = job.payload;
  await db
    .insertInto('jobs')
    .values({
      kind: job.kind,
      resource_id: job.resourceId,
      account_id: job.accountId,
      region: job.region,
      payload: JSON.stringify(payload ?? {}),
      run_at: (job.runAt ?? now).toISOString(),
      attempts: 0,
      locked_by: null,
      locked_until: null,
      last_error: null,
      created_at: now.toISOString(),
    })
    .execute();
}
