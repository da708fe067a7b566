// SkipOsShutdown on the runc driver (root): the instance is halted by force, then removed (terminate)
// or left stopped (stop), and the host keeps no container of it. test/current-members-handlers.test.ts
// shows, with the fake driver, that the controllers ask for exactly that; this is the real host doing it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DescribeImagesCommand, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { guestRuns, needsInstances, runcContainers, startRuncServer, until, waitState, type RuncServer } from './runc-harness.js';

needsInstances.describe('SkipOsShutdown with the runc driver (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-members-runc-'));
  let server: RuncServer;

  beforeAll(async () => {
    server = await startRuncServer(home);
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  }, 120_000);

  test('stop and terminate with SkipOsShutdown', async () => {
    const { ec2 } = server;
    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
    const r = await ec2.send(
      new RunInstancesCommand({ ImageId: images.Images![0]!.ImageId!, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', Placement: { AvailabilityZoneId: 'use1-az1' } }),
    );
    const id = r.Instances![0]!.InstanceId!;
    expect(r.Instances![0]!.Placement!.AvailabilityZone).toBe('us-east-1a');
    await waitState(ec2, id, 'running', 120_000);
    await until(`${id}'s guest to run`, () => guestRuns(home, id), 60_000);

    await ec2.send(new StopInstancesCommand({ InstanceIds: [id], SkipOsShutdown: true }));
    await waitState(ec2, id, 'stopped', 120_000);
    expect(await guestRuns(home, id)).toBe(false);

    await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    await waitState(ec2, id, 'running', 120_000);
    await until(`${id}'s guest to run again`, () => guestRuns(home, id), 60_000);

    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id], SkipOsShutdown: true }));
    await waitState(ec2, id, 'terminated', 120_000);
    expect((await runcContainers(home)).map((c) => c.id)).not.toContain(id);
  }, 600_000);
});
