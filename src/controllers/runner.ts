// Runs the durable work queue. Handlers enqueue jobs in the same transaction as their writes; this
// runner claims due jobs, hands each to the reconciler registered for its kind, and deletes it when
// the step is done. A crash leaves the job in the table: its lease runs out and it runs again, so
// every reconciler step must be idempotent (observe, then act toward the goal).
//
// A step that throws runs again with backoff, at most config.jobMaxAttempts times in a row. Then
// the job gives up: the give-up hook registered with its reconciler moves the resource to EC2's
// failure state (an instance terminated with Server.InternalError, a volume in `error`, …) and
// the job goes. A kind without a hook (host cleanup: a volume's data, a snapshot's chunks, a
// terminated instance's leftovers) is parked instead: kept with failed_at set, never dropped, and
// run again at the next server start.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import type { SecretBox } from '../lib/secrets.js';
import type { Db } from '../store/db.js';
import type { Row } from '../store/schema.js';
import type { InstanceDriver, MetricsSource } from '../host/compute/driver.js';
import type { VpcNetwork } from '../host/network/part.js';
import type { SnapshotStorage, VolumeStorage } from '../host/storage/part.js';
import type { JobPayloads, KindOf, PayloadField } from '../store/job-kinds.js';
import {
  anyJobDue,
  claimJob,
  deleteJob,
  dueJobs,
  insertJobOf,
  nextJobDueAfter,
  parkJob,
  payloadOf,
  rearmParkedJobs,
  releaseClaimsOfHost,
  renewJobLease,
  rescheduleJob,
  retryJob,
} from '../store/jobs.js';

/** Controllers' dependencies; M is the payload map of the jobs they queue (JobPayloads but in the runner's own tests). */
export interface ControllerDeps<M = JobPayloads> {
  db: Db;
  config: Config;
  /** The host's parts (src/host/stack.ts): instances, volumes, the VPC data plane. */
  compute: InstanceDriver;
  storage: VolumeStorage;
  network: VpcNetwork;
  /** Absent when the storage keeps no volume data (fake): snapshot rows complete without data. */
  snapshots?: SnapshotStorage;
  /** Absent when the compute part has no counters (fake): no sampler runs. */
  metrics?: MetricsSource;
  /** Wraps and unwraps the store's secrets (EBS data keys) under the host's master key. */
  secrets: SecretBox;
  log: (line: string) => void;
  /** Queue follow-up work (outside any request). */
  enqueue<K extends KindOf<M>>(kind: K, job: { resourceId: string; accountId: string; region: string; runAt?: Date } & PayloadField<M, K>): Promise<void>;
}

/** A claimed job of kind K, its payload decoded as `data`; for a union of kinds, `kind` tells which `data` it has. */
export type Job<K extends KindOf<M>, M = JobPayloads> = K extends unknown ? Omit<Row<'jobs'>, 'kind'> & { kind: K; data: M[K] } : never;

export type JobResult = void | { retryAt: Date };
export type Reconciler<K extends KindOf<M>, M = JobPayloads> = (job: Job<K, M>, deps: ControllerDeps<M>) => Promise<JobResult>;
/**
 * What a job that used up its attempts leaves behind: its resource in EC2's failure state, with a
 * state reason. Called once, with the last error; the job is deleted when it returns. It must not
 * throw for a resource already gone or moved on (check the state, as reconcilers do); a hook that
 * throws leaves the job parked.
 */
export type GiveUp<K extends KindOf<M>, M = JobPayloads> = (job: Job<K, M>, deps: ControllerDeps<M>, error: unknown) => Promise<void>;

export interface ReconcilerOptions<K extends KindOf<M>, M = JobPayloads> {
  giveUp?: GiveUp<K, M>;
}

const LEASE_MS = 5 * 60_000;

export class Runner<M = JobPayloads> {
  // Keyed by kind: each entry holds the reconciler registered for that kind, typed for it there.
  private reconcilers = new Map<string, Reconciler<KindOf<M>, M>>();
  private giveUps = new Map<string, GiveUp<KindOf<M>, M>>();
  private timer: NodeJS.Timeout | undefined;
  private running = new Set<string>(); // resource ids with a job in flight
  private inflight = new Set<Promise<void>>();
  private stopped = true;
  private polling: Promise<void> | undefined;
  private again = false;
  private readonly host = hostname();
  // Unique per runner: a restarted process may get the same pid (containers), and tests run
  // several runners in one process.
  readonly owner = `${this.host}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly deps: ControllerDeps<M>;

  constructor(
    deps: Omit<ControllerDeps<M>, 'enqueue'>,
    private opts: { concurrency?: number; pollMs?: number; leaseMs?: number; maxAttempts?: number } = {},
  ) {
    this.deps = {
      ...deps,
      enqueue: async (kind, j) => {
        await insertJobOf<M, typeof kind>(deps.db, { kind, ...j });
        this.wake();
      },
    };
  }

  register<K extends KindOf<M>>(kind: K, r: Reconciler<K, M>, opts: ReconcilerOptions<K, M> = {}): void {
    // Widened for the map: step() hands each reconciler only jobs of the kind it was registered for.
    this.reconcilers.set(kind, r as Reconciler<KindOf<M>, M>);
    if (opts.giveUp) this.giveUps.set(kind, opts.giveUp as GiveUp<KindOf<M>, M>);
    else this.giveUps.delete(kind);
  }

  /** How many failures in a row a job may have before it gives up. */
  get maxAttempts(): number {
    return this.opts.maxAttempts ?? this.deps.config.jobMaxAttempts ?? 8;
  }

  /** Take back jobs that a previous process on this host held when it died. */
  async recover(): Promise<void> {
    // Never this runner's own claims: it may be running them.
    await releaseClaimsOfHost(this.deps.db, this.host, this.owner);
    // Jobs parked by an earlier server (their attempts used up, no give-up hook): each start tries again.
    const n = await rearmParkedJobs(this.deps.db);
    if (n) this.deps.log(`controllers: ${n} parked job${n === 1 ? '' : 's'} queued again`);
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Stop claiming work and wait for what is in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // A poll under way may still start the jobs it has claimed: wait for it, then for them.
    await this.polling;
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** Jobs are waiting now: poll at once. */
  wake(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), 0);
  }

  /** Resolves when no job is due or in flight (tests and benchmarks use it). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const due = await anyJobDue(this.deps.db, new Date().toISOString());
      if (!due && this.inflight.size === 0) return;
      if (Date.now() > end) throw new Error('controllers did not become idle');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private poll(): Promise<void> {
    if (this.stopped || this.polling) return this.polling ?? Promise.resolve();
    this.polling = this.pollOnce();
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    let nextDue: string | undefined;
    // One instant for the whole poll: a job that comes due between the two queries below must
    // count as "later" in the second, or the poller would sleep a full pollMs past it.
    const now = new Date().toISOString();
    try {
      const limit = (this.opts.concurrency ?? 16) - this.inflight.size;
      if (limit > 0) {
        // Skip busy resources in SQL, so their queued jobs cannot crowd others out of the batch.
        const jobs = await dueJobs(this.deps.db, now, [...this.running], limit * 4);
        let skippedBusy = false;
        for (const job of jobs) {
          if (this.stopped || this.inflight.size >= (this.opts.concurrency ?? 16)) break;
          if (this.running.has(job.resource_id)) {
            skippedBusy = true;
            continue;
          }
          // One job per resource at a time, across processes too: not while another job of the
          // same resource holds a live lease (e.g. one a dead process still holds until recover()).
          if (!(await claimJob(this.deps.db, job.id, this.owner, new Date(Date.now() + this.leaseMs).toISOString(), now))) continue;
          this.running.add(job.resource_id);
          const p = this.run(job).finally(() => {
            this.running.delete(job.resource_id);
            this.inflight.delete(p);
            this.wake();
          });
          this.inflight.add(p);
        }
        // The batch held queued jobs of a resource we just started: look past them at once
        // (the next query leaves busy resources out), instead of idling until a job ends.
        if (skippedBusy && this.inflight.size < (this.opts.concurrency ?? 16)) this.again = true;
      }
      // Sleep until the next job that comes due later. Jobs due now that this poll left alone
      // (resource busy, runner full, leased elsewhere) wait for a job to end (which wakes us) or
      // for the regular poll: counting them would make the poller spin.
      nextDue = await nextJobDueAfter(this.deps.db, now);
    } catch (e) {
      this.deps.log(`controllers: poll failed: ${(e as Error).message}`);
    } finally {
      this.polling = undefined;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.timer = setTimeout(() => void this.poll(), 0);
      return;
    }
    const pollMs = this.opts.pollMs ?? 1000;
    const wait = nextDue ? Math.max(0, Math.min(pollMs, Date.parse(nextDue) - Date.now())) : pollMs;
    this.timer = setTimeout(() => void this.poll(), wait);
  }

  /** How long a claim holds without renewal; a running job renews it every third of that. */
  private get leaseMs(): number {
    return this.opts.leaseMs ?? LEASE_MS;
  }

  private async run(job: Row<'jobs'>): Promise<void> {
    // Renewed while the step runs, so a long step (an image build) is not taken for abandoned.
    const renew = setInterval(() => {
      renewJobLease(this.deps.db, job.id, this.owner, new Date(Date.now() + this.leaseMs).toISOString()).catch((e) =>
        this.deps.log(`controllers: lease renewal of job ${job.id} failed: ${(e as Error).message}`),
      );
    }, this.leaseMs / 3);
    renew.unref();
    try {
      await this.step(job);
    } catch (e) {
      // Recording the outcome failed (the store is gone?): the lease runs out and the job runs again.
      this.deps.log(`controllers: ${job.kind} ${job.resource_id}: could not record the outcome: ${errorMessage(e)}`);
    } finally {
      clearInterval(renew);
    }
  }

  private async step(job: Row<'jobs'>): Promise<void> {
    const r = this.reconcilers.get(job.kind);
    try {
      if (!r) throw new Error(`no reconciler for job kind ${job.kind}`);
      const result = await r(this.decode(job), this.deps);
      if (result && 'retryAt' in result) {
        // A step that succeeded ends a run of failures: the bound is on failures in a row.
        await rescheduleJob(this.deps.db, job.id, result.retryAt);
      } else {
        await deleteJob(this.deps.db, job.id);
      }
    } catch (e) {
      const attempts = job.attempts + 1;
      const backoff = Math.min(60_000, 250 * 2 ** Math.min(attempts, 8));
      const message = errorMessage(e);
      this.deps.log(`controllers: ${job.kind} ${job.resource_id} failed (attempt ${attempts} of ${this.maxAttempts}): ${message}`);
      if (attempts >= this.maxAttempts) {
        await this.giveUp(job, attempts, e);
        return;
      }
      await retryJob(this.deps.db, job.id, attempts, message.slice(0, 2000), new Date(Date.now() + backoff));
    }
  }

  /**
   * A row as its reconciler sees it. The payload was written by insertJob for this kind (typed by
   * the payload map), so its JSON is the kind's payload; the one place a payload is trusted.
   */
  private decode(job: Row<'jobs'>): Job<KindOf<M>, M> {
    return { ...job, kind: job.kind, data: payloadOf<M, KindOf<M>>(job) } as Job<KindOf<M>, M>;
  }

  /** The job failed maxAttempts times in a row: its hook ends the resource in a state, or it is parked. */

  private async giveUp(job: Row<'jobs'>, attempts: number, error: unknown): Promise<void> {
    const message = errorMessage(error);
    const hook = this.giveUps.get(job.kind);
    if (hook) {
      try {
        await hook(this.decode(job), this.deps, error);
        await deleteJob(this.deps.db, job.id);
        this.deps.log(`controllers: ${job.kind} ${job.resource_id} gave up after ${attempts} attempts: ${message}`);
        return;
      } catch (e) {
        this.deps.log(`controllers: ${job.kind} ${job.resource_id}: giving up failed: ${errorMessage(e)}`);
      }
    }
    this.deps.log(`controllers: ${job.kind} ${job.resource_id} failed ${attempts} times; parked until the next server start`);
    await parkJob(this.deps.db, job.id, attempts, message.slice(0, 2000));
  }
}

/** A reconciler may throw anything, even undefined. */

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
