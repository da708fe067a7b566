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
import { chmod, chown, mkdir, open, readFile, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { cpus as hostCpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Revert } from '../../revert.js';
import { hostTag } from '../../tag.js';
import type { ImageStore } from '../../images/store.js';
import { writeGuestFile } from '../../images/rootfs.js';
import { distroOf, userDataScript } from '../../images/userdata.js';
import type { HostNetwork, PlugSpec } from '../../network/host-network.js';
import type { EbsStorage } from '../../storage/ebs.js';
import type { RootQuiescer } from '../../storage/part.js';
import type { XfsVolumeStore } from '../../storage/xfs-store.js';
import type { AttachedVolumeSpec, CheckOutcome, DriverInfo, ExitEvents, InstanceCounters, InstanceDriver, InstanceSpec, MetricsSource, Observed, VolumeLimits } from '../driver.js';
import { instanceNetns } from '../../network/names.js';
import { probeStatus } from './status.js';
import { readCounters } from './metrics.js';
import { cpuSet, ociConfig, withVolumes, type OciVolume } from './oci.js';
import { LiveVolumes, ociVolume } from './volumes.js';
import { parseDevNo } from '../../storage/devno.js';
import { unmountTree } from '../../storage/mounts.js';
import { thawLeftover, whileFrozen } from '../../storage/freeze.js';
import { CommandError, run, Runc } from './runtime.js';
import { protectHostPids } from './pids.js';
import { Lxcfs } from './lxcfs.js';
import { isMountPoint, makeNode, releaseDev, releaseUserNetns, startInstanceSetup } from './userns.js';

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
}

/** EC2 keeps the last 64 KiB of console output; the file is cut back to that when it grows past this. */
const CONSOLE_KEEP = 64 * 1024;
const CONSOLE_MAX = 1024 * 1024;

/**
 * How the init ended, as conmon records it (128 + signal when killed). The guest init exits 129
 * for `reboot`; so does any init that calls reboot(2), which in a child PID namespace kills the
 * namespace's init with SIGHUP (SIGINT for a power-off: the kernel's reboot_pid_ns). A restart is
 * booted again in place; anything else means stopped.
 */
export const REBOOT_EXIT = 128 + 1;

/** A graceful shutdown, as the guest init takes it (src/host/images/guest/init.sh: TERM → power off, exit 0). */
export const STOP_SIGNAL = 'SIGTERM';

function fileExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CUMULO_LOG_TIMINGS=1: one line per create and boot, with the time of each step (launch benchmarks). */
class Steps {
  private t = performance.now();
  private parts: string[] = [];
  constructor(private readonly on = Boolean(process.env.CUMULO_LOG_TIMINGS)) {}
  mark(name: string): void {
    if (!this.on) return;
    const now = performance.now();
    this.parts.push(`${name} ${(now - this.t).toFixed(0)}`);
    this.t = now;
  }
  report(log: (l: string) => void, what: string): void {
    if (this.on && this.parts.length) log(`runc: ${what}: ${this.parts.join(', ')} ms`);
  }
}

/** The files the guest init reads at boot (src/host/images/guest/README.md). */
export function guestFiles(spec: InstanceSpec, sshUser: string): { path: string; content: string | Buffer; mode: number }[] {
  const files: { path: string; content: string | Buffer; mode: number }[] = [
    { path: '/etc/hostname', content: `${spec.hostname}\n`, mode: 0o644 },
    { path: '/var/lib/cumulo/instance-id', content: `${spec.instanceId}\n`, mode: 0o644 },
    { path: '/var/lib/cumulo/ssh-user', content: `${sshUser}\n`, mode: 0o644 },
    { path: '/var/lib/cumulo/public-keys', content: spec.publicKeys.map((k) => k.trim() + '\n').join(''), mode: 0o644 },
  ];
  // The VPC's resolver (DHCP options as EC2 gives them); the image's own resolv.conf otherwise.
  if (spec.dnsServer) {
    files.push({ path: '/etc/resolv.conf', content: `nameserver ${spec.dnsServer}\n${spec.dnsDomain ? `search ${spec.dnsDomain}\n` : ''}`, mode: 0o644 });
  }
  if (spec.userData?.length) {
    const distro = distroOf(spec.imageSource?.builtin ?? 'minimal');
    files.push({ path: '/var/lib/cloud/instance/user-data.txt', content: spec.userData, mode: 0o600 });
    files.push({ path: '/var/lib/cloud/instance/user-data.sh', content: userDataScript(spec.userData, { sshUser, distro }), mode: 0o700 });
  }
  return files;
}

class Locks {
  private tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

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

  /** The instance's interfaces, as the VPC's data plane has them (device index 0 first). */
  private plugSpec(spec: InstanceSpec): PlugSpec {
    if (!spec.vpcId || !spec.interfaces?.length) throw new Error(`${spec.instanceId} has no network interface to plug`);
    return { instanceId: spec.instanceId, vpcId: spec.vpcId, interfaces: [...spec.interfaces].sort((a, b) => a.deviceIndex - b.deviceIndex) };
  }

  /** Everything the container needs, made if missing; idempotent, unwound when a step fails. */
  private async prepare(spec: InstanceSpec): Promise<void> {
    const id = spec.instanceId;
    const dir = this.dir(id);
    if (!spec.imageSource) throw new Error(`image ${spec.imageId} of ${id} has no bits on this host`);
    if (!spec.rootVolume) throw new Error(`${id} has no root volume`);
    const base = spec.uidBase;
    if (base === undefined) throw new Error(`${id} has no uid range: it cannot run in a user namespace`);
    const { network, images } = this.opts;
    const { volumes, instanceStore } = this.opts.storage;
    await this.thawLeftover(id);
    const revert = new Revert((l) => this.log(`runc: preparing ${id}: ${l}`));
    const steps = new Steps();
    const mnt = this.mnt(id);
    let setup: ReturnType<typeof startInstanceSetup> | undefined;
    try {
      await mkdir(mnt, { recursive: true, mode: 0o710 });
      await chown(mnt, 0, base);
      await chmod(mnt, 0o710);
      // Built on first use (seconds for the minimal image, minutes for Debian): say what it does.
      let lastStep = '';
      const artifact = await images.ensure(spec.imageSource, (e) => {
        if (e.step === lastStep) return;
        lastStep = e.step;
        this.log(`images: ${e.step}`);
      });
      steps.mark('image');
      const vol = spec.rootVolume.volumeId;
      const hostRoot = join(mnt, 'root');
      const rootfs = join(mnt, 'rootfs');
      const devDir = join(mnt, 'dev');
      const usernsFile = join(mnt, 'userns');
      const ns = { usernsFile, netnsFile: network.instanceNetnsPath(id), base };
      const ociVolumes: OciVolume[] = [];
      let storePath: string | undefined;
      // Its user namespace with a network namespace inside it and its /dev, while the root volume
      // is made and mounted; then the network goes in, and what runc binds: the root (and instance
      // store) idmapped through the user namespace. Each undo is idempotent.
      revert.add(() => releaseUserNetns(ns));
      revert.add(() => releaseDev(devDir));
      setup = startInstanceSetup({ base, usernsFile, netnsFile: ns.netnsFile, devDir });
      const net = setup.ready.then(async () => {
        steps.mark('namespaces and /dev');
        const plugged = await network.plug(this.plugSpec(spec));
        revert.add(() => network.unplug(id));
        if (plugged.netnsPath !== ns.netnsFile) throw new Error(`${id} was plugged into ${plugged.netnsPath}, not its own ${ns.netnsFile}`);
        steps.mark('network');
      });
      const root = (async () => {
        // The root volume, the host's view (checked first when a tenant may have written its
        // bytes: xfs-store.ts), with the files the guest init reads.
        if (!(await volumes.exists(vol))) {
          if (spec.rootSnapshotId) {
            // An image made by CreateImage (or registered, or copied): its root snapshot in the region's store.
            await this.opts.storage.restoreVolume({ volumeId: vol, accountId: spec.accountId, region: spec.region, sizeGiB: spec.rootVolume!.sizeGiB, snapshotId: spec.rootSnapshotId, encrypted: false });
          } else {
            await volumes.createFromSnapshot(vol, artifact.snapshotFile, Math.max(spec.rootVolume!.sizeGiB, artifact.sizeGiB));
          }
          revert.add(() => volumes.delete(vol));
        }
        steps.mark('volume');
        if (!(await isMountPoint(hostRoot))) {
          await mkdir(hostRoot, { recursive: true, mode: 0o700 });
          await volumes.mount(vol, hostRoot, { key: this.opts.storage.volumeKey(vol, spec.accountId) });
          revert.add(() => volumes.unmount(hostRoot));
        }
        steps.mark('mount');
        // Inside the guest's root as the guest sees it: a symlink its root planted is never followed out.
        for (const f of guestFiles(spec, artifact.sshUser)) writeGuestFile(hostRoot, f.path, { content: f.content, mode: f.mode });
        const storeRaw = join(mnt, 'store.raw');
        if (spec.instanceStore?.length) {
          storePath = join(mnt, 'store');
          if (!(await isMountPoint(storeRaw))) {
            const devices = await instanceStore.create(id, spec.instanceStore);
            revert.add(() => instanceStore.destroy(id));
            await mkdir(storeRaw, { recursive: true, mode: 0o700 });
            await run('mount', ['-t', 'ext4', devices[0]!, storeRaw]);
            revert.add(() => unmountTree([storeRaw]));
          }
          steps.mark('instance store');
        }
        const views = [{ src: hostRoot, dst: rootfs }, ...(storePath ? [{ src: storeRaw, dst: storePath }] : [])];
        for (const v of views) revert.add(() => unmountTree([v.dst]));
        await setup!.mapViews(views);
        steps.mark('idmapped views');
      })();
      // The EBS data volumes as nodes in its /dev.
      const devices = setup.ready.then(async () => {
        for (const v of spec.volumes ?? []) {
          const { devNo } = await volumes.attachDevice(v.volumeId, { key: this.opts.storage.volumeKey(v.volumeId, spec.accountId) });
          revert.add(() => volumes.detach(v.volumeId));
          const ov = ociVolume(v.device, parseDevNo(devNo), v.limits);
          await makeNode(join(devDir, v.device.slice('/dev/'.length)), 'b', ov, 0o660, base);
          ociVolumes.push(ov);
        }
      });
      const parts = await Promise.allSettled([net, root, devices]);
      const failed = parts.find((p): p is PromiseRejectedResult => p.status === 'rejected');
      if (failed) throw failed.reason;
      steps.mark('network and volumes');
      const netnsPath = ns.netnsFile;
      const config = ociConfig({
        instanceId: id,
        hostname: spec.hostname,
        rootfs,
        netnsPath,
        userns: { path: usernsFile, base },
        devDir,
        lxcfs: this.lxcfs.dir,
        cpus: cpuSet(id, spec.vcpus, hostCpus().length),
        vcpus: spec.vcpus,
        memoryMiB: spec.memoryMiB,
        cgroupsPath: `/${this.cgroupParent}/${id}`,
        instanceStore: storePath,
        nofileHard: this.nofileHard,
        volumes: ociVolumes,
      });
      await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 1));
      revert.release();
      steps.mark('config');
      steps.report(this.log, `prepared ${id}`);
      this.prepared.add(id);
    } catch (e) {
      setup?.abort();
      await revert.unwind();
      throw e;
    }
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
      await this.waitMonitorGone(id, 5_000);
    }
    await rm(join(this.exitDir, id), { force: true });
    await rm(join(dir, 'stopped'), { force: true });
    await this.trimConsole(id);
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

  /**
   * Until the init has ended (and conmon has said how) or ms have passed. conmon's exit file says so
   * at once (a stat every 20 ms); runc is asked only for a container whose conmon is gone.
   */
  private async waitExit(id: string, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    for (let i = 0; ; i++) {
      if (await fileExists(join(this.exitDir, id))) return true;
      if (i % 25 === 24 && !(await this.monitorAlive(id))) {
        const st = await this.rt.state(id);
        if (!st || st.status === 'stopped') return true;
      }
      if (Date.now() >= end) return false;
      await sleep(20);
    }
  }

  /** Until the instance's conmon is gone (it has written how the init ended) or ms have passed. */
  private async waitMonitorGone(id: string, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while ((await this.monitorAlive(id)) && Date.now() < end) await sleep(20);
  }

  /** Is the instance's conmon still there (it writes the exit file, then exits)? */
  private async monitorAlive(id: string): Promise<boolean> {
    const pid = Number((await readFile(join(this.dir(id), 'conmon.pid'), 'utf8').catch(() => '')).trim());
    if (!pid) return false;
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    // A zombie (its parent, a server now gone, never reaped it) is not there.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return stat.includes('conmon') && !/\) [ZX] /.test(stat);
  }

  /** Ask the init to shut down; kill the container after timeoutMs; remove it. */
  private async halt(id: string, opts: { force?: boolean; timeoutMs?: number }): Promise<void> {
    const state = await this.rt.state(id);
    if (state && (state.status === 'running' || state.status === 'paused' || state.status === 'created')) {
      let ended = false;
      if (!opts.force && state.status === 'running') {
        await this.rt.kill(id, STOP_SIGNAL);
        ended = await this.waitExit(id, opts.timeoutMs ?? this.opts.stopTimeoutMs ?? 30_000);
      }
      if (!ended) {
        await this.rt.kill(id, 'KILL', true);
        await this.waitExit(id, 5_000);
      }
    }
    await this.rt.delete(id);
  }

  /** Let go of everything but the instance's disks and its folder. */
  private async release(id: string): Promise<void> {
    const dir = this.dir(id);
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
    const exit = await this.exitOf(id);
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
    if (!exit && !stopped && (await this.monitorAlive(id)) && !(await fileExists(join(this.rt.root, id, 'exec.fifo')))) return { state: 'running' };
    const state = await this.rt.state(id);
    // Its init never started: whatever the monitor says, nothing of the guest runs.
    if (state && (state.status === 'created' || state.status === 'creating')) return { state: 'created' };
    if (state && state.status !== 'stopped') return { state: 'running' };
    if (stopped) return { state: 'stopped' };
    // Ended a moment ago: conmon is about to record how (a poweroff must not pass for a lost instance).
    if (state && !exit && (await this.waitExit(id, 1_000)) && (await this.exitOf(id))) return this.observe(id);
    // Neither running nor stopped by anyone: lost (a host reboot, a crash mid-start).
    return { state: 'missing' };
  }

  private async exitOf(id: string): Promise<{ code: number; at: Date } | undefined> {
    const file = join(this.exitDir, id);
    try {
      const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
      const code = Number(text.trim());
      return Number.isFinite(code) && text.trim() !== '' ? { code, at: st.mtime } : undefined;
    } catch {
      return undefined;
    }
  }

  /** An init ended: a reboot inside boots it again in place, a poweroff is reported. */
  private async onExitFile(id: string): Promise<void> {
    if (this.closed) return;
    let report = false;
    await this.locks
      .run(id, async () => {
        const dir = this.dir(id);
        if (!(await fileExists(join(dir, 'spec.json'))) || (await fileExists(join(dir, 'stopped')))) return;
        const exit = await this.exitOf(id);
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
    const file = join(this.dir(id), 'console.log');
    try {
      const fh = await open(file, 'r');
      try {
        const { size } = await fh.stat();
        const len = Math.min(size, CONSOLE_KEEP);
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, size - len);
        return buf;
      } finally {
        await fh.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw e;
    }
  }

  /** A chatty guest must not fill the host's disk: keep the last 64 KiB once the file passes 1 MiB. */
  private async trimConsole(id: string): Promise<void> {
    const file = join(this.dir(id), 'console.log');
    const st = await stat(file).catch(() => undefined);
    if (!st || st.size <= CONSOLE_MAX) return;
    const tail = await this.consoleOutput(id);
    await writeFile(file, tail);
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

  /** Keep spec.json (the next prepare) and config.json (the next boot in place) in step with the volumes. */
  private async saveVolumes(id: string, spec: InstanceSpec, vols: AttachedVolumeSpec[]): Promise<void> {
    const dir = this.dir(id);
    await writeFile(join(dir, 'spec.json'), JSON.stringify({ ...spec, volumes: vols, userData: spec.userData?.toString('base64') }));
    const configFile = join(dir, 'config.json');
    const text = await readFile(configFile, 'utf8').catch(() => undefined);
    if (!text) return; // not prepared: the next prepare writes it
    const oci: OciVolume[] = [];
    for (const v of vols) {
      const [loop] = await loopsOfVolume(this.volumes, v.volumeId);
      if (loop) oci.push(ociVolume(v.device, parseDevNo(loop), v.limits));
    }
    await writeFile(configFile, JSON.stringify(withVolumes(JSON.parse(text) as Record<string, unknown>, oci), null, 1));
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
      await this.saveVolumes(id, spec, [...others, volume]);
    });
  }

  async detachVolume(id: string, volumeId: string, _opts: { force?: boolean } = {}): Promise<void> {
    await this.locks.run(id, async () => {
      const spec = await this.readSpec(id).catch(() => undefined);
      const vol = spec?.volumes?.find((v) => v.volumeId === volumeId);
      if (spec && vol) {
        const [loop] = await loopsOfVolume(this.volumes, volumeId);
        const devDir = join(this.mnt(id), 'dev');
        await this.live.detach({ devDir: (await isMountPoint(devDir)) ? devDir : undefined, cgroupsPath: `/${this.cgroupParent}/${id}`, device: vol.device, dev: loop ? parseDevNo(loop) : undefined });
        await this.saveVolumes(id, spec, spec.volumes!.filter((v) => v.volumeId !== volumeId));
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
      await this.saveVolumes(id, spec, vols.map((v) => (v.volumeId === volumeId ? { ...v, limits } : v)));
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
      if (!spec) return { system: { status: 'failed', reason: 'the driver does not hold the instance' }, instance: { status: 'insufficient-data', reason: 'no instance to probe' } };
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
    await rmdir(this.runDir).catch(() => undefined);
    if (errors.length) throw errors[0];
  }
}

/** /proc/net/dev: the eth<n> counters summed, as the instance sees them (In is what it received). */
export function parseNetDev(text: string): Pick<InstanceCounters, 'netInBytes' | 'netOutBytes' | 'netInPackets' | 'netOutPackets'> {
  const out = { netInBytes: 0, netOutBytes: 0, netInPackets: 0, netOutPackets: 0 };
  for (const line of text.split('\n')) {
    const m = /^\s*(eth\d+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out.netInBytes += f[0] ?? 0;
    out.netInPackets += f[1] ?? 0;
    out.netOutBytes += f[8] ?? 0;
    out.netOutPackets += f[9] ?? 0;
  }
  return out;
}

/** The "major:minor" of the loop devices a volume has (none when it is not attached). */
async function loopsOfVolume(volumes: XfsVolumeStore, volumeId: string): Promise<string[]> {
  if (!(await volumes.exists(volumeId))) return [];
  return (await volumes.devicesOf(volumeId)).map((l) => l.devNo);
}

/** The hard limit of open files this process has: runc cannot give an instance more. */
async function hostNofileHard(): Promise<number> {
  try {
    const text = await readFile('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+\S+\s+(\S+)/m.exec(text);
    const n = m ? Number(m[1]) : NaN;
    return Number.isFinite(n) ? Math.min(n, 524288) : 524288;
  } catch {
    return 1024;
  }
}

/** runc removes an instance's cgroups but not the parent it made in every hierarchy. */
export async function removeCgroupParents(parent: string): Promise<void> {
  let roots: string[] = [];
  try {
    roots = (await readdir('/sys/fs/cgroup')).map((d) => join('/sys/fs/cgroup', d));
  } catch {
    return;
  }
  for (const r of roots) await rmdir(join(r, parent)).catch(() => undefined);
}

export { CommandError };
