/**
 * Instance type catalog: the EC2 instance types cumulo knows about, in the
 * shape EC2's DescribeInstanceTypes returns them.
 *
 * Pure data plus small helpers. It backs DescribeInstanceTypes and
 * DescribeInstanceTypeOfferings, and the runtime reads vCPUs (cgroup CPU
 * quota), memory (memory limit) and instance store disks from it.
 *
 * The figures are EC2's published ones (vCPUs, memory in MiB, instance store
 * disks, network performance strings, ENI and per-ENI address limits, EBS
 * bandwidth/IOPS, accelerators). Families are written as compact per-size
 * tables; `buildFamily` expands a table into full InstanceTypeInfo records.
 *
 * CurrentGeneration follows what DescribeInstanceTypes reports today: besides
 * the old Xen families (m1, m3, c4), EC2 now flags m5, c5 and m6i (and their
 * r5/c6i/r6i siblings) as previous generation.
 */
import type {
  ArchitectureType,
  BootModeType,
  EbsInfo,
  GpuInfo,
  InferenceAcceleratorInfo,
  InstanceStorageInfo,
  InstanceTypeInfo,
  NetworkCardInfo,
  NetworkInfo,
  NeuronInfo,
  PlacementGroupStrategy,
  UsageClassType,
  VCpuInfo,
} from '@aws-sdk/client-ec2';

// ---------------------------------------------------------------------------
// Table vocabulary
// ---------------------------------------------------------------------------

/** EBS-optimized figures: baseline/max bandwidth (Mbps) and baseline/max IOPS. */
type Ebs = readonly [baselineMbps: number, maximumMbps: number, baselineIops: number, maximumIops: number];

/** Burstable EBS bandwidth (baseline below maximum). */
const E = (baseMbps: number, maxMbps: number, baseIops: number, maxIops: number): Ebs => [baseMbps, maxMbps, baseIops, maxIops];
/** Fixed EBS bandwidth (baseline equals maximum). */
const F = (mbps: number, iops: number): Ebs => [mbps, mbps, iops, iops];

interface SizeRow {
  size: string;
  vcpus: number;
  /** Memory in MiB; defaults to vcpus × the family's MiB per vCPU. */
  mem?: number;
  /** NetworkPerformance as EC2 prints it ("Up to 12.5 Gigabit", "25 Gigabit", "Moderate", ...). */
  net: string;
  /** Maximum network interfaces (all cards together). */
  enis: number;
  /** IPv4 addresses per interface (IPv6 the same when IPv6 is supported). */
  ips: number;
  /** EBS-optimized figures; null when EBS optimization is unsupported; absent when not published here. */
  ebs?: Ebs | null;
  /** Instance store: [count, size in GB]. */
  disks?: readonly [count: number, sizeGB: number];
  /** Baseline network bandwidth (Gbps) for "Up to" sizes; fixed sizes derive it from the string. */
  base?: number;
  /** Peak network bandwidth (Gbps) when it is not the "Up to N" figure. */
  peak?: number;
  /** GPUs / accelerators / Neuron devices. */
  accel?: number;
  /** Maximum EFA interfaces (EFA supported when set). */
  efa?: number;
  /** Network cards (interfaces split evenly); cardNet is each card's performance. */
  cards?: number;
  cardNet?: string;
  clock?: number;
  threads?: number;
  arch?: readonly ArchitectureType[];
  usage?: readonly UsageClassType[];
  dedicatedHosts?: boolean;
  freeTier?: boolean;
}

type SizeExtra = Omit<SizeRow, 'size' | 'vcpus' | 'net' | 'enis' | 'ips' | 'ebs'>;

/** One table row: size, vCPUs, network performance, [ENIs, IPv4 per ENI], EBS, extras. */
function r(size: string, vcpus: number, net: string, eni: readonly [number, number], ebs?: Ebs | null, extra: SizeExtra = {}): SizeRow {
  return { size, vcpus, net, enis: eni[0], ips: eni[1], ebs, ...extra };
}

/** Apply per-size extras (disks, memory, ...) onto a shared size table. */
function withSizes(rows: readonly SizeRow[], extras: Record<string, SizeExtra>): SizeRow[] {
  return rows.map((row) => ({ ...row, ...(extras[row.size] ?? {}) }));
}

/** Instance store disks per size: { size: [count, GB] }. */
function disks(table: Record<string, readonly [number, number]>): Record<string, SizeExtra> {
  return Object.fromEntries(Object.entries(table).map(([size, d]) => [size, { disks: d }]));
}

type ValidCoresStyle = 'even' | 'all' | 'amd' | 'xen' | 'none';

interface Accelerator {
  kind: 'gpu' | 'inferentia' | 'trainium';
  name: string;
  manufacturer: string;
  memMiB: number;
  /** Neuron cores per device and Neuron core version (Inferentia / Trainium). */
  neuronCores?: number;
  neuronVersion?: number;
}

interface FamilyDef {
  family: string;
  sizes: readonly SizeRow[];
  manufacturer: 'Intel' | 'AMD' | 'AWS';
  hypervisor: 'nitro' | 'xen';
  clock?: number;
  memPerVcpu?: number;
  currentGeneration?: boolean;
  threadsPerCore?: number;
  burstable?: boolean;
  validCores?: ValidCoresStyle;
  diskType?: 'ssd' | 'hdd';
  /** Instance store is NVMe (and encrypted at rest). */
  diskNvme?: boolean;
  ena?: 'required' | 'supported' | 'unsupported';
  ipv6?: boolean;
  hibernation?: boolean;
  dedicatedHosts?: boolean;
  autoRecovery?: boolean;
  encryptionInTransit?: boolean;
  /** m1/m3: paravirtual AMIs and instance-store root volumes. */
  paravirtual?: boolean;
  /** EBS optimization is optional (old generations) rather than on by default. */
  ebsOptional?: boolean;
  /** Bare-metal sizes boot legacy BIOS only (5th-generation Nitro metal). */
  metalLegacyBoot?: boolean;
  accelerator?: Accelerator;
}

// Network performance strings.
const LOW_MOD = 'Low to Moderate';
const UP5 = 'Up to 5 Gigabit';
const UP10 = 'Up to 10 Gigabit';
const UP125 = 'Up to 12.5 Gigabit';
const UP25 = 'Up to 25 Gigabit';
const G = (n: number): string => `${n} Gigabit`;

const GiB = 1024;
/** EC2 reports hibernation only where RAM is at most 150 GiB. */
const HIBERNATION_MAX_MIB = 150 * GiB;

// ---------------------------------------------------------------------------
// Shared size tables (families built on the same platform share network/EBS)
// ---------------------------------------------------------------------------

/** 5th-generation Nitro Intel (m5, r5, m5d, r5d). */
const NITRO5: readonly SizeRow[] = [
  r('large', 2, UP10, [3, 10], E(650, 4750, 3600, 18750), { base: 0.75 }),
  r('xlarge', 4, UP10, [4, 15], E(1150, 4750, 6000, 18750), { base: 1.25 }),
  r('2xlarge', 8, UP10, [4, 15], E(2300, 4750, 12000, 18750), { base: 2.5 }),
  r('4xlarge', 16, UP10, [8, 30], F(4750, 18750), { base: 5 }),
  r('8xlarge', 32, G(10), [8, 30], F(6800, 30000)),
  r('12xlarge', 48, G(12), [8, 30], F(9500, 40000)),
  r('16xlarge', 64, G(20), [15, 50], F(13600, 60000)),
  r('24xlarge', 96, G(25), [15, 50], F(19000, 80000)),
  r('metal', 96, G(25), [15, 50], F(19000, 80000)),
];

/** c5 / c5d. */
const C5: readonly SizeRow[] = [
  r('large', 2, UP10, [3, 10], E(650, 4750, 4000, 20000), { base: 0.75 }),
  r('xlarge', 4, UP10, [4, 15], E(1150, 4750, 6000, 20000), { base: 1.25 }),
  r('2xlarge', 8, UP10, [4, 15], E(2300, 4750, 10000, 20000), { base: 2.5 }),
  r('4xlarge', 16, UP10, [8, 30], F(4750, 20000), { base: 5 }),
  r('9xlarge', 36, G(12), [8, 30], F(9500, 40000)),
  r('12xlarge', 48, G(12), [8, 30], F(9500, 40000), { clock: 3.6 }),
  r('18xlarge', 72, G(25), [15, 50], F(19000, 80000)),
  r('24xlarge', 96, G(25), [15, 50], F(19000, 80000), { clock: 3.6, dedicatedHosts: false }),
  r('metal', 96, G(25), [15, 50], F(19000, 80000), { clock: 3.6, dedicatedHosts: false }),
];

/** m5a (AMD EPYC 7000, no metal). */
const M5A: readonly SizeRow[] = [
  r('large', 2, UP10, [3, 10], E(650, 2880, 3600, 16000), { base: 0.75 }),
  r('xlarge', 4, UP10, [4, 15], E(1085, 2880, 6000, 16000), { base: 1.25 }),
  r('2xlarge', 8, UP10, [4, 15], E(1580, 2880, 8333, 16000), { base: 2.5 }),
  r('4xlarge', 16, UP10, [8, 30], F(2880, 16000), { base: 5 }),
  r('8xlarge', 32, UP10, [8, 30], F(4750, 20000), { base: 7.5 }),
  r('12xlarge', 48, G(10), [8, 30], F(6780, 30000)),
  r('16xlarge', 64, G(12), [15, 50], F(9500, 40000)),
  r('24xlarge', 96, G(20), [15, 50], F(13750, 60000)),
];

/** 6th-generation Intel (m6i, c6i, r6i). */
const NITRO6I: readonly SizeRow[] = [
  r('large', 2, UP125, [3, 10], E(650, 10000, 3600, 40000), { base: 0.781 }),
  r('xlarge', 4, UP125, [4, 15], E(1250, 10000, 6000, 40000), { base: 1.562 }),
  r('2xlarge', 8, UP125, [4, 15], E(2500, 10000, 12000, 40000), { base: 3.125 }),
  r('4xlarge', 16, UP125, [8, 30], E(5000, 10000, 20000, 40000), { base: 6.25 }),
  r('8xlarge', 32, G(12.5), [8, 30], F(10000, 40000)),
  r('12xlarge', 48, G(18.75), [8, 30], F(15000, 60000)),
  r('16xlarge', 64, G(25), [15, 50], F(20000, 80000)),
  r('24xlarge', 96, G(37.5), [15, 50], F(30000, 120000)),
  r('32xlarge', 128, G(50), [15, 50], F(40000, 160000), { efa: 1 }),
  r('metal', 128, G(50), [15, 50], F(40000, 160000), { efa: 1 }),
];

/** 7th-generation Intel (m7i, c7i, r7i). */
const NITRO7I: readonly SizeRow[] = [
  r('large', 2, UP125, [3, 10], E(650, 10000, 3600, 40000), { base: 0.781 }),
  r('xlarge', 4, UP125, [4, 15], E(1250, 10000, 6000, 40000), { base: 1.562 }),
  r('2xlarge', 8, UP125, [4, 15], E(2500, 10000, 12000, 40000), { base: 3.125 }),
  r('4xlarge', 16, UP125, [8, 30], E(5000, 10000, 20000, 40000), { base: 6.25 }),
  r('8xlarge', 32, G(12.5), [8, 30], F(10000, 40000)),
  r('12xlarge', 48, G(18.75), [8, 30], F(15000, 60000)),
  r('16xlarge', 64, G(25), [15, 50], F(20000, 80000)),
  r('24xlarge', 96, G(37.5), [15, 50], F(30000, 120000)),
  r('metal-24xl', 96, G(37.5), [15, 50], F(30000, 120000)),
  r('48xlarge', 192, G(50), [15, 50], F(40000, 240000), { efa: 1 }),
  r('metal-48xl', 192, G(50), [15, 50], F(40000, 240000), { efa: 1 }),
];

/** Graviton2 (m6g, c6g, r6g). */
const GRAVITON2: readonly SizeRow[] = [
  r('medium', 1, UP10, [2, 4], E(315, 4750, 2500, 20000), { base: 0.5 }),
  r('large', 2, UP10, [3, 10], E(630, 4750, 3600, 20000), { base: 0.75 }),
  r('xlarge', 4, UP10, [4, 15], E(1188, 4750, 6000, 20000), { base: 1.25 }),
  r('2xlarge', 8, UP10, [4, 15], E(2375, 4750, 12000, 20000), { base: 2.5 }),
  r('4xlarge', 16, UP10, [8, 30], F(4750, 20000), { base: 5 }),
  r('8xlarge', 32, G(12), [8, 30], F(9500, 40000)),
  r('12xlarge', 48, G(20), [8, 30], F(14250, 50000)),
  r('16xlarge', 64, G(25), [15, 50], F(19000, 80000)),
  r('metal', 64, G(25), [15, 50], F(19000, 80000)),
];

/** Graviton3 (m7g, c7g, r7g). */
const GRAVITON3: readonly SizeRow[] = [
  r('medium', 1, UP125, [2, 4], E(315, 10000, 2500, 40000), { base: 0.52 }),
  r('large', 2, UP125, [3, 10], E(630, 10000, 3600, 40000), { base: 0.937 }),
  r('xlarge', 4, UP125, [4, 15], E(1250, 10000, 6000, 40000), { base: 1.876 }),
  r('2xlarge', 8, UP125, [4, 15], E(2500, 10000, 12000, 40000), { base: 3.75 }),
  r('4xlarge', 16, UP125, [8, 30], E(5000, 10000, 20000, 40000), { base: 7.5 }),
  r('8xlarge', 32, G(15), [8, 30], F(10000, 40000)),
  r('12xlarge', 48, G(22.5), [8, 30], F(15000, 60000)),
  r('16xlarge', 64, G(30), [15, 50], F(20000, 80000), { efa: 1 }),
  r('metal', 64, G(30), [15, 50], F(20000, 80000), { efa: 1 }),
];

/** T3 / T3a / T4g burstable sizes (EBS figures as t3). */
const T3_EBS_SMALL = (base: number, iops: number): Ebs => E(base, 2085, iops, 11800);
const T3_EBS_LARGE = E(695, 2780, 4000, 15700);

const M5D_DISKS = disks({
  large: [1, 75],
  xlarge: [1, 150],
  '2xlarge': [1, 300],
  '4xlarge': [2, 300],
  '8xlarge': [2, 600],
  '12xlarge': [2, 900],
  '16xlarge': [4, 600],
  '24xlarge': [4, 900],
  metal: [4, 900],
});

const C5D_DISKS = disks({
  large: [1, 50],
  xlarge: [1, 100],
  '2xlarge': [1, 200],
  '4xlarge': [1, 400],
  '9xlarge': [1, 900],
  '12xlarge': [2, 900],
  '18xlarge': [2, 900],
  '24xlarge': [4, 900],
  metal: [4, 900],
});

const NVIDIA = 'NVIDIA';

// ---------------------------------------------------------------------------
// Families
// ---------------------------------------------------------------------------

const families: readonly FamilyDef[] = [
  // ----- General purpose: burstable -----
  {
    family: 't2',
    manufacturer: 'Intel',
    hypervisor: 'xen',
    threadsPerCore: 1,
    burstable: true,
    validCores: 'none',
    ena: 'unsupported',
    hibernation: true,
    dedicatedHosts: false,
    sizes: [
      r('nano', 1, LOW_MOD, [2, 2], null, { mem: 512, base: 0.032, peak: 0.512, clock: 2.4, arch: ['i386', 'x86_64'], usage: ['on-demand'] }),
      r('micro', 1, LOW_MOD, [2, 2], null, { mem: 1024, base: 0.064, peak: 1.024, clock: 2.5, arch: ['i386', 'x86_64'], freeTier: true }),
      r('small', 1, LOW_MOD, [3, 4], null, { mem: 2048, base: 0.128, peak: 1.024, clock: 2.5, arch: ['i386', 'x86_64'] }),
      r('medium', 2, LOW_MOD, [3, 6], null, { mem: 4096, base: 0.256, peak: 1.024, clock: 2.3, arch: ['i386', 'x86_64'] }),
      r('large', 2, LOW_MOD, [3, 12], null, { mem: 8192, base: 0.512, peak: 1.024, clock: 2.3 }),
      r('xlarge', 4, 'Moderate', [3, 15], null, { mem: 16384, base: 0.75, peak: 1.024, clock: 2.3 }),
      r('2xlarge', 8, 'Moderate', [3, 15], null, { mem: 32768, clock: 2.3 }),
    ],
  },
  {
    family: 't3',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 2.5,
    burstable: true,
    validCores: 'even',
    hibernation: true,
    sizes: [
      r('nano', 2, UP5, [2, 2], T3_EBS_SMALL(43, 250), { mem: 512, base: 0.032 }),
      r('micro', 2, UP5, [2, 2], T3_EBS_SMALL(87, 500), { mem: 1024, base: 0.064, freeTier: true }),
      r('small', 2, UP5, [3, 4], T3_EBS_SMALL(174, 1000), { mem: 2048, base: 0.128, freeTier: true }),
      r('medium', 2, UP5, [3, 6], T3_EBS_SMALL(347, 2000), { mem: 4096, base: 0.256 }),
      r('large', 2, UP5, [3, 12], T3_EBS_LARGE, { mem: 8192, base: 0.512 }),
      r('xlarge', 4, UP5, [4, 15], T3_EBS_LARGE, { mem: 16384, base: 1.024 }),
      r('2xlarge', 8, UP5, [4, 15], T3_EBS_LARGE, { mem: 32768, base: 2.048 }),
    ],
  },
  {
    family: 't3a',
    manufacturer: 'AMD',
    hypervisor: 'nitro',
    clock: 2.2,
    burstable: true,
    validCores: 'even',
    hibernation: true,
    dedicatedHosts: false,
    sizes: [
      r('nano', 2, UP5, [2, 2], T3_EBS_SMALL(45, 250), { mem: 512, base: 0.032 }),
      r('micro', 2, UP5, [2, 2], T3_EBS_SMALL(90, 500), { mem: 1024, base: 0.064 }),
      r('small', 2, UP5, [2, 4], T3_EBS_SMALL(175, 1000), { mem: 2048, base: 0.128 }),
      r('medium', 2, UP5, [3, 6], T3_EBS_SMALL(350, 2000), { mem: 4096, base: 0.256 }),
      r('large', 2, UP5, [3, 12], T3_EBS_LARGE, { mem: 8192, base: 0.512 }),
      r('xlarge', 4, UP5, [4, 15], T3_EBS_LARGE, { mem: 16384, base: 1.024 }),
      r('2xlarge', 8, UP5, [4, 15], T3_EBS_LARGE, { mem: 32768, base: 2.048 }),
    ],
  },
  {
    family: 't4g',
    manufacturer: 'AWS',
    hypervisor: 'nitro',
    clock: 2.5,
    burstable: true,
    validCores: 'all',
    hibernation: true,
    dedicatedHosts: false,
    sizes: [
      r('nano', 2, UP5, [2, 2], T3_EBS_SMALL(43, 250), { mem: 512, base: 0.032 }),
      r('micro', 2, UP5, [2, 2], T3_EBS_SMALL(87, 500), { mem: 1024, base: 0.064, freeTier: true }),
      r('small', 2, UP5, [3, 4], T3_EBS_SMALL(174, 1000), { mem: 2048, base: 0.128, freeTier: true }),
      r('medium', 2, UP5, [3, 6], T3_EBS_SMALL(347, 2000), { mem: 4096, base: 0.256 }),
      r('large', 2, UP5, [3, 12], T3_EBS_LARGE, { mem: 8192, base: 0.512 }),
      r('xlarge', 4, UP5, [4, 15], T3_EBS_LARGE, { mem: 16384, base: 1.024 }),
      r('2xlarge', 8, UP5, [4, 15], T3_EBS_LARGE, { mem: 32768, base: 2.048 }),
    ],
  },

  // ----- General purpose -----
  {
    family: 'm5',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.1,
    memPerVcpu: 4 * GiB,
    currentGeneration: false,
    validCores: 'even',
    hibernation: true,
    metalLegacyBoot: true,
    sizes: NITRO5,
  },
  {
    family: 'm5a',
    manufacturer: 'AMD',
    hypervisor: 'nitro',
    clock: 2.5,
    memPerVcpu: 4 * GiB,
    validCores: 'amd',
    hibernation: true,
    dedicatedHosts: false,
    sizes: M5A,
  },
  {
    family: 'm5d',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.1,
    memPerVcpu: 4 * GiB,
    validCores: 'even',
    hibernation: true,
    metalLegacyBoot: true,
    diskType: 'ssd',
    diskNvme: true,
    sizes: withSizes(NITRO5, M5D_DISKS),
  },
  {
    family: 'm6i',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.5,
    memPerVcpu: 4 * GiB,
    currentGeneration: false,
    validCores: 'even',
    hibernation: true,
    encryptionInTransit: true,
    sizes: NITRO6I,
  },
  {
    family: 'm6g',
    manufacturer: 'AWS',
    hypervisor: 'nitro',
    clock: 2.5,
    memPerVcpu: 4 * GiB,
    validCores: 'all',
    hibernation: true,
    sizes: GRAVITON2,
  },
  {
    family: 'm7i',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.2,
    memPerVcpu: 4 * GiB,
    validCores: 'even',
    hibernation: true,
    encryptionInTransit: true,
    sizes: NITRO7I,
  },
  {
    family: 'm7g',
    manufacturer: 'AWS',
    hypervisor: 'nitro',
    clock: 2.6,
    memPerVcpu: 4 * GiB,
    validCores: 'all',
    hibernation: true,
    encryptionInTransit: true,
    sizes: GRAVITON3,
  },

  // ----- Compute optimized -----
  {
    family: 'c5',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.4,
    memPerVcpu: 2 * GiB,
    currentGeneration: false,
    validCores: 'even',
    hibernation: true,
    metalLegacyBoot: true,
    sizes: C5,
  },
  {
    family: 'c5d',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.4,
    memPerVcpu: 2 * GiB,
    validCores: 'even',
    hibernation: true,
    metalLegacyBoot: true,
    diskType: 'ssd',
    diskNvme: true,
    sizes: withSizes(C5, C5D_DISKS),
  },
  {
    family: 'c6i',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.5,
    memPerVcpu: 2 * GiB,
    currentGeneration: false,
    validCores: 'even',
    hibernation: true,
    encryptionInTransit: true,
    sizes: NITRO6I,
  },
  {
    family: 'c6g',
    manufacturer: 'AWS',
    hypervisor: 'nitro',
    clock: 2.5,
    memPerVcpu: 2 * GiB,
    validCores: 'all',
    hibernation: true,
    sizes: GRAVITON2,
  },
  {
    family: 'c7i',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.2,
    memPerVcpu: 2 * GiB,
    validCores: 'even',
    hibernation: true,
    encryptionInTransit: true,
    sizes: NITRO7I,
  },
  {
    family: 'c7g',
    manufacturer: 'AWS',
    hypervisor: 'nitro',
    clock: 2.6,
    memPerVcpu: 2 * GiB,
    validCores: 'all',
    hibernation: true,
    encryptionInTransit: true,
    sizes: GRAVITON3,
  },

  // ----- Memory optimized -----
  {
    family: 'r5',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.1,
    memPerVcpu: 8 * GiB,
    currentGeneration: false,
    validCores: 'even',
    hibernation: true,
    metalLegacyBoot: true,
    sizes: NITRO5,
  },
  {
    family: 'r5d',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.1,
    memPerVcpu: 8 * GiB,
    validCores: 'even',
    hibernation: true,
    metalLegacyBoot: true,
    diskType: 'ssd',
    diskNvme: true,
    sizes: withSizes(NITRO5, M5D_DISKS),
  },
  {
    family: 'r6i',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.5,
    memPerVcpu: 8 * GiB,
    currentGeneration: false,
    validCores: 'even',
    hibernation: true,
    encryptionInTransit: true,
    sizes: NITRO6I,
  },
  {
    family: 'r6g',
    manufacturer: 'AWS',
    hypervisor: 'nitro',
    clock: 2.5,
    memPerVcpu: 8 * GiB,
    validCores: 'all',
    hibernation: true,
    sizes: GRAVITON2,
  },
  {
    family: 'r7i',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.2,
    memPerVcpu: 8 * GiB,
    validCores: 'even',
    hibernation: true,
    encryptionInTransit: true,
    sizes: NITRO7I,
  },
  {
    family: 'x1e',
    manufacturer: 'Intel',
    hypervisor: 'xen',
    clock: 2.3,
    memPerVcpu: 31232,
    validCores: 'xen',
    ena: 'supported',
    diskType: 'ssd',
    sizes: [
      r('xlarge', 4, UP10, [3, 10], F(500, 3700), { disks: [1, 120] }),
      r('2xlarge', 8, UP10, [4, 15], F(1000, 7400), { disks: [1, 240] }),
      r('4xlarge', 16, UP10, [4, 15], F(1750, 10000), { disks: [1, 480] }),
    ],
  },
  {
    family: 'x2idn',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.5,
    memPerVcpu: 16 * GiB,
    validCores: 'even',
    encryptionInTransit: true,
    diskType: 'ssd',
    diskNvme: true,
    sizes: [
      r('16xlarge', 64, G(50), [15, 50], F(40000, 173333), { disks: [1, 1900] }),
      r('24xlarge', 96, G(75), [15, 50], F(60000, 260000), { disks: [2, 1425] }),
      r('32xlarge', 128, G(100), [15, 50], F(80000, 260000), { disks: [2, 1900], efa: 1 }),
      r('metal', 128, G(100), [15, 50], F(80000, 260000), { disks: [2, 1900], efa: 1 }),
    ],
  },
  {
    family: 'z1d',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 4.0,
    memPerVcpu: 8 * GiB,
    validCores: 'even',
    metalLegacyBoot: true,
    diskType: 'ssd',
    diskNvme: true,
    sizes: [
      r('large', 2, UP10, [3, 10], E(800, 3170, 3333, 13333), { base: 0.75, disks: [1, 75] }),
      r('xlarge', 4, UP10, [4, 15], E(1580, 3170, 6667, 13333), { base: 1.25, disks: [1, 150] }),
      r('2xlarge', 8, UP10, [4, 15], F(3170, 13333), { base: 2.5, disks: [1, 300] }),
      r('3xlarge', 12, UP10, [8, 30], F(4750, 20000), { base: 5, disks: [1, 450] }),
      r('6xlarge', 24, G(10), [8, 30], F(9500, 40000), { disks: [1, 900] }),
      r('12xlarge', 48, G(25), [15, 50], F(19000, 80000), { disks: [2, 900] }),
      r('metal', 48, G(25), [15, 50], F(19000, 80000), { disks: [2, 900] }),
    ],
  },

  // ----- Storage optimized -----
  {
    // Xen-based (i3.metal is Nitro); NVMe instance store.
    family: 'i3',
    manufacturer: 'Intel',
    hypervisor: 'xen',
    clock: 2.3,
    memPerVcpu: 7808,
    validCores: 'xen',
    ena: 'required',
    hibernation: true,
    diskType: 'ssd',
    diskNvme: true,
    metalLegacyBoot: true,
    sizes: [
      r('large', 2, UP10, [3, 10], F(425, 3000), { base: 0.75, disks: [1, 475] }),
      r('xlarge', 4, UP10, [4, 15], F(850, 6000), { base: 1.25, disks: [1, 950] }),
      r('2xlarge', 8, UP10, [4, 15], F(1700, 12000), { base: 2.5, disks: [1, 1900] }),
      r('4xlarge', 16, UP10, [8, 30], F(3500, 16000), { base: 5, disks: [2, 1900] }),
      r('8xlarge', 32, G(10), [8, 30], F(7000, 32500), { disks: [4, 1900] }),
      r('16xlarge', 64, G(25), [15, 50], F(14000, 65000), { disks: [8, 1900] }),
      r('metal', 72, G(25), [15, 50], F(19000, 80000), { mem: 512 * GiB, disks: [8, 1900] }),
    ],
  },
  {
    family: 'i3en',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.1,
    memPerVcpu: 8 * GiB,
    validCores: 'even',
    encryptionInTransit: true,
    diskType: 'ssd',
    diskNvme: true,
    metalLegacyBoot: true,
    sizes: [
      r('large', 2, UP25, [3, 10], E(577, 4750, 3000, 20000), { base: 2.1, disks: [1, 1250] }),
      r('xlarge', 4, UP25, [4, 15], E(1154, 4750, 6000, 20000), { base: 4.2, disks: [1, 2500] }),
      r('2xlarge', 8, UP25, [4, 15], E(2307, 4750, 12000, 20000), { base: 8.4, disks: [2, 2500] }),
      r('3xlarge', 12, UP25, [4, 15], E(3800, 4750, 15000, 20000), { base: 12.5, disks: [1, 7500] }),
      r('6xlarge', 24, G(25), [8, 30], F(4750, 20000), { disks: [2, 7500] }),
      r('12xlarge', 48, G(50), [8, 30], F(9500, 40000), { disks: [4, 7500], efa: 1 }),
      r('24xlarge', 96, G(100), [15, 50], F(19000, 80000), { disks: [8, 7500], efa: 1 }),
      r('metal', 96, G(100), [15, 50], F(19000, 80000), { disks: [8, 7500], efa: 1 }),
    ],
  },
  {
    family: 'i4i',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.5,
    memPerVcpu: 8 * GiB,
    validCores: 'even',
    encryptionInTransit: true,
    diskType: 'ssd',
    diskNvme: true,
    sizes: [
      r('large', 2, UP10, [3, 10], E(625, 10000, 2500, 40000), { base: 0.781, disks: [1, 468] }),
      r('xlarge', 4, UP25, [4, 15], E(1250, 10000, 5000, 40000), { base: 1.875, disks: [1, 937] }),
      r('2xlarge', 8, 'Up to 12 Gigabit', [4, 15], E(2500, 10000, 10000, 40000), { base: 4.687, disks: [1, 1875] }),
      r('4xlarge', 16, UP25, [8, 30], E(5000, 10000, 20000, 40000), { base: 9.375, disks: [1, 3750] }),
      r('8xlarge', 32, G(18.75), [8, 30], F(10000, 40000), { disks: [2, 3750] }),
      r('12xlarge', 48, G(28.12), [8, 30], F(15000, 60000), { disks: [3, 3750] }),
      r('16xlarge', 64, G(37.5), [15, 50], F(20000, 80000), { disks: [4, 3750] }),
      r('24xlarge', 96, G(56.25), [15, 50], F(30000, 120000), { disks: [6, 3750] }),
      r('32xlarge', 128, G(75), [15, 50], F(40000, 160000), { disks: [8, 3750], efa: 1 }),
      r('metal', 128, G(75), [15, 50], F(40000, 160000), { disks: [8, 3750], efa: 1 }),
    ],
  },
  {
    family: 'd2',
    manufacturer: 'Intel',
    hypervisor: 'xen',
    clock: 2.4,
    memPerVcpu: 7808,
    validCores: 'xen',
    ena: 'unsupported',
    hibernation: false,
    diskType: 'hdd',
    sizes: [
      r('xlarge', 4, 'Moderate', [4, 15], F(750, 6000), { disks: [3, 2048] }),
      r('2xlarge', 8, 'High', [4, 15], F(1000, 8000), { disks: [6, 2048] }),
      r('4xlarge', 16, 'High', [8, 30], F(2000, 16000), { disks: [12, 2048] }),
      r('8xlarge', 36, G(10), [8, 30], F(4000, 32000), { mem: 249856, disks: [24, 2048] }),
    ],
  },
  {
    family: 'd3',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.1,
    memPerVcpu: 8 * GiB,
    validCores: 'even',
    encryptionInTransit: true,
    diskType: 'hdd',
    diskNvme: true,
    sizes: [
      r('xlarge', 4, 'Up to 15 Gigabit', [4, 3], E(850, 2800, 5000, 15000), { base: 3, disks: [3, 1980] }),
      r('2xlarge', 8, 'Up to 15 Gigabit', [4, 5], E(1700, 2800, 10000, 15000), { base: 6, disks: [6, 1980] }),
      r('4xlarge', 16, 'Up to 15 Gigabit', [4, 10], F(2800, 15000), { base: 12.5, disks: [12, 1980] }),
      r('8xlarge', 32, G(25), [3, 20], F(5000, 30000), { disks: [24, 1980] }),
    ],
  },

  // ----- Accelerated computing -----
  {
    family: 'p3',
    manufacturer: 'Intel',
    hypervisor: 'xen',
    clock: 2.7,
    memPerVcpu: 7808,
    validCores: 'xen',
    ena: 'supported',
    accelerator: { kind: 'gpu', name: 'V100', manufacturer: NVIDIA, memMiB: 16 * GiB },
    sizes: [
      r('2xlarge', 8, UP10, [4, 15], F(1750, 10000), { accel: 1 }),
      r('8xlarge', 32, G(10), [8, 30], F(7000, 40000), { accel: 4 }),
      r('16xlarge', 64, G(25), [8, 30], F(14000, 80000), { accel: 8 }),
    ],
  },
  {
    family: 'p4d',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.0,
    validCores: 'even',
    encryptionInTransit: true,
    diskType: 'ssd',
    diskNvme: true,
    accelerator: { kind: 'gpu', name: 'A100', manufacturer: NVIDIA, memMiB: 40 * GiB },
    sizes: [
      r('24xlarge', 96, '4x 100 Gigabit', [60, 50], F(19000, 80000), {
        mem: 1152 * GiB,
        accel: 8,
        disks: [8, 1000],
        efa: 4,
        cards: 4,
        cardNet: G(100),
        usage: ['capacity-block', 'on-demand', 'spot'],
      }),
    ],
  },
  {
    family: 'g4dn',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 2.5,
    memPerVcpu: 4 * GiB,
    validCores: 'even',
    hibernation: true,
    encryptionInTransit: true,
    diskType: 'ssd',
    diskNvme: true,
    metalLegacyBoot: true,
    accelerator: { kind: 'gpu', name: 'T4', manufacturer: NVIDIA, memMiB: 16 * GiB },
    sizes: [
      r('xlarge', 4, UP25, [3, 10], E(950, 3500, 3000, 20000), { base: 5, accel: 1, disks: [1, 125] }),
      r('2xlarge', 8, UP25, [3, 10], E(1150, 3500, 6000, 20000), { base: 10, accel: 1, disks: [1, 225] }),
      r('4xlarge', 16, UP25, [3, 10], F(4750, 20000), { base: 20, accel: 1, disks: [1, 225] }),
      r('8xlarge', 32, G(50), [4, 15], F(9500, 40000), { accel: 1, disks: [1, 900], efa: 1 }),
      r('12xlarge', 48, G(50), [8, 30], F(9500, 40000), { accel: 4, disks: [1, 900], efa: 1 }),
      r('16xlarge', 64, G(50), [4, 15], F(9500, 40000), { accel: 1, disks: [1, 900], efa: 1 }),
      r('metal', 96, G(100), [15, 50], F(19000, 80000), { accel: 8, disks: [2, 900], efa: 1 }),
    ],
  },
  {
    family: 'g5',
    manufacturer: 'AMD',
    hypervisor: 'nitro',
    clock: 3.3,
    memPerVcpu: 4 * GiB,
    validCores: 'amd',
    encryptionInTransit: true,
    diskType: 'ssd',
    diskNvme: true,
    accelerator: { kind: 'gpu', name: 'A10G', manufacturer: NVIDIA, memMiB: 24 * GiB },
    sizes: [
      r('xlarge', 4, UP10, [4, 15], E(700, 3500, 3000, 15000), { base: 2.5, accel: 1, disks: [1, 250] }),
      r('2xlarge', 8, UP10, [4, 15], E(850, 3500, 3500, 15000), { base: 5, accel: 1, disks: [1, 450] }),
      r('4xlarge', 16, UP25, [8, 30], F(4750, 20000), { base: 10, accel: 1, disks: [1, 600] }),
      r('8xlarge', 32, G(25), [8, 30], F(16000, 65000), { accel: 1, disks: [1, 900], efa: 1 }),
      r('12xlarge', 48, G(40), [15, 50], F(16000, 65000), { accel: 4, disks: [1, 3800], efa: 1 }),
      r('16xlarge', 64, G(25), [8, 30], F(16000, 65000), { accel: 1, disks: [1, 1900], efa: 1 }),
      r('24xlarge', 96, G(50), [15, 50], F(19000, 80000), { accel: 4, disks: [1, 3800], efa: 1 }),
      r('48xlarge', 192, G(100), [7, 50], F(19000, 80000), { accel: 8, disks: [2, 3800], efa: 1 }),
    ],
  },
  {
    family: 'inf1',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 2.5,
    memPerVcpu: 2 * GiB,
    validCores: 'even',
    encryptionInTransit: true,
    accelerator: { kind: 'inferentia', name: 'Inferentia', manufacturer: 'AWS', memMiB: 8 * GiB, neuronCores: 4, neuronVersion: 1 },
    sizes: [
      r('xlarge', 4, UP25, [4, 10], E(1190, 4750, 4000, 20000), { base: 5, accel: 1, dedicatedHosts: false }),
      r('2xlarge', 8, UP25, [4, 10], E(1190, 4750, 6000, 20000), { base: 5, accel: 1 }),
      r('6xlarge', 24, G(25), [8, 30], F(4750, 20000), { accel: 4 }),
      r('24xlarge', 96, G(100), [11, 30], F(19000, 80000), { accel: 16, efa: 1 }),
    ],
  },
  {
    family: 'trn1',
    manufacturer: 'Intel',
    hypervisor: 'nitro',
    clock: 3.5,
    memPerVcpu: 4 * GiB,
    validCores: 'even',
    encryptionInTransit: true,
    autoRecovery: false,
    diskType: 'ssd',
    diskNvme: true,
    accelerator: { kind: 'trainium', name: 'Trainium', manufacturer: 'AWS', memMiB: 32 * GiB, neuronCores: 2, neuronVersion: 2 },
    sizes: [
      r('2xlarge', 8, UP125, [4, 15], E(5000, 20000, 16250, 65000), { base: 3.125, accel: 1, disks: [1, 474] }),
      r('32xlarge', 128, '8x 100 Gigabit', [40, 50], F(80000, 260000), {
        accel: 16,
        disks: [4, 1900],
        efa: 8,
        cards: 8,
        cardNet: G(100),
        usage: ['capacity-block', 'on-demand', 'spot'],
      }),
    ],
  },

  // ----- Previous generation -----
  {
    family: 'm1',
    manufacturer: 'Intel',
    hypervisor: 'xen',
    currentGeneration: false,
    threadsPerCore: 1,
    validCores: 'none',
    ena: 'unsupported',
    ipv6: false,
    dedicatedHosts: false,
    autoRecovery: false,
    paravirtual: true,
    ebsOptional: true,
    diskType: 'hdd',
    sizes: [
      r('small', 1, 'Low', [2, 4], null, { mem: 1740, base: 0.3, peak: 1.2, disks: [1, 160], arch: ['i386', 'x86_64'] }),
      r('medium', 1, 'Moderate', [2, 6], null, { mem: 3788, base: 0.3, peak: 1.2, disks: [1, 410], arch: ['i386', 'x86_64'] }),
      r('large', 2, 'Moderate', [3, 10], F(500, 4000), { mem: 7680, base: 0.7, peak: 2.8, disks: [2, 420] }),
      r('xlarge', 4, 'High', [4, 15], F(1000, 8000), { mem: 15360, base: 1, peak: 10, disks: [4, 420] }),
    ],
  },
  {
    family: 'm3',
    manufacturer: 'Intel',
    hypervisor: 'xen',
    clock: 2.5,
    currentGeneration: false,
    validCores: 'xen',
    ena: 'unsupported',
    ipv6: false,
    hibernation: true,
    autoRecovery: true,
    paravirtual: true,
    ebsOptional: true,
    diskType: 'ssd',
    sizes: [
      r('medium', 1, 'Moderate', [2, 6], null, { mem: 3840, threads: 1, base: 0.3, peak: 1.2, disks: [1, 4] }),
      r('large', 2, 'Moderate', [3, 10], null, { mem: 7680, base: 0.7, peak: 2.8, disks: [1, 32] }),
      r('xlarge', 4, 'High', [4, 15], F(500, 4000), { mem: 15360, base: 1, peak: 10, disks: [2, 40] }),
      r('2xlarge', 8, 'High', [4, 30], F(1000, 8000), { mem: 30720, base: 1, peak: 10, disks: [2, 80] }),
    ],
  },
  {
    family: 'c4',
    manufacturer: 'Intel',
    hypervisor: 'xen',
    clock: 2.9,
    currentGeneration: false,
    validCores: 'xen',
    ena: 'unsupported',
    hibernation: true,
    sizes: [
      r('large', 2, 'Moderate', [3, 10], F(500, 4000), { mem: 3840, base: 0.625, peak: 1.2 }),
      r('xlarge', 4, 'High', [4, 15], F(750, 6000), { mem: 7680, base: 1.25, peak: 2.8 }),
      r('2xlarge', 8, 'High', [4, 15], F(1000, 8000), { mem: 15360, base: 2.5, peak: 10 }),
      r('4xlarge', 16, 'High', [8, 30], F(2000, 16000), { mem: 30720, base: 5, peak: 10 }),
      r('8xlarge', 36, G(10), [8, 30], F(4000, 32000), { mem: 61440 }),
    ],
  },
];

// ---------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------

function range(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let n = from; n <= to; n += step) out.push(n);
  return out;
}

function validCores(style: ValidCoresStyle, cores: number, threads: number): number[] | undefined {
  switch (style) {
    case 'none':
      return undefined;
    case 'all':
      return cores > 1 ? range(1, cores) : undefined;
    case 'even':
      return cores === 1 ? [1] : range(2, cores, 2);
    case 'amd':
      return [1, 2, 3, 4, ...range(8, cores, 4)].filter((n) => n <= cores);
    case 'xen':
      if (cores === 1 && threads === 1) return undefined;
      return cores <= 8 ? range(1, cores) : range(2, cores, 2);
  }
}

/** "25 Gigabit" → 25; "Up to 12.5 Gigabit" → 12.5 (peak); other strings → undefined. */
function gigabits(perf: string): number | undefined {
  const m = /^(?:Up to )?(\d+(?:\.\d+)?) Gigabit$/.exec(perf);
  return m ? Number(m[1]) : undefined;
}

function networkCard(index: number, perf: string, enis: number, base?: number, peak?: number): NetworkCardInfo {
  const card: NetworkCardInfo = { NetworkCardIndex: index, NetworkPerformance: perf, MaximumNetworkInterfaces: enis };
  const fixed = perf.startsWith('Up to') ? undefined : gigabits(perf);
  const baseline = base ?? fixed;
  const peakBw = peak ?? gigabits(perf);
  if (baseline !== undefined) card.BaselineBandwidthInGbps = baseline;
  if (baseline !== undefined && peakBw !== undefined) card.PeakBandwidthInGbps = peakBw;
  return card;
}

function buildType(fam: FamilyDef, row: SizeRow): InstanceTypeInfo {
  const name = `${fam.family}.${row.size}`;
  const metal = row.size.startsWith('metal');
  const nitro = fam.hypervisor === 'nitro' || metal;
  const memory = row.mem ?? row.vcpus * (fam.memPerVcpu ?? 0);
  if (!memory) throw new Error(`instance type catalog: no memory for ${name}`);

  // CPU topology
  const threads = row.threads ?? fam.threadsPerCore ?? (fam.manufacturer === 'AWS' ? 1 : 2);
  const cores = row.vcpus / threads;
  const vcpu: VCpuInfo = { DefaultVCpus: row.vcpus, DefaultCores: cores, DefaultThreadsPerCore: threads };
  const valid = metal ? undefined : validCores(fam.validCores ?? 'even', cores, threads);
  if (valid) {
    vcpu.ValidCores = valid;
    vcpu.ValidThreadsPerCore = threads === 2 ? [1, 2] : [1];
  }

  const arch: ArchitectureType[] = [...(row.arch ?? (fam.manufacturer === 'AWS' ? ['arm64'] : ['x86_64']))];
  const clock = row.clock ?? fam.clock;

  // Boot modes
  let boot: BootModeType[];
  if (fam.manufacturer === 'AWS') boot = ['uefi'];
  else if (fam.hypervisor === 'xen' && !metal) boot = ['legacy-bios'];
  else if (metal && fam.metalLegacyBoot) boot = ['legacy-bios'];
  else if (fam.family === 'trn1') boot = ['legacy-bios'];
  else boot = ['legacy-bios', 'uefi'];

  // EBS
  const ebs: EbsInfo = {
    EbsOptimizedSupport: row.ebs === null ? 'unsupported' : fam.ebsOptional ? 'supported' : 'default',
    EncryptionSupport: 'supported',
    NvmeSupport: nitro ? 'required' : 'unsupported',
  };
  if (row.ebs) {
    const [baseMbps, maxMbps, baseIops, maxIops] = row.ebs;
    ebs.EbsOptimizedInfo = {
      BaselineBandwidthInMbps: baseMbps,
      BaselineThroughputInMBps: baseMbps / 8,
      BaselineIops: baseIops,
      MaximumBandwidthInMbps: maxMbps,
      MaximumThroughputInMBps: maxMbps / 8,
      MaximumIops: maxIops,
    };
  }

  // Network
  const cardCount = row.cards ?? 1;
  const perCard = row.enis / cardCount;
  const cards: NetworkCardInfo[] =
    cardCount === 1 ? [networkCard(0, row.net, row.enis, row.base, row.peak)] : range(0, cardCount - 1).map((i) => networkCard(i, row.cardNet ?? row.net, perCard));
  const ipv6 = fam.ipv6 ?? true;
  const network: NetworkInfo = {
    NetworkPerformance: row.net,
    MaximumNetworkInterfaces: row.enis,
    MaximumNetworkCards: cardCount,
    DefaultNetworkCardIndex: 0,
    NetworkCards: cards,
    Ipv4AddressesPerInterface: row.ips,
    Ipv6AddressesPerInterface: ipv6 ? row.ips : 0,
    Ipv6Supported: ipv6,
    EnaSupport: fam.ena ?? (nitro ? 'required' : 'unsupported'),
    EfaSupported: row.efa !== undefined,
    EncryptionInTransitSupported: fam.encryptionInTransit ?? false,
  };
  if (row.efa !== undefined) network.EfaInfo = { MaximumEfaInterfaces: row.efa };

  const strategies: PlacementGroupStrategy[] = fam.burstable || fam.paravirtual ? ['partition', 'spread'] : ['cluster', 'partition', 'spread'];

  const info: InstanceTypeInfo = {
    InstanceType: name as InstanceTypeInfo['InstanceType'],
    CurrentGeneration: fam.currentGeneration ?? true,
    FreeTierEligible: row.freeTier ?? false,
    SupportedUsageClasses: [...(row.usage ?? ['on-demand', 'spot'])],
    SupportedRootDeviceTypes: fam.paravirtual ? ['ebs', 'instance-store'] : ['ebs'],
    SupportedVirtualizationTypes: fam.paravirtual ? ['hvm', 'paravirtual'] : ['hvm'],
    BareMetal: metal,
    ProcessorInfo: {
      SupportedArchitectures: arch,
      ...(clock !== undefined ? { SustainedClockSpeedInGhz: clock } : {}),
      Manufacturer: fam.manufacturer,
    },
    VCpuInfo: vcpu,
    MemoryInfo: { SizeInMiB: memory },
    InstanceStorageSupported: row.disks !== undefined,
    EbsInfo: ebs,
    NetworkInfo: network,
    PlacementGroupInfo: { SupportedStrategies: strategies },
    HibernationSupported: (fam.hibernation ?? false) && !metal && memory <= HIBERNATION_MAX_MIB,
    BurstablePerformanceSupported: fam.burstable ?? false,
    DedicatedHostsSupported: row.dedicatedHosts ?? fam.dedicatedHosts ?? true,
    AutoRecoverySupported: fam.autoRecovery ?? row.disks === undefined,
    SupportedBootModes: boot,
  };
  // EC2 omits Hypervisor for bare metal.
  if (!metal) info.Hypervisor = fam.hypervisor;

  if (row.disks) {
    const [count, size] = row.disks;
    const storage: InstanceStorageInfo = {
      TotalSizeInGB: count * size,
      Disks: [{ SizeInGB: size, Count: count, Type: fam.diskType ?? 'ssd' }],
      NvmeSupport: fam.diskNvme ? 'required' : 'unsupported',
      EncryptionSupport: fam.diskNvme ? 'required' : 'unsupported',
    };
    info.InstanceStorageInfo = storage;
  }

  const acc = fam.accelerator;
  if (acc && row.accel) {
    const total = acc.memMiB * row.accel;
    if (acc.kind === 'gpu') {
      const gpu: GpuInfo = {
        Gpus: [{ Name: acc.name, Manufacturer: acc.manufacturer, Count: row.accel, MemoryInfo: { SizeInMiB: acc.memMiB } }],
        TotalGpuMemoryInMiB: total,
      };
      info.GpuInfo = gpu;
    } else {
      if (acc.kind === 'inferentia') {
        const inference: InferenceAcceleratorInfo = {
          Accelerators: [{ Name: acc.name, Manufacturer: acc.manufacturer, Count: row.accel, MemoryInfo: { SizeInMiB: acc.memMiB } }],
          TotalInferenceMemoryInMiB: total,
        };
        info.InferenceAcceleratorInfo = inference;
      }
      const neuron: NeuronInfo = {
        NeuronDevices: [
          {
            Name: acc.name,
            Count: row.accel,
            CoreInfo: { Count: acc.neuronCores, Version: acc.neuronVersion },
            MemoryInfo: { SizeInMiB: acc.memMiB },
          },
        ],
        TotalNeuronDeviceMemoryInMiB: total,
      };
      info.NeuronInfo = neuron;
    }
  }

  return info;
}

function buildFamily(fam: FamilyDef): InstanceTypeInfo[] {
  return fam.sizes.map((row) => buildType(fam, row));
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/** Every instance type cumulo offers, grouped by family, sizes smallest first. */
export const instanceTypes: readonly InstanceTypeInfo[] = Object.freeze(families.flatMap(buildFamily));

const byName = new Map<string, InstanceTypeInfo>(instanceTypes.map((t) => [t.InstanceType as string, t]));

/** Look up an instance type by name ('m5.large'); undefined when unknown. */
export function findInstanceType(name: string): InstanceTypeInfo | undefined {
  return byName.get(name);
}

/** The family part of an instance type name: 'm5.large' → 'm5', 'm7i.metal-24xl' → 'm7i'. */
/**
 * The vCPUs an instance of this type runs with (and holds on its host): cores × threads when it
 * was launched with CPU options, as on EC2; the type's default otherwise.
 */
export function runtimeVcpus(instanceType: string, cpu?: { CoreCount?: number; ThreadsPerCore?: number }): number {
  if (cpu?.CoreCount && cpu.ThreadsPerCore) return cpu.CoreCount * cpu.ThreadsPerCore;
  return findInstanceType(instanceType)?.VCpuInfo?.DefaultVCpus ?? 1;
}

/** The memory an instance of this type runs with (its hard limit). */
export function runtimeMemoryMiB(instanceType: string): number {
  return findInstanceType(instanceType)?.MemoryInfo?.SizeInMiB ?? 512;
}

export function instanceFamily(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? name : name.slice(0, dot);
}

/** EC2's default when RunInstances names no InstanceType. */
export const defaultInstanceType = 'm1.small';

/** Instance store volumes of a type (empty for EBS-only or unknown types). */
export function instanceStoreDisks(name: string): { count: number; sizeGiB: number; type: 'ssd' | 'hdd' }[] {
  const disks = findInstanceType(name)?.InstanceStorageInfo?.Disks ?? [];
  return disks.map((d) => ({ count: d.Count ?? 0, sizeGiB: d.SizeInGB ?? 0, type: d.Type === 'hdd' ? 'hdd' : 'ssd' }));
}

/** Big and accelerated families EC2 only offers in some zones; here: the first two. */
const RESTRICTED_FAMILIES = new Set(['p4d', 'trn1', 'x2idn']);
const RESTRICTED_ZONES = 2;

/**
 * Whether a type is offered in the availability zone with the given index
 * (0-based, in the region's zone order). Every known type is offered in every
 * zone, except p4d, trn1, x2idn and the u-* high-memory types, which only the
 * first two zones have. Unknown types are offered nowhere.
 */
export function isOfferedIn(type: string, zoneIndex: number): boolean {
  if (!byName.has(type) || !Number.isInteger(zoneIndex) || zoneIndex < 0) return false;
  const family = instanceFamily(type);
  if (RESTRICTED_FAMILIES.has(family) || family.startsWith('u-')) return zoneIndex < RESTRICTED_ZONES;
  return true;
}
