import { randomBytes } from 'node:crypto';
import { SecretBox } from '../lib/secrets.js';
// The dispatcher with a tiny fake handler map over a real SQLite store: transactions, DryRun,
// after-commit hooks, the work queue and the once-per-region setup.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import type { ServiceModel } from '../models/index.js';
import { handlerMap, type Ctx, type CtxDeps, type TypedHandler } from '../services/context.js';
import { openWithDialect, sqliteDialect, type Db } from '../store/db.js';
import { Dispatcher, type Invocation } from './dispatch.js';
import { ApiError, Errors } from '../services/errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const model = (signingName: string): ServiceModel => ({
  signingName,
  protocol: signingName === 'ec2' ? 'ec2' : 'query',
  protocols: [signingName === 'ec2' ? 'ec2' : 'query'],
  targetPrefix: '',
  awsQueryCompatible: false,
  apiVersion: '2016-11-15',
  xmlNamespace: '',
  serviceName: signingName,
  operations: new Map(),
});

let dir: string;
let db: Db;
let wakes: number;
let hooks: string[];
let setups: string[];
let setupDelay: number;
let setupFails: number;
let setupExtras: ((ctx: Ctx) => Promise<void>) | undefined;

const tag = (ctx: Ctx, resourceId: string, key: string) =>
  ctx.db.insertInto('tags').values({ resource_id: resourceId, key, value: 'v', account_id: ctx.accountId, region: ctx.region, resource_type: 'vpc' }).execute();

const tagsOf = (resourceId: string) => db.selectFrom('tags').select('key').where('resource_id', '=', resourceId).orderBy('key').execute();

const ec2: Record<string, TypedHandler> = {
  // Writes two rows, enqueues a job and registers a hook; fails where the input says.
  async CreateThing(ctx, input: { Id: string; Fail?: 'before-write' | 'after-write'; Hook?: 'throws' }) {
    if (!input.Id) throw Errors.missingParameter('Id');
    if (input.Fail === 'before-write') throw Errors.invalidParameterValue(`Value (${input.Id}) for parameter Id is invalid.`);
    await tag(ctx, input.Id, 'a');
    await tag(ctx, input.Id, 'b');
    // The handler's own transaction sees its writes.
    const mine = await ctx.db.selectFrom('tags').select('key').where('resource_id', '=', input.Id).execute();
    if (mine.length !== 2) throw new Error('handler does not see its own writes');
    // @ts-expect-error a kind of this suite's own, not in JobPayloads: the dispatcher writes it all the same
    await ctx.enqueue('thing.make', input.Id, { id: input.Id });
    ctx.afterCommit(() => {
      hooks.push(input.Id);
      if (input.Hook === 'throws') throw new Error('hook failed');
    });
    if (input.Fail === 'after-write') throw new ApiError('DependencyViolation', `The thing '${input.Id}' has dependencies and cannot be created.`);
    return { Id: input.Id, IsTransaction: (ctx.db as { isTransaction?: boolean }).isTransaction === true };
  },
  async DescribeThings(ctx) {
    ctx.afterCommit(() => hooks.push('describe'));
    const rows = await ctx.db.selectFrom('tags').select(['resource_id', 'key']).where('account_id', '=', ctx.accountId).execute();
    return { Things: rows, IsTransaction: (ctx.db as { isTransaction?: boolean }).isTransaction === true };
  },
};

function newDispatcher(opts: { setup?: boolean } = {}): Dispatcher {
  const deps: CtxDeps = {
    secrets: new SecretBox(randomBytes(32)),
    db,
    config: loadConfig({ CUMULO_HOME: dir }),
    wake: () => void wakes++,
  };
  const setupRegion =
    opts.setup === false
      ? undefined
      : async (ctx: Ctx) => {
          await tag(ctx, `setup-${ctx.accountId}-${ctx.region}`, 'done');
          if (setupFails > 0) {
            setupFails--;
            throw new Error('setup failed');
          }
          setups.push(`${ctx.accountId}:${ctx.region}`);
          await sleep(setupDelay); // a slow setup widens the window for concurrent first requests
          await setupExtras?.(ctx);
        };
  return new Dispatcher(
    deps,
    new Map([
      ['ec2', { handlers: handlerMap(ec2), setupRegion }],
      ['sts', { handlers: handlerMap({ GetCallerIdentity: async (ctx: Ctx) => ({ Account: ctx.accountId }) }) }],
    ]),
  );
}

let seq = 0;
function call(d: Dispatcher, operation: string, input: Record<string, unknown> = {}, who: Partial<Invocation> = {}): Promise<any> {
  return d.invoke({ model: model('ec2'), operation, input, accountId: '111111111111', region: 'us-east-1', requestId: `req-${++seq}`, ...who });
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected the call to fail');
}

const jobCount = async () => (await db.selectFrom('jobs').select('id').execute()).length;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cumulo-dispatch-'));
  db = await openWithDialect(sqliteDialect(join(dir, 'cumulo.db')));
  wakes = 0;
  hooks = [];
  setups = [];
  setupDelay = 0;
  setupFails = 0;
  setupExtras = undefined;
});

afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('Dispatcher', () => {
  it('runs a mutating handler in one transaction and commits its writes, its job and its hooks', async () => {
    const d = newDispatcher({ setup: false });
    expect(await call(d, 'CreateThing', { Id: 'vpc-1' })).toEqual({ Id: 'vpc-1', IsTransaction: true });
    expect(await tagsOf('vpc-1')).toEqual([{ key: 'a' }, { key: 'b' }]);
    expect(await db.selectFrom('jobs').select(['kind', 'resource_id', 'account_id', 'region', 'payload']).execute()).toEqual([
      { kind: 'thing.make', resource_id: 'vpc-1', account_id: '111111111111', region: 'us-east-1', payload: '{"id":"vpc-1"}' },
    ]);
    expect(hooks).toEqual(['vpc-1']);
    expect(wakes).toBe(1);
  });

  it('leaves nothing behind when a handler writes and then throws', async () => {
    const d = newDispatcher({ setup: false });
    const e = await failure(call(d, 'CreateThing', { Id: 'vpc-2', Fail: 'after-write' }));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe('DependencyViolation');
    expect(await tagsOf('vpc-2')).toEqual([]);
    expect(await jobCount()).toBe(0);
    expect(hooks).toEqual([]);
    expect(wakes).toBe(0);
  });

  it('answers DryRunOperation when the request would succeed, and rolls its writes back', async () => {
    const d = newDispatcher({ setup: false });
    const e = await failure(call(d, 'CreateThing', { Id: 'vpc-3', DryRun: true }));
    expect(e.code).toBe('DryRunOperation');
    expect(e.status).toBe(412);
    expect(e.message).toBe('Request would have succeeded, but DryRun flag is set.');
    expect(await tagsOf('vpc-3')).toEqual([]);
    // The job the handler queued went with the rollback, and nobody was woken for it.
    expect(await jobCount()).toBe(0);
    expect(wakes).toBe(0);
    expect(hooks).toEqual([]);
  });

  it("gives a DryRun the handler's own validation error, not DryRunOperation", async () => {
    const d = newDispatcher({ setup: false });
    const e = await failure(call(d, 'CreateThing', { Id: 'vpc-4', DryRun: true, Fail: 'before-write' }));
    expect(e.code).toBe('InvalidParameterValue');
    expect(e.message).toBe('Value (vpc-4) for parameter Id is invalid.');
    const m = await failure(call(d, 'CreateThing', { DryRun: true }));
    expect(m.code).toBe('MissingParameter');
    // An error found after the writes also wins over DryRunOperation, and is rolled back too.
    const late = await failure(call(d, 'CreateThing', { Id: 'vpc-5', DryRun: true, Fail: 'after-write' }));
    expect(late.code).toBe('DependencyViolation');
    expect(await tagsOf('vpc-5')).toEqual([]);
  });

  it('runs after-commit hooks only on commit, and a failing hook does not fail the request', async () => {
    const d = newDispatcher({ setup: false });
    await failure(call(d, 'CreateThing', { Id: 'vpc-6', Fail: 'after-write' }));
    await failure(call(d, 'CreateThing', { Id: 'vpc-7', DryRun: true }));
    expect(hooks).toEqual([]);
    let seenInHook: unknown;
    ec2.CreateThingThenLook = async (ctx, input: { Id: string }) => {
      await tag(ctx, input.Id, 'a');
      // The hook runs after the commit: the store, outside the transaction, shows the row.
      ctx.afterCommit(() => {
        seenInHook = db.selectFrom('tags').select('key').where('resource_id', '=', input.Id).execute();
      });
      return {};
    };
    try {
      await call(d, 'CreateThingThenLook', { Id: 'vpc-8' });
      expect(await seenInHook).toEqual([{ key: 'a' }]);
    } finally {
      delete ec2.CreateThingThenLook;
    }
    expect(await call(d, 'CreateThing', { Id: 'vpc-9', Hook: 'throws' })).toMatchObject({ Id: 'vpc-9' });
    expect(hooks).toEqual(['vpc-9']);
    expect(await tagsOf('vpc-9')).toHaveLength(2);
  });

  it('runs Describe calls without a transaction, and answers their DryRun', async () => {
    const d = newDispatcher({ setup: false });
    await call(d, 'CreateThing', { Id: 'vpc-10' });
    const out = await call(d, 'DescribeThings');
    expect(out.IsTransaction).toBe(false);
    expect(out.Things).toHaveLength(2);
    // With no transaction, "after commit" means after the handler succeeded.
    expect(hooks).toEqual(['vpc-10', 'describe']);
    expect((await failure(call(d, 'DescribeThings', { DryRun: true }))).code).toBe('DryRunOperation');
    expect(hooks).toEqual(['vpc-10', 'describe']);
  });

  it('refuses an operation it has no handler for', async () => {
    const d = newDispatcher({ setup: false });
    const e = await failure(call(d, 'RebootThings'));
    expect(e.code).toBe('UnsupportedOperation');
    expect(d.has('ec2', 'CreateThing')).toBe(true);
    expect(d.implemented('ec2')).toContain('DescribeThings');
  });

  it('sets up each (account, region) once, even when its first requests come at the same time', async () => {
    const d = newDispatcher();
    setupDelay = 30;
    const who = [
      ...Array.from({ length: 5 }, () => ({ accountId: '111111111111', region: 'us-east-1' })),
      ...Array.from({ length: 3 }, () => ({ accountId: '111111111111', region: 'us-west-2' })),
      ...Array.from({ length: 3 }, () => ({ accountId: '222222222222', region: 'us-east-1' })),
    ];
    const outs = await Promise.all(who.map((w, i) => call(d, i % 2 ? 'DescribeThings' : 'CreateThing', { Id: `vpc-c${i}` }, w)));
    expect(setups.sort()).toEqual(['111111111111:us-east-1', '111111111111:us-west-2', '222222222222:us-east-1']);
    // Every request waited for its region's setup: the first Describe already sees its row.
    const firstDescribe = outs[1] as { Things: { resource_id: string }[] };
    expect(firstDescribe.Things.map((t) => t.resource_id)).toContain('setup-111111111111-us-east-1');
    await call(d, 'DescribeThings');
    expect(setups).toHaveLength(3);
    // Only EC2 has regions to set up.
    await d.invoke({ model: model('sts'), operation: 'GetCallerIdentity', input: {}, accountId: '333333333333', region: 'us-east-1', requestId: 'r' });
    expect(setups).toHaveLength(3);
  });

  it('tries a failed setup again on the next request, and rolls the failed one back', async () => {
    const d = newDispatcher();
    setupFails = 1;
    const e = await failure(call(d, 'DescribeThings'));
    expect(e.message).toBe('setup failed');
    expect(setups).toEqual([]);
    expect(await tagsOf('setup-111111111111-us-east-1')).toEqual([]);
    await call(d, 'DescribeThings');
    expect(setups).toEqual(['111111111111:us-east-1']);
    expect(await tagsOf('setup-111111111111-us-east-1')).toEqual([{ key: 'done' }]);
  });

  it("commits the setup's own jobs and hooks, whatever becomes of the request that triggered it", async () => {
    const d = newDispatcher();
    setupExtras = async (ctx) => {
      // @ts-expect-error a kind of this suite's own, not in JobPayloads
      await ctx.enqueue('vpc.default', `setup-${ctx.region}`);
      ctx.afterCommit(() => hooks.push(`setup ${ctx.region}`));
    };
    // A Describe: no transaction of its own.
    await call(d, 'DescribeThings', {}, { region: 'us-east-1' });
    // A DryRun, whose own writes roll back.
    await failure(call(d, 'CreateThing', { Id: 'vpc-d1', DryRun: true }, { region: 'us-east-2' }));
    // A request that fails.
    await failure(call(d, 'CreateThing', { Id: 'vpc-d2', Fail: 'after-write' }, { region: 'us-west-1' }));
    const jobs = await db.selectFrom('jobs').select(['kind', 'resource_id']).orderBy('id').execute();
    expect(jobs).toEqual([
      { kind: 'vpc.default', resource_id: 'setup-us-east-1' },
      { kind: 'vpc.default', resource_id: 'setup-us-east-2' },
      { kind: 'vpc.default', resource_id: 'setup-us-west-1' },
    ]);
    expect(wakes).toBe(3);
    expect(hooks.filter((h) => h.startsWith('setup'))).toEqual(['setup us-east-1', 'setup us-east-2', 'setup us-west-1']);
  });
});
