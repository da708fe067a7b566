// The quotas' repository: an account's values (its overrides over the catalog's defaults) and what
// it uses of each, read from the rows the quotas count.
import { sql } from 'kysely';
import type { Db, Tx } from '../../../store/db.js';
import { isPostgres } from '../../../store/dialect.js';
import { runtimeMemoryMiB, runtimeVcpus } from '../instance-types/catalog.js';
import { launchOptionsOf } from '../instances/store.js';
import {
  EBS_VOLUME_TYPES,
  IOPS_QUOTA_TYPES,
  MAX_QUOTA_VALUE,
  QUOTAS,
  findQuota,
  iopsQuotaName,
  storageQuotaName,
  vcpuBucketOf,
  vcpuQuotaName,
  type EbsVolumeType,
  type QuotaDef,
  type VcpuBucket,
} from './catalog.js';

/** The region of an override that applies in every region. */
export const ALL_REGIONS = '*';

/** States in which an instance holds its vCPUs and memory: from launch until stopped or terminated. */
export const HOLDING_STATES = ['pending', 'running', 'stopping', 'shutting-down'];

export interface QuotaValue {
  def: QuotaDef;
  value: number;
  /** Where the value comes from: the catalog, the account's all-regions override, or the region's. */
  source: 'default' | 'account' | 'region';
}

/** Every quota's value for an account in a region: its region's override, else its all-regions one, else the default. */
export async function quotaValues(db: Tx, accountId: string, region: string): Promise<Map<string, QuotaValue>> {
  const rows = await db
    .selectFrom('account_quotas')
    .select(['region', 'quota_name', 'value'])
    .where('account_id', '=', accountId)
    .where('region', 'in', [region, ALL_REGIONS])
    .execute();
  const out = new Map<string, QuotaValue>();
  for (const def of QUOTAS) out.set(def.name, { def, value: def.default, source: 'default' });
  for (const r of rows.filter((x) => x.region === ALL_REGIONS)) {
    const def = findQuota(r.quota_name);
    if (def) out.set(def.name, { def, value: Number(r.value), source: 'account' });
  }
  for (const r of rows.filter((x) => x.region !== ALL_REGIONS)) {
    const def = findQuota(r.quota_name);
    if (def) out.set(def.name, { def, value: Number(r.value), source: 'region' });
  }
  return out;
}

/** One quota's value for an account in a region. */
export async function quotaValue(db: Tx, accountId: string, region: string, name: string): Promise<number> {
  const def = findQuota(name);
  if (!def) throw new Error(`unknown quota ${name}`);
  const rows = await db
    .selectFrom('account_quotas')
    .select(['region', 'value'])
    .where('account_id', '=', accountId)
    .where('quota_name', '=', name)
    .where('region', 'in', [region, ALL_REGIONS])
    .execute();
  const row = rows.find((r) => r.region === region) ?? rows.find((r) => r.region === ALL_REGIONS);
  return row ? Number(row.value) : def.default;
}

/**
 * Sets (or, with value null, removes) an account's override of a quota in one region, or in every
 * region when `region` is undefined.
 */
export async function setQuotaOverride(db: Db | Tx, accountId: string, region: string | undefined, name: string, value: number | null): Promise<void> {
  if (!findQuota(name)) throw new Error(`unknown quota ${name}`);
  const where = region ?? ALL_REGIONS;
  if (value === null) {
    await db.deleteFrom('account_quotas').where('account_id', '=', accountId).where('region', '=', where).where('quota_name', '=', name).execute();
    return;
  }
  if (!Number.isInteger(value) || value < 0 || value > MAX_QUOTA_VALUE) throw new Error(`a quota is a whole number from 0 to ${MAX_QUOTA_VALUE}, not ${value}`);
  const updated_at = new Date().toISOString();
  await db
    .insertInto('account_quotas')
    .values({ account_id: accountId, region: where, quota_name: name, value, updated_at })
    .onConflict((oc) => oc.columns(['account_id', 'region', 'quota_name']).doUpdateSet({ value, updated_at }))
    .execute();
}

/**
 * Quota checks and the writes they allow happen in the request's one transaction. SQLite runs one
 * transaction at a time (Kysely holds its one connection for the whole transaction); PostgreSQL
 * runs them side by side, so there every check first takes one transaction-scoped advisory lock:
 * two requests can't both count the same room.
 */
export async function serializeQuotaChecks(db: Tx): Promise<void> {
  if (isPostgres(db)) await sql`select pg_advisory_xact_lock(${QUOTA_LOCK})`.execute(db);
}
/** 'cumulo' in ASCII, as the key of the advisory lock. */
const QUOTA_LOCK = 0x63756d756c6f;

// ---------------------------------------------------------------------------------------------
// Usage

/** vCPUs an instance of this type counts toward its bucket: the type's, whatever its CPU options. */
export function quotaVcpusOf(instanceType: string): number {
  return runtimeVcpus(instanceType);
}

/** The vCPUs the account's instances hold in a region, by On-Demand bucket. */
export async function vcpuUsage(db: Tx, accountId: string, region: string): Promise<Map<VcpuBucket, number>> {
  const rows = await db
    .selectFrom('instances')
    .select(['instance_type', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('state', 'in', HOLDING_STATES)
    .groupBy('instance_type')
    .execute();
  const out = new Map<VcpuBucket, number>();
  for (const r of rows) {
    const bucket = vcpuBucketOf(r.instance_type);
    out.set(bucket, (out.get(bucket) ?? 0) + quotaVcpusOf(r.instance_type) * Number(r.n));
  }
  return out;
}

export async function elasticIpUsage(db: Tx, accountId: string, region: string): Promise<number> {
  const row = await db
    .selectFrom('public_ips')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('kind', '=', 'elastic')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function vpcUsage(db: Tx, accountId: string, region: string): Promise<number> {
  const row = await db
    .selectFrom('vpcs')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export interface EbsUsage {
  gib: number;
  iops: number;
}

/**
 * What the account's volumes take of each volume type in a region: sizes and provisioned IOPS.
 * A volume counts as its modification in progress will leave it; `except` leaves one out (the
 * volume a ModifyVolume is about to change).
 */
export async function ebsUsage(db: Tx, accountId: string, region: string, except?: string): Promise<Map<string, EbsUsage>> {
  let q = db
    .selectFrom('volumes')
    .leftJoin('volume_modifications', (j) => j.onRef('volume_modifications.volume_id', '=', 'volumes.id').on('volume_modifications.state', '=', 'modifying'))
    .select(['volumes.id', 'volumes.volume_type', 'volumes.size_gib', 'volumes.iops', 'volume_modifications.target'])
    .where('volumes.account_id', '=', accountId)
    .where('volumes.region', '=', region)
    .where('volumes.state', '!=', 'deleted');
  if (except) q = q.where('volumes.id', '!=', except);
  const out = new Map<string, EbsUsage>();
  for (const r of await q.execute()) {
    let type = r.volume_type;
    let gib = r.size_gib;
    let iops = r.iops ?? 0;
    const target = parseTarget(r.target);
    if (target) {
      type = target.VolumeType ?? type;
      gib = target.Size ?? gib;
      iops = target.Iops ?? 0;
    }
    const u = out.get(type) ?? { gib: 0, iops: 0 };
    u.gib += gib;
    u.iops += iops;
    out.set(type, u);
  }
  return out;
}

function parseTarget(json: string | null): { VolumeType?: string; Size?: number; Iops?: number } | undefined {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as { VolumeType?: string; Size?: number; Iops?: number };
  } catch {
    return undefined;
  }
}

/** What the instances placed on this host hold (every account and region): vCPUs and memory. */
export async function hostUsage(db: Tx): Promise<{ vcpus: number; memoryMiB: number }> {
  const rows = await db.selectFrom('instances').select(['instance_type', 'launch_options']).where('state', 'in', HOLDING_STATES).execute();
  // A reservation's instances share their options' text: parse each text once.
  const vcpusOf = new Map<string, number>();
  let vcpus = 0;
  let memoryMiB = 0;
  for (const r of rows) {
    const key = `${r.instance_type}\u0000${r.launch_options}`;
    let v = vcpusOf.get(key);
    if (v === undefined) {
      v = runtimeVcpus(r.instance_type, launchOptionsOf(r).CpuOptions);
      vcpusOf.set(key, v);
    }
    vcpus += v;
    memoryMiB += runtimeMemoryMiB(r.instance_type);
  }
  return { vcpus, memoryMiB };
}

// ---------------------------------------------------------------------------------------------
// The report `cumulo accounts limits` prints

export interface QuotaReportRow {
  name: string;
  code: string;
  title: string;
  unit: string;
  scope: string;
  default: number;
  value: number;
  source: QuotaValue['source'];
  /** Region-wide quotas: what the account uses; per-VPC/group/interface ones: the most any one uses. */
  usage: number;
}

/** Every quota of an account in a region, with its default, its value and its usage. */
export async function quotaReport(db: Tx, accountId: string, region: string): Promise<QuotaReportRow[]> {
  const values = await quotaValues(db, accountId, region);
  const usage = new Map<string, number>();
  for (const [bucket, n] of await vcpuUsage(db, accountId, region)) usage.set(vcpuQuotaName(bucket), n);
  usage.set('elastic-ips', await elasticIpUsage(db, accountId, region));
  usage.set('vpcs', await vpcUsage(db, accountId, region));
  const ebs = await ebsUsage(db, accountId, region);
  for (const t of EBS_VOLUME_TYPES) usage.set(storageQuotaName(t as EbsVolumeType), Math.ceil(((ebs.get(t)?.gib ?? 0) / 1024) * 100) / 100);
  for (const t of Object.keys(IOPS_QUOTA_TYPES) as (keyof typeof IOPS_QUOTA_TYPES)[]) usage.set(iopsQuotaName(t), ebs.get(t)?.iops ?? 0);
  usage.set('security-groups-per-vpc', await mostGroupsInAVpc(db, accountId, region));
  usage.set('rules-per-security-group', await mostRulesInAGroup(db, accountId, region));
  usage.set('security-groups-per-network-interface', await mostGroupsOnAnInterface(db, accountId, region));
  return QUOTAS.map((def) => {
    const v = values.get(def.name)!;
    return {
      name: def.name,
      code: def.code,
      title: def.title,
      unit: def.unit,
      scope: def.scope,
      default: def.default,
      value: v.value,
      source: v.source,
      usage: usage.get(def.name) ?? 0,
    };
  });
}

async function mostGroupsInAVpc(db: Tx, accountId: string, region: string): Promise<number> {
  const rows = await db
    .selectFrom('security_groups')
    .select(['vpc_id', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .groupBy('vpc_id')
    .execute();
  return Math.max(0, ...rows.map((r) => Number(r.n)));
}

async function mostRulesInAGroup(db: Tx, accountId: string, region: string): Promise<number> {
  const rows = await db
    .selectFrom('security_group_rules')
    .select(['group_id', 'is_egress', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .groupBy(['group_id', 'is_egress'])
    .execute();
  return Math.max(0, ...rows.map((r) => Number(r.n)));
}

async function mostGroupsOnAnInterface(db: Tx, accountId: string, region: string): Promise<number> {
  const rows = await db.selectFrom('network_interfaces').select('security_groups').where('account_id', '=', accountId).where('region', '=', region).execute();
  let most = 0;
  for (const r of rows) {
    try {
      const groups = JSON.parse(r.security_groups) as unknown;
      if (Array.isArray(groups)) most = Math.max(most, groups.length);
    } catch {
      // unreadable: counts as none
    }
  }
  return most;
}
