import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../lib/secrets.js';
import { rootPrincipal } from '../../iam/principal.js';
// Quotas and host admission against a real store, on SQLite and on PostgreSQL (PGlite): overrides
// over defaults, usage from the rows, how many of a launch fit, and all-or-none starts.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiError } from '../../errors.js';
import { loadConfig } from '../../../config.js';
import { openWithDialect, sqliteDialect, type Db, type Tx } from '../../../store/db.js';
import { pgliteDialect } from '../../../store/pglite.js';
import type { NewRow } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';
import { admitLaunch, admitStart, admitVolume, checkElasticIpQuota, checkRulesQuota, checkVpcQuota } from './check.js';
import { ebsUsage, hostUsage, quotaReport, quotaValue, quotaValues, setQuotaOverride, vcpuUsage } from './store.js';

const A = '111111111111';
const B = '222222222222';

const engines = [
  { name: 'sqlite', open: () => openWithDialect(sqliteDialect(':memory:')) },
  { name: 'postgresql (pglite)', open: () => openWithDialect(pgliteDialect(new PGlite())) },
];

let seq = 0;
function instanceRow(accountId: string, type: string, state: string, o: { region?: string; cpu?: { CoreCount: number; ThreadsPerCore: number } } = {}): NewRow<'instances'> {
  const n = ++seq;
  return {
    id: `i-${n.toString(16).padStart(17, '0')}`,
    account_id: accountId,
    region: o.region ?? 'us-east-1',
    reservation_id: `r-${n}`,
    ami_launch_index: 0,
    image_id: 'ami-1',
    instance_type: type,
    state,
    desired_state: state === 'stopped' ? 'stopped' : 'running',
    state_transition_reason: '',
    state_reason: null,
    key_name: null,
    subnet_id: 'subnet-1',
    vpc_id: 'vpc-1',
    availability_zone: 'us-east-1a',
    private_ip: `10.0.${n >> 8}.${n & 255}`,
    public_ip: null,
    mac_address: '02:00:00:00:00:00',
    client_token: null,
    user_data: null,
    shutdown_behavior: 'stop',
    disable_api_termination: 0,
    disable_api_stop: 0,
    ebs_optimized: 0,
    monitoring: 'disabled',
    tenancy: 'default',
    security_groups: '[]',
    metadata_options: '{}',
    iam_instance_profile: null,
    root_device_name: '/dev/xvda',
    runtime: '{}',
    launch_time: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-01T00:00:00.000Z',
    terminated_at: null,
    boot_mode: null,
    launch_options: JSON.stringify(o.cpu ? { CpuOptions: o.cpu } : {}),
    ssh_public_key: null,
    console_output: null,
    console_at: null,
  };
}

function volumeRow(accountId: string, type: string, sizeGiB: number, iops: number | null, state = 'available'): NewRow<'volumes'> {
  return {
    id: `vol-${(++seq).toString(16).padStart(17, '0')}`,
    account_id: accountId,
    region: 'us-east-1',
    availability_zone: 'us-east-1a',
    size_gib: sizeGiB,
    volume_type: type,
    iops,
    throughput: null,
    snapshot_id: null,
    encrypted: 0,
    kms_key_id: null,
    multi_attach_enabled: 0,
    state,
    created_at: '2024-01-01T00:00:00.000Z',
  };
}

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return `${e.code} ${e.status}: ${e.message}`;
    throw e;
  }
  return 'ok';
};

describe.each(engines)('quotas on $name', ({ open }) => {
  let db: Db;
  // A host of 4 vCPUs × 2 and 8 GiB × 1.
  const config = loadConfig({ CUMULO_HOME: '/nonexistent', CUMULO_HOST_VCPUS: '4', CUMULO_HOST_MEMORY_MIB: '8192', CUMULO_CPU_OVERCOMMIT: '2' });
  const ctxIn = (trx: Tx, accountId = A, region = 'us-east-1'): Ctx => ({
    accountId,
    region,
    requestId: 'test',
    principal: rootPrincipal(accountId, ''),
    source: { ip: '127.0.0.1', secure: true },
    secrets: new SecretBox(randomBytes(32)),
    operation: 'Test',
    db: trx,
    config,
    now: new Date(),
    enqueue: async () => {},
    afterCommit: () => {},
    beforeCommit: () => {},
  });
  /** A handler's transaction: the checks run in it, as they do under dispatch. */
  const inTx = <T>(fn: (ctx: Ctx) => Promise<T>, accountId = A, region = 'us-east-1') => db.transaction().execute((trx) => fn(ctxIn(trx, accountId, region)));

  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  test('a region override wins over an all-regions one, which wins over the default; none leaks to another account', async () => {
    expect(await quotaValue(db, A, 'us-east-1', 'vpcs')).toBe(5);
    await setQuotaOverride(db, A, undefined, 'vpcs', 8);
    await setQuotaOverride(db, A, 'eu-west-1', 'vpcs', 2);
    expect(await quotaValue(db, A, 'us-east-1', 'vpcs')).toBe(8);
    expect(await quotaValue(db, A, 'eu-west-1', 'vpcs')).toBe(2);
    expect(await quotaValue(db, B, 'us-east-1', 'vpcs')).toBe(5);
    const v = await quotaValues(db, A, 'eu-west-1');
    expect([v.get('vpcs')?.source, v.get('elastic-ips')]).toMatchObject(['region', { value: 5, source: 'default' }]);
    await setQuotaOverride(db, A, 'eu-west-1', 'vpcs', 3);
    expect(await quotaValue(db, A, 'eu-west-1', 'vpcs')).toBe(3);
    await setQuotaOverride(db, A, 'eu-west-1', 'vpcs', null);
    await setQuotaOverride(db, A, undefined, 'vpcs', null);
    expect(await quotaValue(db, A, 'eu-west-1', 'vpcs')).toBe(5);
    await expect(setQuotaOverride(db, A, undefined, 'nope', 1)).rejects.toThrow(/unknown quota/);
    await expect(setQuotaOverride(db, A, undefined, 'vpcs', -1)).rejects.toThrow(/whole number/);
  });

  test('vCPU usage: the type vCPUs of instances from pending to shutting-down, by bucket, per account and region', async () => {
    await db
      .insertInto('instances')
      .values([
        instanceRow(A, 't3.micro', 'running'),
        instanceRow(A, 't3.micro', 'pending', { cpu: { CoreCount: 1, ThreadsPerCore: 1 } }), // still the type's 2
        instanceRow(A, 'm5.large', 'stopping'),
        instanceRow(A, 'm5.large', 'stopped'),
        instanceRow(A, 'm5.large', 'terminated'),
        instanceRow(A, 'g5.xlarge', 'shutting-down'),
        instanceRow(A, 'm5.large', 'running', { region: 'eu-west-1' }),
        instanceRow(B, 'm5.large', 'running'),
      ])
      .execute();
    expect(Object.fromEntries(await vcpuUsage(db, A, 'us-east-1'))).toEqual({ standard: 6, 'g-and-vt': 4 });
    expect(Object.fromEntries(await vcpuUsage(db, B, 'us-east-1'))).toEqual({ standard: 2 });
    // The host counts every account and region, with the vCPUs the instances run with.
    expect(await hostUsage(db)).toEqual({ vcpus: 2 + 1 + 2 + 4 + 2 + 2, memoryMiB: 1024 + 1024 + 8192 + 16384 + 8192 + 8192 });
  });

  test('RunInstances: VcpuLimitExceeded with the limit when MinCount does not fit, else as many as fit', async () => {
    // A uses 6 standard vCPUs of 5: nothing fits.
    expect(await codeOf(inTx((ctx) => admitLaunch(ctx, { instance: { instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1a' }, volumes: [], min: 1, max: 1 })))).toBe(
      'VcpuLimitExceeded 400: You have requested more vCPU capacity than your current vCPU limit of 5 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.',
    );
    // Room for 7 vCPUs: three 2-vCPU instances of the ten asked for, or none when four are the minimum
    // (on a host big enough: the small one is full, see below).
    await setQuotaOverride(db, A, 'us-east-1', 'running-on-demand-standard-vcpus', 13);
    const big = loadConfig({ CUMULO_HOME: '/nonexistent', CUMULO_HOST_VCPUS: '1000', CUMULO_HOST_MEMORY_MIB: '10000000' });
    const roomy = <T>(fn: (ctx: Ctx) => Promise<T>) => db.transaction().execute((trx) => fn({ ...ctxIn(trx), config: big }));
    expect(await roomy((ctx) => admitLaunch(ctx, { instance: { instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1a' }, volumes: [], min: 1, max: 10 }))).toBe(3);
    expect(await codeOf(roomy((ctx) => admitLaunch(ctx, { instance: { instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1a' }, volumes: [], min: 4, max: 10 })))).toMatch(
      /^VcpuLimitExceeded 400: .*limit of 13 allows/,
    );
    // Another bucket has its own quota: G starts at 0 on a new account.
    expect(await codeOf(roomy((ctx) => admitLaunch(ctx, { instance: { instanceType: 'g5.xlarge', vcpus: 4, zone: 'us-east-1a' }, volumes: [], min: 1, max: 1 })))).toMatch(
      /limit of 0 allows/,
    );
    // Another region of the account has its own usage (2 of its 5 vCPUs) and quota: one fits.
    const roomyEu = <T>(fn: (ctx: Ctx) => Promise<T>) => db.transaction().execute((trx) => fn({ ...ctxIn(trx, A, 'eu-west-1'), config: big }));
    expect(await roomyEu((ctx) => admitLaunch(ctx, { instance: { instanceType: 't3.nano', vcpus: 2, zone: 'eu-west-1a' }, volumes: [], min: 1, max: 5 }))).toBe(1);
  });

  test('host admission: vCPUs × CPU overcommit and memory × memory overcommit, every account together', async () => {
    await setQuotaOverride(db, B, undefined, 'running-on-demand-standard-vcpus', 10_000);
    // The host holds 13 vCPUs of 8 and 42 GiB of 8 already: InsufficientInstanceCapacity, a server error.
    expect(await codeOf(inTx((ctx) => admitLaunch(ctx, { instance: { instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1b' }, volumes: [], min: 1, max: 1 }), B))).toBe(
      'InsufficientInstanceCapacity 500: We currently do not have sufficient t3.nano capacity in the Availability Zone you requested (us-east-1b). Our system will be working on provisioning additional capacity.',
    );
    // An empty host of 4 vCPUs × 2 and 8 GiB: four t3.nano (2 vCPUs, 512 MiB) fit by CPU, an m7i.48xlarge (768 GiB) never.
    const empty = await open();
    try {
      const tx = <T>(fn: (ctx: Ctx) => Promise<T>) => empty.transaction().execute((trx) => fn(ctxIn(trx, B)));
      await setQuotaOverride(empty, B, undefined, 'running-on-demand-standard-vcpus', 10_000);
      expect(await tx((ctx) => admitLaunch(ctx, { instance: { instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1a' }, volumes: [], min: 1, max: 9 }))).toBe(4);
      // CPU options lower what an instance takes of the host (not of the quota).
      expect(await tx((ctx) => admitLaunch(ctx, { instance: { instanceType: 't3.nano', vcpus: 1, zone: 'us-east-1a' }, volumes: [], min: 1, max: 9 }))).toBe(8);
      expect(await codeOf(tx((ctx) => admitLaunch(ctx, { instance: { instanceType: 'm7i.48xlarge', vcpus: 192, zone: 'us-east-1c' }, volumes: [], min: 1, max: 1 })))).toMatch(
        /^InsufficientInstanceCapacity 500: We currently do not have sufficient m7i\.48xlarge capacity in the Availability Zone you requested \(us-east-1c\)/,
      );
      // StartInstances: all of them fit or none starts.
      await tx((ctx) =>
        admitStart(
          ctx,
          [1, 2, 3, 4].map(() => ({ instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1a' })),
        ),
      );
      expect(
        await codeOf(
          tx((ctx) =>
            admitStart(
              ctx,
              [1, 2, 3, 4, 5].map(() => ({ instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1a' })),
            ),
          ),
        ),
      ).toMatch(/^InsufficientInstanceCapacity 500/);
      await setQuotaOverride(empty, B, undefined, 'running-on-demand-standard-vcpus', 6);
      expect(
        await codeOf(
          tx((ctx) =>
            admitStart(
              ctx,
              [1, 2, 3, 4].map(() => ({ instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1a' })),
            ),
          ),
        ),
      ).toMatch(/^VcpuLimitExceeded 400: .*limit of 6 allows/);
    } finally {
      await empty.destroy();
    }
  });

  test('EBS: storage per volume type in TiB and io1/io2 IOPS, with a modification in progress counted as its target', async () => {
    const gp3 = volumeRow(A, 'gp3', 40 * 1024, 3000);
    await db
      .insertInto('volumes')
      .values([gp3, volumeRow(A, 'io2', 100, 90_000), volumeRow(A, 'gp3', 5 * 1024, 3000, 'deleted'), volumeRow(B, 'gp3', 45 * 1024, 3000)])
      .execute();
    await db
      .insertInto('volume_modifications')
      .values({
        volume_id: gp3.id,
        start_time: '2024-01-02T00:00:00.000Z',
        state: 'modifying',
        progress: 0,
        status_message: null,
        original: '{}',
        target: JSON.stringify({ Size: 45 * 1024, VolumeType: 'gp3', Iops: 3000 }),
        end_time: null,
      })
      .execute();
    expect(Object.fromEntries(await ebsUsage(db, A, 'us-east-1'))).toEqual({ gp3: { gib: 45 * 1024, iops: 3000 }, io2: { gib: 100, iops: 90_000 } });
    // 50 TiB of gp3: 5 TiB left.
    await inTx((ctx) => admitVolume(ctx, { volumeType: 'gp3', sizeGiB: 5 * 1024, iops: 3000 }));
    expect(await codeOf(inTx((ctx) => admitVolume(ctx, { volumeType: 'gp3', sizeGiB: 5 * 1024 + 1, iops: 3000 })))).toBe(
      'VolumeLimitExceeded 400: You have exceeded your maximum gp3 storage limit of 50 TiB in this region. Please contact AWS Support to request an Elastic Block Store service limit increase.',
    );
    // The volume being modified is counted as its new shape, not twice.
    await inTx((ctx) => admitVolume(ctx, { volumeType: 'gp3', sizeGiB: 50 * 1024, iops: 3000 }, gp3.id));
    expect(await codeOf(inTx((ctx) => admitVolume(ctx, { volumeType: 'io2', sizeGiB: 100, iops: 10_001 })))).toBe(
      'MaxIOPSLimitExceeded 400: You have exceeded your maximum io2 IOPS limit of 100000 in this region. Please contact AWS Support to request an Elastic Block Store service limit increase.',
    );
    // A launch's volumes: as many sets as fit.
    await setQuotaOverride(db, A, undefined, 'running-on-demand-standard-vcpus', 1000);
    const big = loadConfig({ CUMULO_HOME: '/nonexistent', CUMULO_HOST_VCPUS: '1000', CUMULO_HOST_MEMORY_MIB: '10000000' });
    const n = await db
      .transaction()
      .execute((trx) =>
        admitLaunch(
          { ...ctxIn(trx), config: big },
          { instance: { instanceType: 't3.nano', vcpus: 2, zone: 'us-east-1a' }, volumes: [{ volumeType: 'gp3', sizeGiB: 2048, iops: 3000 }], min: 1, max: 10 },
        ),
      );
    expect(n).toBe(2);
  });

  test('elastic IPs and VPCs per region, rules per group', async () => {
    await db
      .insertInto('public_ips')
      .values(
        [1, 2, 3, 4, 5].map((i) => ({
          public_ip: `198.18.9.${i}`,
          kind: 'elastic',
          account_id: A,
          region: 'us-east-1',
          allocation_id: `eipalloc-${i}`,
          association_id: null,
          network_interface_id: null,
          private_ip: null,
          network_border_group: 'us-east-1',
          public_ipv4_pool: 'amazon',
          created_at: '2024-01-01T00:00:00.000Z',
        })),
      )
      .execute();
    expect(await codeOf(inTx((ctx) => checkElasticIpQuota(ctx)))).toBe('AddressLimitExceeded 400: The maximum number of addresses has been reached.');
    expect(await codeOf(inTx((ctx) => checkElasticIpQuota(ctx), A, 'us-east-2'))).toBe('ok');
    expect(await codeOf(inTx((ctx) => checkElasticIpQuota(ctx), B))).toBe('ok');
    await setQuotaOverride(db, A, 'us-east-1', 'elastic-ips', 6);
    expect(await codeOf(inTx((ctx) => checkElasticIpQuota(ctx)))).toBe('ok');

    expect(await codeOf(inTx((ctx) => checkVpcQuota(ctx)))).toBe('ok');
    await setQuotaOverride(db, A, undefined, 'vpcs', 0);
    expect(await codeOf(inTx((ctx) => checkVpcQuota(ctx)))).toBe('VpcLimitExceeded 400: The maximum number of VPCs has been reached.');

    const rules = (n: number, v6 = 0) => [...Array(n).fill({ cidr_ipv6: null }), ...Array(v6).fill({ cidr_ipv6: '::/0' })];
    expect(await codeOf(inTx((ctx) => checkRulesQuota(ctx, rules(60, 60))))).toBe('ok');
    expect(await codeOf(inTx((ctx) => checkRulesQuota(ctx, rules(61))))).toBe(
      'RulesPerSecurityGroupLimitExceeded 400: The maximum number of rules per security group has been reached.',
    );
  });

  test("the report: every quota with its value, default and the account's usage", async () => {
    const rows = await quotaReport(db, A, 'us-east-1');
    const row = (name: string) => rows.find((r) => r.name === name)!;
    // us-east-1's own 13 wins over the 1000 of every region.
    expect(row('running-on-demand-standard-vcpus')).toMatchObject({ value: 13, default: 5, source: 'region', usage: 6 });
    expect(row('running-on-demand-g-and-vt-vcpus')).toMatchObject({ value: 0, usage: 4, source: 'default' });
    expect(row('elastic-ips')).toMatchObject({ value: 6, source: 'region', usage: 5 });
    expect(row('gp3-storage-tib')).toMatchObject({ value: 50, usage: 45 });
    expect(row('io2-iops')).toMatchObject({ value: 100_000, usage: 90_000 });
    expect(row('vpcs')).toMatchObject({ value: 0, usage: 0 });
  });
});
