// insertJob against a real (in-memory SQLite) store, and the job-kind map's compile-time checks:
// each @ts-expect-error below fails the type check (tsc over the tests) if the line it marks compiles.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ctx } from '../services/context.js';
import { openWithDialect, sqliteDialect, type Db } from './db.js';
import { insertJob } from './jobs.js';

let db: Db;

beforeEach(async () => {
  db = await openWithDialect(sqliteDialect(':memory:'));
});

afterEach(async () => {
  await db.destroy();
});

const where = { accountId: '000000000000', region: 'us-east-1' };

describe('insertJob', () => {
  it('writes the kind with its payload as JSON, and {} for a kind that has none', async () => {
    await insertJob(db, { kind: 'instance.watch', resourceId: 'i-1', ...where, payload: { boot: 2 } });
    await insertJob(db, { kind: 'volume.detach', resourceId: 'vol-1', ...where, payload: { instanceId: 'i-1', released: true } });
    await insertJob(db, { kind: 'vpc.sync', resourceId: 'vpc-1', ...where });
    const rows = await db.selectFrom('jobs').select(['kind', 'resource_id', 'payload']).orderBy('id').execute();
    expect(rows).toEqual([
      { kind: 'instance.watch', resource_id: 'i-1', payload: '{"boot":2}' },
      { kind: 'volume.detach', resource_id: 'vol-1', payload: '{"instanceId":"i-1","released":true}' },
      { kind: 'vpc.sync', resource_id: 'vpc-1', payload: '{}' },
    ]);
  });
});

/** Never called: what the type check refuses (a wrong kind, a wrong or missing payload member). */
export async function refusedAtCompileTime(ctx: Ctx): Promise<void> {
  // @ts-expect-error not a job kind
  await insertJob(db, { kind: 'instance.lauch', resourceId: 'i-1', ...where });
  // @ts-expect-error instance.watch needs its boot
  await insertJob(db, { kind: 'instance.watch', resourceId: 'i-1', ...where });
  // @ts-expect-error a member volume.detach's reconciler does not read
  await insertJob(db, { kind: 'volume.detach', resourceId: 'vol-1', ...where, payload: { instanceId: 'i-1', instance: 'i-1' } });
  // @ts-expect-error snapshotIds is a list
  await ctx.enqueue('snapshot.create-set', 'snap-1', { snapshotIds: 'snap-1' });
  // @ts-expect-error image.create takes no payload members
  await ctx.enqueue('image.create', 'ami-1', { snapshotIds: [] });
  // @ts-expect-error volume.attach needs the instance
  await ctx.enqueue('volume.attach', 'vol-1');
}
