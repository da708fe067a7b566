// Preparing an instance's bundle for runc: its user and network namespaces, its /dev, its root
// volume made and mounted (with the files the guest reads), its instance store, its data volumes as
// device nodes, the idmapped views runc binds, and config.json. Every step registers its undo
// (Revert): a failure leaves no namespace, mount, loop device or interface behind.
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { cpus as hostCpus } from 'node:os';
import { join } from 'node:path';
import { Revert } from '../../revert.js';
import type { ImageStore } from '../../images/store.js';
import { writeGuestFile } from '../../images/rootfs.js';
import type { HostNetwork, PlugSpec } from '../../network/host-network.js';
import { parseDevNo } from '../../storage/devno.js';
import type { EbsStorage } from '../../storage/ebs.js';
import { unmountTree } from '../../storage/mounts.js';
import type { InstanceSpec } from '../driver.js';
import { guestFiles } from './guest.js';
import { Steps } from './locks.js';
import { cpuSet, ociConfig, type OciVolume } from './oci.js';
import { run } from './runtime.js';
import { isMountPoint, makeNode, releaseDev, releaseUserNetns, startInstanceSetup } from './userns.js';
import { ociVolume } from './volumes.js';

/** What preparing a bundle needs of the driver. */
export interface BundleContext {
  images: ImageStore;
  storage: EbsStorage;
  network: HostNetwork;
  /** lxcfs's mount: its proc files are bound into the instance. */
  lxcfsDir: string;
  /** The API's CA certificate, bound read-only into the instance (guest/README.md). */
  caFile?: string;
  cgroupParent: string;
  nofileHard: number;
  log: (line: string) => void;
  /** The instance's bundle folder ($CUMULO_HOME/instances/<id>). */
  dir(id: string): string;
  /** Where its mounts are (/run/cumulo/<tag>/<id>). */
  mnt(id: string): string;
  /** Thaw its root if a crash left it frozen (before anything writes to it). */
  thawLeftover(id: string): Promise<void>;
}

function plugSpec(spec: InstanceSpec): PlugSpec {
  if (!spec.vpcId || !spec.interfaces?.length) throw new Error(`${spec.instanceId} has no network interface to plug`);
  return { instanceId: spec.instanceId, vpcId: spec.vpcId, interfaces: [...spec.interfaces].sort((a, b) => a.deviceIndex - b.deviceIndex) };
}

/** Everything the container needs, made if missing; idempotent, unwound when a step fails. */
export async function prepareBundle(ctx: BundleContext, spec: InstanceSpec): Promise<void> {
  const id = spec.instanceId;
  const dir = ctx.dir(id);
  if (!spec.imageSource) throw new Error(`image ${spec.imageId} of ${id} has no bits on this host`);
  if (!spec.rootVolume) throw new Error(`${id} has no root volume`);
  const base = spec.uidBase;
  if (base === undefined) throw new Error(`${id} has no uid range: it cannot run in a user namespace`);
  const { network, images, storage } = ctx;
  const { volumes, instanceStore } = storage;
  await ctx.thawLeftover(id);
  const revert = new Revert((l) => ctx.log(`runc: preparing ${id}: ${l}`));
  const steps = new Steps();
  const mnt = ctx.mnt(id);
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
      ctx.log(`images: ${e.step}`);
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
      const plugged = await network.plug(plugSpec(spec));
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
          await storage.restoreVolume({
            volumeId: vol,
            accountId: spec.accountId,
            region: spec.region,
            sizeGiB: spec.rootVolume!.sizeGiB,
            snapshotId: spec.rootSnapshotId,
            encrypted: false,
          });
        } else {
          await volumes.createFromSnapshot(vol, artifact.snapshotFile, Math.max(spec.rootVolume!.sizeGiB, artifact.sizeGiB));
        }
        revert.add(() => volumes.delete(vol));
      }
      steps.mark('volume');
      if (!(await isMountPoint(hostRoot))) {
        await mkdir(hostRoot, { recursive: true, mode: 0o700 });
        await volumes.mount(vol, hostRoot, { key: storage.volumeKey(vol, spec.accountId) });
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
        const { devNo } = await volumes.attachDevice(v.volumeId, { key: storage.volumeKey(v.volumeId, spec.accountId) });
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
      lxcfs: ctx.lxcfsDir,
      ca: ctx.caFile,
      cpus: cpuSet(id, spec.vcpus, hostCpus().length),
      vcpus: spec.vcpus,
      memoryMiB: spec.memoryMiB,
      cgroupsPath: `/${ctx.cgroupParent}/${id}`,
      instanceStore: storePath,
      nofileHard: ctx.nofileHard,
      volumes: ociVolumes,
    });
    await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 1));
    revert.release();
    steps.mark('config');
    steps.report(ctx.log, `prepared ${id}`);
  } catch (e) {
    setup?.abort();
    await revert.unwind();
    throw e;
  }
}
