// Reconcilers between the store and what a host's parts hold beyond one instance's lifecycle
// (volume.delete lives with the other volume reconcilers in volumes.ts):
//
//   instance.metadata  (older stores) → a vpc.sync of the instance's VPC, which now carries the hop limit
//   metrics.sample     every CUMULO_METRICS_INTERVAL_MS: counters of the running instances into
//                      instance_metrics, with their StatusCheckFailed metrics; samples older
//                      than CUMULO_METRICS_RETENTION_MS go
//
// and what a server does with its host at start (adoptHost) and when an instance ends (watchNow).
import { hostname } from 'node:os';
import { queueVpcSync } from '../services/ec2/common/network-sync.js';
import { insertJob, jobQueued, runJobsNow } from '../store/jobs.js';
import { storedInstanceStates, instanceVpcOf, recordInstanceMetrics, runningInstances } from '../services/ec2/instances/store.js';
import { syncVpcNow, vpcsWithInstancesUp } from './network.js';
import type { ControllerDeps, Job, JobResult, Runner } from './runner.js';
import { ensureVolumeChecker, statusDatapoints } from './status-checks.js';

export function metricsInterval(): number {
  return Number(process.env.CUMULO_METRICS_INTERVAL_MS) || 60_000;
}

/** CloudWatch keeps one-minute data points for 15 days. */
export function metricsRetention(): number {
  return Number(process.env.CUMULO_METRICS_RETENTION_MS) || 15 * 24 * 3600_000;
}

/** One sampler per host: its job's resource id names the host. */
export const samplerId = () => `metrics:${hostname()}`;

export function registerHostControllers(runner: Runner): void {
  runner.register('instance.metadata', updateMetadata);
  // The sampler is periodic: a sample that kept failing is skipped (logged), the next one is due as usual.
  runner.register('metrics.sample', sample, {
    giveUp: async (job, deps) => insertJob(deps.db, { kind: job.kind, resourceId: job.resource_id, accountId: '', region: '', runAt: new Date(Date.now() + metricsInterval()) }),
  });
}

/** A job queued by an older server: the hop limit is part of the VPC's data plane now. */
async function updateMetadata(job: Job<'instance.metadata'>, deps: ControllerDeps): Promise<JobResult> {
  const row = await instanceVpcOf(deps.db, job.resource_id);
  if (row) await queueVpcSync(deps.db, { vpcId: row.vpc_id, accountId: row.account_id, region: row.region });
}

async function sample(_job: Job<'metrics.sample'>, deps: ControllerDeps): Promise<JobResult> {
  const next = { retryAt: new Date(Date.now() + metricsInterval()) };
  const source = deps.metrics;
  if (!source) return; // a sampler queued by a server whose compute part had counters
  const running = await runningInstances(deps.db);
  const checks = await statusDatapoints(deps.db, running);
  const at = new Date().toISOString();
  const rows = [];
  for (const i of running) {
    const c = await source.metrics(i.id).catch(() => undefined);
    if (!c) continue;
    rows.push({
      instance_id: i.id,
      account_id: i.account_id,
      region: i.region,
      at,
      cpu_us: Math.floor(c.cpuNs / 1000),
      memory_bytes: c.memoryBytes,
      memory_rss_bytes: c.memoryRssBytes,
      memory_limit_bytes: c.memoryLimitBytes,
      oom_kills: c.oomKills,
      pids: c.pids,
      disk_read_bytes: c.diskReadBytes,
      disk_write_bytes: c.diskWriteBytes,
      disk_read_ops: c.diskReadOps,
      disk_write_ops: c.diskWriteOps,
      net_in_bytes: c.netInBytes,
      net_out_bytes: c.netOutBytes,
      net_in_packets: c.netInPackets,
      net_out_packets: c.netOutPackets,
      // Every row the same columns (a multi-row insert); null: no check of this boot known yet.
      ...(checks.get(i.id) ?? { status_check_failed: null, status_check_failed_system: null, status_check_failed_instance: null }),
    });
  }
  await recordInstanceMetrics(deps.db, rows, new Date(Date.now() - metricsRetention()).toISOString());
  return next;
}

/**
 * At server start, before the controllers run: the host's instances are matched against the
 * store. What the store no longer knows (terminated, purged, or a launch whose row never
 * committed) is removed; the watchers of the others run now instead of at their next poll, so
 * an instance that died with the host is booted again at once.
 */
export async function adoptHost(deps: Pick<ControllerDeps, 'db' | 'compute' | 'storage' | 'network' | 'metrics' | 'log'>): Promise<void> {
  const ids = await deps.compute.list();
  const live = await storedInstanceStates(deps.db, ids);
  for (const id of ids) {
    const state = live.get(id);
    if (state === 'stopped') {
      // The store says stopped: nothing of it may run (a stop whose host part was left to a cleanup).
      const seen = await deps.compute.inspect(id).catch(() => undefined);
      if (seen?.state === 'running' || seen?.state === 'created') {
        deps.log(`instances: stopping ${id} on the host (stopped in the store)`);
        await deps.compute.stop(id, { force: true }).catch((e) => deps.log(`instances: stopping ${id} failed: ${(e as Error).message}`));
      }
      continue;
    }
    if (state !== undefined && state !== 'terminated') continue;
    deps.log(`instances: removing ${id} from the host (${state ?? 'unknown to the store'})`);
    await deps.compute.delete(id).catch((e) => deps.log(`instances: removing ${id} failed: ${(e as Error).message}`));
  }
  await adoptVpcs(deps);
  await runJobsNow(deps.db, 'instance.watch');
  await ensureVolumeChecker(deps);
  // The sampler: one per host, made once.
  if (deps.metrics) {
    if (!(await jobQueued(deps.db, 'metrics.sample', samplerId())))
      await insertJob(deps.db, { kind: 'metrics.sample', resourceId: samplerId(), accountId: '', region: '', runAt: new Date(Date.now() + metricsInterval()) });
  }
}

/**
 * The VPC data planes on this host, at server start: every VPC with an instance up is synced now
 * (the metadata and DNS services listen on new ports at every start, so the rules change), and
 * every VPC the host still has without one is removed. A sync that fails here is queued, so the
 * controllers retry it.
 */
async function adoptVpcs(deps: Pick<ControllerDeps, 'db' | 'network' | 'log'>): Promise<void> {
  const up = await vpcsWithInstancesUp(deps.db);
  for (const vpc of up) {
    try {
      await syncVpcNow(deps, vpc.vpcId);
    } catch (e) {
      deps.log(`network: syncing ${vpc.vpcId} failed: ${(e as Error).message}; queued`);
      await queueVpcSync(deps.db, vpc);
    }
  }
  const wanted = new Set(up.map((v) => v.vpcId));
  const present = await deps.network.vpcsPresent();
  for (const vpcId of present) {
    if (wanted.has(vpcId)) continue;
    deps.log(`network: removing ${vpcId} from the host (no instance up)`);
    await deps.network.removeVpc(vpcId).catch((e) => deps.log(`network: removing ${vpcId} failed: ${(e as Error).message}`));
  }
}

/** An instance stopped by itself: its watcher runs now, not at its next poll. */
export async function watchNow(deps: Pick<ControllerDeps, 'db'>, instanceId: string): Promise<void> {
  await runJobsNow(deps.db, 'instance.watch', instanceId);
}
