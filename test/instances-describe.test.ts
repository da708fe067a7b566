// DescribeInstances filters and pagination, instance attributes and in-instance shutdown through
// @aws-sdk/client-ec2 against a real server with the fake driver.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CreateSecurityGroupCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeVolumesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyInstanceMetadataOptionsCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  paginateDescribeInstances,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { FakeDriver } from '../src/host/compute/fake.js';
import { startTestServer, type TestServer, errorOf, minimalImage, describeInstance } from './harness.js';

// Running instances are checked often here, so a shutdown from inside is seen quickly.
process.env.CUMULO_INSTANCE_POLL_MS = '500';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };

let s: TestServer;
let ec2: EC2Client;
let imageId: string;
let run: (input?: Partial<RunInstancesCommandInput>) => Promise<Instance[]>;

beforeAll(async () => {
  s = await startTestServer();
  ec2 = s.ec2();
  imageId = await minimalImage(ec2);
  run = async (input = {}) => {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ...input }));
    return out.Instances!;
  };
});
afterAll(async () => {
  await s?.stop();
});

describe('DescribeInstances', () => {
  let ids: string[];

  beforeAll(async () => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        MinCount: 12,
        MaxCount: 12,
        InstanceType: 't3.small',
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'batch', Value: 'paging' }] }],
      }),
    );
    ids = out.Instances!.map((i) => i.InstanceId!);
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: ids });
  });

  test('paginateDescribeInstances walks every page', async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 5 }, { Filters: [{ Name: 'tag:batch', Values: ['paging'] }] })) {
      pages++;
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) seen.push(i.InstanceId!);
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...ids].sort());
  });

  test('MaxResults bounds, InstanceIds with MaxResults, bad tokens', async () => {
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ MaxResults: 1001 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [ids[0]!], MaxResults: 5 })))).name).toBe('InvalidParameterCombination');
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ NextToken: 'garbage' })))).name).toBe('InvalidPaginationToken');
  });

  test('explicit ids: malformed and not found', async () => {
    const m = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-123'] })));
    expect([m.name, m.message]).toEqual(['InvalidInstanceID.Malformed', 'Invalid id: "i-123"']);
    const n = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [ids[0]!, 'i-00000000000000000'] })));
    expect([n.name, n.message]).toEqual(['InvalidInstanceID.NotFound', "The instance ID 'i-00000000000000000' does not exist"]);
    const both = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-00000000000000000', 'i-00000000000000001'] })));
    expect(both.message).toBe("The instance IDs 'i-00000000000000000, i-00000000000000001' do not exist");
  });

  test('filters', async () => {
    const target = await describeInstance(ec2, ids[3]!);
    const count = async (name: string, values: string[]) => {
      const out = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: name, Values: values },
            { Name: 'tag:batch', Values: ['paging'] },
          ],
        }),
      );
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
    };
    expect(await count('instance-id', [ids[3]!])).toEqual([ids[3]]);
    expect(await count('instance-state-name', ['running'])).toHaveLength(12);
    expect(await count('instance-state-code', ['16'])).toHaveLength(12);
    expect(await count('instance-state-name', ['stopped'])).toHaveLength(0);
    expect(await count('instance-type', ['t3.*'])).toHaveLength(12);
    expect(await count('instance-type', ['t3.smal?'])).toHaveLength(12);
    expect(await count('instance-type', ['t3.smal'])).toHaveLength(0);
    expect(await count('image-id', [imageId])).toHaveLength(12);
    expect(await count('private-ip-address', [target.PrivateIpAddress!])).toEqual([ids[3]]);
    expect(await count('private-dns-name', [target.PrivateDnsName!])).toEqual([ids[3]]);
    expect(await count('network-interface.addresses.private-ip-address', [target.PrivateIpAddress!])).toEqual([ids[3]]);
    expect(await count('network-interface.network-interface-id', [target.NetworkInterfaces![0]!.NetworkInterfaceId!])).toEqual([ids[3]]);
    expect(await count('network-interface.mac-address', [target.NetworkInterfaces![0]!.MacAddress!])).toEqual([ids[3]]);
    expect(await count('block-device-mapping.volume-id', [target.BlockDeviceMappings![0]!.Ebs!.VolumeId!])).toEqual([ids[3]]);
    expect(await count('block-device-mapping.device-name', ['/dev/xvda'])).toHaveLength(12);
    expect(await count('subnet-id', [target.SubnetId!])).toHaveLength(12);
    expect(await count('vpc-id', [target.VpcId!])).toHaveLength(12);
    expect(await count('availability-zone', ['us-east-1a'])).toHaveLength(12);
    expect(await count('instance.group-name', ['default'])).toHaveLength(12);
    expect(await count('instance.group-id', [target.SecurityGroups![0]!.GroupId!])).toHaveLength(12);
    expect(await count('owner-id', [s.admin.accountId])).toHaveLength(12);
    expect(await count('launch-time', [`${target.LaunchTime!.toISOString().slice(0, 10)}*`])).toHaveLength(12);
    expect(await count('architecture', ['x86_64'])).toHaveLength(12);
    expect(await count('root-device-type', ['ebs'])).toHaveLength(12);
    expect(await count('launch-index', ['3'])).toEqual([ids[3]]);
    expect(await count('tag-key', ['batch'])).toHaveLength(12);
    expect(await count('tag-value', ['pag*'])).toHaveLength(12);
    expect(await count('ip-address', ['198.18.*'])).toHaveLength(12);
    expect(await count('dns-name', ['ec2-198-18-*.compute-1.amazonaws.com'])).toHaveLength(12);
    expect(await count('source-dest-check', ['true'])).toHaveLength(12);
    expect(await count('metadata-options.state', ['applied'])).toHaveLength(12);
    const bad = await errorOf(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })));
    expect([bad.name, bad.message]).toEqual(['InvalidParameterValue', "The filter 'no-such-filter' is invalid"]);
  });

  test('DescribeVolumes and DescribeNetworkInterfaces filters', async () => {
    const vols = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: ids.slice(0, 2) }] }));
    expect(vols.Volumes).toHaveLength(2);
    for (const [name, value, n] of [
      ['attachment.device', '/dev/xvda', 2],
      ['attachment.status', 'attached', 2],
      ['attachment.delete-on-termination', 'true', 2],
      ['status', 'in-use', 2],
      ['size', '1', 2],
      ['volume-type', 'gp3', 2],
      ['encrypted', 'false', 2],
      ['multi-attach-enabled', 'false', 2],
      ['availability-zone', 'us-east-1a', 2],
      ['snapshot-id', 'snap-*', 2],
      ['volume-type', 'io1', 0],
    ] as const) {
      const out = await ec2.send(
        new DescribeVolumesCommand({
          Filters: [
            { Name: 'attachment.instance-id', Values: ids.slice(0, 2) },
            { Name: name, Values: [value] },
          ],
        }),
      );
      expect([name, out.Volumes!.length]).toEqual([name, n]);
    }
    const page = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
    expect(page.Volumes).toHaveLength(5);
    expect(page.NextToken).toBeTruthy();

    const target = await describeInstance(ec2, ids[0]!);
    const enis = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [ids[0]!] }] }));
    expect(enis.NetworkInterfaces).toHaveLength(1);
    const eni = enis.NetworkInterfaces![0]!;
    expect(eni).toMatchObject({
      Attachment: { InstanceId: ids[0], DeviceIndex: 0, Status: 'attached', InstanceOwnerId: s.admin.accountId },
      PrivateIpAddress: target.PrivateIpAddress,
      Status: 'in-use',
      RequesterManaged: false,
      TagSet: [],
    });
    for (const [name, value] of [
      ['addresses.private-ip-address', target.PrivateIpAddress!],
      ['private-ip-address', target.PrivateIpAddress!],
      ['mac-address', eni.MacAddress!],
      ['group-id', target.SecurityGroups![0]!.GroupId!],
      ['subnet-id', target.SubnetId!],
      ['vpc-id', target.VpcId!],
      ['status', 'in-use'],
      ['network-interface-id', eni.NetworkInterfaceId!],
    ] as const) {
      const out = await ec2.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [
            { Name: 'attachment.instance-id', Values: [ids[0]!] },
            { Name: name, Values: [value] },
          ],
        }),
      );
      expect([name, out.NetworkInterfaces!.length]).toEqual([name, 1]);
    }
    expect((await errorOf(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-00000000000000000'] })))).name).toBe('InvalidNetworkInterfaceID.NotFound');
  });

  test('attributes: describe, modify, and the states they need', async () => {
    const id = ids[11]!;
    const type = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceType' }));
    expect(type).toMatchObject({ InstanceId: id, InstanceType: { Value: 't3.small' } });
    const running = await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.large' } })));
    expect([running.name, running.message]).toEqual(['IncorrectInstanceState', `The instance '${id}' is not in the 'stopped' state.`]);
    expect((await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, UserData: { Value: Buffer.from('x') } })))).name).toBe('IncorrectInstanceState');
    expect((await errorOf(ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'colour' as never })))).name).toBe('InvalidParameterValue');

    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, SourceDestCheck: { Value: false } }));
    expect((await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'sourceDestCheck' }))).SourceDestCheck).toEqual({ Value: false });
    expect((await describeInstance(ec2, id)).SourceDestCheck).toBe(false);

    const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'attr-sg', Description: 'x' }));
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Groups: [sg.GroupId!] }));
    const groups = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'groupSet' }));
    expect(groups.Groups).toEqual([{ GroupId: sg.GroupId, GroupName: 'attr-sg' }]);
    expect((await describeInstance(ec2, id)).NetworkInterfaces![0]!.Groups).toEqual([{ GroupId: sg.GroupId, GroupName: 'attr-sg' }]);

    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Attribute: 'disableApiStop', Value: 'true' }));
    const stopDenied = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [id] })));
    expect(stopDenied.name).toBe('OperationNotPermitted');
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiStop: { Value: false } }));

    const hib = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [id], Hibernate: true })));
    expect(hib.name).toBe('UnsupportedHibernationConfiguration');

    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [id] });
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.large' } }));
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, UserData: { Value: Buffer.from('#!/bin/sh\n') } }));
    expect((await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }))).UserData?.Value).toBe(Buffer.from('#!/bin/sh\n').toString('base64'));
    expect((await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 'nope.big' } })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.large' }, EbsOptimized: { Value: true } })))).name).toBe(
      'InvalidParameterCombination',
    );
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false } }] }));
    const bdm = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'blockDeviceMapping' }));
    expect(bdm.BlockDeviceMappings![0]!.Ebs!.DeleteOnTermination).toBe(false);
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
    const now = await describeInstance(ec2, id);
    expect(now.InstanceType).toBe('t3.large');
    expect((s.app.driver as FakeDriver) && (await s.app.driver.inspect(id)).state).toBe('running');
  });

  test('ModifyInstanceMetadataOptions answers pending, then the instance shows the change applied', async () => {
    const id = ids[10]!;
    const out = await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'required', HttpPutResponseHopLimit: 3, InstanceMetadataTags: 'enabled' }));
    expect(out).toMatchObject({
      InstanceId: id,
      InstanceMetadataOptions: { State: 'pending', HttpTokens: 'required', HttpPutResponseHopLimit: 3, HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' },
    });
    expect((await describeInstance(ec2, id)).MetadataOptions).toMatchObject({ State: 'applied', HttpTokens: 'required', HttpPutResponseHopLimit: 3 });
    expect((await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpPutResponseHopLimit: 65 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'sometimes' as never })))).name).toBe('InvalidParameterValue');
  });

  test('a shutdown from inside the instance follows InstanceInitiatedShutdownBehavior', async () => {
    const [stopper] = await run();
    const [ender] = await run({ InstanceInitiatedShutdownBehavior: 'terminate' });
    const both = [stopper!.InstanceId!, ender!.InstanceId!];
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: both });
    for (const id of both) await s.app.driver.stop(id); // as if `poweroff` ran inside
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [both[0]!] });
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: [both[1]!] });
    expect((await describeInstance(ec2, both[0]!)).StateReason?.Code).toBe('Client.InstanceInitiatedShutdown');
  });
});
