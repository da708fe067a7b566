import { describe, expect, test } from 'vitest';
import type { Row } from '../store/schema.js';
import { buildInstanceSpec, buildInterfaceSpec, dnsDomainOf, metadataHopLimit, vpcDnsServer, type InterfaceRow, volumeLimits } from './specs.js';

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

describe('the network parts of the spec', () => {
  const eni = (over: Partial<InterfaceRow> = {}): InterfaceRow => ({
    id: 'eni-0123456789abcdef0',
    instance_id: 'i-0123456789abcdef0',
    device_index: 0,
    subnet_id: 'subnet-0123456789abcdef0',
    mac_address: '02:00:00:00:00:01',
    private_ip: '172.31.0.4',
    secondary_private_ips: '[]',
    security_groups: JSON.stringify([{ GroupId: 'sg-0000000000000000a', GroupName: 'default' }]),
    source_dest_check: 1,
    ...over,
  });

  test('an interface: addresses, groups, NAT, hop limit', () => {
    expect(
      buildInterfaceSpec(
        eni({
          device_index: 1,
          secondary_private_ips: JSON.stringify(['172.31.0.9', '172.31.0.10']),
          security_groups: JSON.stringify([
            { GroupId: 'sg-0000000000000000b', GroupName: 'web' },
            { GroupId: 'sg-0000000000000000a', GroupName: 'default' },
          ]),
          source_dest_check: 0,
        }),
        { subnetCidr: '172.31.0.0/20', metadataOptions: JSON.stringify({ HttpPutResponseHopLimit: 2 }), publicIps: [{ publicIp: '198.18.0.2', privateIp: '172.31.0.4' }] },
      ),
    ).toEqual({
      eniId: 'eni-0123456789abcdef0',
      instanceId: 'i-0123456789abcdef0',
      deviceIndex: 1,
      subnetId: 'subnet-0123456789abcdef0',
      subnetCidr: '172.31.0.0/20',
      macAddress: '02:00:00:00:00:01',
      privateIps: ['172.31.0.4', '172.31.0.9', '172.31.0.10'],
      groups: ['sg-0000000000000000b', 'sg-0000000000000000a'],
      publicIps: [{ publicIp: '198.18.0.2', privateIp: '172.31.0.4' }],
      sourceDestCheck: false,
      metadataHopLimit: 2,
    });
  });

  const cases: [string, Partial<InterfaceRow>, (s: ReturnType<typeof buildInterfaceSpec>) => void][] = [
    ['no public IP mapped', {}, (s) => expect(s.publicIps).toEqual([])],
    ['bad JSON gives no secondary IPs and no groups', { secondary_private_ips: 'x', security_groups: '{' }, (s) => expect([s.privateIps, s.groups]).toEqual([['172.31.0.4'], []])],
    ['the primary is never repeated as a secondary', { secondary_private_ips: '["172.31.0.4","172.31.0.5"]' }, (s) => expect(s.privateIps).toEqual(['172.31.0.4', '172.31.0.5'])],
    ['source/dest check on', {}, (s) => expect(s.sourceDestCheck).toBe(true)],
  ];
  test.each(cases)('%s', (_n, over, check) => check(buildInterfaceSpec(eni(over), { subnetCidr: '172.31.0.0/20', metadataOptions: '{}' })));

  test.each([
    ['{}', 1],
    [null, 1],
    ['{"HttpPutResponseHopLimit":64}', 64],
    ['{"HttpPutResponseHopLimit":0}', 1],
    ['not json', 1],
  ] as const)('hop limit of %s is %d', (json, n) => expect(metadataHopLimit(json)).toBe(n));

  test.each([
    ['172.31.0.0/16', '172.31.0.2'],
    ['10.0.0.0/28', '10.0.0.2'],
    ['192.168.4.0/22', '192.168.4.2'],
    ['2001:db8::/56', undefined],
    ['garbage', undefined],
  ])('the DNS server of %s is %s', (cidr, dns) => expect(vpcDnsServer(cidr)).toBe(dns));

  test.each([
    ['us-east-1', 'ec2.internal'],
    ['eu-west-1', 'eu-west-1.compute.internal'],
    ['us-east-2', 'us-east-2.compute.internal'],
  ])('the DNS domain of %s is %s', (region, domain) => expect(dnsDomainOf(region)).toBe(domain));

  test('the instance spec carries its interfaces, DNS server and domain', () => {
    const iface = buildInterfaceSpec(eni(), { subnetCidr: '10.1.0.0/24', metadataOptions: '{}' });
    const s = buildInstanceSpec(row({ region: 'ap-southeast-1' }), '10.1.0.0/24', { interfaces: [iface], vpcCidr: '10.1.0.0/16' });
    expect(s.interfaces).toEqual([iface]);
    expect(s.dnsServer).toBe('10.1.0.2');
    expect(s.dnsDomain).toBe('ap-southeast-1.compute.internal');
    // Without the VPC's block there is no resolver to name.
    const bare = buildInstanceSpec(row(), '10.1.0.0/24');
    expect([bare.interfaces, bare.dnsServer, bare.dnsDomain]).toEqual([undefined, undefined, undefined]);
  });
});

describe('volume limits for the block I/O controller', () => {
  const row = (volume_type: string, size_gib: number, iops: number | null = null, throughput: number | null = null) => ({ volume_type, size_gib, iops, throughput });
  test.each([
    ['gp3 defaults', row('gp3', 100), { iops: 3000, throughputMiBps: 125 }],
    ['gp3 provisioned', row('gp3', 100, 8000, 600), { iops: 8000, throughputMiBps: 600 }],
    ['gp2 small: 100 IOPS floor', row('gp2', 10, 100), { iops: 100, throughputMiBps: 250 }],
    ['gp2 3 IOPS/GiB', row('gp2', 1000, 3000), { iops: 3000, throughputMiBps: 250 }],
    ['gp2 16,000 IOPS cap', row('gp2', 16000, 16000), { iops: 16000, throughputMiBps: 250 }],
    ['gp2 follows its size, not a stale iops', row('gp2', 200, 100), { iops: 600, throughputMiBps: 250 }],
    ['io1 0.256 MiB/s per IOPS', row('io1', 100, 1000), { iops: 1000, throughputMiBps: 256 }],
    ['io1 capped at 1,000 MiB/s', row('io1', 1000, 64000), { iops: 64000, throughputMiBps: 1000 }],
    ['io2 capped at 4,000 MiB/s', row('io2', 4000, 256000), { iops: 256000, throughputMiBps: 4000 }],
    ['st1 small', row('st1', 125), { iops: 500, throughputMiBps: 30 }],
    ['st1 large: 500 MiB/s cap', row('st1', 16384), { iops: 500, throughputMiBps: 500 }],
    ['sc1', row('sc1', 1024), { iops: 250, throughputMiBps: 80 }],
    ['sc1 cap', row('sc1', 16384), { iops: 250, throughputMiBps: 250 }],
    ['standard', row('standard', 10), { iops: 200, throughputMiBps: 90 }],
  ])('%s', (_name, r, want) => {
    expect(volumeLimits(r)).toEqual(want);
  });
});
