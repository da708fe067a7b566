// EBS snapshots against a server whose storage part is scripted: progress, the host's
// accounting, failures and deletes reach the rows, and each snapshot's point in time is captured
// inside its request (never by the job).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateImageCommand,
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  RunInstancesCommand,
  waitUntilImageAvailable,
  waitUntilSnapshotCompleted,
  type EC2Client,
  type Instance,
  type RunInstancesCommandInput,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer, errorOf, minimalImage } from './harness.js';
import { FakeStorage } from '../src/host/storage/fake.js';
import type { SnapshotResult, SnapshotStorage } from '../src/host/storage/part.js';
import { adoptCaptures } from '../src/controllers/snapshots.js';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 } as const;

async function launch(ec2: EC2Client, input: Partial<RunInstancesCommandInput> = {}): Promise<Instance> {
  const imageId = await minimalImage(ec2);
  const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ...input }));
  return out.Instances![0]!;
}

/** Volume ids of an instance by device name. */
function volumesOf(i: Instance): Record<string, string> {
  return Object.fromEntries((i.BlockDeviceMappings ?? []).map((m) => [m.DeviceName!, m.Ebs!.VolumeId!]));
}

const DATA_DISKS = [
  { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 3, VolumeType: 'gp3' as const } },
  { DeviceName: '/dev/sdg', Ebs: { VolumeSize: 4, VolumeType: 'gp3' as const, Encrypted: true } },
];

async function describe1(ec2: EC2Client, id: string): Promise<Snapshot> {
  return (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots![0]!;
}

async function completed(ec2: EC2Client, ids: string[]): Promise<void> {
  await waitUntilSnapshotCompleted({ client: ec2, ...wait }, { SnapshotIds: ids });
}

/**
 * Snapshot storage scripted by the test: records calls, reports progress, fails on demand. Like a
 * real host, it stores only what was captured (and drops the capture once stored); it keeps no data.
 */
class ScriptedDriver extends FakeStorage implements SnapshotStorage {
  calls: { op: string; args: unknown }[] = [];
  failSnapshot: string | undefined;
  failCapture: string | undefined;
  captured = new Set<string>();
  /** Resolves the snapshot when the test says so. */
  gate: Promise<void> | undefined;
  async captureVolume(o: { volumeId: string; snapshotId: string }): Promise<void> {
    this.calls.push({ op: 'capture', args: o });
    if (this.failCapture) throw new Error(this.failCapture);
    this.captured.add(o.snapshotId);
  }
  async discardCapture(snapshotId: string): Promise<void> {
    this.calls.push({ op: 'discard', args: snapshotId });
    this.captured.delete(snapshotId);
  }
  async captures(): Promise<string[]> {
    return [...this.captured].sort();
  }
  async snapshotVolume(o: Parameters<SnapshotStorage['snapshotVolume']>[0]): Promise<SnapshotResult> {
    this.calls.push({ op: 'snapshot', args: { ...o, onProgress: undefined } });
    o.onProgress?.(40);
    if (this.gate) await this.gate;
    if (!this.captured.has(o.snapshotId)) throw new Error(`no capture of ${o.snapshotId}`);
    if (this.failSnapshot) {
      const m = this.failSnapshot;
      this.failSnapshot = undefined;
      throw new Error(m);
    }
    this.captured.delete(o.snapshotId);
    return { dataBytes: 123 * 1024 * 1024, addedBytes: 7 * 1024 * 1024 };
  }
  async deleteSnapshot(region: string, snapshotId: string): Promise<void> {
    this.calls.push({ op: 'delete', args: { region, snapshotId } });
  }
  async copySnapshot(o: Parameters<SnapshotStorage['copySnapshot']>[0]): Promise<{ bytesCopied: number }> {
    this.calls.push({ op: 'copy', args: { ...o, onProgress: undefined } });
    return { bytesCopied: 5 * 1024 * 1024 };
  }
}

describe('with a driver that has BlockStorage', () => {
  let s: TestServer;
  let ec2: EC2Client;
  let driver: ScriptedDriver;
  let vol: string;

  beforeAll(async () => {
    driver = new ScriptedDriver();
    s = await startTestServer({ storage: driver, snapshots: driver });
    ec2 = s.ec2();
    const i = await launch(ec2, { BlockDeviceMappings: [DATA_DISKS[0]!] });
    vol = volumesOf(i)['/dev/sdf']!;
  });
  afterAll(async () => {
    await s?.stop();
  });

  test("progress while it is taken, then the host's accounting; the next builds on it", async () => {
    let open!: () => void;
    driver.gate = new Promise((r) => (open = r));
    const first = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }));
    let seen: Snapshot | undefined;
    for (let n = 0; n < 100; n++) {
      seen = await describe1(ec2, first.SnapshotId!);
      if (seen.Progress === '40%') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toMatchObject({ State: 'pending', Progress: '40%' });
    open();
    driver.gate = undefined;
    await completed(ec2, [first.SnapshotId!]);
    expect(await describe1(ec2, first.SnapshotId!)).toMatchObject({ State: 'completed', Progress: '100%' });
    const row = await s.app.db.selectFrom('snapshots').selectAll().where('id', '=', first.SnapshotId!).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ data_bytes: 123 * 1024 * 1024, added_bytes: 7 * 1024 * 1024, progress: 100 });
    const second = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }));
    await completed(ec2, [second.SnapshotId!]);
    const call = driver.calls.filter((c) => c.op === 'snapshot').at(-1)!.args as Record<string, unknown>;
    expect(call).toMatchObject({
      volumeId: vol,
      snapshotId: second.SnapshotId,
      region: 'us-east-1',
      accountId: s.admin.accountId,
      parentSnapshotId: first.SnapshotId,
      encrypted: false,
    });
  });

  test('a failure on the host: state error with its message', async () => {
    driver.failSnapshot = 'volume file is gone';
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }));
    await s.app.runner.idle();
    const d = await describe1(ec2, snap.SnapshotId!);
    expect(d).toMatchObject({ State: 'error', StateMessage: 'volume file is gone' });
    const e = await errorOf(waitUntilSnapshotCompleted({ client: ec2, ...wait }, { SnapshotIds: [snap.SnapshotId!] }));
    expect(e).toBeTruthy();
  });

  test('copy and delete reach the host', async () => {
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }));
    await completed(ec2, [snap.SnapshotId!]);
    const west = s.ec2({ region: 'us-west-2' });
    const copy = await west.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: snap.SnapshotId }));
    await completed(west, [copy.SnapshotId!]);
    expect(driver.calls.find((c) => c.op === 'copy')!.args).toMatchObject({
      fromRegion: 'us-east-1',
      snapshotId: snap.SnapshotId,
      toRegion: 'us-west-2',
      newSnapshotId: copy.SnapshotId,
      accountId: s.admin.accountId,
    });
    const row = await s.app.db.selectFrom('snapshots').selectAll().where('id', '=', copy.SnapshotId!).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ data_bytes: 123 * 1024 * 1024, added_bytes: 5 * 1024 * 1024 });
    await west.send(new DeleteSnapshotCommand({ SnapshotId: copy.SnapshotId }));
    await s.app.runner.idle();
    expect(driver.calls.filter((c) => c.op === 'delete').map((c) => c.args)).toContainEqual({ region: 'us-west-2', snapshotId: copy.SnapshotId });
  });

  test('CreateSnapshots takes every volume in one job, each through the host', async () => {
    const i = await launch(ec2, { BlockDeviceMappings: DATA_DISKS });
    const before = driver.calls.length;
    const out = await ec2.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: i.InstanceId } }));
    await completed(
      ec2,
      out.Snapshots!.map((x) => x.SnapshotId!),
    );
    const taken = driver.calls
      .slice(before)
      .filter((c) => c.op === 'snapshot')
      .map((c) => (c.args as { snapshotId: string }).snapshotId);
    expect(taken.sort()).toEqual(out.Snapshots!.map((x) => x.SnapshotId!).sort());
    expect(taken).toHaveLength(3);
  });

  test('the point in time is captured inside the request, not by the job; a DryRun captures nothing', async () => {
    let open!: () => void;
    driver.gate = new Promise((r) => (open = r));
    const before = driver.calls.length;
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }));
    // Answered: the capture is there already, while the job has not stored anything yet.
    expect(driver.calls.slice(before).find((c) => c.op === 'capture')?.args).toEqual({ volumeId: vol, snapshotId: snap.SnapshotId });
    expect(driver.captured.has(snap.SnapshotId!)).toBe(true);
    open();
    driver.gate = undefined;
    await completed(ec2, [snap.SnapshotId!]);
    expect(driver.captured.has(snap.SnapshotId!)).toBe(false); // dropped once stored
    const captures = driver.calls.slice(before).filter((c) => c.op === 'capture');
    expect(captures).toHaveLength(1);
    const dry = driver.calls.length;
    expect((await errorOf(ec2.send(new CreateSnapshotCommand({ VolumeId: vol, DryRun: true })))).name).toBe('DryRunOperation');
    expect(driver.calls.slice(dry)).toEqual([]);
  });

  test('a capture the host cannot take: the snapshot ends in error with the reason, and nothing is stored', async () => {
    driver.failCapture = 'freezing the root took too long';
    const before = driver.calls.length;
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }));
    driver.failCapture = undefined;
    expect(snap.State).toBe('pending');
    await s.app.runner.idle();
    const d = await describe1(ec2, snap.SnapshotId!);
    expect(d.State).toBe('error');
    expect(d.StateMessage).toContain('freezing the root took too long');
    expect(driver.calls.slice(before).filter((c) => c.op === 'snapshot')).toEqual([]);
  });

  test('a snapshot whose capture is gone fails rather than being taken later', async () => {
    let open!: () => void;
    driver.gate = new Promise((r) => (open = r));
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }));
    // The host lost it (as a store would that a crash left without the clone).
    driver.captured.delete(snap.SnapshotId!);
    open();
    driver.gate = undefined;
    await s.app.runner.idle();
    expect(await describe1(ec2, snap.SnapshotId!)).toMatchObject({ State: 'error', StateMessage: `no capture of ${snap.SnapshotId}` });
  });

  test('CreateImage captures every volume of the instance inside the request', async () => {
    const i = await launch(ec2, { BlockDeviceMappings: [DATA_DISKS[0]!] });
    const vols = volumesOf(i);
    await s.app.runner.idle();
    const before = driver.calls.length;
    const img = await ec2.send(new CreateImageCommand({ InstanceId: i.InstanceId, Name: `capture-${Date.now()}` }));
    const captured = driver.calls
      .slice(before)
      .filter((c) => c.op === 'capture')
      .map((c) => (c.args as { volumeId: string }).volumeId);
    expect(captured.sort()).toEqual(Object.values(vols).sort());
    await waitUntilImageAvailable({ client: ec2, ...wait }, { ImageIds: [img.ImageId!] });
  });

  test('at start, captures no pending snapshot needs are dropped; those of pending ones kept', async () => {
    let open!: () => void;
    driver.gate = new Promise((r) => (open = r));
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }));
    const orphan = 'snap-0fffffffffffffff1'; // a request that died before its commit
    driver.captured.add(orphan);
    await adoptCaptures({ db: s.app.db, snapshots: driver, log: () => {} });
    expect(driver.captured.has(orphan)).toBe(false);
    expect(driver.captured.has(snap.SnapshotId!)).toBe(true);
    open();
    driver.gate = undefined;
    await completed(ec2, [snap.SnapshotId!]);
  });
});
