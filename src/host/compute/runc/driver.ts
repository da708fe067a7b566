// The runc driver: each instance is an OCI container booted from its own EBS root volume, with its
// own namespaces, the cgroup limits of its type, and the image's init as PID 1.
//
//   $CUMULO_HOME/instances/<id>/          the bundle: config.json, spec.json, console.log, init.pid
//   /run/cumulo/<tag>/<id>/                0710 root:<the range's first id>: runc (inside the user
//                                          namespace) passes; no other range does
//   /run/cumulo/<tag>/<id>/root           the root volume, mounted: the host's view (the image's ids)
//   /run/cumulo/<tag>/<id>/rootfs         the same, idmapped through its user namespace (runc's root.path)
//   /run/cumulo/<tag>/<id>/store.raw      ephemeral0 of the instance store, mounted: the host's view
//   /run/cumulo/<tag>/<id>/store          the same, idmapped (bound at /mnt)
//   /run/cumulo/<tag>/<id>/dev            its /dev, a tmpfs the host fills (volumes appear here)
//   /run/cumulo/<tag>/<id>/userns         its user namespace, held (userns.ts)
//   $CUMULO_HOME/instances/<id>/stopped   marker: stopped through the driver (not lost)
//   $CUMULO_HOME/instances/<id>/frozen    marker: its root is frozen for a snapshot's instant
//                                          (storage/freeze.ts); thawed at init if a crash left it
//   $CUMULO_HOME/instances/<id>/boot-id   names the current boot (Observed.bootId), new at each start
//   $CUMULO_HOME/runc/                    runc's state (`runc --root`): survives a server restart
//   $CUMULO_HOME/runc-exits/<id>          conmon's record of how the init ended
//
// Everything is on disk, so a new server adopts what an old one (even a SIGKILLed one) started.
// create() prepares (volume, mounts, guest files, network); start() runs the container; stop()
// shuts it down and lets go of everything but the disks; delete() removes all of it.
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { hostTag } from '../../tag.js';
import type { ImageStore } from '../../images/store.js';
import type { HostNetwork } from '../../network/host-network.js';
import type { EbsStorage } from '../../storage/ebs.js';
import type { RootQuiescer } from '../../storage/part.js';
import type { XfsVolumeStore } from '../../storage/xfs-store.js';
import type { AttachedVolumeSpec, CheckOutcome, DriverInfo, ExitEvents, InstanceCounters, InstanceDriver, InstanceSpec, MetricsSource, Observed, VolumeLimits } from '../driver.js';
import { instanceNetns } from '../../network/names.js';
import { probeStatus } from './status.js';
import { parseNetDev, readCounters } from './metrics.js';
import { LiveVolumes, loopsOfVolume, saveVolumes } from './volumes.js';
import { consoleTail, trimConsole } from './console.js';
import { fileExists, Monitor } from './monitor.js';
import { hostNofileHard, removeCgroupParents } from './cgroups.js';
import { parseDevNo } from '../../storage/devno.js';
import { unmountTree } from '../../storage/mounts.js';
import { thawLeftover, whileFrozen } from '../../storage/freeze.js';
import { CommandError, Runc } from './runtime.js';
import { protectHostPids } from './pids.js';
import { Lxcfs } from './lxcfs.js';
import { Locks, Steps } from './locks.js';
import { prepareBundle } from './prepare.js';
import { isMountPoint, releaseDev, releaseUserNetns } from './userns.js';

export interface RuncDriverOptions {
  home: string;
  images: ImageStore;
  /** The host's storage part: root and data volumes, the instance store. */
  storage: EbsStorage;
  /** The host's network part: each instance plugged into its VPC's data plane. */
  network: HostNetwork;
  log?: (line: string) => void;
  /** How long a stop waits for the guest to shut down before killing it (default 30 s). */
  stopTimeoutMs?: number;
  /** How long a root volume may stay frozen for a snapshot's clone before it is thawed and the capture fails (default 10 s). */
  freezeTimeoutMs?: number;
  /** The API's CA certificate (the state folder's own): bound read-only into every instance, which trusts it. */
  caFile?: string;
}

/**
 * How the init ended, as conmon records it (128 + signal when killed). The guest init exits 129
 * for `reboot`; so does any init that calls reboot(2), which in a child PID namespace kills the
 * namespace's init with SIGHUP (SIGINT for a power-off: the kernel's reboot_pid_ns). A restart is
 * booted again in place; anything else means stopped.
 */
export const REBOOT_EXIT = 128 + 1;

/** A graceful shutdown, as the guest init takes it (src/host/images/guest/init.sh: TERM → power off, exit 0). */
export const STOP_SIGNAL = 'SIGTERM';

export class RuncDriver implements InstanceDriver, ExitEvents, MetricsSource, RootQuiescer {
  readonly home: string;
  readonly tag: string;
  readonly instancesDir: string;
  readonly exitDir: string;
  readonly cgroupParent: string;
  /** /run/cumulo/<tag>: the instances' mount points. */
  readonly runDir: string;
  private readonly lxcfs: Lxcfs;
  private runc?: Runc;
  private readonly locks = new Locks();
  /** A freeze of an instance's root, its thaw and its unmount: one at a time (never a freeze of an unmounted path). */
  private readonly freezeLocks = new Locks();
  private readonly log: (line: string) => void;
  private watcher?: FSWatcher;
  private exitListeners: ((instanceId: string) => void)[] = [];
  /** Instances prepared by this process and not let go of since: start() need not prepare them again. */
  private prepared = new Set<string>();
  private nofileHard = 524288;
  private closed = false;
  private readonly volumes: XfsVolumeStore;
  private readonly live = new LiveVolumes();
  private readonly monitor: Monitor;

  constructor(private readonly opts: RuncDriverOptions) {
    this.home = resolve(opts.home);
    this.tag = hostTag(this.home);
    this.instancesDir = join(this.home, 'instances');
    this.exitDir = join(this.home, 'runc-exits');
    this.cgroupParent = `cumulo_${this.tag}`;
    this.runDir = join('/run/cumulo', this.tag);
    this.log = opts.log ?? (() => undefined);
    this.lxcfs = new Lxcfs(join(this.runDir, 'lxcfs'), this.log);
    this.volumes = opts.storage.volumes;
    this.monitor = new Monitor(
      () => this.rt,
      this.exitDir,
      (id) => this.dir(id),
    );
  }

  info(): DriverInfo {
    return {
      name: 'runc',
      description: 'OCI containers (runc + conmon): own namespaces, cgroup limits of the instance type, booted from an EBS root volume',
      isolation: 'container',
      features: ['reboot', 'console-output', 'metrics', 'status-checks', 'exit-events', 'instance-store', 'metadata-options', 'volume-attachments'],
    };
  }

  private get rt(): Runc {
    this.runc ??= new Runc(join(this.home, 'runc'), this.exitDir);
    return this.runc;
  }

  /** The CA's copy that runc binds into instances: where their unprivileged root can read it. */
  private get caCopy(): string {
    return join(this.runDir, 'ca.pem');
  }

  /** Public bytes of the host's own (never an instance's), replaced whole: a running instance keeps the one it has. */
  private async copyCa(): Promise<void> {
    if (!this.opts.caFile) return;
    const tmp = `${this.caCopy}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, await readFile(this.opts.caFile), { mode: 0o444 });
    await chmod(tmp, 0o444);
    await rename(tmp, this.caCopy);
  }

  /** Where the instance's mounts are (its root, instance store, /dev, user namespace): see init(). */
  mnt(id: string): string {
    return join(this.runDir, basename(this.dir(id)));
  }

  private dir(id: string): string {
    if (!/^i-[0-9a-f]{8,17}$/.test(id)) throw new Error(`not an instance id: ${id}`);
    return join(this.instancesDir, id);
  }

  /** Set up the host side, adopt what a previous server left running, and watch for instances that end. */
  async init(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error('the runc driver runs instances as root: start cumulo as root (or CUMULO_DRIVER=fake to run nothing)');
    await mkdir(this.instancesDir, { recursive: true, mode: 0o700 });
    // What runc binds into an instance is reached by the instance's own root (an unprivileged uid):
    // not through the state folder (0700), but /run/cumulo/<tag>, which anyone may pass through
    // and no one but root may list; each instance's folder there lets only its own group through.
    await mkdir(this.runDir, { recursive: true, mode: 0o711 });
    await chmod(dirname(this.runDir), 0o711);
    await chmod(this.runDir, 0o711);
    await mkdir(this.exitDir, { recursive: true });
    await mkdir(join(this.home, 'runc'), { recursive: true, mode: 0o700 });
    // Before anything writes to an instance's root: a crash between fsfreeze -f and -u left it frozen.
    for (const id of await this.list()) await this.thawLeftover(id).catch((e) => this.log(`runc: thawing the root of ${id}: ${(e as Error).message}`));
    this.nofileHard = await hostNofileHard();
    await protectHostPids(this.cgroupParent, { log: this.log });
    await this.lxcfs.ensure();
    await this.copyCa();
    await Promise.all([this.opts.storage.init(), this.opts.network.init()]);
    // Containers without a bundle belong to nothing: a create that a killed server left half-done.
    const known = new Set(await this.list());
    for (const c of await this.rt.list()) {
      if (known.has(c.id)) continue;
      this.log(`runc: removing orphan container ${c.id}`);
      await this.rt.kill(c.id, 'KILL', true).catch(() => undefined);
      await this.rt.delete(c.id).catch((e) => this.log(`runc: ${c.id}: ${(e as Error).message}`));
    }
    // Exit records of instances that are gone (an exit recorded after the instance was deleted).
    for (const name of await readdir(this.exitDir)) if (!known.has(name)) await rm(join(this.exitDir, name), { force: true });
    // Instance-store disks of instances this host no longer has.
    for (const id of await this.opts.storage.instanceStore.list()) {
      if (!known.has(id)) await this.opts.storage.instanceStore.destroy(id).catch((e) => this.log(`runc: instance store of ${id}: ${(e as Error).message}`));
    }
    this.watcher = watch(this.exitDir, (_event, name) => {
      if (name && /^i-[0-9a-f]+$/.test(name)) void this.onExitFile(name);
    });
    this.watcher.on('error', (e) => this.log(`runc: exit watcher: ${e.message}`));
    // Exits that happened while no server was listening.
    for (const name of await readdir(this.exitDir)) if (known.has(name)) void this.onExitFile(name);
  }

  /** Called with an instance id whenever an instance stops by itself (poweroff inside it). */
  onExit(listener: (instanceId: string) => void): void {
    this.exitListeners.push(listener);
  }

  private async readSpec(id: string): Promise<InstanceSpec> {
    const raw = JSON.parse(await readFile(join(this.dir(id), 'spec.json'), 'utf8')) as InstanceSpec & { userData?: string };
    return { ...raw, userData: raw.userData ? Buffer.from(raw.userData as unknown as string, 'base64') : undefined };
  }

  /**
   * Thaw the instance's root if a marker says a freeze was left by a crash (and drop the marker);
   * waits for a freeze in flight to end. A write to a frozen root would block (uninterruptibly:
   * not even a kill ends a guest blocked there), so every step that may touch it comes after.
   */
  private async thawLeftover(id: string): Promise<void> {
    await this.freezeLocks.run(id, () => this.thawLeftoverLocked(id));
  }

  private async thawLeftoverLocked(id: string): Promise<void> {
    const path = await thawLeftover(join(this.dir(id), 'frozen'));
    if (path) this.log(`runc: thawed ${path} of ${id}, left frozen by a crash`);
  }

  async create(spec: InstanceSpec): Promise<void> {
    const dir = this.dir(spec.instanceId);
    await this.locks.run(spec.instanceId, async () => {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(join(dir, 'spec.json'), JSON.stringify({ ...spec, userData: spec.userData?.toString('base64') }));
      await this.prepare(spec);
    });
  }

  /** Everything the container needs, made if missing; idempotent, unwound when a step fails (prepare.ts). */
  private async prepare(spec: InstanceSpec): Promise<void> {
    await prepareBundle(
      {
        images: this.opts.images,
        storage: this.opts.storage,
        network: this.opts.network,
        lxcfsDir: this.lxcfs.dir,
        ...(this.opts.caFile ? { caFile: this.caCopy } : {}),
        cgroupParent: this.cgroupParent,
        nofileHard: this.nofileHard,
        log: this.log,
        dir: (id) => this.dir(id),
        mnt: (id) => this.mnt(id),
        thawLeftover: (id) => this.thawLeftover(id),
      },
      spec,
    );
    this.prepared.add(spec.instanceId);
  }

  async start(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      const spec = await this.readSpec(id);
      // After a restart (or a stop) the mounts and network may be gone: prepare is idempotent.
      if (!this.prepared.has(id)) await this.prepare(spec);
      await this.boot(id, spec);
    });
  }

  /** Run the container from the prepared bundle (a leftover one is removed first). */
  private async boot(id: string, spec: InstanceSpec): Promise<void> {
    const dir = this.dir(id);
    const seen = await this.rt.state(id);
    if (seen?.status === 'running') return;
    if (seen) {
      // Made and never started (a server killed between `runc create` and `runc start`), or
      // ended: removed. Its conmon records the end of the old init; that record is waited for and
      // dropped here, so it is never taken for an end of the boot that follows.
      if (seen.status !== 'stopped') this.log(`runc: ${id}: removing a container that was made but never started (${seen.status})`);
      await this.rt.delete(id);
      await this.monitor.waitMonitorGone(id, 5_000);
    }
    await rm(join(this.exitDir, id), { force: true });
    await rm(join(dir, 'stopped'), { force: true });
    await trimConsole(join(dir, 'console.log'));
    // A new boot, named before it starts: a reboot job run again after a crash sees that one began.
    await writeFile(join(dir, 'boot-id'), randomBytes(8).toString('hex'));
    const fh = await open(join(dir, 'console.log'), 'a', 0o600);
    const steps = new Steps();
    try {
      await fh.write(`cumulo: booting ${id} (${spec.instanceType}: ${spec.vcpus} vCPU, ${spec.memoryMiB} MiB) at ${new Date().toISOString()}\n`);
      await this.lxcfs.ensure(); // its proc files are bound into the instance: serving before it boots
      await this.rt.launch(id, dir, fh.fd);
      steps.mark('runc create + start');
      steps.report(this.log, `booted ${id}`);
    } catch (e) {
      // A create that failed half-way leaves a container in 'created' or 'stopped': not ours to keep.
      await this.rt.delete(id).catch(() => undefined);
      throw e;
    } finally {
      await fh.close();
    }
  }

  /** Ask the init to shut down; kill the container after timeoutMs; remove it. */
  private async halt(id: string, opts: { force?: boolean; timeoutMs?: number }): Promise<void> {
    const state = await this.rt.state(id);
    if (state && (state.status === 'running' || state.status === 'paused' || state.status === 'created')) {
      let ended = false;
      if (!opts.force && state.status === 'running') {
        await this.rt.kill(id, STOP_SIGNAL);
        ended = await this.monitor.waitExit(id, opts.timeoutMs ?? this.opts.stopTimeoutMs ?? 30_000);
      }
      if (!ended) {
        await this.rt.kill(id, 'KILL', true);
        await this.monitor.waitExit(id, 5_000);
      }
    }
    await this.rt.delete(id);
  }

  /** Let go of everything but the instance's disks and its folder. */
  private async release(id: string): Promise<void> {
    this.prepared.delete(id);
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>) => fn().catch((e) => errors.push(e));
    await attempt(() => this.opts.network.unplug(id));
    const mnt = this.mnt(id);
    await attempt(() => releaseUserNetns({ usernsFile: join(mnt, 'userns') }));
    await attempt(() => releaseDev(join(mnt, 'dev')));
    await attempt(async () => {
      await unmountTree([join(mnt, 'store')]);
      await unmountTree([join(mnt, 'store.raw')]);
    });
    await attempt(() => this.opts.storage.instanceStore.destroy(id));
    // The idmapped view first: the loop device goes with the host's mount, the last one. Never
    // while a snapshot's freeze holds the root, and never left frozen.
    await attempt(() =>
      this.freezeLocks.run(id, async () => {
        await this.thawLeftoverLocked(id);
        await attempt(() => unmountTree([join(mnt, 'rootfs')]));
        await attempt(() => this.volumes.unmount(join(mnt, 'root')));
      }),
    );
    const spec = await this.readSpec(id).catch(() => undefined);
    for (const v of spec?.volumes ?? []) await attempt(() => this.volumes.detach(v.volumeId));
    if (errors.length) throw errors[0];
    await this.removeMnt(id);
  }

  /** The instance's empty mount points, once nothing is mounted on them (never a recursive remove). */
  private async removeMnt(id: string): Promise<void> {
    const mnt = this.mnt(id);
    for (const d of ['rootfs', 'root', 'store', 'store.raw', 'dev', 'userns']) {
      const p = join(mnt, d);
      if (await isMountPoint(p)) return;
      await rm(p, { force: true }).catch(() => rmdir(p).catch(() => undefined));
    }
    await rmdir(mnt).catch(() => undefined);
  }

  async stop(id: string, opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await this.locks.run(id, async () => {
      const dir = this.dir(id);
      if (!(await fileExists(dir))) return;
      // The marker first: the init's exit while we stop it is ours, not a poweroff or reboot.
      await writeFile(join(dir, 'stopped'), new Date().toISOString());
      await this.thawLeftover(id);
      await this.halt(id, opts);
      await rm(join(this.exitDir, id), { force: true });
      await this.release(id);
    });
  }

  async reboot(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      const spec = await this.readSpec(id);
      await writeFile(join(this.dir(id), 'stopped'), new Date().toISOString());
      await this.thawLeftover(id);
      await this.halt(id, {});
      // Disks, mounts and network stay: the instance store keeps its data across a reboot.
      if (!this.prepared.has(id)) await this.prepare(spec);
      await this.boot(id, spec);
    });
  }

  async delete(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      const dir = this.dir(id);
      const had = await fileExists(dir);
      if (had) await writeFile(join(dir, 'stopped'), new Date().toISOString());
      if (had) await this.thawLeftover(id);
      await this.halt(id, { timeoutMs: Math.min(this.opts.stopTimeoutMs ?? 30_000, 10_000) });
      await rm(join(this.exitDir, id), { force: true });
      await this.release(id);
      // The root volume's data is the volume's (DeleteOnTermination is the controllers' call).
      await rm(dir, { recursive: true, force: true });
    });
  }

  async inspect(id: string): Promise<Observed> {
    const seen = await this.observe(id);
    if (seen.state === 'missing') return seen;
    const bootId = (await readFile(join(this.dir(id), 'boot-id'), 'utf8').catch(() => '')).trim();
    return bootId ? { ...seen, bootId } : seen;
  }

  private async observe(id: string): Promise<Observed> {
    const dir = this.dir(id);
    if (!(await fileExists(dir))) return { state: 'missing' };
    const exit = await this.monitor.exitOf(id);
    const stopped = await fileExists(join(dir, 'stopped'));
    if (exit && !stopped) {
      if (exit.code === REBOOT_EXIT) {
        void this.onExitFile(id); // a restart we may have missed: it boots again
        return { state: 'running' };
      }
      return { state: 'stopped', exitedAt: exit.at };
    }
    // conmon there, no exit recorded and the container started (runc keeps its exec.fifo until
    // `runc start` opens it): running, known without spawning runc (watchers ask often).
    if (!exit && !stopped && (await this.monitor.monitorAlive(id)) && !(await fileExists(join(this.rt.root, id, 'exec.fifo')))) return { state: 'running' };
    const state = await this.rt.state(id);
    // Its init never started: whatever the monitor says, nothing of the guest runs.
    if (state && (state.status === 'created' || state.status === 'creating')) return { state: 'created' };
    if (state && state.status !== 'stopped') return { state: 'running' };
    if (stopped) return { state: 'stopped' };
    // Ended a moment ago: conmon is about to record how (a poweroff must not pass for a lost instance).
    if (state && !exit && (await this.monitor.waitExit(id, 1_000)) && (await this.monitor.exitOf(id))) return this.observe(id);
    // Neither running nor stopped by anyone: lost (a host reboot, a crash mid-start).
    return { state: 'missing' };
  }

  /** An init ended: a reboot inside boots it again in place, a poweroff is reported. */
  private async onExitFile(id: string): Promise<void> {
    if (this.closed) return;
    let report = false;
    await this.locks
      .run(id, async () => {
        const dir = this.dir(id);
        if (!(await fileExists(join(dir, 'spec.json'))) || (await fileExists(join(dir, 'stopped')))) return;
        const exit = await this.monitor.exitOf(id);
        if (!exit) return;
        if (exit.code !== REBOOT_EXIT) {
          report = true;
          return;
        }
        this.log(`runc: ${id} rebooted itself; booting it again`);
        await this.rt.delete(id);
        await rm(join(this.exitDir, id), { force: true });
        const spec = await this.readSpec(id);
        if (!this.prepared.has(id)) await this.prepare(spec);
        await this.boot(id, spec);
      })
      .catch((e) => {
        this.log(`runc: ${id}: handling its exit failed: ${(e as Error).message}`);
        report = true;
      });
    if (report) for (const l of this.exitListeners) l(id);
  }

  async consoleOutput(id: string): Promise<Buffer> {
    return consoleTail(join(this.dir(id), 'console.log'));
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.instancesDir)).filter((n) => /^i-[0-9a-f]+$/.test(n)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** The container's init pid when it runs, else undefined. */
  private async runningPid(id: string): Promise<number | undefined> {
    const st = await this.rt.state(id);
    return st?.status === 'running' && st.pid > 0 ? st.pid : undefined;
  }

  async attachVolume(id: string, volume: AttachedVolumeSpec): Promise<void> {
    await this.locks.run(id, async () => {
      const spec = await this.readSpec(id);
      const others = (spec.volumes ?? []).filter((v) => v.volumeId !== volume.volumeId);
      const clash = others.find((v) => v.device === volume.device);
      if (clash) throw new Error(`${volume.device} of ${id} is taken by ${clash.volumeId}`);
      if (!(await this.volumes.exists(volume.volumeId))) throw new Error(`volume ${volume.volumeId} does not exist`);
      const pid = await this.runningPid(id);
      const key = this.opts.storage.volumeKey(volume.volumeId, spec.accountId);
      // Running, or prepared to boot (its /dev is there): the node now; otherwise prepare makes it.
      if (pid || this.prepared.has(id)) {
        const { devNo } = await this.volumes.attachDevice(volume.volumeId, { key });
        const cgroupsPath = pid ? `/${this.cgroupParent}/${id}` : undefined;
        await this.live.attach({ devDir: join(this.mnt(id), 'dev'), base: spec.uidBase!, cgroupsPath, device: volume.device, dev: parseDevNo(devNo), limits: volume.limits });
      }
      await saveVolumes(this.dir(id), this.volumes, spec, [...others, volume]);
    });
  }

  async detachVolume(id: string, volumeId: string, _opts: { force?: boolean } = {}): Promise<void> {
    await this.locks.run(id, async () => {
      const spec = await this.readSpec(id).catch(() => undefined);
      const vol = spec?.volumes?.find((v) => v.volumeId === volumeId);
      if (spec && vol) {
        const [loop] = await loopsOfVolume(this.volumes, volumeId);
        const devDir = join(this.mnt(id), 'dev');
        await this.live.detach({
          devDir: (await isMountPoint(devDir)) ? devDir : undefined,
          cgroupsPath: `/${this.cgroupParent}/${id}`,
          device: vol.device,
          dev: loop ? parseDevNo(loop) : undefined,
        });
        await saveVolumes(
          this.dir(id),
          this.volumes,
          spec,
          spec.volumes!.filter((v) => v.volumeId !== volumeId),
        );
      }
      // A process inside may still hold the device open: the kernel frees the loop at its last close.
      await this.volumes.detach(volumeId);
    });
  }

  async setVolumeLimits(id: string, volumeId: string, limits: VolumeLimits): Promise<void> {
    await this.locks.run(id, async () => {
      const spec = await this.readSpec(id);
      const vols = spec.volumes ?? [];
      const vol = vols.find((v) => v.volumeId === volumeId);
      if (!vol) throw new Error(`volume ${volumeId} is not attached to ${id}`);
      const [loop] = await loopsOfVolume(this.volumes, volumeId);
      if (loop && (await this.runningPid(id))) await this.live.setLimits(`/${this.cgroupParent}/${id}`, parseDevNo(loop), limits);
      await saveVolumes(
        this.dir(id),
        this.volumes,
        spec,
        vols.map((v) => (v.volumeId === volumeId ? { ...v, limits } : v)),
      );
    });
  }

  /** The mounted root (host side) of a running instance whose root volume this is. */
  private async rootMountOf(volumeId: string): Promise<{ id: string; path: string } | undefined> {
    for (const id of await this.list()) {
      const spec = await this.readSpec(id).catch(() => undefined);
      if (spec?.rootVolume?.volumeId !== volumeId) continue;
      const path = join(this.mnt(id), 'root');
      if (await isMountPoint(path)) return { id, path };
    }
    return undefined;
  }

  /**
   * A snapshot's instant of a volume (storage's captureVolume): when it is the mounted root of an
   * instance here, that root is frozen for the instant (consistent, not just crash-consistent).
   */
  async whileQuiesced<T>(volumeId: string, fn: () => Promise<T>): Promise<T> {
    const root = await this.rootMountOf(volumeId);
    if (!root) return fn();
    return this.freezeLocks.run(root.id, async () => {
      // Stopped meanwhile: nothing mounted to freeze (and the folder's own filesystem is not ours to freeze).
      if (!(await isMountPoint(root.path))) return fn();
      return whileFrozen(join(this.dir(root.id), 'frozen'), root.path, fn, { timeoutMs: this.opts.freezeTimeoutMs });
    });
  }

  /** Counters of a running instance, from its cgroups and its interfaces (undefined when it is not running). */
  async metrics(id: string): Promise<InstanceCounters | undefined> {
    const state = await this.rt.state(id);
    if (state?.status !== 'running') return undefined;
    const c = await readCounters({ cgroup: `${this.cgroupParent}/${id}`, tag: this.tag, instanceId: id, rootfs: join(this.mnt(id), 'root') });
    // The instance's eth<n> as it sees them: its init's /proc/<pid>/net/dev is its namespace's.
    const net = parseNetDev(await readFile(`/proc/${state.pid}/net/dev`, 'utf8').catch(() => ''));
    return { ...c, ...net };
  }

  /** EC2's system and instance checks, from the host's view of the container and its network (status.ts). */
  async checkStatus(id: string): Promise<{ system: CheckOutcome; instance: CheckOutcome }> {
    this.dir(id);
    // Under the instance's lock: a reboot or start in progress is seen once it is done, not half-way.
    return this.locks.run(id, async () => {
      const spec = await this.readSpec(id).catch(() => undefined);
      if (!spec)
        return { system: { status: 'failed', reason: 'the driver does not hold the instance' }, instance: { status: 'insufficient-data', reason: 'no instance to probe' } };
      const container = await this.rt.state(id);
      const primary = spec.interfaces?.find((i) => i.deviceIndex === 0);
      return probeStatus({ tag: this.tag, instanceId: id, instanceNetns: instanceNetns(this.tag, id), vpcId: spec.vpcId, primary, container });
    });
  }

  /**
   * Stop watching. With cleanup (tests, uninstall) every instance goes, with everything it had on
   * the host; without, running instances keep running for the next server to adopt.
   */
  async close(opts: { cleanup?: boolean } = {}): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (!opts.cleanup) {
      // Instances keep running across a server restart; with none left, leave no cgroup behind
      // (rmdir only removes an empty one, so a running instance's parent stays).
      if ((await this.rt.list().catch(() => [null])).length === 0) {
        await this.lxcfs.stop().catch((e) => this.log(`lxcfs: ${(e as Error).message}`));
        await removeCgroupParents(this.cgroupParent);
        await rm(this.caCopy, { force: true });
        await rmdir(this.runDir).catch(() => undefined); // only when no instance has mounts left
      }
      return;
    }
    const errors: unknown[] = [];
    for (const id of await this.list()) await this.delete(id).catch((e) => errors.push(e));
    for (const c of await this.rt.list().catch(() => [])) {
      await this.rt.kill(c.id, 'KILL', true).catch(() => undefined);
      await this.rt.delete(c.id).catch((e) => errors.push(e));
    }
    await this.lxcfs.stop().catch((e) => errors.push(e));
    await removeCgroupParents(this.cgroupParent);
    await rm(this.caCopy, { force: true });
    await rmdir(this.runDir).catch(() => undefined);
    if (errors.length) throw errors[0];
  }
}

export { CommandError };
