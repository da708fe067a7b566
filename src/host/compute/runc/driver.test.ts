// The runc driver's pure parts (guest.ts, metrics.ts): the files the guest reads at boot, the counters of its interfaces.
import { describe, expect, test } from 'vitest';
import type { InstanceSpec } from '../driver.js';
import { guestFiles } from './guest.js';
import { parseNetDev } from './metrics.js';

const spec: InstanceSpec = {
  instanceId: 'i-0123456789abcdef0',
  accountId: '123456789012',
  region: 'us-east-1',
  availabilityZone: 'us-east-1a',
  imageId: 'ami-0123456789abcdef0',
  instanceType: 't3.micro',
  vcpus: 2,
  memoryMiB: 1024,
  hostname: 'ip-172-31-0-11.ec2.internal',
  privateIp: '172.31.0.11',
  macAddress: '02:00:00:00:00:01',
  subnetCidr: '172.31.0.0/20',
  publicKeys: ['ssh-ed25519 AAAA key'],
};

describe('guestFiles', () => {
  test("resolv.conf names the VPC resolver and the DHCP options' domain", () => {
    const f = guestFiles({ ...spec, dnsServer: '172.31.0.2', dnsDomain: 'ec2.internal' }, 'ec2-user').find((x) => x.path === '/etc/resolv.conf');
    expect(f).toEqual({ path: '/etc/resolv.conf', content: 'nameserver 172.31.0.2\nsearch ec2.internal\n', mode: 0o644 });
    expect(guestFiles({ ...spec, dnsServer: '10.0.0.2' }, 'ec2-user').find((x) => x.path === '/etc/resolv.conf')?.content).toBe('nameserver 10.0.0.2\n');
  });
  test("the instance's region, for the SDKs' configuration the init writes at first boot", () => {
    expect(guestFiles({ ...spec, region: 'eu-west-1' }, 'admin').find((x) => x.path === '/var/lib/cumulo/region')).toEqual({
      path: '/var/lib/cumulo/region',
      content: 'eu-west-1\n',
      mode: 0o644,
    });
  });
  test('no resolver known: the image keeps its own', () => {
    expect(guestFiles(spec, 'ec2-user').map((x) => x.path)).not.toContain('/etc/resolv.conf');
  });
});

describe('parseNetDev', () => {
  test('eth<n> summed as the instance sees them (In = received); loopback left out', () => {
    const dev = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0',
      '  eth0:    1500      10    0    0    0     0          0         0      700       5    0    0    0     0       0          0',
      '  eth1:      10       1    0    0    0     0          0         0       20       2    0    0    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(dev)).toEqual({ netInBytes: 1510, netInPackets: 11, netOutBytes: 720, netOutPackets: 7 });
    expect(parseNetDev('')).toEqual({ netInBytes: 0, netInPackets: 0, netOutBytes: 0, netOutPackets: 0 });
  });
});
