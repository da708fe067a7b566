// EBS volumes in a running container, done from the host (the instance has no CAP_SYS_ADMIN, and
// needs none): the volume's loop device gets a node in the instance's /dev (a tmpfs the host
// mounted: $CUMULO_HOME/instances/<id>/dev, owned by the guest's root), the container's devices
// cgroup allows it, and the block I/O controller throttles it to the volume's IOPS and throughput.
// cgroup v1, as runc sets it up here:
//
//   /sys/fs/cgroup/devices/<cgroupsPath>/devices.allow|deny         "b MAJ:MIN rw"
//   /sys/fs/cgroup/blkio/<cgroupsPath>/blkio.throttle.*_device       "MAJ:MIN value" (0 clears)
import { lstat, readFile, rm, writeFile } from 'node:fs/promises';
import { makeNode } from './userns.js';
import { join } from 'node:path';
import { parseDevNo } from '../../storage/devno.js';
import type { XfsVolumeStore } from '../../storage/xfs-store.js';
import type { AttachedVolumeSpec, InstanceSpec, VolumeLimits } from '../driver.js';
import type { DevNo } from '../../storage/devno.js';
import { checkDevicePath, withVolumes, type OciVolume } from './oci.js';

const MiB = 1024 * 1024;

/** A volume as config.json carries it. */
export function ociVolume(device: string, dev: DevNo, limits: VolumeLimits): OciVolume {
  checkDevicePath(device);
  return {
    path: device,
    ...dev,
    ...(limits.iops ? { iops: limits.iops } : {}),
    ...(limits.throughputMiBps ? { bps: limits.throughputMiBps * MiB } : {}),
  };
}

/** The throttle files and what goes in each for a volume (0 removes the rule). */
export function throttleWrites(dev: DevNo, limits: VolumeLimits): [file: string, line: string][] {
  const d = `${dev.major}:${dev.minor}`;
  const iops = Math.max(0, Math.floor(limits.iops ?? 0));
  const bps = Math.max(0, Math.floor((limits.throughputMiBps ?? 0) * MiB));
  return [
    ['blkio.throttle.read_iops_device', `${d} ${iops}`],
    ['blkio.throttle.write_iops_device', `${d} ${iops}`],
    ['blkio.throttle.read_bps_device', `${d} ${bps}`],
    ['blkio.throttle.write_bps_device', `${d} ${bps}`],
  ];
}

export class LiveVolumes {
  constructor(private readonly cgroupRoot = '/sys/fs/cgroup') {}

  private cg(controller: string, cgroupsPath: string, file: string): string {
    return join(this.cgroupRoot, controller, cgroupsPath, file);
  }

  /** The device node in the instance's /dev folder on the host. */
  private node(devDir: string, device: string): string {
    checkDevicePath(device);
    return join(devDir, device.slice('/dev/'.length));
  }

  /**
   * Allowed and throttled (when it runs: `cgroupsPath`), then the node: usable inside when this
   * resolves. Idempotent; whatever the guest left under that name is replaced, never followed.
   */
  async attach(o: { devDir: string; base: number; cgroupsPath?: string; device: string; dev: DevNo; limits: VolumeLimits }): Promise<void> {
    const { major, minor } = o.dev;
    if (o.cgroupsPath) {
      await writeFile(this.cg('devices', o.cgroupsPath, 'devices.allow'), `b ${major}:${minor} rw`);
      await this.setLimits(o.cgroupsPath, o.dev, o.limits);
    }
    await makeNode(this.node(o.devDir, o.device), 'b', o.dev, 0o660, o.base);
  }

  /** The node goes, the cgroup denies the device, its throttles are cleared. Idempotent. */
  async detach(o: { devDir?: string; cgroupsPath: string; device: string; dev?: DevNo }): Promise<void> {
    if (o.devDir) {
      const node = this.node(o.devDir, o.device);
      const seen = await statNode(node);
      if (seen !== undefined && (!o.dev || seen === null || (seen.major === o.dev.major && seen.minor === o.dev.minor))) await rm(node, { force: true });
    }
    if (o.dev) {
      await writeFile(this.cg('devices', o.cgroupsPath, 'devices.deny'), `b ${o.dev.major}:${o.dev.minor} rwm`).catch(ignoreGone);
      await this.setLimits(o.cgroupsPath, o.dev, {}).catch(ignoreGone);
    }
  }

  /** Rewrite the volume's throttles (absent limits: unthrottled). */
  async setLimits(cgroupsPath: string, dev: DevNo, limits: VolumeLimits): Promise<void> {
    for (const [file, line] of throttleWrites(dev, limits)) {
      const path = this.cg('blkio', cgroupsPath, file);
      // Clearing a rule that is not there fails with ENODEV on some kernels: nothing to clear.
      await writeFile(path, line).catch((e: NodeJS.ErrnoException) => {
        if (line.endsWith(' 0') && (e.code === 'ENODEV' || e.code === 'EINVAL')) return;
        throw e;
      });
    }
  }

  /** The throttle rules in force for the device (for checks): file → value. */
  async limitsOf(cgroupsPath: string, dev: DevNo): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [file] of throttleWrites(dev, {})) {
      const text = await readFile(this.cg('blkio', cgroupsPath, file), 'utf8').catch(() => '');
      const line = text.split('\n').find((l) => l.startsWith(`${dev.major}:${dev.minor} `));
      out[file] = line ? Number(line.split(' ')[1]) : 0;
    }
    return out;
  }
}

/** undefined: nothing there; null: something that is not a block device; else its numbers. Never follows a symlink. */
async function statNode(path: string): Promise<DevNo | null | undefined> {
  try {
    const st = await lstat(path, { bigint: true });
    if (!st.isBlockDevice()) return null;
    const r = st.rdev;
    // Linux's dev_t: the major's low 12 bits at 8, the minor's low 8 bits at 0, the rest above 32 / 12.
    const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
    const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
    return { major, minor };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function ignoreGone(e: NodeJS.ErrnoException): void {
  if (e.code === 'ENOENT' || e.code === 'ENODEV' || e.code === 'EINVAL') return;
  throw e;
}

/** Keep spec.json (the next prepare) and config.json (the next boot in place) in step with the volumes. */
export async function saveVolumes(dir: string, volumes: XfsVolumeStore, spec: InstanceSpec, vols: AttachedVolumeSpec[]): Promise<void> {
  await writeFile(join(dir, 'spec.json'), JSON.stringify({ ...spec, volumes: vols, userData: spec.userData?.toString('base64') }));
  const configFile = join(dir, 'config.json');
  const text = await readFile(configFile, 'utf8').catch(() => undefined);
  if (!text) return; // not prepared: the next prepare writes it
  const oci: OciVolume[] = [];
  for (const v of vols) {
    const [loop] = await loopsOfVolume(volumes, v.volumeId);
    if (loop) oci.push(ociVolume(v.device, parseDevNo(loop), v.limits));
  }
  await writeFile(configFile, JSON.stringify(withVolumes(JSON.parse(text) as Record<string, unknown>, oci), null, 1));
}

/** The "major:minor" of the loop devices a volume has (none when it is not attached). */
export async function loopsOfVolume(volumes: XfsVolumeStore, volumeId: string): Promise<string[]> {
  if (!(await volumes.exists(volumeId))) return [];
  return (await volumes.devicesOf(volumeId)).map((l) => l.devNo);
}
