// EBS snapshots through @aws-sdk/client-ec2 against a started server: CreateSnapshot(s),
// DescribeSnapshots (owners, restorable-by, filters, pages), DeleteSnapshot, the create-volume
// permission attribute, CopySnapshot across accounts and regions, tags, DryRun. The fake driver
// has no BlockStorage, so rows complete at once (snapshots-host.test.ts runs a driver that has one).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  ModifySnapshotAttributeCommand,
  ResetSnapshotAttributeCommand,
  RunInstancesCommand,
  waitUntilSnapshotCompleted,
  type EC2Client,
  type Instance,
  type RunInstancesCommandInput,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer, errorOf, minimalImage } from './harness.js';

const GiB = 1024 ** 3;
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

describe('with the fake driver (no BlockStorage)', () => {
  let s: TestServer;
  let a: EC2Client;
  let b: EC2Client;
  let bId: string;
  let instance: Instance;
  let rootVol: string;
  let dataVol: string;
  let encVol: string;

  beforeAll(async () => {
    s = await startTestServer();
    a = s.ec2();
    const c = await s.app.accounts.create('other');
    bId = c.accountId;
    b = s.ec2({ credentials: c });
    instance = await launch(a, { BlockDeviceMappings: DATA_DISKS, TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'db' }] }] });
    const v = volumesOf(instance);
    rootVol = v[instance.RootDeviceName!]!;
    dataVol = v['/dev/sdf']!;
    encVol = v['/dev/sdg']!;
    expect(rootVol && dataVol && encVol).toBeTruthy();
  });
  afterAll(async () => {
    await s?.stop();
  });

  describe('CreateSnapshot', () => {
    test('pending at once, then completed with the size as its data; the waiter sees it', async () => {
      const out = await a.send(
        new CreateSnapshotCommand({ VolumeId: dataVol, Description: 'nightly', TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'Name', Value: 'n1' }] }] }),
      );
      expect(out.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
      expect(out).toMatchObject({
        VolumeId: dataVol,
        State: 'pending',
        VolumeSize: 3,
        Encrypted: false,
        Description: 'nightly',
        OwnerId: s.admin.accountId,
        Tags: [{ Key: 'Name', Value: 'n1' }],
      });
      expect(out.StartTime).toBeInstanceOf(Date);
      await completed(a, [out.SnapshotId!]);
      const d = await describe1(a, out.SnapshotId!);
      expect(d).toMatchObject({
        SnapshotId: out.SnapshotId,
        VolumeId: dataVol,
        State: 'completed',
        Progress: '100%',
        OwnerId: s.admin.accountId,
        Description: 'nightly',
        VolumeSize: 3,
        Encrypted: false,
        StorageTier: 'standard',
        Tags: [{ Key: 'Name', Value: 'n1' }],
      });
      // CompletionTime and FullSnapshotSizeInBytes are not in the service model the XML renderer
      // walks (aws-sdk v2's): the row holds them.
      const row = await s.app.db.selectFrom('snapshots').selectAll().where('id', '=', out.SnapshotId!).executeTakeFirstOrThrow();
      expect(row.data_bytes).toBe(3 * GiB);
      expect(row.added_bytes).toBe(0);
      expect(Date.parse(row.completion_time!)).toBeGreaterThanOrEqual(d.StartTime!.getTime());
    });

    test("a volume's next snapshot builds on its latest completed one; encrypted volumes give encrypted snapshots", async () => {
      const first = await a.send(new CreateSnapshotCommand({ VolumeId: encVol }));
      await completed(a, [first.SnapshotId!]);
      const second = await a.send(new CreateSnapshotCommand({ VolumeId: encVol }));
      expect(second.Encrypted).toBe(true);
      const row = await s.app.db.selectFrom('snapshots').selectAll().where('id', '=', second.SnapshotId!).executeTakeFirstOrThrow();
      expect(row.parent_snapshot_id).toBe(first.SnapshotId);
      expect(row.encrypted).toBe(1);
      await completed(a, [second.SnapshotId!]);
    });

    test('errors: missing, malformed, unknown and foreign volumes; description too long; DryRun', async () => {
      expect((await errorOf(a.send(new CreateSnapshotCommand({ VolumeId: undefined as unknown as string })))).name).toBe('MissingParameter');
      expect((await errorOf(a.send(new CreateSnapshotCommand({ VolumeId: 'vol-nope' })))).name).toBe('InvalidVolumeID.Malformed');
      const missing = await errorOf(a.send(new CreateSnapshotCommand({ VolumeId: 'vol-0123456789abcdef0' })));
      expect(missing.name).toBe('InvalidVolume.NotFound');
      expect(missing.message).toBe("The volume 'vol-0123456789abcdef0' does not exist.");
      // Another account's volume is as good as absent.
      expect((await errorOf(b.send(new CreateSnapshotCommand({ VolumeId: dataVol })))).name).toBe('InvalidVolume.NotFound');
      expect((await errorOf(a.send(new CreateSnapshotCommand({ VolumeId: dataVol, Description: 'x'.repeat(256) })))).name).toBe('InvalidParameterValue');
      expect(
        (await errorOf(a.send(new CreateSnapshotCommand({ VolumeId: dataVol, TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'a', Value: 'b' }] }] })))).name,
      ).toBe('InvalidParameterValue');
      const before = (await a.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots!.length;
      expect((await errorOf(a.send(new CreateSnapshotCommand({ VolumeId: dataVol, DryRun: true })))).name).toBe('DryRunOperation');
      expect((await a.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots!.length).toBe(before);
    });
  });

  describe('CreateSnapshots', () => {
    test('one snapshot per attached volume, tags copied from the volumes and given', async () => {
      const out = await a.send(
        new CreateSnapshotsCommand({
          InstanceSpecification: { InstanceId: instance.InstanceId },
          Description: 'set',
          CopyTagsFromSource: 'volume',
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'set', Value: '1' }] }],
        }),
      );
      const snaps = out.Snapshots!;
      expect(snaps.map((x) => x.VolumeId).sort()).toEqual([rootVol, dataVol, encVol].sort());
      for (const x of snaps) {
        expect(x).toMatchObject({ State: 'pending', Description: 'set', OwnerId: s.admin.accountId });
        expect(x.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'team', Value: 'db' },
            { Key: 'set', Value: '1' },
          ]),
        );
      }
      expect(snaps.find((x) => x.VolumeId === encVol)!.Encrypted).toBe(true);
      await completed(
        a,
        snaps.map((x) => x.SnapshotId!),
      );
      const d = await a.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'tag:set', Values: ['1'] }] }));
      expect(d.Snapshots!.map((x) => x.SnapshotId).sort()).toEqual(snaps.map((x) => x.SnapshotId).sort());
      expect(d.Snapshots!.every((x) => x.State === 'completed')).toBe(true);
    });

    test('ExcludeBootVolume and ExcludeDataVolumeIds leave volumes out', async () => {
      const out = await a.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: instance.InstanceId, ExcludeBootVolume: true, ExcludeDataVolumeIds: [encVol] } }));
      expect(out.Snapshots!.map((x) => x.VolumeId)).toEqual([dataVol]);
      expect(out.Snapshots![0]!.Tags).toBeUndefined();
      await completed(a, [out.Snapshots![0]!.SnapshotId!]);
    });

    test('the set is taken by one job', async () => {
      await s.app.runner.stop();
      try {
        const out = await a.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: instance.InstanceId } }));
        const jobs = await s.app.db.selectFrom('jobs').selectAll().where('kind', 'like', 'snapshot.%').execute();
        expect(jobs.map((j) => j.kind)).toEqual(['snapshot.create-set']);
        expect(JSON.parse(jobs[0]!.payload).snapshotIds).toEqual(out.Snapshots!.map((x) => x.SnapshotId));
      } finally {
        s.app.runner.start();
      }
      await s.app.runner.idle();
    });

    test('errors: missing and unknown instance, a volume that is not attached, DryRun', async () => {
      expect((await errorOf(a.send(new CreateSnapshotsCommand({ InstanceSpecification: {} as never })))).name).toBe('MissingParameter');
      expect((await errorOf(a.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-0123456789abcdef0' } })))).name).toBe('InvalidInstanceID.NotFound');
      expect((await errorOf(b.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: instance.InstanceId } })))).name).toBe('InvalidInstanceID.NotFound');
      expect(
        (await errorOf(a.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: instance.InstanceId, ExcludeDataVolumeIds: ['vol-0123456789abcdef0'] } })))).name,
      ).toBe('InvalidParameterValue');
      expect((await errorOf(a.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: instance.InstanceId }, DryRun: true })))).name).toBe('DryRunOperation');
    });
  });

  describe('DescribeSnapshots', () => {
    let ids: string[];
    beforeAll(async () => {
      ids = [];
      for (let n = 0; n < 6; n++) {
        const out = await a.send(
          new CreateSnapshotCommand({
            VolumeId: n % 2 ? dataVol : rootVol,
            Description: `page-${n}`,
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'page', Value: String(n) }] }],
          }),
        );
        ids.push(out.SnapshotId!);
      }
      await completed(a, ids);
    });

    test('unknown and malformed ids; SnapshotIds with MaxResults', async () => {
      const e = await errorOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: [ids[0]!, 'snap-0123456789abcdef0'] })));
      expect(e.name).toBe('InvalidSnapshot.NotFound');
      expect(e.message).toContain('snap-0123456789abcdef0');
      expect((await errorOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-x'] })))).name).toBe('InvalidSnapshotID.Malformed');
      expect((await errorOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: [ids[0]!], MaxResults: 5 })))).name).toBe('InvalidParameterCombination');
    });

    test('filters', async () => {
      const got = async (...filters: { Name: string; Values: string[] }[]) =>
        ((await a.send(new DescribeSnapshotsCommand({ Filters: filters }))).Snapshots ?? []).map((x) => x.SnapshotId).sort();
      expect(await got({ Name: 'description', Values: ['page-*'] })).toEqual([...ids].sort());
      expect(await got({ Name: 'description', Values: ['page-1'] })).toEqual([ids[1]]);
      expect(await got({ Name: 'tag:page', Values: ['2', '3'] })).toEqual([ids[2], ids[3]].sort());
      expect(await got({ Name: 'tag-key', Values: ['page'] }, { Name: 'volume-id', Values: [rootVol] })).toEqual([ids[0], ids[2], ids[4]].sort());
      expect(await got({ Name: 'snapshot-id', Values: [ids[5]!] })).toEqual([ids[5]]);
      expect(await got({ Name: 'owner-id', Values: [s.admin.accountId] }, { Name: 'description', Values: ['page-*'] })).toHaveLength(6);
      expect(await got({ Name: 'owner-id', Values: ['111122223333'] })).toEqual([]);
      expect(await got({ Name: 'owner-alias', Values: ['amazon'] })).toEqual([]);
      expect(await got({ Name: 'status', Values: ['completed'] }, { Name: 'progress', Values: ['100%'] }, { Name: 'description', Values: ['page-*'] })).toHaveLength(6);
      expect(await got({ Name: 'status', Values: ['pending', 'error'] })).toEqual([]);
      expect(await got({ Name: 'volume-size', Values: ['3'] }, { Name: 'description', Values: ['page-*'] })).toEqual([ids[1], ids[3], ids[5]].sort());
      expect(await got({ Name: 'encrypted', Values: ['true'] }, { Name: 'description', Values: ['page-*'] })).toEqual([]);
      expect((await got({ Name: 'encrypted', Values: ['true'] })).length).toBeGreaterThan(0);
      expect(await got({ Name: 'storage-tier', Values: ['standard'] }, { Name: 'description', Values: ['page-*'] })).toHaveLength(6);
      expect(await got({ Name: 'storage-tier', Values: ['archive'] })).toEqual([]);
      const year = new Date().getUTCFullYear();
      expect(await got({ Name: 'start-time', Values: [`${year}-*`] }, { Name: 'description', Values: ['page-*'] })).toHaveLength(6);
      expect((await errorOf(a.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'color', Values: ['red'] }] })))).name).toBe('InvalidParameterValue');
    });

    test('pages of MaxResults with NextToken; bounds 5..1000', async () => {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const out = await a.send(new DescribeSnapshotsCommand({ MaxResults: 5, NextToken: token, Filters: [{ Name: 'description', Values: ['page-*'] }] }));
        expect(out.Snapshots!.length).toBeLessThanOrEqual(5);
        seen.push(...out.Snapshots!.map((x) => x.SnapshotId!));
        token = out.NextToken;
        pages++;
      } while (token);
      expect(pages).toBe(2);
      expect(seen.sort()).toEqual([...ids].sort());
      expect((await errorOf(a.send(new DescribeSnapshotsCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue');
      expect((await errorOf(a.send(new DescribeSnapshotsCommand({ MaxResults: 1001 })))).name).toBe('InvalidParameterValue');
    });

    test('OwnerIds: self, an account id, amazon; another account does not see a private snapshot', async () => {
      const self = (await a.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots!.map((x) => x.SnapshotId);
      expect(self).toEqual(expect.arrayContaining(ids));
      const byId = (await a.send(new DescribeSnapshotsCommand({ OwnerIds: [s.admin.accountId] }))).Snapshots!.map((x) => x.SnapshotId);
      expect(byId.sort()).toEqual([...self].sort());
      expect((await a.send(new DescribeSnapshotsCommand({ OwnerIds: ['amazon'] }))).Snapshots).toEqual([]);
      expect((await b.send(new DescribeSnapshotsCommand({}))).Snapshots).toEqual([]);
      expect((await errorOf(b.send(new DescribeSnapshotsCommand({ SnapshotIds: [ids[0]!] })))).name).toBe('InvalidSnapshot.NotFound');
    });
  });

  describe('tags', () => {
    test('CreateTags on a snapshot; on an unknown or foreign one: InvalidSnapshot.NotFound', async () => {
      const snap = await a.send(new CreateSnapshotCommand({ VolumeId: dataVol }));
      await a.send(new CreateTagsCommand({ Resources: [snap.SnapshotId!], Tags: [{ Key: 'env', Value: 'prod' }] }));
      expect((await describe1(a, snap.SnapshotId!)).Tags).toEqual([{ Key: 'env', Value: 'prod' }]);
      expect((await errorOf(a.send(new CreateTagsCommand({ Resources: ['snap-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorOf(b.send(new CreateTagsCommand({ Resources: [snap.SnapshotId!], Tags: [{ Key: 'a', Value: 'b' }] })))).name).toBe('InvalidSnapshot.NotFound');
    });
  });

  describe('sharing between accounts', () => {
    test('B sees and copies A’s snapshot only once A shares it; removal and reset take it back', async () => {
      const snap = await a.send(new CreateSnapshotCommand({ VolumeId: dataVol, Description: 'to share' }));
      const id = snap.SnapshotId!;
      await completed(a, [id]);

      // Before sharing: nothing for B.
      expect((await b.send(new DescribeSnapshotsCommand({ RestorableByUserIds: ['self'] }))).Snapshots).toEqual([]);
      expect((await errorOf(b.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorOf(b.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: id })))).name).toBe('InvalidSnapshot.NotFound');

      await a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [bId] }));
      const attr = await a.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }));
      expect(attr).toMatchObject({ SnapshotId: id, CreateVolumePermissions: [{ UserId: bId }] });

      const shared = (await b.send(new DescribeSnapshotsCommand({ RestorableByUserIds: ['self'] }))).Snapshots!;
      expect(shared.map((x) => x.SnapshotId)).toEqual([id]);
      expect(shared[0]).toMatchObject({ OwnerId: s.admin.accountId, Description: 'to share', State: 'completed' });
      expect((await b.send(new DescribeSnapshotsCommand({}))).Snapshots!.map((x) => x.SnapshotId)).toEqual([id]);
      expect((await b.send(new DescribeSnapshotsCommand({ OwnerIds: [s.admin.accountId] }))).Snapshots!.map((x) => x.SnapshotId)).toEqual([id]);
      expect((await b.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots).toEqual([]);
      expect((await b.send(new DescribeSnapshotsCommand({ RestorableByUserIds: ['all'] }))).Snapshots).toEqual([]);
      // A asks which of its snapshots B may restore.
      expect((await a.send(new DescribeSnapshotsCommand({ RestorableByUserIds: [bId] }))).Snapshots!.map((x) => x.SnapshotId)).toEqual([id]);

      // B may copy it, not change or delete it.
      const copy = await b.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: id, Description: 'mine now' }));
      await completed(b, [copy.SnapshotId!]);
      expect(await describe1(b, copy.SnapshotId!)).toMatchObject({ OwnerId: bId, VolumeId: 'vol-ffffffff', Description: 'mine now', VolumeSize: 3, State: 'completed' });
      expect((await errorOf(b.send(new DeleteSnapshotCommand({ SnapshotId: id })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorOf(b.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorOf(b.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, CreateVolumePermission: { Add: [{ Group: 'all' }] } })))).name).toBe(
        'InvalidSnapshot.NotFound',
      );

      // Public through the structured form; then removed; then reset.
      await a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, CreateVolumePermission: { Add: [{ Group: 'all' }], Remove: [{ UserId: bId }] } }));
      expect((await a.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }))).CreateVolumePermissions).toEqual([{ Group: 'all' }]);
      expect((await b.send(new DescribeSnapshotsCommand({ RestorableByUserIds: ['all'] }))).Snapshots!.map((x) => x.SnapshotId)).toEqual([id]);
      // 'self': what B owns or was given; its own copy only, now.
      expect((await b.send(new DescribeSnapshotsCommand({ RestorableByUserIds: ['self'] }))).Snapshots!.map((x) => x.SnapshotId)).toEqual([copy.SnapshotId]);
      await a.send(new ResetSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }));
      expect((await a.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }))).CreateVolumePermissions).toEqual([]);
      expect((await b.send(new DescribeSnapshotsCommand({}))).Snapshots!.map((x) => x.SnapshotId)).toEqual([copy.SnapshotId]);
    });

    test('attribute errors: encrypted snapshots cannot be public; bad ids, groups, attributes; DryRun', async () => {
      const enc = await a.send(new CreateSnapshotCommand({ VolumeId: encVol }));
      const id = enc.SnapshotId!;
      const pub = await errorOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission', OperationType: 'add', GroupNames: ['all'] })));
      expect(pub.name).toBe('UnsupportedOperation');
      expect(pub.message).toMatch(/Encrypted snapshots can't be shared publicly/);
      // Nor shared with another account: it is under the account's default key, as on EC2.
      const shared = await errorOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [bId] })));
      expect(shared.name).toBe('UnsupportedOperation');
      expect(shared.message).toMatch(/default KMS key cannot be shared with other accounts/);
      expect((await a.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }))).CreateVolumePermissions).toEqual([]);
      expect((await errorOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, OperationType: 'add', UserIds: ['12345'] })))).name).toBe('InvalidUserID.Malformed');
      expect((await errorOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, OperationType: 'add', GroupNames: ['everyone'] })))).name).toBe('InvalidParameterValue');
      expect((await errorOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, OperationType: 'share' as never, UserIds: [bId] })))).name).toBe('InvalidParameterValue');
      expect((await errorOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id })))).name).toBe('MissingParameter');
      expect((await errorOf(a.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'size' as never })))).name).toBe('InvalidParameterValue');
      expect((await a.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'productCodes' }))).ProductCodes).toEqual([]);
      expect((await errorOf(a.send(new DescribeSnapshotAttributeCommand({ SnapshotId: 'snap-0123456789abcdef0', Attribute: 'productCodes' })))).name).toBe(
        'InvalidSnapshot.NotFound',
      );
      const dry = await errorOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: id, OperationType: 'remove', UserIds: [bId], DryRun: true })));
      expect(dry.name).toBe('DryRunOperation');
    });
  });

  describe('CopySnapshot', () => {
    test('into another region: the copy shows there (and only there), described as EC2 does', async () => {
      const src = await a.send(new CreateSnapshotCommand({ VolumeId: dataVol, TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'src', Value: '1' }] }] }));
      await completed(a, [src.SnapshotId!]);
      const west = s.ec2({ region: 'us-west-2' });
      const copy = await west.send(
        new CopySnapshotCommand({
          SourceRegion: 'us-east-1',
          SourceSnapshotId: src.SnapshotId,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'copy', Value: 'yes' }] }],
        }),
      );
      expect(copy.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
      expect(copy.Tags).toEqual([{ Key: 'copy', Value: 'yes' }]);
      await completed(west, [copy.SnapshotId!]);
      const d = await describe1(west, copy.SnapshotId!);
      expect(d).toMatchObject({
        VolumeId: 'vol-ffffffff',
        VolumeSize: 3,
        State: 'completed',
        Progress: '100%',
        Description: `[Copied ${src.SnapshotId} from us-east-1]`,
        Encrypted: false,
        OwnerId: s.admin.accountId,
        Tags: [{ Key: 'copy', Value: 'yes' }],
      });
      const row = await s.app.db.selectFrom('snapshots').selectAll().where('id', '=', copy.SnapshotId!).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ data_bytes: 3 * GiB, region: 'us-west-2', source_region: 'us-east-1', source_snapshot_id: src.SnapshotId });
      expect((await errorOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: [copy.SnapshotId!] })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorOf(west.send(new DescribeSnapshotsCommand({ SnapshotIds: [src.SnapshotId!] })))).name).toBe('InvalidSnapshot.NotFound');
    });

    test('an encrypted source stays encrypted; encrypting while copying is refused (not done on the host yet)', async () => {
      const plain = await a.send(new CreateSnapshotCommand({ VolumeId: dataVol }));
      const enc = await a.send(new CreateSnapshotCommand({ VolumeId: encVol }));
      await completed(a, [plain.SnapshotId!, enc.SnapshotId!]);
      const refused = await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: plain.SnapshotId, Encrypted: true })));
      expect(refused.name).toBe('Unsupported');
      const c2 = await a.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: enc.SnapshotId, Encrypted: false }));
      await completed(a, [c2.SnapshotId!]);
      expect((await describe1(a, c2.SnapshotId!)).Encrypted).toBe(true);
    });

    test('errors: unknown region, missing and unknown source, a pending source, DestinationRegion, KmsKeyId alone, DryRun', async () => {
      const src = (await a.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'status', Values: ['completed'] }] }))).Snapshots![0]!.SnapshotId!;
      expect((await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'mars-north-1', SourceSnapshotId: src })))).name).toBe('InvalidParameterValue');
      expect((await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: undefined as unknown as string })))).name).toBe('MissingParameter');
      expect((await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: 'snap-0123456789abcdef0' })))).name).toBe('InvalidSnapshot.NotFound');
      // The source is looked up in SourceRegion.
      expect((await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'eu-west-1', SourceSnapshotId: src })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: src, DestinationRegion: 'eu-west-1' })))).name).toBe(
        'InvalidParameterValue',
      );
      expect((await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: src, KmsKeyId: 'alias/aws/ebs' })))).name).toBe(
        'InvalidParameterCombination',
      );
      await s.app.runner.stop();
      try {
        const pending = await a.send(new CreateSnapshotCommand({ VolumeId: dataVol }));
        expect((await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: pending.SnapshotId })))).name).toBe('IncorrectState');
      } finally {
        s.app.runner.start();
      }
      const dry = await errorOf(a.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: src, DryRun: true })));
      expect(dry.name).toBe('DryRunOperation');
    });
  });

  describe('DeleteSnapshot', () => {
    test('gone at once; again: NotFound; malformed; DryRun keeps it', async () => {
      const snap = await a.send(new CreateSnapshotCommand({ VolumeId: dataVol }));
      await completed(a, [snap.SnapshotId!]);
      expect((await errorOf(a.send(new DeleteSnapshotCommand({ SnapshotId: snap.SnapshotId, DryRun: true })))).name).toBe('DryRunOperation');
      await describe1(a, snap.SnapshotId!);
      await a.send(new DeleteSnapshotCommand({ SnapshotId: snap.SnapshotId }));
      expect((await errorOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap.SnapshotId!] })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorOf(a.send(new DeleteSnapshotCommand({ SnapshotId: snap.SnapshotId })))).name).toBe('InvalidSnapshot.NotFound');
      expect((await errorOf(a.send(new DeleteSnapshotCommand({ SnapshotId: 'snap-?' })))).name).toBe('InvalidSnapshotID.Malformed');
    });

    test('a snapshot an image uses: InvalidSnapshot.InUse; after deregistration it goes', async () => {
      const snap = await a.send(new CreateSnapshotCommand({ VolumeId: rootVol }));
      await completed(a, [snap.SnapshotId!]);
      const ami = 'ami-0bbbbbbbbbbbbbbb1';
      await s.app.db
        .insertInto('images')
        .values({
          id: ami,
          region: 'us-east-1',
          owner_id: s.admin.accountId,
          owner_alias: null,
          name: 'uses-snap',
          description: null,
          architecture: 'x86_64',
          platform_details: 'Linux/UNIX',
          root_device_name: '/dev/xvda',
          root_device_type: 'ebs',
          virtualization_type: 'hvm',
          hypervisor: 'xen',
          ena_support: 1,
          boot_mode: null,
          state: 'available',
          is_public: 0,
          image_type: 'machine',
          block_device_mappings: JSON.stringify([{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snap.SnapshotId, VolumeSize: 2, VolumeType: 'gp3' } }]),
          source: JSON.stringify({ snapshots: [snap.SnapshotId] }),
          creation_date: new Date().toISOString(),
          deprecation_time: null,
        })
        .execute();
      const e = await errorOf(a.send(new DeleteSnapshotCommand({ SnapshotId: snap.SnapshotId })));
      expect(e.name).toBe('InvalidSnapshot.InUse');
      expect(e.message).toBe(`The snapshot ${snap.SnapshotId} is currently in use by ${ami}`);
      await s.app.db.updateTable('images').set({ state: 'deregistered' }).where('id', '=', ami).execute();
      await a.send(new DeleteSnapshotCommand({ SnapshotId: snap.SnapshotId }));
    });
  });
});
