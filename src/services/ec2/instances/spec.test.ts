import { describe, expect, test } from 'vitest';
import type { Row } from '../../../store/schema.js';
import { buildInstanceSpec } from './spec.js';

function row(over: Partial<Row<'instances'>> = {}): Row<'instances'> {
  return {
    id: 'i-0123456789abcdef0',
    account_id: '123456789012',
    region: 'us-east-1',
    reservation_id: 'r-0123456789abcdef0',
    ami_launch_index: 0,
    image_id: 'ami-0123456789abcdef0',
    instance_type: 't3.micro',
    state: 'pending',
    desired_state: 'running',
    state_transition_reason: '',
    state_reason: null,
    key_name: null,
    subnet_id: 'subnet-0123456789abcdef0',
    vpc_id: 'vpc-0123456789abcdef0',
    availability_zone: 'us-east-1a',
    private_ip: '172.31.0.4',
    public_ip: null,
    mac_address: '02:00:00:00:00:01',
    client_token: null,
    user_data: null,
    shutdown_behavior: 'stop',
    disable_api_termination: 0,
    disable_api_stop: 0,
    ebs_optimized: 1,
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
    architecture: 'x86_64',
    hypervisor: 'xen',
    virtualization_type: 'hvm',
    root_device_type: 'ebs',
    ena_support: 1,
    boot_mode: null,
    platform_details: 'Linux/UNIX',
    launch_options: '{}',
    ssh_public_key: null,
    boots: 0,
    console_output: null,
    console_at: null,
    ...over,
  };
}

describe('InstanceSpec builder', () => {
  test('a plain instance', () => {
    expect(buildInstanceSpec(row(), '172.31.0.0/20')).toEqual({
      instanceId: 'i-0123456789abcdef0',
      accountId: '123456789012',
      region: 'us-east-1',
      availabilityZone: 'us-east-1a',
      imageId: 'ami-0123456789abcdef0',
      instanceType: 't3.micro',
      vcpus: 2,
      memoryMiB: 1024,
      hostname: 'ip-172-31-0-4.ec2.internal',
      privateIp: '172.31.0.4',
      macAddress: '02:00:00:00:00:01',
      subnetCidr: '172.31.0.0/20',
      vpcId: 'vpc-0123456789abcdef0',
      publicKeys: [],
      metadataHopLimit: 1,
    });
  });

  test('the host rows: the image source, the root volume', () => {
    const s = buildInstanceSpec(row(), '172.31.0.0/20', {
      imageSource: JSON.stringify({ builtin: 'minimal', version: '20261122', sshUser: 'ec2-user' }),
      rootVolume: { volume_id: 'vol-0123456789abcdef0', device: '/dev/xvda', size_gib: 8 },
    });
    expect(s.imageSource).toEqual({ builtin: 'minimal', version: '20261122', sshUser: 'ec2-user' });
    expect(s.rootVolume).toEqual({ volumeId: 'vol-0123456789abcdef0', deviceName: '/dev/xvda', sizeGiB: 8 });
    expect(buildInstanceSpec(row(), '172.31.0.0/20', { imageSource: '{"snapshots":[]}' }).imageSource).toBeUndefined();
  });

  const cases: [string, Partial<Row<'instances'>>, (s: ReturnType<typeof buildInstanceSpec>) => void][] = [
    ['user data is decoded from base64', { user_data: Buffer.from('#!/bin/sh\necho hi\n').toString('base64') }, (s) => expect(s.userData?.toString()).toBe('#!/bin/sh\necho hi\n')],
    ['the key pair kept at launch', { ssh_public_key: 'ssh-ed25519 AAAA key' }, (s) => expect(s.publicKeys).toEqual(['ssh-ed25519 AAAA key'])],
    ['the type gives vCPUs and memory', { instance_type: 'm5.xlarge' }, (s) => expect([s.vcpus, s.memoryMiB]).toEqual([4, 16384])],
    ['CpuOptions chosen at launch change the vCPUs', { launch_options: JSON.stringify({ CpuOptions: { CoreCount: 1, ThreadsPerCore: 1 } }) }, (s) => expect(s.vcpus).toBe(1)],
    ['a type with instance storage gets its disks', { instance_type: 'm5d.large' }, (s) => expect(s.instanceStore).toEqual([{ count: 1, sizeGiB: 75, type: 'ssd' }])],
    ['an EBS-only type has no instance store', { instance_type: 't3.nano' }, (s) => expect(s.instanceStore).toBeUndefined()],
    ['the metadata hop limit', { metadata_options: JSON.stringify({ HttpTokens: 'required', HttpPutResponseHopLimit: 3 }) }, (s) => expect(s.metadataHopLimit).toBe(3)],
    ['outside us-east-1 the hostname names the region', { region: 'eu-west-1', private_ip: '10.0.0.9' }, (s) => expect(s.hostname).toBe('ip-10-0-0-9.eu-west-1.compute.internal')],
  ];
  test.each(cases)('%s', (_name, over, check) => check(buildInstanceSpec(row(over), '172.31.0.0/20')));
});
