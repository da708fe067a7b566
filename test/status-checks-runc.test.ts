// System test (root): status checks come from reality. A real instance (runc driver) passes its
// system and instance checks; breaking the guest (SIGSTOP of its init, its eth0 down) impairs the
// instance check, breaking the host's side (the VPC end of its interface down, the VPC's data plane
// deleted) impairs the system check, and a volume whose backing file is gone from the volume store
// is impaired, as is the attached EBS check of the instance using it. Every change is seen through
// the API (DescribeInstanceStatus and DescribeVolumeStatus, their filters) and in the
// StatusCheckFailed metrics of the store. Every host object goes in afterAll, even on failure.
import { readFileSync, renameSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachVolumeCommand,
  CreateSubnetCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeVolumeStatusCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type InstanceStatus,
  type VolumeStatusItem,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { needsInstances, dataPlaneNames, hostRun, publicPoolFor, startRuncServer, until, waitState, type RuncServer } from './runc-harness.js';

process.env.CUMULO_INSTANCE_POLL_MS = '500';
process.env.CUMULO_METRICS_INTERVAL_MS = '500';
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

needsInstances.describe('status checks from reality (runc driver, root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-status-'));
  const names = dataPlaneNames(home);
  // Its own public pool (250-255: no other suite's slot) though nothing here gets a public IP.
  const env = { CUMULO_PUBLIC_IPV4_POOL: publicPoolFor(250 + (process.pid % 6)) };
  let server: RuncServer | undefined;
  let ec2: EC2Client;
  let vpcId = '';
  let instanceId = '';
  let eniId = '';
  let dataVolume = '';
  let spareVolume = '';

  const status = async (): Promise<InstanceStatus> => (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [instanceId] }))).InstanceStatuses![0]!;
  const statusUntil = (what: string, ok: (s: InstanceStatus) => boolean) =>
    until(
      what,
      async () => {
        const s = await status();
        return ok(s) ? s : undefined;
      },
      60_000,
      200,
    );
  const volumeStatus = async (id: string): Promise<VolumeStatusItem> => (await ec2.send(new DescribeVolumeStatusCommand({ VolumeIds: [id] }))).VolumeStatuses![0]!;
  const filtered = async (name: string, value: string) =>
    (await ec2.send(new DescribeInstanceStatusCommand({ Filters: [{ Name: name, Values: [value] }] }))).InstanceStatuses!.map((s) => s.InstanceId);
  const initPid = () => Number(readFileSync(join(home, 'instances', instanceId, 'init.pid'), 'utf8').trim());
  /** A sample of the metrics sampler taken after `since`, satisfying ok. */
  const sampleAfter = (
    since: string,
    ok: (r: { status_check_failed: number | null; status_check_failed_system: number | null; status_check_failed_instance: number | null }) => boolean,
  ) =>
    until(
      'a metrics sample',
      async () => {
        const rows = await server!.app.db.selectFrom('instance_metrics').selectAll().where('instance_id', '=', instanceId).where('at', '>', since).execute();
        return rows.find(ok);
      },
      30_000,
      200,
    );

  beforeAll(async () => {
    server = await startRuncServer(home, { env });
    ec2 = server.ec2;
    vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.101.0.0/16' }))).Vpc!.VpcId!;
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.101.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    const ami = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }))).Images![0]!.ImageId!;
    const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: subnetId }));
    instanceId = r.Instances![0]!.InstanceId!;
    eniId = r.Instances![0]!.NetworkInterfaces![0]!.NetworkInterfaceId!;
    await waitState(ec2, instanceId, 'running', 120_000);
  }, 600_000);

  afterAll(async () => {
    // A stopped init cannot be stopped gracefully: let it go on first.
    try {
      if (instanceId) process.kill(initPid(), 'SIGCONT');
    } catch {
      // gone already
    }
    if (server) await server.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
    // A server with cleanup on the same home removes whatever is left.
    const cleaner = await startRuncServer(home, { env });
    await cleaner.stop();
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 300_000);

  test('a healthy instance passes both checks (its eth0 answers ARP from the VPC router); StatusCheckFailed is 0', async () => {
    const s = await statusUntil('both checks ok', (x) => x.SystemStatus?.Status === 'ok' && x.InstanceStatus?.Status === 'ok');
    expect(s.SystemStatus!.Details).toEqual([{ Name: 'reachability', Status: 'passed' }]);
    expect(s.InstanceStatus!.Details).toEqual([{ Name: 'reachability', Status: 'passed' }]);
    expect(await filtered('instance-status.reachability', 'passed')).toContain(instanceId);
    const row = await sampleAfter('', (r) => r.status_check_failed === 0);
    expect(row).toMatchObject({ status_check_failed_system: 0, status_check_failed_instance: 0 });
    // The root volume's backing is checked too.
    const ebs = await statusUntil('attached EBS ok', (x) => x.AttachedEbsStatus?.Status === 'ok');
    expect(ebs.AttachedEbsStatus!.Details).toEqual([{ Name: 'reachability', Status: 'passed' }]);
  }, 180_000);

  test('SIGSTOP of the guest init: the instance check is impaired (the system check is not); SIGCONT: ok again', async () => {
    const pid = initPid();
    const since = new Date().toISOString();
    process.kill(pid, 'SIGSTOP');
    try {
      const s = await statusUntil('instance check impaired', (x) => x.InstanceStatus?.Status === 'impaired');
      expect(s.InstanceStatus!.Details).toEqual([{ Name: 'reachability', Status: 'failed', ImpairedSince: expect.any(Date) }]);
      expect(s.InstanceStatus!.Details![0]!.ImpairedSince!.getTime()).toBeGreaterThanOrEqual(Date.parse(since) - 1000);
      expect(s.SystemStatus!.Status).toBe('ok');
      expect(await filtered('instance-status.status', 'impaired')).toContain(instanceId);
      expect(await filtered('instance-status.reachability', 'failed')).toContain(instanceId);
      expect(await filtered('system-status.status', 'ok')).toContain(instanceId);
      expect(await filtered('system-status.status', 'impaired')).not.toContain(instanceId);
      const row = await sampleAfter(since, (r) => r.status_check_failed_instance === 1);
      expect(row).toMatchObject({ status_check_failed: 1, status_check_failed_system: 0 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await statusUntil('instance check ok again', (x) => x.InstanceStatus?.Status === 'ok');
  }, 180_000);

  test('its eth0 brought down from the host: the instance check is impaired; up again: ok', async () => {
    const ns = names.instanceNetns(instanceId);
    expect((await hostRun(['ip', '-n', ns, 'link', 'set', 'eth0', 'down'])).code).toBe(0);
    try {
      const s = await statusUntil('instance check impaired', (x) => x.InstanceStatus?.Status === 'impaired');
      expect(s.SystemStatus!.Status).toBe('ok');
    } finally {
      await hostRun(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    await statusUntil('instance check ok again', (x) => x.InstanceStatus?.Status === 'ok');
  }, 180_000);

  test('a volume whose backing file is gone from the volume store is impaired, and so is the attached EBS check', async () => {
    dataVolume = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 1 }))).VolumeId!;
    spareVolume = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 1 }))).VolumeId!;
    await until(
      'volumes available',
      async () => (await volumeStatus(spareVolume)).VolumeStatus?.Status === 'ok' && (await volumeStatus(dataVolume)).VolumeStatus?.Status === 'ok',
      60_000,
      200,
    );
    await ec2.send(new AttachVolumeCommand({ VolumeId: dataVolume, InstanceId: instanceId, Device: '/dev/sdf' }));
    await until(
      'the data volume attached',
      async () => {
        const v = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [dataVolume] }))).Volumes![0]!;
        return v.Attachments?.[0]?.State === 'attached';
      },
      60_000,
      200,
    );
    await statusUntil('attached EBS ok with the data volume', (x) => x.AttachedEbsStatus?.Status === 'ok');
    const files = [dataVolume, spareVolume].map((v) => server!.app.host.services!.volumes.fileOf(v));
    for (const f of files) expect(existsSync(f)).toBe(true);
    // Moved away, not deleted: the loop device of the attached one is let go of cleanly afterwards.
    for (const f of files) renameSync(f, `${f}.away`);
    try {
      for (const v of [dataVolume, spareVolume]) {
        const st = await until(
          `${v} impaired`,
          async () => {
            const x = await volumeStatus(v);
            return x.VolumeStatus?.Status === 'impaired' ? x : undefined;
          },
          60_000,
          200,
        );
        expect(st.VolumeStatus!.Details).toEqual([
          { Name: 'io-enabled', Status: 'failed' },
          { Name: 'io-performance', Status: 'not-applicable' },
        ]);
      }
      const f = await ec2.send(new DescribeVolumeStatusCommand({ Filters: [{ Name: 'volume-status.status', Values: ['impaired'] }] }));
      expect(f.VolumeStatuses!.map((x) => x.VolumeId).sort()).toEqual([dataVolume, spareVolume].sort());
      const s = await statusUntil('attached EBS impaired', (x) => x.AttachedEbsStatus?.Status === 'impaired');
      expect(s.AttachedEbsStatus!.Details).toEqual([{ Name: 'reachability', Status: 'failed', ImpairedSince: expect.any(Date) }]);
      expect(await filtered('attached-ebs-status.status', 'impaired')).toContain(instanceId);
    } finally {
      for (const f of files) if (existsSync(`${f}.away`)) renameSync(`${f}.away`, f);
    }
    await until(
      'volumes ok again',
      async () => (await volumeStatus(spareVolume)).VolumeStatus?.Status === 'ok' && (await volumeStatus(dataVolume)).VolumeStatus?.Status === 'ok',
      60_000,
      200,
    );
  }, 300_000);

  test('the VPC end of its interface down: the system check is impaired; up again: ok', async () => {
    const vpcNs = names.vpcNetns(vpcId);
    const link = names.eniLink(eniId);
    expect((await hostRun(['ip', '-n', vpcNs, 'link', 'set', link, 'down'])).code).toBe(0);
    try {
      const s = await statusUntil('system check impaired', (x) => x.SystemStatus?.Status === 'impaired');
      expect(s.SystemStatus!.Details).toEqual([{ Name: 'reachability', Status: 'failed', ImpairedSince: expect.any(Date) }]);
      // The guest cannot be probed without the host's side of the path: not known, rather than failed.
      expect(s.InstanceStatus!.Status).toBe('insufficient-data');
    } finally {
      await hostRun(['ip', '-n', vpcNs, 'link', 'set', link, 'up']);
    }
    await statusUntil('both ok again', (x) => x.SystemStatus?.Status === 'ok' && x.InstanceStatus?.Status === 'ok');
  }, 180_000);

  test("the VPC's data plane deleted from the host: the system check is impaired; StatusCheckFailed_System is 1", async () => {
    const since = new Date().toISOString();
    expect((await hostRun(['ip', 'netns', 'del', names.vpcNetns(vpcId)])).code).toBe(0);
    const s = await statusUntil('system check impaired', (x) => x.SystemStatus?.Status === 'impaired');
    expect(s.SystemStatus!.Details![0]).toMatchObject({ Name: 'reachability', Status: 'failed' });
    expect(await filtered('system-status.reachability', 'failed')).toContain(instanceId);
    const row = await sampleAfter(since, (r) => r.status_check_failed_system === 1);
    expect(row.status_check_failed).toBe(1);
    // Terminating it still works, and leaves nothing (afterAll's leak check).
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    await waitState(ec2, instanceId, 'terminated', 120_000);
  }, 300_000);
});
