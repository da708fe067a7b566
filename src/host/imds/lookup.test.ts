// The lookup against a real store: instances launched through the SDK (fake driver), read back as
// the metadata service sees them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  ImportKeyPairCommand,
  ModifyInstanceMetadataOptionsCommand,
  RunInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer } from '../../../test/harness.js';
import { identityDocument, resolvePath } from './metadata.js';
import { loadInstanceMetadata, metadataLookup } from './lookup.js';
import { hostFacts } from '../../host-facts.js';

let server: TestServer;
let instance: Instance;
const publicKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIz5Hr0fBKu8Y6ZkYh0JxCw8n1u3cQ7m2d8m3z8cZQ3O';

beforeAll(async () => {
  server = await startTestServer();
  const ec2 = server.ec2();
  const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
  await ec2.send(new ImportKeyPairCommand({ KeyName: 'imds-key', PublicKeyMaterial: Buffer.from(publicKey) }));
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: images.Images![0]!.ImageId!,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      KeyName: 'imds-key',
      UserData: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'imds-test' }] }],
    }),
  );
  instance = run.Instances![0]!;
});
afterAll(() => server?.stop());

describe('loadInstanceMetadata', () => {
  test('says what DescribeInstances says', async () => {
    const m = (await loadInstanceMetadata(hostFacts(server.app.db).metadata, instance.InstanceId!))!;
    const d = (await server.ec2().send(new DescribeInstancesCommand({ InstanceIds: [instance.InstanceId!] }))).Reservations![0]!;
    const i = d.Instances![0]!;
    expect(m).toMatchObject({
      accountId: d.OwnerId,
      instanceId: i.InstanceId,
      imageId: i.ImageId,
      instanceType: 't3.micro',
      architecture: 'x86_64',
      region: 'us-east-1',
      availabilityZone: i.Placement!.AvailabilityZone,
      availabilityZoneId: expect.stringMatching(/^use1-az\d$/),
      reservationId: d.ReservationId,
      amiLaunchIndex: 0,
      hostname: i.PrivateDnsName,
      privateIp: i.PrivateIpAddress,
      mac: i.NetworkInterfaces![0]!.MacAddress,
      key: { name: 'imds-key' },
      options: { httpTokens: 'optional', httpEndpoint: 'enabled', hopLimit: 1 },
    });
    expect(m.key!.openssh).toContain('AAAAC3NzaC1lZDI1NTE5');
    expect(m.userData?.toString()).toBe('#!/bin/sh\necho hi\n');
    expect(m.securityGroups).toEqual(i.SecurityGroups!.map((g) => ({ id: g.GroupId, name: g.GroupName })));
    expect(m.pendingTime.getTime()).toBe(i.LaunchTime!.getTime());
    expect(m.blockDevices.root).toBe(i.RootDeviceName);
    const eni = m.interfaces[0]!;
    expect(eni).toMatchObject({
      deviceNumber: 0,
      interfaceId: i.NetworkInterfaces![0]!.NetworkInterfaceId,
      subnetId: i.SubnetId,
      vpcId: i.VpcId,
      privateIps: [i.PrivateIpAddress],
    });
    expect(eni.subnetCidr).toMatch(/^172\.31\.\d+\.0\/20$/);
    expect(eni.vpcCidrs).toEqual(['172.31.0.0/16']);
    expect(m.tags).toBeUndefined();
    expect(JSON.parse(identityDocument(m))).toMatchObject({ instanceId: i.InstanceId, accountId: d.OwnerId, region: 'us-east-1' });
  });

  test('tags appear once InstanceMetadataTags is enabled; options follow ModifyInstanceMetadataOptions', async () => {
    const ec2 = server.ec2();
    await ec2.send(new CreateTagsCommand({ Resources: [instance.InstanceId!], Tags: [{ Key: 'env', Value: 'test' }] }));
    await ec2.send(
      new ModifyInstanceMetadataOptionsCommand({ InstanceId: instance.InstanceId!, InstanceMetadataTags: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 3 }),
    );
    const m = (await loadInstanceMetadata(hostFacts(server.app.db).metadata, instance.InstanceId!))!;
    expect(m.tags).toEqual({ Name: 'imds-test', env: 'test' });
    expect(m.options).toEqual({ httpTokens: 'required', httpEndpoint: 'enabled', hopLimit: 3 });
    const r = resolvePath(m, '/latest/meta-data/tags/instance/Name');
    expect(r.status === 200 && r.body).toBe('imds-test');
  });

  test('unknown instances have no metadata; the lookup asks the host which VPC, then who holds the address there', async () => {
    expect(await loadInstanceMetadata(hostFacts(server.app.db).metadata, 'i-00000000000000000')).toBeUndefined();
    const asked: string[] = [];
    const uplink = '169.254.130.7';
    const lookup = metadataLookup(hostFacts(server.app.db).metadata, (local) => {
      asked.push(local);
      return local === uplink ? instance.VpcId : local === '169.254.130.8' ? 'vpc-0000000000000000f' : undefined;
    });
    expect((await lookup(instance.PrivateIpAddress!, uplink))?.instanceId).toBe(instance.InstanceId);
    expect(asked).toEqual([uplink]);
    // The same address reaching another VPC's uplink, or no uplink at all: nobody.
    expect(await lookup(instance.PrivateIpAddress!, '169.254.130.8')).toBeUndefined();
    expect(await lookup(instance.PrivateIpAddress!, '127.0.0.1')).toBeUndefined();
    // An address no interface of the VPC holds, and garbage.
    expect(await lookup('172.31.255.254', uplink)).toBeUndefined();
    expect(await lookup('%', uplink)).toBeUndefined();
  });

  test('a secondary private IP names its instance too', async () => {
    const eni = instance.NetworkInterfaces![0]!.NetworkInterfaceId!;
    await server.app.db
      .updateTable('network_interfaces')
      .set({ secondary_private_ips: JSON.stringify(['172.31.250.9']) })
      .where('id', '=', eni)
      .execute();
    try {
      expect(await hostFacts(server.app.db).metadata.instanceHolding(instance.VpcId!, '172.31.250.9')).toBe(instance.InstanceId);
      expect(await hostFacts(server.app.db).metadata.instanceHolding(instance.VpcId!, '172.31.250.99')).toBeUndefined();
      expect(await hostFacts(server.app.db).metadata.instanceHolding('vpc-0000000000000000f', '172.31.250.9')).toBeUndefined();
    } finally {
      await server.app.db.updateTable('network_interfaces').set({ secondary_private_ips: '[]' }).where('id', '=', eni).execute();
    }
  });
});
