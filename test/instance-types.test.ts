import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  paginateDescribeInstanceTypeOfferings,
  paginateDescribeInstanceTypes,
  type EC2Client,
  type InstanceTypeInfo,
  type InstanceTypeOffering,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer, errorOf } from './harness.js';
import { instanceTypes } from '../src/services/ec2/instance-types/catalog.js';

let s: TestServer;
let ec2: EC2Client;

async function allTypes(filters: { Name: string; Values: string[] }[]): Promise<InstanceTypeInfo[]> {
  const out: InstanceTypeInfo[] = [];
  for await (const page of paginateDescribeInstanceTypes({ client: ec2 }, { Filters: filters })) out.push(...(page.InstanceTypes ?? []));
  return out;
}

beforeAll(async () => {
  s = await startTestServer();
  ec2 = s.ec2();
});
afterAll(async () => {
  await s?.stop();
});

describe('DescribeInstanceTypes', () => {
  test('by name, with EC2-shaped details', async () => {
    const out = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t3.micro', 'm5.large'] }));
    const names = out.InstanceTypes!.map((t) => t.InstanceType).sort();
    expect(names).toEqual(['m5.large', 't3.micro']);
    const t3 = out.InstanceTypes!.find((t) => t.InstanceType === 't3.micro')!;
    expect(t3.VCpuInfo?.DefaultVCpus).toBe(2);
    expect(t3.MemoryInfo?.SizeInMiB).toBe(1024);
    expect(t3.BurstablePerformanceSupported).toBe(true);
    expect(t3.ProcessorInfo?.SupportedArchitectures).toEqual(['x86_64']);
  });

  test('unknown types are named in the error', async () => {
    const e = await errorOf(ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t3.micro', 'x9.huge' as _InstanceType, 'nope' as _InstanceType] })));
    expect(e.name).toBe('InvalidInstanceType');
    expect(e.message).toBe('The following supplied instance types do not exist: [x9.huge, nope]');
  });

  test('2 vCPUs and 8 GiB', async () => {
    const got = await allTypes([
      { Name: 'vcpu-info.default-vcpus', Values: ['2'] },
      { Name: 'memory-info.size-in-mib', Values: ['8192'] },
    ]);
    const names = got.map((t) => t.InstanceType);
    expect(names).toEqual(expect.arrayContaining(['m5.large', 't3.large', 'm7g.large']));
    for (const t of got) {
      expect(t.VCpuInfo?.DefaultVCpus).toBe(2);
      expect(t.MemoryInfo?.SizeInMiB).toBe(8192);
    }
    const expected = instanceTypes.filter((t) => t.VCpuInfo?.DefaultVCpus === 2 && t.MemoryInfo?.SizeInMiB === 8192).length;
    expect(got.length).toBe(expected);
  });

  test('arm64 only', async () => {
    const got = await allTypes([{ Name: 'processor-info.supported-architecture', Values: ['arm64'] }]);
    expect(got.length).toBeGreaterThan(10);
    expect(got.map((t) => t.InstanceType)).toContain('t4g.micro');
    for (const t of got) expect(t.ProcessorInfo?.SupportedArchitectures).toContain('arm64');
  });

  test('instance store, wildcards and lists', async () => {
    const local = await allTypes([{ Name: 'instance-storage-supported', Values: ['true'] }]);
    expect(local.length).toBeGreaterThan(5);
    for (const t of local) expect(t.InstanceStorageInfo?.TotalSizeInGB).toBeGreaterThan(0);
    expect(local.map((t) => t.InstanceType)).toContain('m5d.large');
    expect(local.map((t) => t.InstanceType)).not.toContain('m5.large');

    const m5 = await allTypes([{ Name: 'instance-type', Values: ['m5.*'] }]);
    for (const t of m5) expect(t.InstanceType).toMatch(/^m5\./);
    const nvme = await allTypes([
      { Name: 'instance-type', Values: ['i3.*'] },
      { Name: 'instance-storage-info.disk.type', Values: ['ssd'] },
    ]);
    expect(nvme.length).toBeGreaterThan(0);
    const valid = await allTypes([
      { Name: 'vcpu-info.valid-threads-per-core', Values: ['2'] },
      { Name: 'instance-type', Values: ['m5.large'] },
    ]);
    expect(valid.map((t) => t.InstanceType)).toEqual(['m5.large']);
    const bad = await errorOf(ec2.send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'vcpus', Values: ['2'] }] })));
    expect(bad.name).toBe('InvalidParameterValue');
  });

  test('the paginator walks the whole catalog once; MaxResults is 5..100', async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeInstanceTypes({ client: ec2, pageSize: 100 }, {})) {
      pages++;
      expect(page.InstanceTypes!.length).toBeLessThanOrEqual(100);
      seen.push(...page.InstanceTypes!.map((t) => t.InstanceType as string));
    }
    expect(pages).toBe(Math.ceil(instanceTypes.length / 100));
    expect(new Set(seen).size).toBe(instanceTypes.length);
    // Without MaxResults EC2 still pages, 100 at a time.
    const first = await ec2.send(new DescribeInstanceTypesCommand({}));
    expect(first.InstanceTypes).toHaveLength(100);
    expect(first.NextToken).toBeDefined();
    expect((await errorOf(ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 101 })))).name).toBe('InvalidParameterValue');
  });
});

describe('DescribeInstanceTypeOfferings', () => {
  async function offerings(input: { LocationType?: 'region' | 'availability-zone' | 'availability-zone-id'; Filters?: { Name: string; Values: string[] }[] }) {
    const out: InstanceTypeOffering[] = [];
    for await (const page of paginateDescribeInstanceTypeOfferings({ client: ec2, pageSize: 1000 }, input)) out.push(...(page.InstanceTypeOfferings ?? []));
    return out;
  }

  test('region by default', async () => {
    const all = await offerings({});
    expect(all.length).toBe(instanceTypes.length);
    for (const o of all) expect(o).toMatchObject({ LocationType: 'region', Location: 'us-east-1' });
  });

  test('zone offerings differ for the big types', async () => {
    const zone = (z: string) => offerings({ LocationType: 'availability-zone', Filters: [{ Name: 'location', Values: [z] }] });
    const a = (await zone('us-east-1a')).map((o) => o.InstanceType);
    const c = (await zone('us-east-1c')).map((o) => o.InstanceType);
    expect(a).toContain('p4d.24xlarge');
    expect(c).not.toContain('p4d.24xlarge');
    expect(c).toContain('t3.micro');
    expect(a.length).toBeGreaterThan(c.length);

    const p4d = await offerings({ LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: ['p4d.24xlarge'] }] });
    expect(p4d.map((o) => o.Location)).toEqual(['us-east-1a', 'us-east-1b']);
    const ids = await offerings({ LocationType: 'availability-zone-id', Filters: [{ Name: 'instance-type', Values: ['t3.micro'] }] });
    expect(ids.map((o) => o.Location)).toEqual(['use1-az1', 'use1-az2', 'use1-az3']);
  });

  test('paging and bad input', async () => {
    const first = await ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'availability-zone', MaxResults: 5 }));
    expect(first.InstanceTypeOfferings).toHaveLength(5);
    expect(first.NextToken).toBeDefined();
    const next = await ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'availability-zone', MaxResults: 5, NextToken: first.NextToken }));
    expect(next.InstanceTypeOfferings![0]!.InstanceType).not.toBe(first.InstanceTypeOfferings![0]!.InstanceType);
    expect((await errorOf(ec2.send(new DescribeInstanceTypeOfferingsCommand({ MaxResults: 1001 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'galaxy' as 'region' })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeInstanceTypeOfferingsCommand({ Filters: [{ Name: 'zone', Values: ['x'] }] })))).name).toBe('InvalidParameterValue');
  });
});
