// A fixture instance for the metadata service's tests.
import type { InstanceMetadata } from './metadata.js';

export function fixtureMetadata(over: Partial<InstanceMetadata> = {}): InstanceMetadata {
  return {
    accountId: '123456789012',
    instanceId: 'i-0123456789abcdef0',
    imageId: 'ami-0abcdef1234567890',
    instanceType: 't3.micro',
    architecture: 'x86_64',
    region: 'us-east-1',
    availabilityZone: 'us-east-1a',
    availabilityZoneId: 'use1-az1',
    reservationId: 'r-0123456789abcdef0',
    amiLaunchIndex: 0,
    pendingTime: new Date('2024-05-06T07:08:09.123Z'),
    hostname: 'ip-172-31-0-11.ec2.internal',
    privateIp: '172.31.0.11',
    mac: '02:ab:cd:00:00:01',
    securityGroups: [
      { id: 'sg-0123456789abcdef0', name: 'default' },
      { id: 'sg-0fedcba9876543210', name: 'web' },
    ],
    key: { name: 'my-key', openssh: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample my-key' },
    userData: Buffer.from('#!/bin/sh\necho hello\n'),
    blockDevices: { ami: '/dev/xvda', root: '/dev/xvda', ebs: ['sdf'], ephemeral: ['sdb'] },
    interfaces: [
      {
        mac: '02:ab:cd:00:00:01',
        deviceNumber: 0,
        interfaceId: 'eni-0123456789abcdef0',
        ownerId: '123456789012',
        hostname: 'ip-172-31-0-11.ec2.internal',
        privateIps: ['172.31.0.11'],
        subnetId: 'subnet-0123456789abcdef0',
        subnetCidr: '172.31.0.0/20',
        vpcId: 'vpc-0123456789abcdef0',
        vpcCidrs: ['172.31.0.0/16'],
        securityGroups: [
          { id: 'sg-0123456789abcdef0', name: 'default' },
          { id: 'sg-0fedcba9876543210', name: 'web' },
        ],
      },
    ],
    options: { httpTokens: 'optional', httpEndpoint: 'enabled', hopLimit: 1 },
    ...over,
  };
}
