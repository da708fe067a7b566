// Enforcement: each check runs in the handler's transaction, before the write it allows, and answers
// with EC2's own error when the account's quota (or the host's capacity) has no room.
import { Errors } from '../../errors.js';
import type { Ctx } from '../../context.js';
import { runtimeMemoryMiB } from '../instance-types/catalog.js';
import { prefixListMaxEntries } from '../prefix-lists/store.js';
import { groupCountOfVpc } from '../security-groups/store.js';
import { findQuota, iopsQuotaName, IOPS_QUOTA_TYPES, storageQuotaName, vcpuBucketOf, vcpuQuotaName, type EbsVolumeType, type VcpuBucket } from './catalog.js';
import { ebsUsage, elasticIpUsage, hostUsage, quotaValue, quotaVcpusOf, serializeQuotaChecks, vcpuUsage, vpcUsage } from './store.js';

const value = (ctx: Ctx, name: string) => quotaValue(ctx.db, ctx.accountId, ctx.region, name);

/** One new or growing EBS volume: its type, size and provisioned IOPS. */
export interface VolumeNeed {
  volumeType: string;
  sizeGiB: number;
  iops: number | null;
}

/** Instances to place: their type, the vCPUs they run with, and their zone (for the error). */
export interface InstanceNeed {
  instanceType: string;
  vcpus: number;
  zone: string;
}

/**
 * RunInstances: how many of `max` instances of one shape (each with `volumes`) the account's quotas
 * and the host's capacity admit. EC2 launches as many as it can from MaxCount down to MinCount, and
 * answers with the first limit that leaves fewer than `min`: the vCPU quota, the EBS quotas, then
 * the host's capacity.
 */
export async function admitLaunch(ctx: Ctx, o: { instance: InstanceNeed; volumes: VolumeNeed[]; min: number; max: number }): Promise<number> {
  await serializeQuotaChecks(ctx.db);
  let n = o.max;
  const type = o.instance.instanceType;

  const quotaName = vcpuQuotaName(vcpuBucketOf(type));
  const limit = await value(ctx, quotaName);
  const used = (await vcpuUsage(ctx.db, ctx.accountId, ctx.region)).get(vcpuBucketOf(type)) ?? 0;
  n = Math.min(n, roomFor(limit - used, quotaVcpusOf(type)));
  if (n < o.min) throw Errors.vcpuLimitExceeded(limit);

  n = Math.min(n, await ebsRoom(ctx, o.volumes, o.min));

  const host = await hostRoom(ctx);
  n = Math.min(n, roomFor(host.vcpus, o.instance.vcpus), roomFor(host.memoryMiB, runtimeMemoryMiB(type)));
  if (n < o.min) throw Errors.insufficientInstanceCapacity(type, o.instance.zone);
  return n;
}

/** StartInstances: every one of these stopped instances fits, or none starts. */
export async function admitStart(ctx: Ctx, instances: InstanceNeed[]): Promise<void> {
  if (!instances.length) return;
  await serializeQuotaChecks(ctx.db);
  const usage = await vcpuUsage(ctx.db, ctx.accountId, ctx.region);
  const wanted = new Map<VcpuBucket, number>();
  for (const i of instances) {
    const bucket = vcpuBucketOf(i.instanceType);
    wanted.set(bucket, (wanted.get(bucket) ?? 0) + quotaVcpusOf(i.instanceType));
  }
  for (const [bucket, vcpus] of wanted) {
    const limit = await value(ctx, vcpuQuotaName(bucket));
    if ((usage.get(bucket) ?? 0) + vcpus > limit) throw Errors.vcpuLimitExceeded(limit);
  }
  const host = await hostRoom(ctx);
  let vcpus = 0;
  let memoryMiB = 0;
  for (const i of instances) {
    vcpus += i.vcpus;
    memoryMiB += runtimeMemoryMiB(i.instanceType);
    if (vcpus > host.vcpus || memoryMiB > host.memoryMiB) throw Errors.insufficientInstanceCapacity(i.instanceType, i.zone);
  }
}

/** CreateVolume, ModifyVolume (`replacing` the volume's current shape): the EBS quotas have room. */
export async function admitVolume(ctx: Ctx, need: VolumeNeed, replacing?: string): Promise<void> {
  await serializeQuotaChecks(ctx.db);
  await ebsRoom(ctx, [need], 1, replacing);
}

/** How many sets of `volumes` the storage and IOPS quotas admit; fewer than `min` is EC2's error. */
async function ebsRoom(ctx: Ctx, volumes: VolumeNeed[], min: number, except?: string): Promise<number> {
  const per = new Map<string, { gib: number; iops: number }>();
  for (const v of volumes) {
    const p = per.get(v.volumeType) ?? { gib: 0, iops: 0 };
    p.gib += v.sizeGiB;
    p.iops += v.iops ?? 0;
    per.set(v.volumeType, p);
  }
  if (!per.size) return Number.MAX_SAFE_INTEGER;
  const usage = await ebsUsage(ctx.db, ctx.accountId, ctx.region, except);
  let n = Number.MAX_SAFE_INTEGER;
  for (const [type, need] of per) {
    const storage = storageQuotaName(type as EbsVolumeType);
    if (findQuota(storage)) {
      const tib = await value(ctx, storage);
      const room = roomFor(tib * 1024 - (usage.get(type)?.gib ?? 0), need.gib);
      if (room < min) throw Errors.volumeLimitExceeded(type, tib);
      n = Math.min(n, room);
    }
    if (type in IOPS_QUOTA_TYPES) {
      const limit = await value(ctx, iopsQuotaName(type as keyof typeof IOPS_QUOTA_TYPES));
      const room = roomFor(limit - (usage.get(type)?.iops ?? 0), need.iops);
      if (room < min) throw Errors.maxIopsLimitExceeded(type, limit);
      n = Math.min(n, room);
    }
  }
  return n;
}

/** What is left of the host for new instances: vCPUs and memory, after those placed already. */
async function hostRoom(ctx: Ctx): Promise<{ vcpus: number; memoryMiB: number }> {
  const c = ctx.config.hostCapacity;
  const used = await hostUsage(ctx.db);
  return { vcpus: c.vcpus * c.cpuOvercommit - used.vcpus, memoryMiB: c.memoryMiB * c.memoryOvercommit - used.memoryMiB };
}

/** How many of `each` fit in `room` (each > 0); all of them when each is 0. */
function roomFor(room: number, each: number): number {
  if (each <= 0) return Number.MAX_SAFE_INTEGER;
  return Math.max(0, Math.floor(room / each + 1e-9));
}

/** AllocateAddress: the account's elastic IPs in this region stay within its quota. */
export async function checkElasticIpQuota(ctx: Ctx): Promise<void> {
  await serializeQuotaChecks(ctx.db);
  if ((await elasticIpUsage(ctx.db, ctx.accountId, ctx.region)) >= (await value(ctx, 'elastic-ips'))) throw Errors.addressLimitExceeded();
}

/** CreateVpc, CreateDefaultVpc: the account's VPCs in this region (the default one too) stay within its quota. */
export async function checkVpcQuota(ctx: Ctx): Promise<void> {
  await serializeQuotaChecks(ctx.db);
  if ((await vpcUsage(ctx.db, ctx.accountId, ctx.region)) >= (await value(ctx, 'vpcs'))) throw Errors.vpcLimitExceeded();
}

/** CreateSecurityGroup: the VPC's groups (its default one too) stay within the quota. */
export async function checkSecurityGroupQuota(ctx: Ctx, vpcId: string): Promise<void> {
  await serializeQuotaChecks(ctx.db);
  if ((await groupCountOfVpc(ctx.db, vpcId)) >= (await value(ctx, 'security-groups-per-vpc'))) throw Errors.securityGroupLimitExceeded(vpcId);
}

/** Before a handler reads the rows a quota counts, when it checks them later itself (rules). */
export async function holdQuotaLock(ctx: Ctx): Promise<void> {
  await serializeQuotaChecks(ctx.db);
}

/**
 * A group's rules in one direction (IPv4 and IPv6 counted apart, as EC2 does) after a change; the
 * caller read them under holdQuotaLock.
 */
export async function checkRulesQuota(
  ctx: Ctx,
  rules: { cidr_ipv6: string | null; prefix_list_id?: string | null }[],
  maxEntriesOf: Map<string, number> = new Map(),
): Promise<void> {
  const v6 = rules.filter((r) => r.cidr_ipv6).length;
  // A rule naming a prefix list counts as many rules as the list may hold (its MaxEntries), as on EC2.
  const lists = [...new Set(rules.flatMap((r) => (r.prefix_list_id && !maxEntriesOf.has(r.prefix_list_id) ? [r.prefix_list_id] : [])))];
  const weights = new Map(maxEntriesOf);
  if (lists.length) {
    for (const [id, max] of await prefixListMaxEntries(ctx.db, lists)) weights.set(id, max);
  }
  const v4 = rules.reduce((n, r) => n + (r.cidr_ipv6 ? 0 : r.prefix_list_id ? (weights.get(r.prefix_list_id) ?? 1) : 1), 0);
  const limit = await value(ctx, 'rules-per-security-group');
  if (v6 > limit || v4 > limit) throw Errors.rulesPerSecurityGroupLimitExceeded();
}

/** Security groups of one interface (CreateNetworkInterface, ModifyNetworkInterfaceAttribute). */
export async function checkGroupsPerInterface(ctx: Ctx, count: number): Promise<void> {
  if (count > (await value(ctx, 'security-groups-per-network-interface'))) throw Errors.securityGroupsPerInterfaceLimitExceeded();
}

/** Security groups of one instance (RunInstances, ModifyInstanceAttribute groupSet). */
export async function checkGroupsPerInstance(ctx: Ctx, count: number): Promise<void> {
  if (count > (await value(ctx, 'security-groups-per-network-interface'))) throw Errors.securityGroupsPerInstanceLimitExceeded();
}
