import { describe, expect, it } from 'vitest';
import type { InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { defaultInstanceType, findInstanceType, instanceFamily, instanceStoreDisks, instanceTypes, isOfferedIn } from './catalog.js';

function get(name: string): InstanceTypeInfo {
  const t = findInstanceType(name);
  if (!t) throw new Error(`missing instance type ${name}`);
  return t;
}

const names = instanceTypes.map((t) => t.InstanceType as string);

describe('instance type catalog: coverage', () => {
  it('has unique names', () => {
    expect(new Set(names).size).toBe(names.length);
  });

  it('covers the families users reach for', () => {
    const families = new Set(names.map(instanceFamily));
    for (const f of [
      't2',
      't3',
      't3a',
      't4g',
      'm5',
      'm5a',
      'm5d',
      'm6i',
      'm6g',
      'm7i',
      'm7g',
      'c5',
      'c5d',
      'c6i',
      'c6g',
      'c7i',
      'c7g',
      'r5',
      'r5d',
      'r6i',
      'r6g',
      'r7i',
      'x1e',
      'x2idn',
      'z1d',
      'i3',
      'i3en',
      'i4i',
      'd2',
      'd3',
      'p3',
      'p4d',
      'g4dn',
      'g5',
      'inf1',
      'trn1',
      'm1',
      'm3',
      'c4',
    ]) {
      expect(families, f).toContain(f);
    }
    expect(instanceTypes.length).toBeGreaterThanOrEqual(120);
  });

  it('lists every burstable size from nano to 2xlarge', () => {
    for (const f of ['t2', 't3', 't3a', 't4g']) {
      for (const s of ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge']) {
        expect(findInstanceType(`${f}.${s}`), `${f}.${s}`).toBeDefined();
      }
    }
  });

  it('marks the old Xen families as previous generation', () => {
    for (const n of ['m1.small', 'm1.large', 'm3.medium', 'c4.large', 'c4.8xlarge']) {
      expect(get(n).CurrentGeneration, n).toBe(false);
    }
    expect(get('m7i.large').CurrentGeneration).toBe(true);
    expect(get('t3.micro').CurrentGeneration).toBe(true);
  });
});

describe('instance type catalog: every entry is internally consistent', () => {
  it.each(names)('%s', (name) => {
    const t = get(name);
    const metal = name.split('.')[1]!.startsWith('metal');

    // CPU
    const v = t.VCpuInfo!;
    expect(v.DefaultVCpus).toBe(v.DefaultCores! * v.DefaultThreadsPerCore!);
    if (v.ValidCores) {
      expect(Math.max(...v.ValidCores)).toBeLessThanOrEqual(v.DefaultCores!);
      expect([...v.ValidCores].sort((a, b) => a - b)).toEqual(v.ValidCores);
      expect(v.ValidThreadsPerCore).toContain(v.DefaultThreadsPerCore);
    }
    const arch = t.ProcessorInfo!.SupportedArchitectures!;
    expect(arch.length).toBeGreaterThan(0);
    expect(arch.includes('arm64')).toBe(t.ProcessorInfo!.Manufacturer === 'AWS');
    expect(t.MemoryInfo!.SizeInMiB).toBeGreaterThan(0);

    // Bare metal: no hypervisor
    expect(t.BareMetal).toBe(metal);
    if (metal) expect(t.Hypervisor).toBeUndefined();
    else expect(['nitro', 'xen']).toContain(t.Hypervisor);

    // Instance store
    expect(t.InstanceStorageSupported).toBe(t.InstanceStorageInfo !== undefined);
    if (t.InstanceStorageInfo) {
      const sum = t.InstanceStorageInfo.Disks!.reduce((acc, d) => acc + d.Count! * d.SizeInGB!, 0);
      expect(t.InstanceStorageInfo.TotalSizeInGB).toBe(sum);
      for (const d of t.InstanceStorageInfo.Disks!) expect(['ssd', 'hdd']).toContain(d.Type);
    }

    // EBS
    const ebs = t.EbsInfo!;
    expect(['default', 'supported', 'unsupported']).toContain(ebs.EbsOptimizedSupport);
    if (ebs.EbsOptimizedInfo) {
      const e = ebs.EbsOptimizedInfo;
      expect(ebs.EbsOptimizedSupport).not.toBe('unsupported');
      expect(e.BaselineBandwidthInMbps!).toBeLessThanOrEqual(e.MaximumBandwidthInMbps!);
      expect(e.BaselineIops!).toBeLessThanOrEqual(e.MaximumIops!);
      expect(e.BaselineThroughputInMBps).toBe(e.BaselineBandwidthInMbps! / 8);
      expect(e.MaximumThroughputInMBps).toBe(e.MaximumBandwidthInMbps! / 8);
    }

    // Network
    const n = t.NetworkInfo!;
    expect(n.NetworkPerformance).toBeTruthy();
    expect(n.NetworkCards).toHaveLength(n.MaximumNetworkCards!);
    expect(n.NetworkCards!.reduce((acc, c) => acc + c.MaximumNetworkInterfaces!, 0)).toBe(n.MaximumNetworkInterfaces);
    expect(n.DefaultNetworkCardIndex).toBe(0);
    expect(n.Ipv4AddressesPerInterface).toBeGreaterThan(0);
    if (n.Ipv6Supported) expect(n.Ipv6AddressesPerInterface).toBe(n.Ipv4AddressesPerInterface);
    else expect(n.Ipv6AddressesPerInterface).toBe(0);
    expect(n.EfaSupported).toBe(n.EfaInfo !== undefined);
    for (const c of n.NetworkCards!) {
      if (c.BaselineBandwidthInGbps !== undefined) {
        expect(c.PeakBandwidthInGbps!).toBeGreaterThanOrEqual(c.BaselineBandwidthInGbps);
      }
    }

    // Accelerators
    if (t.GpuInfo) {
      const total = t.GpuInfo.Gpus!.reduce((acc, g) => acc + g.Count! * g.MemoryInfo!.SizeInMiB!, 0);
      expect(t.GpuInfo.TotalGpuMemoryInMiB).toBe(total);
    }
    if (t.NeuronInfo) {
      const total = t.NeuronInfo.NeuronDevices!.reduce((acc, d) => acc + d.Count! * d.MemoryInfo!.SizeInMiB!, 0);
      expect(t.NeuronInfo.TotalNeuronDeviceMemoryInMiB).toBe(total);
    }

    // Misc flags
    if (t.BurstablePerformanceSupported) {
      expect(t.PlacementGroupInfo!.SupportedStrategies).not.toContain('cluster');
    }
    if (t.HibernationSupported) expect(metal).toBe(false);
    expect(t.SupportedUsageClasses).toContain('on-demand');
    expect(t.SupportedRootDeviceTypes).toContain('ebs');
    expect(t.SupportedVirtualizationTypes).toContain('hvm');
    expect(t.SupportedBootModes!.length).toBeGreaterThan(0);
    expect(typeof t.FreeTierEligible).toBe('boolean');
    expect(typeof t.DedicatedHostsSupported).toBe('boolean');
    expect(typeof t.AutoRecoverySupported).toBe('boolean');
  });

  it('never shrinks memory as sizes grow within a family', () => {
    const byFamily = new Map<string, InstanceTypeInfo[]>();
    for (const t of instanceTypes) {
      const f = instanceFamily(t.InstanceType as string);
      byFamily.set(f, [...(byFamily.get(f) ?? []), t]);
    }
    for (const [family, types] of byFamily) {
      for (let i = 1; i < types.length; i++) {
        expect(types[i]!.MemoryInfo!.SizeInMiB!, `${family}: ${types[i]!.InstanceType}`).toBeGreaterThanOrEqual(types[i - 1]!.MemoryInfo!.SizeInMiB!);
      }
    }
  });
});

describe('instance type catalog: published figures', () => {
  const cpuMem: [string, number, number][] = [
    ['t2.micro', 1, 1024],
    ['t2.nano', 1, 512],
    ['t3.micro', 2, 1024],
    ['t3.nano', 2, 512],
    ['t4g.micro', 2, 1024],
    ['m5.large', 2, 8192],
    ['m5.24xlarge', 96, 393216],
    ['c5.xlarge', 4, 8192],
    ['c5.9xlarge', 36, 73728],
    ['c5.18xlarge', 72, 147456],
    ['r5.2xlarge', 8, 65536],
    ['m6g.medium', 1, 4096],
    ['c7g.16xlarge', 64, 131072],
    ['r7i.48xlarge', 192, 1572864],
    ['i3.large', 2, 15616],
    ['i3.metal', 72, 524288],
    ['x1e.xlarge', 4, 124928],
    ['x2idn.16xlarge', 64, 1048576],
    ['z1d.3xlarge', 12, 98304],
    ['d2.8xlarge', 36, 249856],
    ['p3.2xlarge', 8, 62464],
    ['p4d.24xlarge', 96, 1179648],
    ['trn1.32xlarge', 128, 524288],
    ['m1.small', 1, 1740],
    ['m3.medium', 1, 3840],
    ['c4.8xlarge', 36, 61440],
  ];
  it.each(cpuMem)('%s has %i vCPUs and %i MiB', (name, vcpus, mib) => {
    const t = get(name);
    expect(t.VCpuInfo!.DefaultVCpus).toBe(vcpus);
    expect(t.MemoryInfo!.SizeInMiB).toBe(mib);
  });

  it('t2.micro is a Xen burstable with i386 support and a free tier', () => {
    const t = get('t2.micro');
    expect(t.Hypervisor).toBe('xen');
    expect(t.BurstablePerformanceSupported).toBe(true);
    expect(t.ProcessorInfo!.SupportedArchitectures).toEqual(['i386', 'x86_64']);
    expect(t.FreeTierEligible).toBe(true);
    expect(t.NetworkInfo!.NetworkPerformance).toBe('Low to Moderate');
    expect(t.NetworkInfo!.MaximumNetworkInterfaces).toBe(2);
    expect(t.NetworkInfo!.Ipv4AddressesPerInterface).toBe(2);
    expect(t.EbsInfo!.EbsOptimizedSupport).toBe('unsupported');
  });

  it('t3.micro has 2 vCPUs as 1 core x 2 threads', () => {
    const v = get('t3.micro').VCpuInfo!;
    expect(v).toMatchObject({ DefaultVCpus: 2, DefaultCores: 1, DefaultThreadsPerCore: 2 });
    expect(get('t3.micro').NetworkInfo!.NetworkPerformance).toBe('Up to 5 Gigabit');
  });

  it('t4g.micro is arm64 Graviton', () => {
    const t = get('t4g.micro');
    expect(t.ProcessorInfo!.SupportedArchitectures).toEqual(['arm64']);
    expect(t.ProcessorInfo!.Manufacturer).toBe('AWS');
    expect(t.SupportedBootModes).toEqual(['uefi']);
  });

  it('m5.large: network and EBS', () => {
    const t = get('m5.large');
    expect(t.Hypervisor).toBe('nitro');
    expect(t.NetworkInfo).toMatchObject({
      NetworkPerformance: 'Up to 10 Gigabit',
      MaximumNetworkInterfaces: 3,
      Ipv4AddressesPerInterface: 10,
      Ipv6AddressesPerInterface: 10,
      EnaSupport: 'required',
    });
    expect(t.EbsInfo!.EbsOptimizedInfo).toMatchObject({
      BaselineBandwidthInMbps: 650,
      MaximumBandwidthInMbps: 4750,
      BaselineIops: 3600,
      MaximumIops: 18750,
    });
    expect(t.VCpuInfo!.ValidThreadsPerCore).toEqual([1, 2]);
  });

  it('network strings and interface limits of larger sizes', () => {
    expect(get('m6i.large').NetworkInfo!.NetworkPerformance).toBe('Up to 12.5 Gigabit');
    expect(get('m6i.32xlarge').NetworkInfo!.NetworkPerformance).toBe('50 Gigabit');
    expect(get('m6i.32xlarge').NetworkInfo!.EfaSupported).toBe(true);
    expect(get('c5.9xlarge').NetworkInfo!.NetworkPerformance).toBe('12 Gigabit');
    expect(get('m5.24xlarge').NetworkInfo).toMatchObject({ MaximumNetworkInterfaces: 15, Ipv4AddressesPerInterface: 50 });
    expect(get('m5.4xlarge').NetworkInfo).toMatchObject({ MaximumNetworkInterfaces: 8, Ipv4AddressesPerInterface: 30 });
    expect(get('t3a.small').NetworkInfo).toMatchObject({ MaximumNetworkInterfaces: 2, Ipv4AddressesPerInterface: 4 });
  });

  it('i3.large has one 475 GB NVMe SSD', () => {
    const s = get('i3.large').InstanceStorageInfo!;
    expect(s.Disks).toEqual([{ SizeInGB: 475, Count: 1, Type: 'ssd' }]);
    expect(s.TotalSizeInGB).toBe(475);
    expect(s.NvmeSupport).toBe('required');
  });

  it('m5d.large has one 75 GB NVMe SSD', () => {
    const s = get('m5d.large').InstanceStorageInfo!;
    expect(s.Disks).toEqual([{ SizeInGB: 75, Count: 1, Type: 'ssd' }]);
    expect(s.NvmeSupport).toBe('required');
    expect(get('m5d.24xlarge').InstanceStorageInfo!.TotalSizeInGB).toBe(3600);
  });

  it('d2 and d3 have HDD instance store', () => {
    expect(get('d2.xlarge').InstanceStorageInfo!.Disks).toEqual([{ SizeInGB: 2048, Count: 3, Type: 'hdd' }]);
    expect(get('d3.8xlarge').InstanceStorageInfo!.Disks![0]).toMatchObject({ Count: 24, Type: 'hdd' });
  });

  it('p3.2xlarge has one V100 with 16 GiB', () => {
    const g = get('p3.2xlarge').GpuInfo!;
    expect(g.Gpus).toEqual([{ Name: 'V100', Manufacturer: 'NVIDIA', Count: 1, MemoryInfo: { SizeInMiB: 16384 } }]);
    expect(g.TotalGpuMemoryInMiB).toBe(16384);
    expect(get('p3.16xlarge').GpuInfo!.TotalGpuMemoryInMiB).toBe(8 * 16384);
  });

  it('g4dn.xlarge has one T4 with 16 GiB and a 125 GB NVMe SSD', () => {
    const t = get('g4dn.xlarge');
    expect(t.GpuInfo!.Gpus).toEqual([{ Name: 'T4', Manufacturer: 'NVIDIA', Count: 1, MemoryInfo: { SizeInMiB: 16384 } }]);
    expect(t.InstanceStorageInfo!.Disks).toEqual([{ SizeInGB: 125, Count: 1, Type: 'ssd' }]);
    expect(t.InstanceStorageInfo!.NvmeSupport).toBe('required');
    expect(t.VCpuInfo!.DefaultVCpus).toBe(4);
  });

  it('p4d.24xlarge spreads 60 interfaces over 4 network cards with EFA', () => {
    const n = get('p4d.24xlarge').NetworkInfo!;
    expect(n.NetworkPerformance).toBe('4x 100 Gigabit');
    expect(n.MaximumNetworkCards).toBe(4);
    expect(n.NetworkCards!.map((c) => c.MaximumNetworkInterfaces)).toEqual([15, 15, 15, 15]);
    expect(n.EfaSupported).toBe(true);
    expect(get('p4d.24xlarge').GpuInfo!.Gpus![0]).toMatchObject({ Name: 'A100', Count: 8 });
  });

  it('inf1 and trn1 describe their Neuron devices', () => {
    const inf = get('inf1.6xlarge');
    expect(inf.InferenceAcceleratorInfo!.Accelerators).toEqual([{ Name: 'Inferentia', Manufacturer: 'AWS', Count: 4, MemoryInfo: { SizeInMiB: 8192 } }]);
    expect(inf.NeuronInfo!.TotalNeuronDeviceMemoryInMiB).toBe(4 * 8192);
    const trn = get('trn1.32xlarge');
    expect(trn.NeuronInfo!.NeuronDevices![0]).toMatchObject({ Name: 'Trainium', Count: 16 });
    expect(trn.InferenceAcceleratorInfo).toBeUndefined();
    expect(trn.NetworkInfo!.MaximumNetworkCards).toBe(8);
  });

  it('legacy m1.small matches EC2', () => {
    const t = get('m1.small');
    expect(t.SupportedRootDeviceTypes).toEqual(['ebs', 'instance-store']);
    expect(t.SupportedVirtualizationTypes).toEqual(['hvm', 'paravirtual']);
    expect(t.InstanceStorageInfo!.Disks).toEqual([{ SizeInGB: 160, Count: 1, Type: 'hdd' }]);
    expect(t.NetworkInfo!.NetworkPerformance).toBe('Low');
    expect(t.NetworkInfo!.Ipv6Supported).toBe(false);
  });

  it('bare metal has no hypervisor and no hibernation', () => {
    for (const n of ['m5.metal', 'c6g.metal', 'm7i.metal-48xl', 'i3.metal']) {
      const t = get(n);
      expect(t.BareMetal, n).toBe(true);
      expect(t.Hypervisor, n).toBeUndefined();
      expect(t.HibernationSupported, n).toBe(false);
    }
  });
});

describe('helpers', () => {
  it('findInstanceType returns undefined for unknown names', () => {
    expect(findInstanceType('m5.huge')).toBeUndefined();
    expect(findInstanceType('')).toBeUndefined();
    expect(findInstanceType('m5.large')!.InstanceType).toBe('m5.large');
  });

  it('instanceFamily takes the part before the dot', () => {
    expect(instanceFamily('m5.large')).toBe('m5');
    expect(instanceFamily('m7i.metal-24xl')).toBe('m7i');
    expect(instanceFamily('u-6tb1.metal')).toBe('u-6tb1');
    expect(instanceFamily('m5')).toBe('m5');
  });

  it('defaultInstanceType is m1.small and in the catalog', () => {
    expect(defaultInstanceType).toBe('m1.small');
    expect(findInstanceType(defaultInstanceType)).toBeDefined();
  });

  it('instanceStoreDisks', () => {
    expect(instanceStoreDisks('m5.large')).toEqual([]);
    expect(instanceStoreDisks('nope.large')).toEqual([]);
    expect(instanceStoreDisks('i3.large')).toEqual([{ count: 1, sizeGiB: 475, type: 'ssd' }]);
    expect(instanceStoreDisks('i3en.24xlarge')).toEqual([{ count: 8, sizeGiB: 7500, type: 'ssd' }]);
    expect(instanceStoreDisks('d2.xlarge')).toEqual([{ count: 3, sizeGiB: 2048, type: 'hdd' }]);
  });

  it('isOfferedIn: everything everywhere, big accelerated types only in two zones', () => {
    for (let zone = 0; zone < 6; zone++) {
      expect(isOfferedIn('m5.large', zone)).toBe(true);
      expect(isOfferedIn('t2.micro', zone)).toBe(true);
      expect(isOfferedIn('g4dn.xlarge', zone)).toBe(true);
    }
    for (const t of ['p4d.24xlarge', 'trn1.2xlarge', 'trn1.32xlarge', 'x2idn.16xlarge']) {
      expect(isOfferedIn(t, 0), t).toBe(true);
      expect(isOfferedIn(t, 1), t).toBe(true);
      expect(isOfferedIn(t, 2), t).toBe(false);
      expect(isOfferedIn(t, 3), t).toBe(false);
    }
    expect(isOfferedIn('nope.large', 0)).toBe(false);
    expect(isOfferedIn('m5.large', -1)).toBe(false);
  });

  it('each zone offers a different set when there are three or more', () => {
    const offered = (zone: number) => names.filter((n) => isOfferedIn(n, zone)).length;
    expect(offered(0)).toBe(names.length);
    expect(offered(2)).toBeLessThan(offered(0));
  });
});
