// The work-queue runner against a real SQLite store in a temp folder.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { FakeDriver } from '../host/compute/fake.js';
import { FakeNetwork } from '../host/network/fake.js';
import { FakeStorage } from '../host/storage/fake.js';
import { SecretBox } from '../lib/secrets.js';
import { openWithDialect, sqliteDialect, type Db } from '../store/db.js';
import type { NoPayload } from '../store/job-kinds.js';
import type { Database, NewRow } from '../store/schema.js';
import { Runner } from './runner.js';

/** This suite's own kinds: the runner is generic over its payload map (JobPayloads in the product). */
interface TestJobs {
  'thing.make': { n: number };
  flaky: NoPayload;
  'throws.undefined': NoPayload;
  waiting: NoPayload;
  /** i: which of a resource's jobs it is (rows written without it have none). */
  step: { i?: number };
  long: NoPayload;
  slow: NoPayload;
  quick: NoPayload;
  now: NoPayload;
  'always.fails': { n?: number };
  'cleanup.thing': NoPayload;
  'fails.twice': NoPayload;
  watcher: NoPayload;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

let dir: string;
let db: Db;
let logs: string[];
const runners: Runner<TestJobs>[] = [];

function newRunner(opts: { concurrency?: number; pollMs?: number; leaseMs?: number; maxAttempts?: number } = {}, env: Record<string, string> = {}): Runner<TestJobs> {
  const r = new Runner<TestJobs>(
    {
      db,
      config: loadConfig({ CUMULO_HOME: dir, ...env }),
      compute: new FakeDriver(),
      storage: new FakeStorage(),
      network: new FakeNetwork(),
      secrets: new SecretBox(randomBytes(32)),
      log: (l) => logs.push(l),
    },
    opts,
  );
  runners.push(r);
  return r;
}

function jobRow(kind: string, resourceId: string, extra: Partial<NewRow<'jobs'>> = {}): NewRow<'jobs'> {
  return {
    kind,
    resource_id: resourceId,
    account_id: '000000000000',
    region: 'us-east-1',
    payload: '{}',
    run_at: new Date().toISOString(),
    attempts: 0,
    locked_by: null,
    locked_until: null,
    last_error: null,
    created_at: new Date().toISOString(),
    ...extra,
  };
}

const jobs = () => db.selectFrom('jobs').selectAll().orderBy('id').execute();

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cumulo-runner-'));
  db = await openWithDialect(sqliteDialect(join(dir, 'cumulo.db')));
  logs = [];
});

afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('Runner', () => {
  it('runs each job once with its payload, then deletes it', async () => {
    const runner = newRunner();
    const seen: string[] = [];
    runner.register('thing.make', async (job) => {
      seen.push(`${job.resource_id}:${job.data.n}`);
    });
    runner.start();
    for (let n = 0; n < 3; n++) await runner.deps.enqueue('thing.make', { resourceId: `r-${n}`, accountId: '000000000000', region: 'us-east-1', payload: { n } });
    await runner.idle();
    await sleep(50); // a second run would have happened by now
    expect(seen.sort()).toEqual(['r-0:0', 'r-1:1', 'r-2:2']);
    expect(await jobs()).toEqual([]);
  });

  it('retries a throwing reconciler with backoff and records its last error', async () => {
    const runner = newRunner({ pollMs: 50 });
    const times: number[] = [];
    runner.register('flaky', async () => {
      times.push(Date.now());
      if (times.length === 1) throw new Error('host busy');
    });
    runner.start();
    const before = Date.now();
    await runner.deps.enqueue('flaky', { resourceId: 'r-1', accountId: '000000000000', region: 'us-east-1' });
    await waitFor(async () => (await jobs())[0]?.attempts === 1);
    const [failed] = await jobs();
    expect(failed).toMatchObject({ attempts: 1, last_error: 'host busy', locked_by: null, locked_until: null });
    // First backoff: 500 ms.
    expect(Date.parse(failed!.run_at) - before).toBeGreaterThanOrEqual(450);
    expect(logs.some((l) => l.includes('flaky r-1 failed (attempt 1 of 8): host busy'))).toBe(true);
    await waitFor(async () => (await jobs()).length === 0);
    expect(times).toHaveLength(2);
    // Not before its backoff was over.
    expect(times[1]!).toBeGreaterThanOrEqual(Date.parse(failed!.run_at));
  });

  it('records a failure for a job kind with no reconciler, and for a non-Error throw', async () => {
    const runner = newRunner();
    runner.register('throws.undefined', async () => {
      throw undefined;
    });
    runner.start();
    await db
      .insertInto('jobs')
      .values([jobRow('nobody.home', 'r-1'), jobRow('throws.undefined', 'r-2')])
      .execute();
    runner.wake();
    await waitFor(async () => (await jobs()).every((j) => j.attempts === 1));
    const [a, b] = await jobs();
    expect(a).toMatchObject({ last_error: 'no reconciler for job kind nobody.home', locked_by: null });
    expect(b).toMatchObject({ last_error: 'undefined', locked_by: null });
  });

  it('reschedules a job that returns {retryAt}', async () => {
    const runner = newRunner({ pollMs: 10_000 });
    const times: number[] = [];
    runner.register('waiting', async () => {
      times.push(Date.now());
      if (times.length === 1) return { retryAt: new Date(Date.now() + 300) };
    });
    runner.start();
    await runner.deps.enqueue('waiting', { resourceId: 'r-1', accountId: '000000000000', region: 'us-east-1' });
    await waitFor(() => times.length === 1);
    await waitFor(async () => (await jobs())[0]?.locked_by === null);
    const [waiting] = await jobs();
    // A reschedule is not a failure.
    expect(waiting).toMatchObject({ attempts: 0, last_error: null, locked_until: null });
    expect(Date.parse(waiting!.run_at)).toBeGreaterThan(times[0]!);
    // It runs again at retryAt, long before the next regular poll (10 s) would find it.
    await waitFor(() => times.length === 2, 3000);
    expect(times[1]!).toBeGreaterThanOrEqual(Date.parse(waiting!.run_at));
    await waitFor(async () => (await jobs()).length === 0);
  });

  it('never runs two jobs of one resource at once, runs different resources concurrently, within the concurrency bound', async () => {
    const runner = newRunner({ concurrency: 3 });
    const active = new Map<string, number>();
    let total = 0;
    let maxTotal = 0;
    let maxPerResource = 0;
    const order: string[] = [];
    runner.register('step', async (job) => {
      const n = (active.get(job.resource_id) ?? 0) + 1;
      active.set(job.resource_id, n);
      total++;
      maxTotal = Math.max(maxTotal, total);
      maxPerResource = Math.max(maxPerResource, n);
      order.push(`${job.resource_id}#${job.data.i}`);
      await sleep(40);
      active.set(job.resource_id, n - 1);
      total--;
    });
    // r-a has three queued jobs at the head of the queue; r-b..r-e one each.
    const rows = [
      ...[0, 1, 2].map((i) => jobRow('step', 'r-a', { payload: JSON.stringify({ i }) })),
      ...['r-b', 'r-c', 'r-d', 'r-e'].map((r) => jobRow('step', r, { payload: JSON.stringify({ i: 0 }) })),
    ];
    await db.insertInto('jobs').values(rows).execute();
    runner.start();
    await runner.idle();
    expect(order).toHaveLength(7);
    expect(maxPerResource).toBe(1);
    expect(maxTotal).toBe(3);
    // One resource's jobs keep their order.
    expect(order.filter((o) => o.startsWith('r-a'))).toEqual(['r-a#0', 'r-a#1', 'r-a#2']);
    expect(await jobs()).toEqual([]);
  });

  it("does not let one resource's long queue hold up other resources", async () => {
    const runner = newRunner({ concurrency: 2, pollMs: 60_000 });
    const gate = deferred();
    const started: string[] = [];
    runner.register('step', async (job) => {
      started.push(job.resource_id);
      if (job.resource_id === 'r-a') await gate.promise;
    });
    // Ten jobs of r-a fill the head of the queue, more than one poll's batch (4 × concurrency).
    const rows = [...Array.from({ length: 10 }, () => jobRow('step', 'r-a')), jobRow('step', 'r-b')];
    await db.insertInto('jobs').values(rows).execute();
    runner.start();
    try {
      await waitFor(() => started.includes('r-b'), 3000);
      expect(started).toEqual(['r-a', 'r-b']);
    } finally {
      gate.resolve();
    }
    await runner.idle();
    expect(started).toHaveLength(11);
  });

  it('does not spin while due jobs wait for a busy resource or a free slot', async () => {
    // A second handle on the same file that counts the runner's queries.
    let queries = 0;
    const counted = new Kysely<Database>({ dialect: sqliteDialect(join(dir, 'cumulo.db')), log: () => void queries++ });
    try {
      const runner = new Runner<TestJobs>(
        {
          db: counted,
          config: loadConfig({ CUMULO_HOME: dir }),
          compute: new FakeDriver(),
          storage: new FakeStorage(),
          network: new FakeNetwork(),
          secrets: new SecretBox(randomBytes(32)),
          log: (l) => logs.push(l),
        },
        { concurrency: 1, pollMs: 100 },
      );
      runners.push(runner);
      const gate = deferred();
      runner.register('step', async () => {
        await gate.promise;
      });
      await db
        .insertInto('jobs')
        .values([jobRow('step', 'r-a'), jobRow('step', 'r-a'), jobRow('step', 'r-b')])
        .execute();
      runner.start();
      try {
        await sleep(50);
        const before = queries;
        await sleep(500);
        // About one poll (two or three queries) per pollMs; a spinning poller makes thousands.
        expect(queries - before).toBeLessThan(40);
      } finally {
        gate.resolve();
      }
      await runner.idle();
      expect(await jobs()).toEqual([]);
    } finally {
      for (const r of runners.splice(0)) await r.stop();
      await counted.destroy();
    }
  });

  it('does not start a job while another job of its resource is leased elsewhere', async () => {
    const runner = newRunner({ pollMs: 20 });
    const ran: string[] = [];
    runner.register('step', async (job) => {
      ran.push(job.kind + job.data.i);
    });
    const lease = new Date(Date.now() + 60_000).toISOString();
    await db
      .insertInto('jobs')
      .values([
        jobRow('step', 'r-1', { payload: '{"i":1}', locked_by: 'other-host:1:abcd', locked_until: lease }),
        jobRow('step', 'r-1', { payload: '{"i":2}' }),
        jobRow('step', 'r-2', { payload: '{"i":3}' }),
      ])
      .execute();
    runner.start();
    await waitFor(() => ran.includes('step3'));
    await sleep(100);
    expect(ran).toEqual(['step3']);
    // The other host finishes its job: the queued one may run now.
    await db.deleteFrom('jobs').where('locked_by', '=', 'other-host:1:abcd').execute();
    await waitFor(() => ran.includes('step2'));
  });

  it('renews the lease of a long job, so another runner never takes it over', async () => {
    const one = newRunner({ pollMs: 20, leaseMs: 300 });
    const two = newRunner({ pollMs: 20, leaseMs: 300 });
    const gate = deferred();
    const ranBy: string[] = [];
    for (const r of [one, two]) {
      r.register('long', async () => {
        ranBy.push(r.owner);
        await gate.promise;
      });
    }
    await db.insertInto('jobs').values(jobRow('long', 'r-1')).execute();
    one.start();
    two.start();
    try {
      await waitFor(() => ranBy.length === 1);
      const first = (await jobs())[0]!;
      await sleep(750); // two and a half leases long
      const later = (await jobs())[0]!;
      expect(later.locked_by).toBe(first.locked_by);
      expect(Date.parse(later.locked_until!)).toBeGreaterThan(Date.parse(first.locked_until!));
      expect(Date.parse(later.locked_until!)).toBeGreaterThan(Date.now());
      expect(ranBy).toHaveLength(1);
    } finally {
      gate.resolve();
    }
    await one.idle();
    expect(ranBy).toHaveLength(1);
  });

  it('takes back, with recover(), a job that a dead process on this host had claimed', async () => {
    const runner = newRunner({ pollMs: 20 });
    const ran: string[] = [];
    runner.register('step', async (job) => {
      ran.push(job.resource_id);
    });
    const lease = new Date(Date.now() + 60_000).toISOString();
    await db
      .insertInto('jobs')
      .values([
        jobRow('step', 'r-dead', { locked_by: `${hostname()}:4242424:dead`, locked_until: lease }),
        jobRow('step', 'r-elsewhere', { locked_by: `not-${hostname()}:4242424:live`, locked_until: lease }),
      ])
      .execute();
    runner.start();
    await sleep(150);
    expect(ran).toEqual([]); // the lease still holds
    await runner.recover();
    await waitFor(() => ran.includes('r-dead'));
    await sleep(100);
    // Another host's claim is its own business.
    expect(ran).toEqual(['r-dead']);
    expect((await jobs()).map((j) => [j.resource_id, j.locked_by])).toEqual([['r-elsewhere', `not-${hostname()}:4242424:live`]]);
  });

  it('recover() leaves the jobs this runner is running alone', async () => {
    const runner = newRunner();
    const gate = deferred();
    let runs = 0;
    runner.register('slow', async () => {
      runs++;
      await gate.promise;
    });
    runner.start();
    await runner.deps.enqueue('slow', { resourceId: 'r-1', accountId: '000000000000', region: 'us-east-1' });
    await waitFor(() => runs === 1);
    try {
      await runner.recover();
      const [held] = await jobs();
      expect(held!.locked_by).toBe(runner.owner);
    } finally {
      gate.resolve();
    }
    await runner.idle();
    expect(runs).toBe(1);
  });

  it('stop() waits for jobs in flight and starts no new ones', async () => {
    const runner = newRunner({ concurrency: 1 });
    const gate = deferred();
    let started = 0;
    let finished = 0;
    runner.register('slow', async () => {
      started++;
      await gate.promise;
      finished++;
    });
    await db
      .insertInto('jobs')
      .values([jobRow('slow', 'r-1'), jobRow('slow', 'r-2')])
      .execute();
    runner.start();
    await waitFor(() => started === 1);
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await sleep(50);
    const stoppedEarly = stopped;
    gate.resolve();
    await stopping;
    expect(stoppedEarly).toBe(false);
    expect(finished).toBe(1);
    await sleep(100);
    expect(started).toBe(1);
    // The finished job is gone, the other waits for the next start.
    expect((await jobs()).map((j) => [j.resource_id, j.locked_by])).toEqual([['r-2', null]]);
  });

  it('stop() during a poll lets no claimed job start after it returns', async () => {
    const runner = newRunner({ concurrency: 8 });
    let started = 0;
    let stopping: Promise<void> | undefined;
    runner.register('quick', async () => {
      started++;
      // The poll that started this job is still claiming the others.
      stopping ??= runner.stop();
      await sleep(20);
    });
    await db
      .insertInto('jobs')
      .values(Array.from({ length: 8 }, (_, i) => jobRow('quick', `r-${i}`)))
      .execute();
    runner.start();
    await waitFor(() => stopping !== undefined);
    await stopping;
    expect(started).toBe(1);
    // stop() waited for the job in flight: it is done and gone; the rest are unclaimed.
    const left = await jobs();
    expect(left).toHaveLength(7);
    expect(left.every((j) => j.locked_by === null)).toBe(true);
    await sleep(100);
    expect(started).toBe(1);
  });

  it('wake() makes a newly inserted job run promptly', async () => {
    const runner = newRunner({ pollMs: 60_000 });
    const ran: number[] = [];
    runner.register('now', async () => {
      ran.push(Date.now());
    });
    runner.start();
    await sleep(50); // the first poll found nothing and sleeps for a minute
    await db.insertInto('jobs').values(jobRow('now', 'r-1')).execute();
    await sleep(100);
    expect(ran).toEqual([]);
    runner.wake();
    // Long before the next poll (a minute away) would have found it.
    await waitFor(() => ran.length === 1, 3000);
    // deps.enqueue wakes the runner by itself.
    await runner.deps.enqueue('now', { resourceId: 'r-2', accountId: '000000000000', region: 'us-east-1' });
    await waitFor(() => ran.length === 2, 3000);
  });
});

// Issue 10: failures end in a state, never in a loop.
describe('Runner: bounded attempts', () => {
  const enqueue = (runner: Runner<TestJobs>, kind: 'always.fails' | 'cleanup.thing' | 'fails.twice' | 'watcher', resourceId: string, payload: TestJobs['always.fails'] = {}) =>
    runner.deps.enqueue(kind, { resourceId, accountId: '000000000000', region: 'us-east-1', payload });

  it('gives up after CUMULO_JOB_MAX_ATTEMPTS failures in a row: the hook gets the last error, then the job goes', async () => {
    const runner = newRunner({ pollMs: 50 }, { CUMULO_JOB_MAX_ATTEMPTS: '3' });
    expect(runner.maxAttempts).toBe(3);
    let runs = 0;
    const gaveUp: { resource: string; data: unknown; error: string }[] = [];
    runner.register(
      'always.fails',
      async () => {
        runs++;
        throw new Error(`host broken (${runs})`);
      },
      { giveUp: async (job, _deps, e) => void gaveUp.push({ resource: job.resource_id, data: job.data, error: (e as Error).message }) },
    );
    runner.start();
    await enqueue(runner, 'always.fails', 'r-1', { n: 7 });
    await waitFor(async () => (await jobs()).length === 0, 10_000);
    expect(runs).toBe(3);
    expect(gaveUp).toEqual([{ resource: 'r-1', data: { n: 7 }, error: 'host broken (3)' }]);
    expect(logs.some((l) => l.includes('always.fails r-1 gave up after 3 attempts: host broken (3)'))).toBe(true);
    await runner.idle();
    expect(runs).toBe(3); // never again
  });

  it('parks a failing job that has no give-up hook (kept, not run, not counted by idle), and recover() at the next start runs it again', async () => {
    const runner = newRunner({ pollMs: 50, maxAttempts: 2 });
    let runs = 0;
    let healthy = false;
    runner.register('cleanup.thing', async () => {
      runs++;
      if (!healthy) throw new Error('device busy');
    });
    runner.start();
    await enqueue(runner, 'cleanup.thing', 'r-1');
    await waitFor(async () => (await jobs())[0]?.failed_at != null, 10_000);
    const [parked] = await jobs();
    expect(parked).toMatchObject({ attempts: 2, last_error: 'device busy', locked_by: null });
    expect(runs).toBe(2);
    await runner.idle(); // a parked job is not work to wait for
    runner.wake();
    await runner.idle();
    expect(runs).toBe(2);
    expect(logs.some((l) => l.includes('cleanup.thing r-1 failed 2 times; parked until the next server start'))).toBe(true);

    // The next server: the parked job is queued again with fresh attempts, and now succeeds.
    await runner.stop();
    healthy = true;
    const next = newRunner({ pollMs: 50, maxAttempts: 2 });
    next.register('cleanup.thing', async () => {
      runs++;
    });
    await next.recover();
    const [rearmed] = await jobs();
    expect(rearmed).toMatchObject({ attempts: 0, failed_at: null });
    next.start();
    await waitFor(async () => (await jobs()).length === 0);
    expect(runs).toBe(3);
  });

  it('parks the job when its give-up hook fails', async () => {
    const runner = newRunner({ pollMs: 50, maxAttempts: 1 });
    runner.register(
      'fails.twice',
      async () => {
        throw new Error('step failed');
      },
      {
        giveUp: async () => {
          throw new Error('store gone');
        },
      },
    );
    runner.start();
    await enqueue(runner, 'fails.twice', 'r-1');
    await waitFor(async () => (await jobs())[0]?.failed_at != null);
    expect((await jobs())[0]).toMatchObject({ attempts: 1, last_error: 'step failed' });
    expect(logs.some((l) => l.includes('fails.twice r-1: giving up failed: store gone'))).toBe(true);
  });

  it('counts failures in a row: a step that succeeds (retryAt) resets the count, so a long-lived watcher never gives up on rare failures', async () => {
    const runner = newRunner({ pollMs: 50, maxAttempts: 2 });
    let runs = 0;
    let gaveUp = false;
    // What the store held for the job as each run began: the count of failures in a row so far.
    const seen: { attempts: number; lastError: string | null }[] = [];
    // fail, ok, fail, ok, fail, done: never two failures in a row.
    runner.register(
      'watcher',
      async () => {
        const [row] = await jobs();
        seen.push({ attempts: row.attempts, lastError: row.last_error });
        runs++;
        if (runs % 2 === 1) throw new Error(`blip ${runs}`);
        if (runs < 6) return { retryAt: new Date() };
      },
      { giveUp: async () => void (gaveUp = true) },
    );
    runner.start();
    await enqueue(runner, 'watcher', 'r-1');
    await waitFor(async () => (await jobs()).length === 0, 20_000);
    expect(runs).toBe(6);
    expect(seen).toEqual([
      { attempts: 0, lastError: null },
      { attempts: 1, lastError: 'blip 1' },
      { attempts: 0, lastError: null },
      { attempts: 1, lastError: 'blip 3' },
      { attempts: 0, lastError: null },
      { attempts: 1, lastError: 'blip 5' },
    ]);
    expect(gaveUp).toBe(false);
  });
});
