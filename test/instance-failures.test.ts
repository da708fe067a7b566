// Issue 10, with the fake driver: failures end in a state, never in a loop. A job that gives up
// moves its instance to EC2's failure state with a state reason; host cleanup that fails is
// queued and retried; a reboot job run again after a crash does not reboot twice.
import { DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand, DescribeImagesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FakeDriver } from '../src/host/compute/fake.js';
import { registerControllers } from '../src/controllers/index.js';
import type { GiveUp, Job, Reconciler, Runner } from '../src/controllers/runner.js';
import type { JobKind } from '../src/store/job-kinds.js';
import { insertJob } from '../src/store/jobs.js';
import { startTestServer, type TestServer } from './harness.js';

/** The reconcilers and give-up hooks by kind, to run one step at a time as a crash would leave it. */
function controllers(): Map<string, { run: Reconciler<JobKind>; giveUp?: GiveUp<JobKind> }> {
  const map = new Map<string, { run: Reconciler<JobKind>; giveUp?: GiveUp<JobKind> }>();
  registerControllers({
    register: (kind: string, run: Reconciler<JobKind>, o: { giveUp?: GiveUp<JobKind> } = {}) => void map.set(kind, { run, giveUp: o.giveUp }),
  } as unknown as Runner);
  return map;
}

let s: TestServer;
let ec2: EC2Client;
let driver: FakeDriver;
let imageId: string;
const kinds = controllers();

async function describe1(id: string): Promise<Instance> {
  return (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
}

async function launch(): Promise<string> {
  const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
  return out.Instances![0]!.InstanceId!;
}

/** A job of `kind` for `id` as the store holds it (payload parsed, as the runner hands it over). */
async function job<K extends JobKind>(kind: K, id: string): Promise<Job<K>> {
  const row = await s.app.db.selectFrom('jobs').selectAll().where('kind', '=', kind).where('resource_id', '=', id).orderBy('id', 'desc').executeTakeFirstOrThrow();
  return { ...row, kind, data: JSON.parse(row.payload) } as Job<K>;
}

beforeAll(async () => {
  driver = new FakeDriver();
  s = await startTestServer({ driver });
  ec2 = s.ec2();
  imageId = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }))).Images![0]!.ImageId!;
});
afterAll(async () => {
  await s?.stop();
});

describe('a reboot across a crash', () => {
  test('a reboot job run again after the driver rebooted does not reboot twice; one that crashed before acting reboots once', async () => {
    const id = await launch();
    await s.app.runner.idle();
    expect((await describe1(id)).State!.Name).toBe('running');
    // From here on, steps run by hand, as a server that dies between them would leave them.
    await s.app.runner.stop();
    const reboot = kinds.get('instance.reboot')!.run;
    const deps = s.app.runner.deps;
    const boots = driver.bootsOf(id);

    // Crash after the driver rebooted, before the runner deleted the job: the job runs again.
    await insertJob(s.app.db, { kind: 'instance.reboot', resourceId: id, accountId: s.admin.accountId, region: 'us-east-1' });
    await reboot(await job('instance.reboot', id), deps);
    expect(driver.bootsOf(id)).toBe(boots + 1);
    expect((await job('instance.reboot', id)).data).toEqual({ rebooting: String(boots) });
    await reboot(await job('instance.reboot', id), deps);
    expect(driver.bootsOf(id)).toBe(boots + 1);
    await s.app.db.deleteFrom('jobs').where('kind', '=', 'instance.reboot').execute();

    // Crash after the job recorded the boot, before the driver acted (here: the driver fails).
    await insertJob(s.app.db, { kind: 'instance.reboot', resourceId: id, accountId: s.admin.accountId, region: 'us-east-1' });
    driver.failNext.set(id, 'killed');
    await expect(reboot(await job('instance.reboot', id), deps)).rejects.toThrow(/killed/);
    expect(driver.bootsOf(id)).toBe(boots + 1);
    await reboot(await job('instance.reboot', id), deps);
    expect(driver.bootsOf(id)).toBe(boots + 2);
    await reboot(await job('instance.reboot', id), deps);
    expect(driver.bootsOf(id)).toBe(boots + 2);
    await s.app.db.deleteFrom('jobs').where('kind', '=', 'instance.reboot').execute();
    s.app.runner.start();
  });
});

describe('give-up hooks', () => {
  test('a launch job that gives up ends terminated with the reason EC2 gives (Client.VolumeLimitExceeded for a full volume store), nothing left on the host', async () => {
    await s.app.runner.stop();
    const id = await launch();
    const launchJob = await job('instance.launch', id);
    await kinds.get('instance.launch')!.giveUp!(launchJob, s.app.runner.deps, new Error('write /var/lib/cumulo/volumes/x: ENOSPC: No space left on device'));
    const i = await describe1(id);
    expect(i.State!.Name).toBe('terminated');
    expect(i.StateReason).toEqual({ Code: 'Client.VolumeLimitExceeded', Message: 'Client.VolumeLimitExceeded: Volume limit exceeded' });
    expect(await driver.list()).not.toContain(id);
    await s.app.db.deleteFrom('jobs').where('id', '=', launchJob.id).execute();
    s.app.runner.start();
    await s.app.runner.idle();
  });

  test('a stop job that gives up ends stopped with Server.InternalError', async () => {
    const id = await launch();
    await s.app.runner.idle();
    await s.app.runner.stop();
    await s.app.db.updateTable('instances').set({ state: 'stopping', desired_state: 'stopped' }).where('id', '=', id).execute();
    await insertJob(s.app.db, { kind: 'instance.stop', resourceId: id, accountId: s.admin.accountId, region: 'us-east-1' });
    const stopJob = await job('instance.stop', id);
    await kinds.get('instance.stop')!.giveUp!(stopJob, s.app.runner.deps, new Error('runc kill: timed out'));
    const i = await describe1(id);
    expect(i.State!.Name).toBe('stopped');
    expect(i.StateReason).toEqual({ Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on stop' });
    expect((await driver.inspect(id)).state).toBe('stopped');
    await s.app.db.deleteFrom('jobs').where('id', '=', stopJob.id).execute();
    s.app.runner.start();
    await s.app.runner.idle();
  });

  test('a launch that fails with every attempt, for real through the runner, ends terminated rather than looping', async () => {
    // The store refuses the launch's final write (a trigger): the job fails outside boot every time.
    const t = await startTestServer({ env: { CUMULO_JOB_MAX_ATTEMPTS: '2' } });
    try {
      const c = t.ec2();
      await t.app.runner.stop();
      const id = (await c.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }))).Instances![0]!.InstanceId!;
      await sql`CREATE TRIGGER refuse_running BEFORE UPDATE OF state ON instances WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`.execute(t.app.db);
      t.app.runner.start();
      const get = async () => (await c.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
      // Two attempts, 0.5 s apart: well within the wait; a runner that looped would stay pending.
      const end = Date.now() + 20_000;
      let i = await get();
      while (i.State!.Name === 'pending' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        i = await get();
      }
      expect(i.State!.Name).toBe('terminated');
      expect(i.StateReason).toEqual({ Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on launch' });
      expect(await t.app.db.selectFrom('jobs').select('id').where('kind', '=', 'instance.launch').execute()).toEqual([]);
      await sql`DROP TRIGGER refuse_running`.execute(t.app.db);
    } finally {
      await t.stop();
    }
  });
});

describe('host cleanup that fails is queued, not dropped', () => {
  test('a terminate whose host removal fails: terminated at once, a host.cleanup job removes it, the uid range is kept until then', async () => {
    const id = await launch();
    await s.app.runner.idle();
    await s.app.runner.stop();
    driver.failNext.set(id, 'device or resource busy');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const terminate = kinds.get('instance.terminate')!.run;
    await terminate(await job('instance.terminate', id), s.app.runner.deps);
    expect((await describe1(id)).State!.Name).toBe('terminated');
    expect(await driver.list()).toContain(id); // the host still has it …
    const cleanup = await job('host.cleanup', id);
    expect(cleanup.data).toEqual({ op: 'delete-instance' });
    expect(await s.app.db.selectFrom('uid_ranges').select('slot').where('instance_id', '=', id).executeTakeFirst()).toBeDefined();
    await s.app.db.deleteFrom('jobs').where('kind', '=', 'instance.terminate').where('resource_id', '=', id).execute();
    s.app.runner.start();
    await s.app.runner.idle();
    expect(await driver.list()).not.toContain(id); // … until its cleanup ran
    expect(await s.app.db.selectFrom('uid_ranges').select('slot').where('instance_id', '=', id).executeTakeFirst()).toBeUndefined();
  });
});
