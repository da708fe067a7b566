// The instance reconcilers. Each job takes one step toward the instance's desired state and is
// safe to run again after a crash: it reads the row, observes the driver, acts, and records the
// outcome with a write guarded by the state it started from (a terminate that lands mid-launch
// wins, because the launch's final write no longer matches).
//
//   instance.launch     pending → VPC synced, driver.create + start → running   (a failure unwinds to terminated)
//   instance.start      pending → VPC synced, driver.start → running            (a failure falls back to stopped)
//   instance.stop       stopping → driver.stop → stopped, ephemeral public IPs released, VPC sync queued
//   instance.reboot     running → driver.reboot
//   instance.terminate  shutting-down → (driver.stop forced, when the OS shutdown is skipped) driver.delete
//                       → terminated, volumes, interfaces and public IPs released, VPC sync queued
//   instance.watch      running: polls the driver; a shutdown from inside follows the instance's
//                       InstanceInitiatedShutdownBehavior, a vanished instance is booted again;
//                       status checks are recorded (status-checks.ts)
//   instance.purge      terminated for terminatedRetentionMs → the row and its leftovers are deleted
//
// Crash consistency: an instance is `running` only once its init runs (driver.inspect tells a
// container made but never started, 'created', from a running one); a half-made one is removed
// and booted again by the job that made it, or by its watcher after a restart. A job that keeps
// failing gives up (runner.ts) through the hooks below: a launch ends terminated, a start stopped,
// a stop stopped, all with a state reason; host cleanup that fails is queued (cleanup.ts).
import type { InstanceDriver } from '../host/compute/driver.js';
import { isUntrustedFilesystemError } from '../host/storage/fsck.js';
import type { Tx } from '../store/db.js';
import type { Row } from '../store/schema.js';
import { queueSyncOfRoutesThrough, queueVpcSync } from '../services/ec2/common/network-sync.js';
import { publicIpsOfInterfaces, releaseEphemeralPublicIps } from '../services/ec2/common/public-ips.js';
import { stateReasons, userInitiated } from '../services/ec2/instances/states.js';
import { allocateUidRange, releaseUidRange, uidRangeOf } from '../services/ec2/instances/uid-ranges.js';
import { buildInstanceSpec, buildInterfaceSpec, volumeLimits } from './specs.js';
import type { ControllerDeps, Job, JobResult, Runner } from './runner.js';
import type { JobKind, JobPayloads } from '../store/job-kinds.js';
import { insertJobOf, setJobPayload } from '../store/jobs.js';
import { imageSourceOf } from '../services/ec2/images/store.js';
import { clearPublicIpIfTerminated, deleteTerminatedInstance, instanceById, setInstanceConsole, updateInstanceIf, type ConsoleCapture } from '../services/ec2/instances/store.js';
import { interfaceSpecsOfInstance, releaseInterfacesOf, vpcIdsOfInterfacesOf } from '../services/ec2/network-interfaces/store.js';
import { isBlockStoreSnapshot } from '../services/ec2/snapshots/store.js';
import { deleteTagsOfAll } from '../services/ec2/tags/store.js';
import { attachedDataVolumes, dataVolumesOf, markAttachmentsOfInstanceAttached, releaseVolumesOf, rootVolumeOf, moveVolumeState } from '../services/ec2/volumes/store.js';
import { subnetCidrOf, subnetCidrs, vpcCidrOf } from '../services/ec2/vpcs/store.js';
import { endAssociationsOfInstance } from '../services/ec2/iam-instance-profiles/store.js';
import { syncVpcNow } from './network.js';
import { forgetStatusChecks, recordStatusChecks } from './status-checks.js';
import { queueCleanup } from './cleanup.js';
import { watchNow } from './host.js';

type InstanceRow = Row<'instances'>;

/** How often a running instance is checked (CUMULO_INSTANCE_POLL_MS overrides, for tests). */
export function pollInterval(): number {
  return Number(process.env.CUMULO_INSTANCE_POLL_MS) || 30_000;
}

/** EC2 returns the most recent 64 KB of console output. */
const CONSOLE_LIMIT = 64 * 1024;
/**
 * EC2 posts console output shortly after a boot or reboot, not continuously: the watcher captures
 * it for this long after the last one, then leaves the host alone.
 */
const CONSOLE_WINDOW_MS = 2 * 60_000;
/** How often the console is taken while a boot is fresh: user data output shows within seconds. */
const CONSOLE_POLL_MS = 2_000;

/** When to look again: often while the last boot is fresh (console output), then every pollInterval. */
function nextWatch(bootedAt: number, now: number): Date {
  const fresh = now - bootedAt < CONSOLE_WINDOW_MS;
  return new Date(now + (fresh ? Math.min(CONSOLE_POLL_MS, pollInterval()) : pollInterval()));
}

export function registerInstanceControllers(runner: Runner): void {
  runner.register('instance.launch', (job, deps) => bringUp(job, deps, 'launch'), { giveUp: (job, deps, e) => giveUpBringUp(job, deps, e, 'launch') });
  runner.register('instance.start', (job, deps) => bringUp(job, deps, 'start'), { giveUp: (job, deps, e) => giveUpBringUp(job, deps, e, 'start') });
  runner.register('instance.stop', stop, { giveUp: giveUpStop });
  runner.register('instance.reboot', reboot, { giveUp: giveUpReboot });
  runner.register('instance.terminate', terminate, { giveUp: giveUpTerminate });
  runner.register('instance.watch', watch, { giveUp: giveUpWatch });
  // instance.purge touches only the store: no failure state to show, so it is parked when it gives up.
  runner.register('instance.purge', purge);
}

async function load(deps: ControllerDeps, id: string): Promise<InstanceRow | undefined> {
  return instanceById(deps.db, id);
}

/** Follow-up work goes into the same transaction as the state it follows from. */
async function queue<K extends JobKind>(db: Tx, kind: K, row: Pick<InstanceRow, 'id' | 'account_id' | 'region'>, payload: JobPayloads[K], runAt: Date): Promise<void> {
  await insertJobOf<JobPayloads, K>(db, { kind, resourceId: row.id, accountId: row.account_id, region: row.region, payload, runAt });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The console as the driver has it now (base64, last 64 KB), or undefined if it cannot say. */
async function consoleOf(driver: InstanceDriver, id: string): Promise<string | undefined> {
  try {
    const out = await driver.consoleOutput(id);
    return (out.length > CONSOLE_LIMIT ? out.subarray(out.length - CONSOLE_LIMIT) : out).toString('base64');
  } catch {
    return undefined;
  }
}

function consoleSet(output: string | undefined, now: string): ConsoleCapture {
  return output === undefined ? {} : { console_output: output, console_at: now };
}

export async function specOf(deps: Pick<ControllerDeps, 'db'>, row: InstanceRow) {
  const subnetCidr = await subnetCidrOf(deps.db, row.subnet_id);
  if (subnetCidr === undefined) throw new Error(`subnet ${row.subnet_id} of ${row.id} is gone`);
  const imageSource = await imageSourceOf(deps.db, row.image_id);
  const rootVolume = await rootVolumeOf(deps.db, row.id, row.root_device_name);
  // The root's snapshot when it is one of the block store's (CreateImage, RegisterImage, CopyImage).
  const rootSnapshotId = rootVolume?.snapshot_id && (await isBlockStoreSnapshot(deps.db, rootVolume.snapshot_id)) ? rootVolume.snapshot_id : undefined;
  // The data volumes attached (not those on their way out), with what the block I/O controller enforces.
  const data = await attachedDataVolumes(deps.db, row.id, row.root_device_name);
  const volumes = data.map((v) => ({ volumeId: v.volume_id, device: v.device, limits: volumeLimits(v) }));
  const enis = await interfaceSpecsOfInstance(deps.db, row.id);
  const cidrs = await subnetCidrs(deps.db, [...new Set([row.subnet_id, ...enis.map((e) => e.subnet_id)])]);
  const publicIps = enis.length
    ? await publicIpsOfInterfaces(
        deps.db,
        enis.map((e) => e.id),
      )
    : new Map<string, { publicIp: string; privateIp: string }[]>();
  const interfaces = enis.map((e) =>
    buildInterfaceSpec(e, { subnetCidr: cidrs.get(e.subnet_id) ?? subnetCidr, metadataOptions: row.metadata_options, publicIps: publicIps.get(e.id) }),
  );
  const vpcCidr = await vpcCidrOf(deps.db, row.vpc_id);
  const uidBase = await uidRangeOf(deps.db, row.id);
  return buildInstanceSpec(row, subnetCidr, {
    uidBase,
    imageSource,
    rootVolume,
    interfaces,
    vpcCidr,
    volumes,
    ...(rootSnapshotId ? { rootSnapshotId } : {}),
  });
}

/** The VPCs an instance has interfaces in (its own first). */
async function vpcsOf(db: Tx, row: InstanceRow): Promise<{ vpcId: string; accountId: string; region: string }[]> {
  const vpcIds = await vpcIdsOfInterfacesOf(db, row.id);
  return [...new Set([row.vpc_id, ...vpcIds])].map((vpcId) => ({ vpcId, accountId: row.account_id, region: row.region }));
}

/**
 * The instance no longer runs (stopped, terminated, or its launch or start failed): its ephemeral
 * public IPs go back to the pool and its VPCs drop its interfaces, in the state change's transaction.
 */
async function leaveNetwork(trx: Tx, row: InstanceRow, vpcs: { vpcId: string; accountId: string; region: string }[]): Promise<void> {
  await releaseEphemeralPublicIps(trx, row.id);
  for (const v of vpcs) await queueVpcSync(trx, v);
}

/**
 * Boot the instance on the driver: create (idempotent) and start unless its init already runs. A
 * container a crash left made but never started ('created') is not running: start() removes it
 * and boots the instance again.
 */
async function boot(deps: ControllerDeps, row: InstanceRow): Promise<void> {
  // Its VPC's namespace and rules first (pending, so its own interfaces are in them).
  for (const v of await vpcsOf(deps.db, row)) await syncVpcNow(deps, v.vpcId);
  await createDataVolumes(deps, row);
  // Its own range of host uids (its user namespace), kept until it is terminated.
  await allocateUidRange(deps.db, row.id);
  await deps.compute.create(await specOf(deps, row));
  const seen = await deps.compute.inspect(row.id);
  if (seen.state !== 'running') await deps.compute.start(row.id);
}

/** Why a launch or start failed, in EC2's words: the client's fault (Client.*) or ours (Server.*). */
export function failureReason(e: unknown, mode: 'launch' | 'start'): StateReason {
  // Its root volume's filesystem failed the host's check: the client's image or volume, not ours.
  // (The reason stays in the log: e2fsck's words about a tenant's bytes are not for the API.)
  if (isUntrustedFilesystemError(e)) return stateReasons.clientError;
  const m = message(e);
  if (/ENOSPC|No space left on device/.test(m)) return stateReasons.volumeLimitExceeded;
  if (/snapshot \S+ is not in the block store/.test(m)) return stateReasons.snapshotNotFound;
  if (/no uid range left/.test(m)) return stateReasons.insufficientCapacity;
  return mode === 'launch' ? stateReasons.internalError : stateReasons.startError;
}

/**
 * The data volumes of its block device mappings (empty, or from the image's snapshots) exist on the
 * host before it boots with them; the root volume is the driver's (create). Idempotent.
 */
async function createDataVolumes(deps: ControllerDeps, row: InstanceRow): Promise<void> {
  const volumes = await dataVolumesOf(deps.db, row.id, row.root_device_name);
  for (const v of volumes) {
    const snapshotId = v.snapshot_id && (await isBlockStoreSnapshot(deps.db, v.snapshot_id)) ? v.snapshot_id : undefined;
    await deps.storage.createVolume({
      volumeId: v.id,
      accountId: v.account_id,
      region: v.region,
      sizeGiB: v.size_gib,
      encrypted: v.encrypted === 1,
      ...(snapshotId ? { snapshotId } : {}),
    });
  }
  // What the launch made is there now: the volumes are in use.
  await moveVolumeState(
    deps.db,
    volumes.map((v) => v.id),
    'creating',
    'in-use',
  );
}

async function bringUp(job: Job<'instance.launch' | 'instance.start'>, deps: ControllerDeps, mode: 'launch' | 'start'): Promise<JobResult> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'pending' || row.desired_state !== 'running') return;
  try {
    await boot(deps, row);
  } catch (e) {
    deps.log(`instances: ${mode} of ${row.id} failed: ${message(e)}`);
    if (mode === 'launch') return failLaunch(deps, row, failureReason(e, mode));
    return failStart(deps, row, failureReason(e, mode));
  }
  const output = await consoleOf(deps.compute, row.id);
  const now = new Date();
  await deps.db.transaction().execute(async (trx) => {
    const running = await updateInstanceIf(
      trx,
      row.id,
      { state: 'pending', desired_state: 'running' },
      {
        state: 'running',
        state_transition_reason: '',
        state_reason: null,
        boots: row.boots + 1,
        runtime: { driver: deps.compute.info().name },
        updated_at: now.toISOString(),
        ...consoleSet(output, now.toISOString()),
      },
    );
    // A stop or terminate arrived while booting: its own job takes over from here.
    if (!running) return;
    await markAttachmentsOfInstanceAttached(trx, row.id);
    // Routes through it forward from now on (they are blackholes until it runs).
    await queueSyncOfRoutesThrough(trx, row);
    await queue(trx, 'instance.watch', row, { boot: row.boots + 1 }, nextWatch(now.getTime(), now.getTime()));
  });
}

type StateReason = { Code: string; Message: string };

/** The launch or start job failed its last attempt (outside boot, which fails at once): the same end. */
async function giveUpBringUp(job: Job<'instance.launch' | 'instance.start'>, deps: ControllerDeps, e: unknown, mode: 'launch' | 'start'): Promise<void> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'pending') return;
  if (mode === 'launch') await failLaunch(deps, row, failureReason(e, mode));
  else await failStart(deps, row, failureReason(e, mode));
}

/** Remove the instance from the host; false (logged) when that failed and a cleanup must follow. */
async function removeFromHost(deps: ControllerDeps, id: string, why: string): Promise<boolean> {
  try {
    await deps.compute.delete(id);
    return true;
  } catch (e) {
    deps.log(`instances: ${why} ${id}: removing it from the host failed (queued for cleanup): ${message(e)}`);
    return false;
  }
}

/** A launch that failed leaves nothing behind: no driver state, no volumes, no interface (what the host keeps is queued for cleanup). */
async function failLaunch(deps: ControllerDeps, row: InstanceRow, reason: StateReason): Promise<void> {
  const removed = await removeFromHost(deps, row.id, 'unwinding');
  const now = new Date();
  await deps.db.transaction().execute(async (trx) => {
    const ended = await updateInstanceIf(
      trx,
      row.id,
      { state: 'pending' },
      {
        state: 'terminated',
        desired_state: 'terminated',
        state_transition_reason: reason.Code,
        state_reason: reason,
        terminated_at: now.toISOString(),
        updated_at: now.toISOString(),
      },
    );
    if (!ended) return;
    await endAssociationsOfInstance(trx, row.id, now);
    const vpcs = await vpcsOf(trx, row);
    await leaveNetwork(trx, row, vpcs);
    await release(trx, row.id, { allVolumes: true, keepUidRange: !removed });
    if (!removed) await queueCleanup(trx, { resourceId: row.id, accountId: row.account_id, region: row.region }, { op: 'delete-instance' });
    await queue(trx, 'instance.purge', row, {}, new Date(now.getTime() + deps.config.terminatedRetentionMs));
  });
}

/** Halt the instance on the host by force; false (logged) when that failed and a cleanup must follow. */
async function haltOnHost(deps: ControllerDeps, id: string, why: string): Promise<boolean> {
  try {
    await deps.compute.stop(id, { force: true });
    return true;
  } catch (e) {
    deps.log(`instances: ${why} ${id}: stopping it on the host failed (queued for cleanup): ${message(e)}`);
    return false;
  }
}

/** A start that failed leaves the instance stopped, its disks intact. */
async function failStart(deps: ControllerDeps, row: InstanceRow, reason: StateReason): Promise<void> {
  await stopAs(deps, row, 'pending', reason, 'unwinding the start of');
}

/**
 * The instance ends stopped with `reason`, from state `from`: halted on the host by force, or, if
 * that fails, a cleanup queued that halts it (the API says stopped; the host follows).
 */
async function stopAs(deps: ControllerDeps, row: InstanceRow, from: string, reason: StateReason, why: string): Promise<void> {
  const halted = await haltOnHost(deps, row.id, why);
  await deps.db.transaction().execute(async (trx) => {
    const stopped = await updateInstanceIf(
      trx,
      row.id,
      { state: from },
      { state: 'stopped', desired_state: 'stopped', state_reason: reason, updated_at: new Date().toISOString() },
    );
    if (!stopped) return;
    await leaveNetwork(trx, row, await vpcsOf(trx, row));
    if (!halted) await queueCleanup(trx, { resourceId: row.id, accountId: row.account_id, region: row.region }, { op: 'stop-instance' });
  });
}

/** A stop that kept failing: stopped by force, with Server.InternalError. */
async function giveUpStop(job: Job<'instance.stop'>, deps: ControllerDeps): Promise<void> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'stopping') return;
  await stopAs(deps, row, 'stopping', stateReasons.stopError, 'giving up the stop of');
}

async function stop(job: Job<'instance.stop'>, deps: ControllerDeps): Promise<JobResult> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'stopping') return;
  const seen = await deps.compute.inspect(row.id);
  // Also when it powered itself off: the driver still holds its mounts and network until stopped.
  if (seen.state !== 'missing') await deps.compute.stop(row.id, { force: Boolean(job.data.force) });
  const output = await consoleOf(deps.compute, row.id);
  const now = new Date().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    if (await updateInstanceIf(trx, row.id, { state: 'stopping' }, { state: 'stopped', updated_at: now, ...consoleSet(output, now) }))
      await leaveNetwork(trx, row, await vpcsOf(trx, row));
  });
}

/**
 * Reboot once, even across a crash: the boot it replaces (Observed.bootId) goes into the job's
 * payload before the driver acts, so a job run again after a crash reboots only if that boot is
 * still the current one.
 */
async function reboot(job: Job<'instance.reboot'>, deps: ControllerDeps): Promise<JobResult> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'running') return;
  const seen = await deps.compute.inspect(row.id);
  const before = job.data.rebooting;
  if (before !== undefined && seen.bootId !== before) {
    // Its new boot began before a restart. Cut short before the guest's init ran (made, never
    // started; or gone): finish that boot, which is no second reboot. Otherwise: not again.
    if (seen.state === 'created' || seen.state === 'missing') {
      deps.log(`instances: ${row.id}: finishing a reboot a restart cut short`);
      await deps.compute.start(row.id);
    } else deps.log(`instances: ${row.id} rebooted already (before a restart); not again`);
  } else {
    if (before === undefined && seen.bootId !== undefined) {
      await setJobPayload<JobPayloads, 'instance.reboot'>(deps.db, job.id, { ...job.data, rebooting: seen.bootId });
    }
    await deps.compute.reboot(row.id);
  }
  const output = await consoleOf(deps.compute, row.id);
  const now = new Date().toISOString();
  // updated_at marks the reboot, so the watcher keeps posting the console while it boots again.
  await setInstanceConsole(deps.db, row.id, consoleSet(output, now), now);
}

/** A reboot that kept failing: the instance stays as the host has it; its watcher looks now. */
async function giveUpReboot(job: Job<'instance.reboot'>, deps: ControllerDeps): Promise<void> {
  await watchNow(deps, job.resource_id);
}

/**
 * Terminated as soon as asked: a host that fails to let go of the instance gets a cleanup job
 * (retried, never dropped), and the instance keeps its uid range until that is done.
 */
async function terminate(job: Job<'instance.terminate'>, deps: ControllerDeps): Promise<JobResult> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'shutting-down') return;
  // SkipOsShutdown: killed at once; the removal below then finds it halted (a failure there is its cleanup's).
  if (job.data.skipOsShutdown) await haltOnHost(deps, row.id, 'killing');
  const output = await consoleOf(deps.compute, row.id);
  await finishTerminate(deps, row, await removeFromHost(deps, row.id, 'terminating'), output);
}

async function giveUpTerminate(job: Job<'instance.terminate'>, deps: ControllerDeps): Promise<void> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'shutting-down') return;
  await finishTerminate(deps, row, await removeFromHost(deps, row.id, 'terminating'), undefined);
}

async function finishTerminate(deps: ControllerDeps, row: InstanceRow, removed: boolean, output: string | undefined): Promise<void> {
  const now = new Date();
  await deps.db.transaction().execute(async (trx) => {
    const terminated = await updateInstanceIf(
      trx,
      row.id,
      { state: 'shutting-down' },
      { state: 'terminated', terminated_at: now.toISOString(), updated_at: now.toISOString(), ...consoleSet(output, now.toISOString()) },
    );
    if (!terminated) return;
    // Its instance profile's association ends: the role's credentials are no longer served.
    await endAssociationsOfInstance(trx, row.id, now);
    // The VPCs before release() detaches and deletes the interfaces.
    const vpcs = await vpcsOf(trx, row);
    await leaveNetwork(trx, row, vpcs);
    await release(trx, row.id, { allVolumes: false, keepUidRange: !removed });
    if (!removed) await queueCleanup(trx, { resourceId: row.id, accountId: row.account_id, region: row.region }, { op: 'delete-instance' });
    await queue(trx, 'instance.purge', row, {}, new Date(now.getTime() + deps.config.terminatedRetentionMs));
  });
}

/**
 * Let go of what an instance held: volumes marked DeleteOnTermination (all of them when a launch
 * failed) are deleted, the others detached (available at once; a volume.detach job with
 * `released` makes the host let go of them too); interfaces likewise by their DeleteOnTermination.
 */
export async function release(db: Tx, instanceId: string, opts: { allVolumes: boolean; keepUidRange?: boolean }): Promise<void> {
  // The host has let go of the instance: its uid range may serve another (else its cleanup frees it).
  if (!opts.keepUidRange) await releaseUidRange(db, instanceId);
  // The data of deleted volumes goes from the host too, once the instance has let go of them.
  await releaseVolumesOf(db, instanceId, opts.allVolumes);
  await releaseInterfacesOf(db, instanceId);
  // A terminated instance shows no public address (an elastic IP stays with its kept interface).
  await clearPublicIpIfTerminated(db, instanceId);
}

async function watch(job: Job<'instance.watch'>, deps: ControllerDeps): Promise<JobResult> {
  const row = await load(deps, job.resource_id);
  // Only the watcher of the current boot keeps going; a stop or terminate ends it.
  if (!row || row.state !== 'running' || row.desired_state !== 'running' || job.data.boot !== row.boots) return;
  const next = { retryAt: nextWatch(Date.parse(row.updated_at), Date.now()) };
  const seen = await deps.compute.inspect(row.id);
  const now = new Date();
  if (seen.state === 'running') {
    if (now.getTime() - Date.parse(row.updated_at) < CONSOLE_WINDOW_MS || !row.console_output) {
      const output = await consoleOf(deps.compute, row.id);
      if (output !== undefined && output !== row.console_output) {
        await setInstanceConsole(deps.db, row.id, consoleSet(output, now.toISOString()));
      }
    }
    await recordStatusChecks(deps, row);
    return next;
  }
  if (seen.state === 'missing' || seen.state === 'created') {
    // The host lost it (a host reboot, a wiped runtime), or a crash left it made but never
    // started: boot it again, as EC2 recovers an instance.
    deps.log(`instances: ${row.id} is ${seen.state === 'missing' ? 'missing on the host' : 'made but not started'}; booting it again`);
    await boot(deps, row);
    return next;
  }
  // It shut itself down (poweroff inside): stop or terminate, as InstanceInitiatedShutdownBehavior says.
  const terminate = row.shutdown_behavior === 'terminate';
  await deps.db.transaction().execute(async (trx) => {
    const ended = await updateInstanceIf(
      trx,
      row.id,
      { state: 'running', desired_state: 'running' },
      {
        state: terminate ? 'shutting-down' : 'stopping',
        desired_state: terminate ? 'terminated' : 'stopped',
        state_transition_reason: userInitiated(seen.exitedAt ?? now),
        state_reason: stateReasons.instanceShutdown,
        updated_at: now.toISOString(),
      },
    );
    if (ended) await queue(trx, terminate ? 'instance.terminate' : 'instance.stop', row, {}, now);
  });
}

/**
 * The watcher kept failing (the host cannot say how the instance is, or cannot boot it again): it
 * is not called running any longer. It is stopped, with Server.InternalError, as EC2 stops an
 * instance it cannot recover.
 */
async function giveUpWatch(job: Job<'instance.watch'>, deps: ControllerDeps): Promise<void> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'running' || row.desired_state !== 'running' || job.data.boot !== row.boots) return;
  await stopAs(deps, row, 'running', stateReasons.recoveryError, 'giving up the recovery of');
}

async function purge(job: Job<'instance.purge'>, deps: ControllerDeps): Promise<JobResult> {
  const row = await load(deps, job.resource_id);
  if (!row || row.state !== 'terminated') return;
  const due = Date.parse(row.terminated_at ?? row.updated_at) + deps.config.terminatedRetentionMs;
  if (Date.now() < due) return { retryAt: new Date(due) };
  await deps.db.transaction().execute(async (trx) => {
    await release(trx, row.id, { allVolumes: false });
    await deleteTagsOfAll(trx, [row.id]);
    await forgetStatusChecks(trx, row.id);
    await deleteTerminatedInstance(trx, row.id);
  });
}
