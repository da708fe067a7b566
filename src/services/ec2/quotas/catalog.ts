// The EC2, VPC and EBS service quotas cumulo enforces: their names (close to AWS Service Quotas'),
// the defaults a new AWS account gets, and what each counts. Pure data; usage and enforcement are in
// ./store.ts and ./check.ts. An account may override any of them, in one region or in all
// (`cumulo accounts limits NAME --set quota=value [--region R]`, table account_quotas).
//
// Defaults are the "AWS default quota value" of Service Quotas for a new account, e.g.
// `aws service-quotas get-aws-default-service-quota --service-code ec2 --quota-code L-1216C47A`
// answers 5 for the Standard vCPUs (accounts that have been used a while are often raised to 32 or
// more; cumulo starts where AWS does). The other instance buckets start at 0: a new account asks
// for GPU, FPGA or high-memory capacity before it gets any.

export type QuotaService = 'ec2' | 'vpc' | 'ebs';

/** What the quota is counted over: an (account, region), or each VPC, group or interface in it. */
export type QuotaScope = 'region' | 'vpc' | 'security-group' | 'network-interface';

export interface QuotaDef {
  /** cumulo's name for it, as `cumulo accounts limits` shows and sets it. */
  name: string;
  /** AWS Service Quotas' service code, quota code and quota name. */
  service: QuotaService;
  code: string;
  title: string;
  /** A new AWS account's value. */
  default: number;
  unit: 'vCPUs' | 'addresses' | 'VPCs' | 'groups' | 'rules' | 'TiB' | 'IOPS';
  scope: QuotaScope;
  /** What counts toward it, in a few words. */
  counts: string;
}

/** The On-Demand instance buckets: each counts the vCPUs of its families' instances. */
export type VcpuBucket = 'standard' | 'f' | 'g-and-vt' | 'p' | 'x' | 'inf' | 'dl' | 'trn' | 'high-memory' | 'hpc';

const RUNNING = 'vCPUs of the instances of these families that are pending, running, stopping or shutting down';

const vcpu = (bucket: VcpuBucket, code: string, title: string, dflt: number, families: string): QuotaDef => ({
  name: vcpuQuotaName(bucket),
  service: 'ec2',
  code,
  title: `Running On-Demand ${title} instances`,
  default: dflt,
  unit: 'vCPUs',
  scope: 'region',
  counts: `${RUNNING} (${families})`,
});

export const EBS_VOLUME_TYPES = ['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'] as const;
export type EbsVolumeType = (typeof EBS_VOLUME_TYPES)[number];

const EBS_TITLES: Record<EbsVolumeType, [code: string, title: string, tib: number]> = {
  gp2: ['L-D18FCD1D', 'General Purpose SSD (gp2)', 50],
  gp3: ['L-7A658B76', 'General Purpose SSD (gp3)', 50],
  io1: ['L-FD252861', 'Provisioned IOPS SSD (io1)', 50],
  io2: ['L-09BD8365', 'Provisioned IOPS SSD (io2)', 20],
  st1: ['L-82ACEF56', 'Throughput Optimized HDD (st1)', 50],
  sc1: ['L-17AF77E8', 'Cold HDD (sc1)', 50],
  standard: ['L-9CF3C2EB', 'Magnetic (standard)', 50],
};

/** The volume types with an aggregate IOPS quota, and its default. */
export const IOPS_QUOTA_TYPES = { io1: ['L-B3A130E6', 300_000], io2: ['L-8D977E7E', 100_000] } as const;

export const QUOTAS: readonly QuotaDef[] = Object.freeze([
  vcpu('standard', 'L-1216C47A', 'Standard (A, C, D, H, I, M, R, T, Z)', 5, 'a, c, d, h, i, m, r, t, z'),
  vcpu('f', 'L-74FC7D96', 'F', 0, 'f'),
  vcpu('g-and-vt', 'L-DB2E81BA', 'G and VT', 0, 'g, vt'),
  vcpu('p', 'L-417A185B', 'P', 0, 'p'),
  vcpu('x', 'L-7295265B', 'X', 0, 'x'),
  vcpu('inf', 'L-1945791B', 'Inf', 0, 'inf'),
  vcpu('dl', 'L-6E869C2A', 'DL', 0, 'dl'),
  vcpu('trn', 'L-2C3B7624', 'Trn', 0, 'trn'),
  vcpu('high-memory', 'L-43DA4232', 'High Memory', 0, 'u-*, u7i'),
  vcpu('hpc', 'L-F7808C92', 'HPC', 0, 'hpc'),
  {
    name: 'elastic-ips',
    service: 'ec2',
    code: 'L-0263D0A3',
    title: 'EC2-VPC Elastic IPs',
    default: 5,
    unit: 'addresses',
    scope: 'region',
    counts: 'elastic IP addresses allocated (AllocateAddress)',
  },
  {
    name: 'vpcs',
    service: 'vpc',
    code: 'L-F678F1CE',
    title: 'VPCs per Region',
    default: 5,
    unit: 'VPCs',
    scope: 'region',
    counts: 'VPCs, the default VPC included',
  },
  {
    name: 'security-groups-per-vpc',
    service: 'vpc',
    code: 'L-E79EC296',
    title: 'VPC security groups per Region',
    default: 2500,
    unit: 'groups',
    scope: 'vpc',
    counts: 'security groups of one VPC, its default group included',
  },
  {
    name: 'rules-per-security-group',
    service: 'vpc',
    code: 'L-0EA8095F',
    title: 'Inbound or outbound rules per security group',
    default: 60,
    unit: 'rules',
    scope: 'security-group',
    counts: 'inbound rules, and apart outbound rules, of one group (IPv4 and IPv6 rules counted apart)',
  },
  {
    name: 'security-groups-per-network-interface',
    service: 'vpc',
    code: 'L-2AFB9258',
    title: 'Security groups per network interface',
    default: 5,
    unit: 'groups',
    scope: 'network-interface',
    counts: 'security groups of one network interface (or instance)',
  },
  ...EBS_VOLUME_TYPES.map((t): QuotaDef => ({
    name: storageQuotaName(t),
    service: 'ebs',
    code: EBS_TITLES[t][0],
    title: `Storage for ${EBS_TITLES[t][1]} volumes, in TiB`,
    default: EBS_TITLES[t][2],
    unit: 'TiB',
    scope: 'region',
    counts: `the sizes of every ${t} volume`,
  })),
  ...(['io1', 'io2'] as const).map((t): QuotaDef => ({
    name: iopsQuotaName(t),
    service: 'ebs',
    code: IOPS_QUOTA_TYPES[t][0],
    title: `IOPS for Provisioned IOPS SSD (${t}) volumes`,
    default: IOPS_QUOTA_TYPES[t][1],
    unit: 'IOPS',
    scope: 'region',
    counts: `the provisioned IOPS of every ${t} volume`,
  })),
]);

const byName = new Map(QUOTAS.map((q) => [q.name, q]));

export function findQuota(name: string): QuotaDef | undefined {
  return byName.get(name);
}

export function vcpuQuotaName(bucket: VcpuBucket): string {
  return `running-on-demand-${bucket}-vcpus`;
}

export function storageQuotaName(type: EbsVolumeType): string {
  return `${type}-storage-tib`;
}

export function iopsQuotaName(type: keyof typeof IOPS_QUOTA_TYPES): string {
  return `${type}-iops`;
}

/** The largest value a quota may be set to: what the store's integer column holds everywhere. */
export const MAX_QUOTA_VALUE = 2_147_483_647;

// Most specific prefix first: 'inf1' is Inf, not I; 'dl1' is DL, not D; 'hpc6a' is HPC, not H.
const BUCKET_PREFIXES: [RegExp, VcpuBucket][] = [
  [/^u(-|\d)/, 'high-memory'],
  [/^hpc/, 'hpc'],
  [/^inf/, 'inf'],
  [/^dl/, 'dl'],
  [/^trn/, 'trn'],
  [/^(g|vt)/, 'g-and-vt'],
  [/^p/, 'p'],
  [/^f/, 'f'],
  [/^x/, 'x'],
];

/** The On-Demand bucket of an instance type ('m5.large' → standard, 'g5.xlarge' → g-and-vt). */
export function vcpuBucketOf(instanceType: string): VcpuBucket {
  const family = instanceType.split('.')[0] ?? instanceType;
  for (const [re, bucket] of BUCKET_PREFIXES) if (re.test(family)) return bucket;
  return 'standard';
}

/** A quota's value as `--set` gives it: a whole number from 0 up. */
export function parseQuotaValue(name: string, raw: string): number {
  const def = findQuota(name);
  if (!def) throw new Error(`no quota named ${name}; the quotas are: ${QUOTAS.map((q) => q.name).join(', ')}`);
  const v = raw.trim();
  if (!/^\d+$/.test(v) || Number(v) > MAX_QUOTA_VALUE) throw new Error(`${name} must be a whole number of ${def.unit} from 0 to ${MAX_QUOTA_VALUE}, not ${JSON.stringify(raw)}`);
  return Number(v);
}
