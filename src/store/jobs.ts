// Writing to the durable work queue. Handlers, the runner and reconcilers all queue through here,
// inside whatever transaction they are in. Kinds and payloads are typed by JobPayloads (job-kinds.ts).
import type { Tx } from './db.js';
import type { JobPayloads, KindOf, PayloadField } from './job-kinds.js';
import type { Row } from './schema.js';

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

// The runner's side of the queue: claiming, leasing, rescheduling and removing jobs.

export type JobRow = Row<'jobs'>;

/** A job's payload as its kind's type: insertJobOf wrote it for that kind, the one place it is trusted. */
export function payloadOf<M, K extends KindOf<M>>(job: JobRow): M[K] {
  return JSON.parse(job.payload) as M[K];
}

/** Replace a job's payload (a reconciler that records progress in it, e.g. the boot a reboot replaces). */
export async function setJobPayload<M, K extends KindOf<M>>(db: Tx, id: number, payload: M[K]): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ payload: JSON.stringify(payload) })
    .where('id', '=', id)
    .execute();
}

/** Release the claims that earlier processes of this host (`host:`…, never `owner`) held when they died. */
export async function releaseClaimsOfHost(db: Tx, host: string, owner: string): Promise<void> {
  // A range instead of LIKE: a hostname may hold LIKE's wildcards ('_'); ';' follows ':'.
  await db
    .updateTable('jobs')
    .set({ locked_by: null, locked_until: null })
    .where('locked_by', '>=', `${host}:`)
    .where('locked_by', '<', `${host};`)
    .where('locked_by', '!=', owner)
    .execute();
}

/** Parked jobs are due again now, their attempts reset; how many. */
export async function rearmParkedJobs(db: Tx): Promise<number> {
  const rearmed = await db
    .updateTable('jobs')
    .set({ failed_at: null, attempts: 0, run_at: new Date().toISOString(), locked_by: null, locked_until: null })
    .where('failed_at', 'is not', null)
    .executeTakeFirst();
  return Number(rearmed.numUpdatedRows);
}

/** Whether any job that is not parked is due at `now`. */
export async function anyJobDue(db: Tx, now: string): Promise<boolean> {
  const due = await db.selectFrom('jobs').select('id').where('run_at', '<=', now).where('failed_at', 'is', null).executeTakeFirst();
  return due !== undefined;
}

/** Up to `limit` due jobs that are not parked or leased, oldest first, leaving out the resources in `busy`. */
export async function dueJobs(db: Tx, now: string, busy: string[], limit: number): Promise<JobRow[]> {
  let q = db
    .selectFrom('jobs')
    .selectAll()
    .where('run_at', '<=', now)
    .where('failed_at', 'is', null)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]));
  // Busy resources are skipped in SQL, so their queued jobs cannot crowd others out of the batch.
  if (busy.length) q = q.where('resource_id', 'not in', busy);
  return q.orderBy('run_at').orderBy('id').limit(limit).execute();
}

/**
 * Claim a job for `owner` until `until`: not if another holds its lease, nor while another job of
 * the same resource holds a live lease (one job per resource at a time, across processes too).
 */
export async function claimJob(db: Tx, id: number, owner: string, until: string, now: string): Promise<boolean> {
  const claimed = await db
    .updateTable('jobs')
    .set({ locked_by: owner, locked_until: until })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('jobs as other')
            .select('other.id')
            .whereRef('other.resource_id', '=', 'jobs.resource_id')
            .whereRef('other.id', '!=', 'jobs.id')
            .where('other.locked_until', '>=', now),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(claimed.numUpdatedRows) === 1;
}

/** When the next job that is free and not parked comes due after `now`, if any does. */
export async function nextJobDueAfter(db: Tx, now: string): Promise<string | undefined> {
  const next = await db
    .selectFrom('jobs')
    .select('run_at')
    .where('locked_until', 'is', null)
    .where('failed_at', 'is', null)
    .where('run_at', '>', now)
    .orderBy('run_at')
    .limit(1)
    .executeTakeFirst();
  return next?.run_at;
}

/** Extend `owner`'s lease on a job (a no-op once another holds it). */
export async function renewJobLease(db: Tx, id: number, owner: string, until: string): Promise<void> {
  await db.updateTable('jobs').set({ locked_until: until }).where('id', '=', id).where('locked_by', '=', owner).execute();
}

/** A job's step asked to run again at `runAt`: its failures in a row end, its claim goes. */
export async function rescheduleJob(db: Tx, id: number, runAt: Date): Promise<void> {
  await db.updateTable('jobs').set({ run_at: runAt.toISOString(), attempts: 0, last_error: null, locked_by: null, locked_until: null }).where('id', '=', id).execute();
}

/** A job's step failed: its attempts and error recorded, run again at `runAt`, its claim gone. */
export async function retryJob(db: Tx, id: number, attempts: number, lastError: string, runAt: Date): Promise<void> {
  await db.updateTable('jobs').set({ attempts, last_error: lastError, run_at: runAt.toISOString(), locked_by: null, locked_until: null }).where('id', '=', id).execute();
}

/** A job that gave up with no hook: kept with failed_at set until the next server start. */
export async function parkJob(db: Tx, id: number, attempts: number, lastError: string): Promise<void> {
  await db.updateTable('jobs').set({ attempts, last_error: lastError, failed_at: new Date().toISOString(), locked_by: null, locked_until: null }).where('id', '=', id).execute();
}

export async function deleteJob(db: Tx, id: number): Promise<void> {
  await db.deleteFrom('jobs').where('id', '=', id).execute();
}

/** Whether a job of this kind is queued for the resource (a singleton such as the metrics sampler). */
export async function jobQueued(db: Tx, kind: string, resourceId: string): Promise<boolean> {
  return (await db.selectFrom('jobs').select('id').where('kind', '=', kind).where('resource_id', '=', resourceId).executeTakeFirst()) !== undefined;
}

/** The unclaimed jobs of this kind (of one resource, when given) are due now. */
export async function runJobsNow(db: Tx, kind: string, resourceId?: string): Promise<void> {
  let q = db.updateTable('jobs').set({ run_at: new Date().toISOString() }).where('kind', '=', kind);
  if (resourceId !== undefined) q = q.where('resource_id', '=', resourceId);
  await q.where('locked_by', 'is', null).execute();
}
