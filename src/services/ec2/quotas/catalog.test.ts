import { describe, expect, test } from 'vitest';
import { instanceTypes } from '../instance-types/catalog.js';
import { findQuota, parseQuotaValue, QUOTAS, vcpuBucketOf, vcpuQuotaName, type VcpuBucket } from './catalog.js';

describe('the quota catalog', () => {
  test('names are unique, and every quota has an AWS code, a default and what it counts', () => {
    expect(new Set(QUOTAS.map((q) => q.name)).size).toBe(QUOTAS.length);
    for (const q of QUOTAS) {
      expect(q.code).toMatch(/^L-[0-9A-F]{8}$/);
      expect(Number.isInteger(q.default) && q.default >= 0).toBe(true);
      expect(q.counts.length).toBeGreaterThan(5);
    }
  });

  test("a new AWS account's defaults", () => {
    const d = (name: string) => findQuota(name)?.default;
    expect(d('running-on-demand-standard-vcpus')).toBe(5);
    for (const b of ['f', 'g-and-vt', 'p', 'x', 'inf', 'dl', 'trn', 'high-memory', 'hpc'] as VcpuBucket[]) expect(d(vcpuQuotaName(b))).toBe(0);
    expect([d('elastic-ips'), d('vpcs'), d('security-groups-per-vpc'), d('rules-per-security-group'), d('security-groups-per-network-interface')]).toEqual([5, 5, 2500, 60, 5]);
    expect(['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'].map((t) => d(`${t}-storage-tib`))).toEqual([50, 50, 50, 20, 50, 50, 50]);
    expect([d('io1-iops'), d('io2-iops')]).toEqual([300_000, 100_000]);
  });

  test.each([
    ['t3.micro', 'standard'],
    ['m7i.48xlarge', 'standard'],
    ['i3en.large', 'standard'],
    ['inf1.xlarge', 'inf'],
    ['d3.xlarge', 'standard'],
    ['dl1.24xlarge', 'dl'],
    ['h1.2xlarge', 'standard'],
    ['hpc7g.16xlarge', 'hpc'],
    ['trn1.2xlarge', 'trn'],
    ['t4g.nano', 'standard'],
    ['g5.xlarge', 'g-and-vt'],
    ['vt1.3xlarge', 'g-and-vt'],
    ['p4d.24xlarge', 'p'],
    ['f1.2xlarge', 'f'],
    ['x2idn.16xlarge', 'x'],
    ['u-6tb1.metal', 'high-memory'],
    ['u7i-12tb.224xlarge', 'high-memory'],
    ['z1d.large', 'standard'],
  ])('%s counts toward the %s bucket', (type, bucket) => {
    expect(vcpuBucketOf(type)).toBe(bucket);
  });

  test('every instance type cumulo offers falls in a bucket with a quota', () => {
    for (const t of instanceTypes) expect(findQuota(vcpuQuotaName(vcpuBucketOf(t.InstanceType!)))).toBeDefined();
  });

  test('values: whole numbers of the unit, known quotas only', () => {
    expect(parseQuotaValue('vpcs', ' 12 ')).toBe(12);
    expect(parseQuotaValue('vpcs', '0')).toBe(0);
    for (const bad of ['-1', '1.5', 'many', '', '2147483648']) expect(() => parseQuotaValue('vpcs', bad)).toThrow(/whole number of VPCs/);
    expect(() => parseQuotaValue('vpc', '1')).toThrow(/no quota named vpc; the quotas are: running-on-demand-standard-vcpus/);
  });
});
