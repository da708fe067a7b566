import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CreateTagsCommand, DescribeImageAttributeCommand, DescribeImagesCommand, paginateDescribeImages, type EC2Client, type Image } from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer, errorOf } from './harness.js';
import { builtinImageId, DEBIAN_VERSION, MINIMAL_VERSION } from '../src/services/ec2/images/builtin.js';
import type { NewRow } from '../src/store/schema.js';

let s: TestServer;
let admin: EC2Client;
let other: EC2Client;
let otherId: string;

/** A private image of `owner`, written straight into the store (CreateImage is another family's). */
function privateImage(id: string, owner: string, name: string, extra: Partial<NewRow<'images'>> = {}): NewRow<'images'> {
  return {
    id,
    region: 'us-east-1',
    owner_id: owner,
    owner_alias: null,
    name,
    description: `private ${name}`,
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
    block_device_mappings: JSON.stringify([
      { DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0', VolumeSize: 2, VolumeType: 'gp3', DeleteOnTermination: true, Encrypted: false } },
    ]),
    source: JSON.stringify({ snapshots: ['snap-0123456789abcdef0'] }),
    creation_date: '2026-01-01T00:00:00.000Z',
    deprecation_time: null,
    ...extra,
  };
}

const SHARED = 'ami-0aaaaaaaaaaaaaaa1';
const MINE = 'ami-0aaaaaaaaaaaaaaa2';
const OLD = 'ami-0aaaaaaaaaaaaaaa3';

beforeAll(async () => {
  s = await startTestServer();
  admin = s.ec2();
  const c = await s.app.accounts.create('other');
  otherId = c.accountId;
  other = s.ec2({ credentials: c });
  await s.app.db
    .insertInto('images')
    .values([
      privateImage(SHARED, s.admin.accountId, 'shared-app-1'),
      privateImage(MINE, s.admin.accountId, 'mine-app-1'),
      privateImage(OLD, s.admin.accountId, 'old-app-1', { deprecation_time: '2026-02-01T00:00:00.000Z', is_public: 1 }),
    ])
    .execute();
  await s.app.db.insertInto('image_launch_permissions').values({ image_id: SHARED, grantee: otherId }).execute();
});
afterAll(async () => {
  await s?.stop();
});

describe('built-in images', () => {
  test('Terraform-style lookup: owner + name filter, most recent', async () => {
    const out = await admin.send(
      new DescribeImagesCommand({
        Owners: ['136693071363'],
        Filters: [
          { Name: 'name', Values: ['debian-12-amd64-*'] },
          { Name: 'architecture', Values: ['x86_64'] },
        ],
      }),
    );
    expect(out.Images).toHaveLength(1);
    const mostRecent = [...out.Images!].sort((a, b) => (b.CreationDate! > a.CreationDate! ? 1 : -1))[0]!;
    expect(mostRecent).toMatchObject({
      Name: `debian-12-amd64-${DEBIAN_VERSION}`,
      Description: `Debian 12 (${DEBIAN_VERSION})`,
      OwnerId: '136693071363',
      Public: true,
      State: 'available',
      Architecture: 'x86_64',
      VirtualizationType: 'hvm',
      RootDeviceName: '/dev/xvda',
      RootDeviceType: 'ebs',
      EnaSupport: true,
      PlatformDetails: 'Linux/UNIX',
      UsageOperation: 'RunInstances',
      ImageType: 'machine',
    });
    expect(mostRecent.ImageOwnerAlias).toBeUndefined();
    expect(mostRecent.ImageId).toBe(builtinImageId('us-east-1', mostRecent.Name!));
    const ebs = mostRecent.BlockDeviceMappings![0]!;
    expect(ebs.DeviceName).toBe('/dev/xvda');
    expect(ebs.Ebs).toMatchObject({ VolumeSize: 8, VolumeType: 'gp3', DeleteOnTermination: true, Encrypted: false });
    expect(ebs.Ebs!.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
  });

  test('the minimal image by its owner alias', async () => {
    const out = await admin.send(new DescribeImagesCommand({ Owners: ['cumulo'], Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
    expect(out.Images).toHaveLength(1);
    const img = out.Images![0]!;
    expect(img).toMatchObject({ Name: `cumulo-minimal-x86_64-${MINIMAL_VERSION}`, OwnerId: '000000000001', ImageOwnerAlias: 'cumulo' });
    expect(img.Description).toMatch(/busybox/);
    expect(img.BlockDeviceMappings![0]!.Ebs!.VolumeSize).toBe(1);
    const byAlias = await admin.send(new DescribeImagesCommand({ Filters: [{ Name: 'owner-alias', Values: ['cumulo'] }] }));
    expect(byAlias.Images!.map((i) => i.ImageId)).toEqual([img.ImageId]);
  });

  test('every region has its own stable ids', async () => {
    const eu = await s.ec2({ region: 'eu-west-1' }).send(new DescribeImagesCommand({ Owners: ['cumulo', '136693071363'] }));
    const us = await admin.send(new DescribeImagesCommand({ Owners: ['cumulo', '136693071363'] }));
    expect(eu.Images).toHaveLength(2);
    expect(us.Images).toHaveLength(2);
    const euIds = eu.Images!.map((i) => i.ImageId);
    for (const i of us.Images!) expect(euIds).not.toContain(i.ImageId);
  });

  test('filters from the documented list', async () => {
    const q = async (name: string, values: string[]) =>
      (await admin.send(new DescribeImagesCommand({ Owners: ['cumulo', '136693071363'], Filters: [{ Name: name, Values: values }] }))).Images!.map((i) => i.Name);
    expect(await q('block-device-mapping.volume-size', ['8'])).toEqual([`debian-12-amd64-${DEBIAN_VERSION}`]);
    expect((await q('block-device-mapping.volume-type', ['gp3'])).length).toBe(2);
    expect((await q('is-public', ['true'])).length).toBe(2);
    expect(await q('is-public', ['false'])).toEqual([]);
    expect((await q('creation-date', [`${DEBIAN_VERSION.slice(0, 4)}-*`])).length).toBe(2);
    expect(await q('description', ['Debian 12 (*)'])).toEqual([`debian-12-amd64-${DEBIAN_VERSION}`]);
    expect(await q('manifest-location', ['cumulo/*'])).toEqual([`cumulo-minimal-x86_64-${MINIMAL_VERSION}`]);
    expect((await q('platform-details', ['Linux/UNIX'])).length).toBe(2);
    expect(await q('platform', ['windows'])).toEqual([]);
    expect((await q('state', ['available'])).length).toBe(2);
    expect((await q('root-device-type', ['ebs'])).length).toBe(2);
    expect(await q('image-id', [builtinImageId('us-east-1', `cumulo-minimal-x86_64-${MINIMAL_VERSION}`)])).toEqual([`cumulo-minimal-x86_64-${MINIMAL_VERSION}`]);
    const bad = await errorOf(admin.send(new DescribeImagesCommand({ Filters: [{ Name: 'nonsense', Values: ['x'] }] })));
    expect(bad.name).toBe('InvalidParameterValue');
  });
});

describe('visibility across accounts', () => {
  test('public images are visible to every account; private ones only to owner and grantees', async () => {
    const mine = (await admin.send(new DescribeImagesCommand({}))).Images!.map((i) => i.ImageId);
    expect(mine).toEqual(expect.arrayContaining([SHARED, MINE]));
    const theirs = (await other.send(new DescribeImagesCommand({}))).Images!.map((i) => i.ImageId);
    expect(theirs).toContain(SHARED);
    expect(theirs).not.toContain(MINE);
    const debian = (await other.send(new DescribeImagesCommand({ Owners: ['136693071363'] }))).Images!;
    expect(debian).toHaveLength(1);
    const e = await errorOf(other.send(new DescribeImagesCommand({ ImageIds: [MINE] })));
    expect(e.name).toBe('InvalidAMIID.NotFound');
    expect(e.message).toBe(`The image id '[${MINE}]' does not exist`);
  });

  test('Owners self and account ids', async () => {
    const self = (await admin.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.map((i) => i.ImageId).sort();
    expect(self).toEqual([SHARED, MINE, OLD].sort());
    const byId = (await other.send(new DescribeImagesCommand({ Owners: [s.admin.accountId] }))).Images!.map((i) => i.ImageId);
    expect(byId.sort()).toEqual([SHARED]);
    expect((await other.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toEqual([]);
    const e = await errorOf(admin.send(new DescribeImagesCommand({ Owners: ['nobody'] })));
    expect(e.name).toBe('InvalidUserID.Malformed');
  });

  test('ExecutableUsers', async () => {
    const shared = await other.send(new DescribeImagesCommand({ ExecutableUsers: ['self'] }));
    expect(shared.Images!.map((i) => i.ImageId)).toEqual([SHARED]);
    const forOther = await admin.send(new DescribeImagesCommand({ ExecutableUsers: [otherId] }));
    expect(forOther.Images!.map((i) => i.ImageId)).toEqual([SHARED]);
    const all = await other.send(new DescribeImagesCommand({ ExecutableUsers: ['all'] }));
    expect(all.Images!.every((i) => i.Public)).toBe(true);
    expect(all.Images!.length).toBe(2);
    const e = await errorOf(admin.send(new DescribeImagesCommand({ ExecutableUsers: ['x'] })));
    expect(e.name).toBe('InvalidUserID.Malformed');
  });

  test('deprecated images: hidden from others unless asked for or named', async () => {
    expect((await other.send(new DescribeImagesCommand({}))).Images!.map((i) => i.ImageId)).not.toContain(OLD);
    const incl = await other.send(new DescribeImagesCommand({ IncludeDeprecated: true }));
    expect(incl.Images!.find((i) => i.ImageId === OLD)?.DeprecationTime).toBe('2026-02-01T00:00:00.000Z');
    expect((await other.send(new DescribeImagesCommand({ ImageIds: [OLD] }))).Images).toHaveLength(1);
    // The owner always sees its own deprecated images.
    expect((await admin.send(new DescribeImagesCommand({}))).Images!.map((i) => i.ImageId)).toContain(OLD);
  });

  test('tags are per account', async () => {
    await admin.send(new CreateTagsCommand({ Resources: [MINE], Tags: [{ Key: 'team', Value: 'blue' }] }));
    const out = await admin.send(new DescribeImagesCommand({ Filters: [{ Name: 'tag:team', Values: ['blue'] }] }));
    expect(out.Images!.map((i) => i.ImageId)).toEqual([MINE]);
    expect(out.Images![0]!.Tags).toEqual([{ Key: 'team', Value: 'blue' }]);
  });
});

describe('ids and errors', () => {
  test('malformed and unknown ids', async () => {
    const m = await errorOf(admin.send(new DescribeImagesCommand({ ImageIds: ['ami-123'] })));
    expect(m.name).toBe('InvalidAMIID.Malformed');
    expect(m.message).toBe('Invalid id: "ami-123" (expecting "ami-...")');
    const m2 = await errorOf(admin.send(new DescribeImagesCommand({ ImageIds: ['i-0123456789abcdef0'] })));
    expect(m2.name).toBe('InvalidAMIID.Malformed');
    const n = await errorOf(admin.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0', 'ami-0123456789abcdef1'] })));
    expect(n.name).toBe('InvalidAMIID.NotFound');
    expect(n.message).toBe("The image ids '[ami-0123456789abcdef0, ami-0123456789abcdef1]' do not exist");
  });

  test('MaxResults cannot be combined with ImageIds, and is bounded', async () => {
    const e = await errorOf(admin.send(new DescribeImagesCommand({ ImageIds: [MINE], MaxResults: 5 })));
    expect(e.name).toBe('InvalidParameterCombination');
    const b = await errorOf(admin.send(new DescribeImagesCommand({ MaxResults: 1001 })));
    expect(b.name).toBe('InvalidParameterValue');
  });

  test('pagination walks every image once', async () => {
    const all = (await admin.send(new DescribeImagesCommand({}))).Images!.map((i) => i.ImageId!);
    expect(all.length).toBe(5);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeImages({ client: admin, pageSize: 2 }, {})) {
      pages++;
      expect(page.Images!.length).toBeLessThanOrEqual(2);
      seen.push(...page.Images!.map((i: Image) => i.ImageId!));
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...all].sort());
    const bad = await errorOf(admin.send(new DescribeImagesCommand({ MaxResults: 2, NextToken: 'garbage' })));
    expect(bad.name).toBe('InvalidPaginationToken');
  });
});

describe('DescribeImageAttribute', () => {
  test('readable attributes of a public image', async () => {
    const debian = builtinImageId('us-east-1', `debian-12-amd64-${DEBIAN_VERSION}`);
    const d = await other.send(new DescribeImageAttributeCommand({ ImageId: debian, Attribute: 'description' }));
    expect(d.ImageId).toBe(debian);
    expect(d.Description?.Value).toBe(`Debian 12 (${DEBIAN_VERSION})`);
    const b = await other.send(new DescribeImageAttributeCommand({ ImageId: debian, Attribute: 'bootMode' }));
    expect(b.BootMode?.Value).toBe('uefi-preferred');
    const k = await other.send(new DescribeImageAttributeCommand({ ImageId: debian, Attribute: 'kernel' }));
    expect(k.KernelId?.Value).toBeUndefined();
  });

  test('owner-only attributes are refused to others', async () => {
    const debian = builtinImageId('us-east-1', `debian-12-amd64-${DEBIAN_VERSION}`);
    const e = await errorOf(other.send(new DescribeImageAttributeCommand({ ImageId: debian, Attribute: 'launchPermission' })));
    expect(e.name).toBe('AuthFailure');
    expect(e.message).toBe(`Not authorized for image:${debian}`);
    const bdm = await errorOf(admin.send(new DescribeImageAttributeCommand({ ImageId: MINE, Attribute: 'blockDeviceMapping' })));
    expect(bdm.name).toBe('AuthFailure');
  });

  test('the owner sees launch permissions and protection', async () => {
    const lp = await admin.send(new DescribeImageAttributeCommand({ ImageId: SHARED, Attribute: 'launchPermission' }));
    expect(lp.LaunchPermissions).toEqual([{ UserId: otherId }]);
    const pub = await admin.send(new DescribeImageAttributeCommand({ ImageId: OLD, Attribute: 'launchPermission' }));
    expect(pub.LaunchPermissions).toEqual([{ Group: 'all' }]);
    const dp = await admin.send(new DescribeImageAttributeCommand({ ImageId: MINE, Attribute: 'deregistrationProtection' }));
    expect(dp.DeregistrationProtection?.Value).toBe('disabled');
  });

  test('bad ids and attributes', async () => {
    expect((await errorOf(other.send(new DescribeImageAttributeCommand({ ImageId: MINE, Attribute: 'description' })))).name).toBe('InvalidAMIID.NotFound');
    expect((await errorOf(admin.send(new DescribeImageAttributeCommand({ ImageId: 'ami-x', Attribute: 'description' })))).name).toBe('InvalidAMIID.Malformed');
    expect((await errorOf(admin.send(new DescribeImageAttributeCommand({ ImageId: MINE, Attribute: 'colour' as 'description' })))).name).toBe('InvalidParameterValue');
  });
});
