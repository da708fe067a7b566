import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../lib/secrets.js';
import { rootPrincipal } from '../iam/principal.js';
// What an EC2 request asks IAM (ec2AuthzRequests), against a real store whose resources a server
// with the fake driver made through the SDK.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CreateKeyPairCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { minimalImage, startTestServer, type TestServer } from '../../../test/harness.js';
import type { Ctx } from '../context.js';
import { serviceRegistry } from '../registry.js';
import { actionInfo } from '../iam/actions.js';
import type { AuthzRequest } from '../iam/policy/types.js';
import { imageRow, insertImage } from './images/store.js';
import { ec2AuthzRequests, notInReference } from './authz.js';

let server: TestServer;
let ec2: EC2Client;
let account: string;
let ami: string;
let debianAmi: string;
let amiSnapshot: string;
const region = 'us-east-1';
// Filled in beforeAll: the default VPC's subnets by zone and its default group; a second VPC's.
const defaults = { subnets: new Map<string, string>(), group: '', vpc: '' };
const mine = { vpc: '', subnet: '', group: '', key: 'deploy', instance: '', volume: '' };
const foreignAmi = 'ami-0fedcba9876543210';

// ec2AuthzRequests reads the account, region, store and config of its context: the rest is the dispatcher's.
function ctx(): Ctx {
  return {
    accountId: account,
    region,
    requestId: 'test',
    operation: 'Test',
    principal: rootPrincipal(account, ''),
    source: { ip: '127.0.0.1', secure: true },
    secrets: new SecretBox(randomBytes(32)),
    db: server.app.db,
    config: server.app.config,
    now: new Date(),
    enqueue: async () => {},
    afterCommit: () => {},
    beforeCommit: () => {},
  };
}

const arn = (type: string, id: string) => `arn:aws:ec2:${region}:${type === 'image' || type === 'snapshot' ? '' : account}:${type}/${id}`;
const ask = (op: string, input: Record<string, unknown>) => ec2AuthzRequests(ctx(), op, input);
const only = (rs: AuthzRequest[], action: string, resource: string) => {
  const found = rs.filter((r) => r.action === action && r.resource === resource);
  expect(found, `${action} on ${resource} in ${JSON.stringify(rs.map((r) => [r.action, r.resource]))}`).toHaveLength(1);
  return found[0]!.context;
};

beforeAll(async () => {
  server = await startTestServer();
  ec2 = server.ec2();
  account = server.admin.accountId;
  ami = await minimalImage(ec2);
  const minimal = await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }));
  amiSnapshot = minimal.Images![0]!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
  const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }));
  debianAmi = images.Images![0]!.ImageId!;
  const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }));
  for (const s of subnets.Subnets!) defaults.subnets.set(s.AvailabilityZone!, s.SubnetId!);
  defaults.vpc = subnets.Subnets![0]!.VpcId!;
  const groups = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [defaults.vpc] },
        { Name: 'group-name', Values: ['default'] },
      ],
    }),
  );
  defaults.group = groups.SecurityGroups![0]!.GroupId!;

  mine.vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.7.0.0/16' }))).Vpc!.VpcId!;
  mine.subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: mine.vpc, CidrBlock: '10.7.1.0/24', AvailabilityZone: 'us-east-1c' }))).Subnet!.SubnetId!;
  mine.group = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web', VpcId: mine.vpc }))).GroupId!;
  await ec2.send(new CreateKeyPairCommand({ KeyName: mine.key, KeyType: 'ed25519' }));
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: ami,
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.micro',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'team', Value: 'web' }] }],
    }),
  );
  mine.instance = run.Instances![0]!.InstanceId!;
  mine.volume = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 3, VolumeType: 'gp3' }))).VolumeId!;

  // A private image of another account (only its owner could launch it).
  const row = (await imageRow(server.app.db, ami))!;
  await insertImage(server.app.db, { ...row, id: foreignAmi, owner_id: '444455556666', owner_alias: null, is_public: 0, name: 'theirs' });
});
afterAll(async () => {
  await server?.stop();
});

describe('actions without resource-level permissions', () => {
  test.each(['DescribeInstances', 'DescribeImages', 'DescribeVolumes', 'DescribeSecurityGroups'])('%s asks once about *', async (op) => {
    expect(await ask(op, { InstanceIds: [mine.instance] })).toEqual([{ action: `ec2:${op}`, resource: '*', context: { 'ec2:Region': region } }]);
  });
});

describe('RunInstances', () => {
  test('with no subnet: the default subnet of the zone, its VPC default group, the image, and what it creates', async () => {
    const rs = await ask('RunInstances', { ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', Placement: { AvailabilityZone: 'us-east-1b' } });
    const action = 'ec2:RunInstances';
    expect(rs.every((r) => r.action === action)).toBe(true);
    const subnetB = defaults.subnets.get('us-east-1b')!;
    expect(rs.map((r) => r.resource).sort()).toEqual(
      [
        arn('image', ami),
        arn('instance', '*'),
        arn('network-interface', '*'),
        arn('subnet', subnetB),
        arn('security-group', defaults.group),
        arn('volume', '*'),
        arn('snapshot', amiSnapshot),
      ].sort(),
    );
    expect(only(rs, action, arn('image', ami))).toMatchObject({
      'ec2:Owner': '000000000001',
      'ec2:Public': 'true',
      'ec2:ImageType': 'machine',
      'ec2:RootDeviceType': 'ebs',
      'ec2:Region': region,
    });
    const instance = only(rs, action, arn('instance', '*'));
    expect(instance).toMatchObject({
      'ec2:InstanceType': 't3.micro',
      'ec2:AvailabilityZone': 'us-east-1b',
      'ec2:Tenancy': 'default',
      'ec2:RootDeviceType': 'ebs',
      'ec2:Region': region,
    });
    // Nothing asked for tags, and a resource being created has none yet.
    expect(Object.keys(instance).filter((k) => /^aws:(RequestTag\/|TagKeys|ResourceTag)|ResourceTag/.test(k))).toEqual([]);
    expect(only(rs, action, arn('subnet', subnetB))).toMatchObject({ 'ec2:Vpc': arn('vpc', defaults.vpc), 'ec2:AvailabilityZone': 'us-east-1b' });
    expect(only(rs, action, arn('network-interface', '*'))).toMatchObject({ 'ec2:Subnet': arn('subnet', subnetB), 'ec2:Vpc': arn('vpc', defaults.vpc) });
    expect(only(rs, action, arn('security-group', defaults.group))).toMatchObject({ 'ec2:Vpc': arn('vpc', defaults.vpc) });
    // The root volume, from the image's snapshot, which is asked about too.
    expect(only(rs, action, arn('volume', '*'))).toMatchObject({
      'ec2:VolumeSize': '1',
      'ec2:Encrypted': 'false',
      'ec2:AvailabilityZone': 'us-east-1b',
      'ec2:ParentSnapshot': arn('snapshot', amiSnapshot),
    });
    expect(only(rs, action, arn('snapshot', amiSnapshot))).toMatchObject({ 'ec2:SnapshotID': amiSnapshot });
  });

  test('with a subnet, groups, a key pair and tags: each of them, and ec2:CreateTags on what is tagged', async () => {
    const rs = await ask('RunInstances', {
      ImageId: ami,
      MinCount: 1,
      MaxCount: 2,
      SubnetId: mine.subnet,
      SecurityGroupIds: [mine.group],
      KeyName: mine.key,
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: 'team', Value: 'web' },
            { Key: 'env', Value: 'prod' },
          ],
        },
        { ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'web' }] },
      ],
    });
    const run = (resource: string) => only(rs, 'ec2:RunInstances', resource);
    expect(run(arn('subnet', mine.subnet))).toMatchObject({ 'ec2:AvailabilityZone': 'us-east-1c', 'ec2:Vpc': arn('vpc', mine.vpc) });
    expect(run(arn('security-group', mine.group))).toMatchObject({ 'ec2:SecurityGroupID': mine.group, 'ec2:Vpc': arn('vpc', mine.vpc) });
    expect(rs.some((r) => r.resource === arn('security-group', defaults.group))).toBe(false);
    expect(run(arn('key-pair', mine.key))).toMatchObject({ 'ec2:KeyPairName': mine.key, 'ec2:KeyPairType': 'ed25519' });
    expect(run(arn('instance', '*'))).toMatchObject({ 'aws:RequestTag/team': 'web', 'aws:RequestTag/env': 'prod', 'aws:TagKeys': ['team', 'env'], 'ec2:InstanceType': 'm1.small' });
    expect(run(arn('volume', '*'))).toMatchObject({ 'aws:RequestTag/team': 'web', 'aws:TagKeys': ['team'] });
    expect(run(arn('network-interface', '*'))['aws:TagKeys']).toBeUndefined();
    // Tag on create: CreateTags on each tagged new resource, naming the action that creates it.
    const tagging = rs.filter((r) => r.action === 'ec2:CreateTags');
    expect(tagging.map((r) => r.resource).sort()).toEqual([arn('instance', '*'), arn('volume', '*')]);
    const tagInstance = only(rs, 'ec2:CreateTags', arn('instance', '*'));
    expect(tagInstance).toMatchObject({
      'aws:RequestTag/team': 'web',
      'aws:RequestTag/env': 'prod',
      'aws:TagKeys': ['team', 'env'],
      'ec2:CreateAction': 'RunInstances',
      'ec2:Region': region,
      // CreateTags lists the instance's own keys too.
      'ec2:InstanceType': 'm1.small',
    });
    expect(Object.keys(tagInstance).some((k) => k.includes('ResourceTag'))).toBe(false);
    expect(only(rs, 'ec2:CreateTags', arn('volume', '*'))).toMatchObject({ 'aws:TagKeys': ['team'], 'ec2:CreateAction': 'RunInstances' });
  });

  test("another owner's image: its owner and that it is not public; Debian's: Debian's account", async () => {
    const rs = await ask('RunInstances', { ImageId: foreignAmi, MinCount: 1, MaxCount: 1 });
    expect(only(rs, 'ec2:RunInstances', arn('image', foreignAmi))).toMatchObject({ 'ec2:Owner': '444455556666', 'ec2:Public': 'false', 'ec2:ImageID': foreignAmi });
    const debian = await ask('RunInstances', { ImageId: debianAmi, MinCount: 1, MaxCount: 1 });
    expect(only(debian, 'ec2:RunInstances', arn('image', debianAmi))).toMatchObject({ 'ec2:Owner': '136693071363', 'ec2:Public': 'true' });
  });

  test('an image that does not exist: still asked about by its ARN, with nothing but its id', async () => {
    const missing = 'ami-00000000000000bad';
    const rs = await ask('RunInstances', { ImageId: missing, MinCount: 1, MaxCount: 1 });
    expect(only(rs, 'ec2:RunInstances', arn('image', missing))).toEqual({ 'ec2:ImageID': missing, 'ec2:Region': region });
    expect(rs.some((r) => r.resource === arn('volume', '*'))).toBe(false);
  });
});

describe('resources that exist', () => {
  test("TerminateInstances on a tagged instance: the instance's tags and facts", async () => {
    const rs = await ask('TerminateInstances', { InstanceIds: [mine.instance] });
    expect(rs).toHaveLength(1);
    expect(rs[0]!.action).toBe('ec2:TerminateInstances');
    expect(rs[0]!.resource).toBe(arn('instance', mine.instance));
    expect(rs[0]!.context).toMatchObject({
      'ec2:ResourceTag/team': 'web',
      'aws:ResourceTag/team': 'web',
      'ec2:InstanceType': 't3.micro',
      'ec2:InstanceID': mine.instance,
      'ec2:Tenancy': 'default',
      'ec2:Region': region,
    });
    // TerminateInstances lists no request tags for instances: none are offered.
    expect(Object.keys(rs[0]!.context).some((k) => k.startsWith('aws:RequestTag') || k === 'aws:TagKeys')).toBe(false);
  });

  test('an id that does not exist: its ARN, no tags', async () => {
    const missing = 'i-0000000000000000f';
    expect(await ask('StopInstances', { InstanceIds: [missing, mine.instance] })).toEqual([
      { action: 'ec2:StopInstances', resource: arn('instance', missing), context: { 'ec2:InstanceID': missing, 'ec2:Region': region } },
      expect.objectContaining({ resource: arn('instance', mine.instance) }),
    ]);
  });

  test('CreateTags on two resources of different types: each by its ARN, with the tags asked for', async () => {
    const rs = await ask('CreateTags', { Resources: [mine.instance, mine.volume], Tags: [{ Key: 'env', Value: 'prod' }] });
    expect(rs.map((r) => [r.action, r.resource])).toEqual([
      ['ec2:CreateTags', arn('instance', mine.instance)],
      ['ec2:CreateTags', arn('volume', mine.volume)],
    ]);
    expect(rs[0]!.context).toMatchObject({ 'aws:RequestTag/env': 'prod', 'aws:TagKeys': ['env'], 'ec2:ResourceTag/team': 'web' });
    expect(rs[1]!.context).toMatchObject({ 'aws:RequestTag/env': 'prod', 'aws:TagKeys': ['env'] });
    expect(rs[1]!.context['ec2:ResourceTag/team']).toBeUndefined();
    // A plain CreateTags creates nothing.
    expect(rs.every((r) => r.context['ec2:CreateAction'] === undefined)).toBe(true);
  });

  test('DeleteTags: the keys it deletes', async () => {
    const rs = await ask('DeleteTags', { Resources: [mine.instance], Tags: [{ Key: 'team' }] });
    expect(only(rs, 'ec2:DeleteTags', arn('instance', mine.instance))).toMatchObject({ 'aws:TagKeys': ['team'], 'aws:ResourceTag/team': 'web' });
  });

  test('AttachVolume: the instance and the volume, with the volume facts', async () => {
    const rs = await ask('AttachVolume', { InstanceId: mine.instance, VolumeId: mine.volume, Device: '/dev/sdf' });
    expect(rs.map((r) => r.resource)).toEqual([arn('instance', mine.instance), arn('volume', mine.volume)]);
    expect(rs[1]!.context).toMatchObject({ 'ec2:VolumeSize': '3', 'ec2:VolumeType': 'gp3', 'ec2:Encrypted': 'false', 'ec2:AvailabilityZone': 'us-east-1a' });
  });

  test('ModifyInstanceAttribute: the attribute it sets', async () => {
    const rs = await ask('ModifyInstanceAttribute', { InstanceId: mine.instance, InstanceType: { Value: 't3.small' } });
    expect(only(rs, 'ec2:ModifyInstanceAttribute', arn('instance', mine.instance))).toMatchObject({ 'ec2:Attribute/InstanceType': 't3.small', 'ec2:InstanceType': 't3.micro' });
  });

  test('ModifySnapshotAttribute: who it shares the snapshot with', async () => {
    const snap = 'snap-0123456789abcdef0';
    const rs = await ask('ModifySnapshotAttribute', {
      SnapshotId: snap,
      Attribute: 'createVolumePermission',
      CreateVolumePermission: { Add: [{ Group: 'all' }, { UserId: '111122223333' }, { UserId: '444455556666' }] },
    });
    expect(only(rs, 'ec2:ModifySnapshotAttribute', arn('snapshot', snap))).toEqual({
      'ec2:SnapshotID': snap,
      'ec2:Attribute': 'createVolumePermission',
      'ec2:Add/group': 'all',
      'ec2:Add/userId': ['111122223333', '444455556666'],
      'ec2:Region': region,
    });
  });

  test('CreateVolume from a size: the new volume with what it will be', async () => {
    const rs = await ask('CreateVolume', {
      AvailabilityZone: 'us-east-1b',
      Size: 20,
      VolumeType: 'io2',
      Iops: 500,
      TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'a', Value: 'b' }] }],
    });
    expect(only(rs, 'ec2:CreateVolume', arn('volume', '*'))).toMatchObject({ 'ec2:VolumeSize': '20', 'ec2:VolumeType': 'io2', 'ec2:VolumeIops': '500', 'aws:RequestTag/a': 'b' });
    expect(only(rs, 'ec2:CreateTags', arn('volume', '*'))).toMatchObject({ 'ec2:CreateAction': 'CreateVolume', 'aws:TagKeys': ['a'] });
  });

  test('CreateSecurityGroup with no VPC: the new group in the default VPC, and that VPC', async () => {
    const rs = await ask('CreateSecurityGroup', { GroupName: 'x', Description: 'x' });
    expect(rs.map((r) => r.resource).sort()).toEqual([arn('security-group', '*'), arn('vpc', defaults.vpc)]);
    expect(only(rs, 'ec2:CreateSecurityGroup', arn('vpc', defaults.vpc))).toMatchObject({ 'ec2:VpcID': defaults.vpc, 'ec2:Tenancy': 'default' });
    // The reference lists no ec2:Vpc for the new group, and its id is not known yet.
    expect(only(rs, 'ec2:CreateSecurityGroup', arn('security-group', '*'))).toEqual({ 'ec2:Region': region });
  });

  test('DetachVolume without InstanceId: the instance the volume is attached to', async () => {
    const root = (await server.app.db.selectFrom('volume_attachments').select('volume_id').where('instance_id', '=', mine.instance).executeTakeFirstOrThrow()).volume_id;
    const rs = await ask('DetachVolume', { VolumeId: root });
    expect(rs.map((r) => r.resource)).toEqual([arn('volume', root), arn('instance', mine.instance)]);
    expect(rs[1]!.context['ec2:ResourceTag/team']).toBe('web');
  });

  test('DeleteKeyPair and CreateKeyPair name the key pair', async () => {
    expect((await ask('DeleteKeyPair', { KeyName: mine.key }))[0]!.resource).toBe(arn('key-pair', mine.key));
    expect((await ask('CreateKeyPair', { KeyName: 'new' }))[0]).toMatchObject({ resource: arn('key-pair', 'new'), context: { 'ec2:KeyPairType': 'rsa' } });
  });
});

describe('every operation cumulo serves', () => {
  const ops = Object.keys(serviceRegistry().get('ec2')!.handlers).sort();

  test('is in the Service Authorization Reference, or an exception with a reason', () => {
    const unknown = ops.filter((op) => !actionInfo('ec2', op) && !notInReference[op]);
    expect(unknown).toEqual([]);
    for (const [op, why] of Object.entries(notInReference)) expect(why.length, op).toBeGreaterThan(10);
  });

  test('asks something of IAM even with an empty or bad input (authorization runs before validation)', async () => {
    for (const op of ops) {
      for (const input of [
        {},
        { InstanceId: 'nonsense', VolumeId: 5, Resources: ['x-1', 7], TagSpecifications: 'bad', Tags: 'bad', BlockDeviceMappings: [null], InstanceSpecification: 'x' },
        {
          InstanceIds: ['i-0000000000000000f'],
          GroupName: 'nope',
          AssociationId: 'rtbassoc-00000000000000000',
          AttachmentId: 'eni-attach-00000000000000000',
          KeyPairId: 'key-00000000000000000',
        },
      ]) {
        const rs = await ask(op, input);
        expect(rs.length, op).toBeGreaterThan(0);
        expect(
          rs.every((r) => r.action === `ec2:${actionInfo('ec2', op)?.name ?? op}` || r.action === 'ec2:CreateTags'),
          op,
        ).toBe(true);
      }
    }
  });
});
