import { describe, expect, test } from 'vitest';
import { privateDnsName, publicDnsName } from './ec2-names.js';

describe('EC2 DNS names', () => {
  test('private DNS names', () => {
    expect(privateDnsName('172.31.5.9', 'us-east-1')).toBe('ip-172-31-5-9.ec2.internal');
    expect(privateDnsName('10.0.0.5', 'eu-west-1')).toBe('ip-10-0-0-5.eu-west-1.compute.internal');
  });

  test('public DNS names, as EC2 spells them', () => {
    expect(publicDnsName('198.18.0.2', 'us-east-1')).toBe('ec2-198-18-0-2.compute-1.amazonaws.com');
    expect(publicDnsName('198.18.3.4', 'eu-west-1')).toBe('ec2-198-18-3-4.eu-west-1.compute.amazonaws.com');
    expect(publicDnsName('54.1.2.3', 'us-east-1')).toBe('ec2-54-1-2-3.compute-1.amazonaws.com');
    expect(publicDnsName('54.1.2.3', 'eu-west-1')).toBe('ec2-54-1-2-3.eu-west-1.compute.amazonaws.com');
  });
});
