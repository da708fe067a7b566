// Status checks, observed on the host and recorded in the store (DescribeInstanceStatus and
// DescribeVolumeStatus read them; handlers never ask the host):
//
//   instance.watch   (instances.ts) calls recordStatusChecks on each poll of a running instance:
//                    the driver's system and instance checks, at most once a poll interval, into
//                    instance_status_checks (with since when each has failed)
//   volume.check     every poll interval, one per host: each volume's backing (its data on the
//                    host; in use by a running instance, its block device too) into volume_status_checks
//
// The metrics sampler (host.ts) copies the current checks into each instance_metrics sample as
// StatusCheckFailed, StatusCheckFailed_System and StatusCheckFailed_Instance (statusDatapoints).
import { hostname } from 'node:os';
import type { CheckOutcome } from '../host/compute/driver.js';
import type { Tx } from '../store/db.js';
import type { CheckStatus, Row } from '../store/schema.js';
import { insertJob, jobQueued } from '../store/jobs.js';
import { forgetStatusChecksOf, putStatusChecks, statusChecksOf, statusChecksOfInstances } from '../services/ec2/instances/store.js';
import { forgetVolumeStatusChecks, putVolumeStatusCheck, volumeStateOf, allVolumeStatusChecks, volumesToCheck } from '../services/ec2/volumes/store.js';
import type { ControllerDeps, Job, JobResult, Runner } from './runner.js';

/** How often checks run: the instance poll (CUMULO_INSTANCE_POLL_MS), 30 s by default. */
export function checkInterval(): number {
  return Number(process.env.CUMULO_INSTANCE_POLL_MS) || 30_000;
}

export function registerStatusCheckControllers(runner: Runner): void {
  runner.register('volume.check', checkVolumes);
}

/** One volume checker per host: its job's resource id names the host. */
export const volumeCheckerId = () => `volume-check:${hostname()}`;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A failure's start: kept while it keeps failing, now when it starts, gone when it passes. */
export function failedSince(status: CheckStatus, before: { status: CheckStatus; since: string | null } | undefined, now: string): string | null {
  if (status !== 'failed') return null;
  return before?.status === 'failed' && before.since ? before.since : now;
}

const insufficient = (reason: string): CheckOutcome => ({ status: 'insufficient-data', reason });

/**
 * The checks of a running instance's current boot, into instance_status_checks. Skipped when this
 * boot's were taken less than a poll interval ago (the watcher polls faster while a boot is fresh).
 * Never throws: a check that cannot run is recorded as insufficient-data.
 */
export async function recordStatusChecks(
  deps: Pick<ControllerDeps, 'db' | 'compute' | 'log'>,
  row: Pick<Row<'instances'>, 'id' | 'account_id' | 'region' | 'boots'>,
): Promise<void> {
  try {
    const before = await statusChecksOf(deps.db, row.id);
    const same = before?.boot === row.boots ? before : undefined;
    if (same && Date.now() - Date.parse(same.checked_at) < checkInterval() * 0.9) return;
    const seen = await deps.compute
      .checkStatus(row.id)
      .catch((e) => ({ system: insufficient(`the check failed: ${message(e)}`), instance: insufficient(`the check failed: ${message(e)}`) }));
    const now = new Date().toISOString();
    const values = {
      account_id: row.account_id,
      region: row.region,
      boot: row.boots,
      system_status: seen.system.status,
      system_failed_since: failedSince(seen.system.status, same && { status: same.system_status, since: same.system_failed_since }, now),
      instance_status: seen.instance.status,
      instance_failed_since: failedSince(seen.instance.status, same && { status: same.instance_status, since: same.instance_failed_since }, now),
      checked_at: now,
    };
    for (const [name, was, is] of [
      ['system', same?.system_status, seen.system],
      ['instance', same?.instance_status, seen.instance],
    ] as const) {
      if (is.status !== was && (is.status === 'failed' || was === 'failed'))
        deps.log(`instances: ${row.id}: ${name} status check ${is.status}${is.reason ? `: ${is.reason}` : ''}`);
    }
    await putStatusChecks(deps.db, { instance_id: row.id, ...values });
  } catch (e) {
    deps.log(`instances: ${row.id}: recording status checks failed: ${message(e)}`);
  }
}

/** An instance's checks go with its row (purge). */
export async function forgetStatusChecks(db: Tx, instanceId: string): Promise<void> {
  await forgetStatusChecksOf(db, instanceId);
}

/** The StatusCheckFailed metrics of these running instances now (0 or 1; null where no check of this boot is known). */
export async function statusDatapoints(
  db: Tx,
  instances: Pick<Row<'instances'>, 'id' | 'boots'>[],
): Promise<Map<string, { status_check_failed: number | null; status_check_failed_system: number | null; status_check_failed_instance: number | null }>> {
  const out = new Map<string, { status_check_failed: number | null; status_check_failed_system: number | null; status_check_failed_instance: number | null }>();
  const ids = instances.map((i) => i.id);
  const rows = await statusChecksOfInstances(db, ids);
  const boots = new Map(instances.map((i) => [i.id, i.boots]));
  const fresh = Date.now() - 10 * checkInterval();
  for (const r of rows) {
    // Another boot's, or not renewed for ten polls (DescribeInstanceStatus's insufficient-data): unknown.
    if (boots.get(r.instance_id) !== r.boot || Date.parse(r.checked_at) < fresh) continue;
    out.set(r.instance_id, statusMetrics(r.system_status, r.instance_status));
  }
  return out;
}

/** EC2's definitions: each is 1 when its check failed, 0 when it passed; StatusCheckFailed is 1 when either failed. */
export function statusMetrics(
  system: CheckStatus,
  instance: CheckStatus,
): { status_check_failed: number | null; status_check_failed_system: number | null; status_check_failed_instance: number | null } {
  const bit = (s: CheckStatus) => (s === 'failed' ? 1 : s === 'passed' ? 0 : null);
  const sys = bit(system);
  const ins = bit(instance);
  const any = sys === 1 || ins === 1 ? 1 : sys === 0 && ins === 0 ? 0 : null;
  return { status_check_failed: any, status_check_failed_system: sys, status_check_failed_instance: ins };
}

/** At server start: the volume checker of this host, once. */
export async function ensureVolumeChecker(deps: Pick<ControllerDeps, 'db'>): Promise<void> {
  if (!(await jobQueued(deps.db, 'volume.check', volumeCheckerId())))
    await insertJob(deps.db, { kind: 'volume.check', resourceId: volumeCheckerId(), accountId: '', region: '', runAt: new Date() });
}

async function checkVolumes(_job: Job<'volume.check'>, deps: ControllerDeps): Promise<JobResult> {
  const next = { retryAt: new Date(Date.now() + checkInterval()) };
  const { volumes: all, attached } = await volumesToCheck(deps.db);
  // Its data is on the host once it is available, or attached (a root volume being launched, or a
  // volume on its way to an instance, is not there yet: not checked until it is).
  const made = new Set(attached.map((a) => a.volume_id));
  const volumes = all.filter((v) => v.state === 'available' || made.has(v.id));
  // In use: attached to an instance that runs (its block device is then expected on the host).
  const used = new Set(attached.filter((a) => a.state === 'running').map((a) => a.volume_id));
  const before = new Map((await allVolumeStatusChecks(deps.db)).map((r) => [r.volume_id, r]));
  for (const v of volumes) {
    const seen = await deps.storage.checkVolume(v.id, { inUse: used.has(v.id) }).catch((e) => insufficient(`the check failed: ${message(e)}`));
    const was = before.get(v.id);
    const now = new Date().toISOString();
    // A volume deleted meanwhile has no row to check any more.
    const still = await volumeStateOf(deps.db, v.id);
    if (still !== 'available' && still !== 'in-use') continue;
    if (seen.status !== was?.status && (seen.status === 'failed' || was?.status === 'failed'))
      deps.log(`volumes: ${v.id}: io-enabled check ${seen.status}${seen.reason ? `: ${seen.reason}` : ''}`);
    const values = { status: seen.status, failed_since: failedSince(seen.status, was && { status: was.status, since: was.failed_since }, now), checked_at: now };
    await putVolumeStatusCheck(deps.db, { volume_id: v.id, ...values });
  }
  // Checks of volumes that are gone.
  const live = new Set(all.map((v) => v.id));
  const gone = [...before.keys()].filter((id) => !live.has(id));
  await forgetVolumeStatusChecks(deps.db, gone);
  return next;
}
