// Block device mappings: the EBS volumes a launch creates from the image's and the request's
// mappings, and the bounds each volume type sets on size, IOPS and throughput.
import type { BlockDeviceMapping, EbsBlockDevice } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../../errors.js';

export const volumeTypes = ['standard', 'io1', 'io2', 'gp2', 'sc1', 'st1', 'gp3'] as const;

/** EC2's size bounds (GiB) per volume type. */
const sizeBounds: Record<string, [number, number]> = {
  standard: [1, 1024],
  gp2: [1, 16384],
  gp3: [1, 16384],
  io1: [4, 16384],
  io2: [4, 65536],
  st1: [125, 16384],
  sc1: [125, 16384],
};

/** Provisioned IOPS bounds for the types that take them. */
const iopsBounds: Record<string, [number, number]> = { gp3: [3000, 16000], io1: [100, 64000], io2: [100, 256000] };

/** One EBS volume a launch will create and attach. */
export interface VolumePlan {
  device: string;
  sizeGiB: number;
  volumeType: string;
  iops: number | null;
  throughput: number | null;
  snapshotId: string | null;
  encrypted: boolean;
  kmsKeyId: string | null;
  deleteOnTermination: boolean;
  root: boolean;
}

/** Instance store mappings (ephemeralN) are kept as given: they have no volume row. */
export interface BlockDevicePlan {
  volumes: VolumePlan[];
  ephemeral: { DeviceName: string; VirtualName: string }[];
}

const badMapping = (message: string) => new ApiError('InvalidBlockDeviceMapping', message);

/** '/dev/xvda' and 'xvda' name the same device. */
function deviceKey(name: string): string {
  return name.startsWith('/dev/') ? name.slice(5) : name;
}

function checkDeviceName(name: string | undefined): string {
  if (!name) throw Errors.missingParameter('BlockDeviceMapping.DeviceName');
  if (!/^(\/dev\/)?[a-z][a-z0-9]{1,15}$/.test(name)) throw badMapping(`Invalid device name ${name}`);
  return name;
}

/** Validates one EBS volume's type, size, IOPS and throughput together, as CreateVolume does. */
export function checkVolumeShape(type: string, sizeGiB: number, iops: number | undefined, throughput: number | undefined): void {
  if (!(volumeTypes as readonly string[]).includes(type)) {
    throw Errors.invalidParameterValue(`Value (${type}) for parameter volumeType is invalid. Expected: '${volumeTypes.join("', '")}'.`);
  }
  const [min, max] = sizeBounds[type]!;
  if (!Number.isInteger(sizeGiB) || sizeGiB < min) throw Errors.invalidParameterValue(`Volume of ${sizeGiB}GiB is too small; minimum is ${min}GiB.`);
  if (sizeGiB > max) throw Errors.invalidParameterValue(`Volume of ${sizeGiB}GiB is too large; maximum is ${max}GiB.`);
  const ib = iopsBounds[type];
  if (iops !== undefined) {
    if (!ib) throw Errors.invalidParameterCombination(`The parameter iops is not supported for ${type} volumes.`);
    if (iops < ib[0] || iops > ib[1]) throw Errors.invalidParameterValue(`Value (${iops}) for parameter iops is invalid. Expected a value between ${ib[0]} and ${ib[1]}.`);
  } else if (type === 'io1' || type === 'io2') {
    throw Errors.missingParameter('iops');
  }
  if (throughput !== undefined) {
    if (type !== 'gp3') throw Errors.invalidParameterCombination(`The parameter throughput is not supported for ${type} volumes.`);
    if (throughput < 125 || throughput > 1000)
      throw Errors.invalidParameterValue(`Value (${throughput}) for parameter throughput is invalid. Expected a value between 125 and 1000.`);
  }
}

/** gp3 defaults to 3000 IOPS and 125 MiB/s; gp2 has 3 IOPS per GiB between 100 and 16000. */
function effectiveIops(type: string, sizeGiB: number, iops: number | undefined): number | null {
  if (iops !== undefined) return iops;
  if (type === 'gp3') return 3000;
  if (type === 'gp2') return Math.min(16000, Math.max(100, 3 * sizeGiB));
  return null;
}

/**
 * The volumes and instance store devices of a launch: the image's mappings, overridden, extended
 * or suppressed (NoDevice) by the request's, root first.
 */
export function planBlockDevices(rootDeviceName: string, imageMappings: BlockDeviceMapping[], requested: BlockDeviceMapping[] | undefined): BlockDevicePlan {
  const byDevice = new Map<string, BlockDeviceMapping>();
  for (const m of imageMappings) if (m.DeviceName) byDevice.set(deviceKey(m.DeviceName), m);
  const imageSnapshots = new Map<string, number | undefined>();
  for (const m of imageMappings) if (m.Ebs?.SnapshotId) imageSnapshots.set(m.Ebs.SnapshotId, m.Ebs.VolumeSize);

  const seen = new Set<string>();
  const overrides = new Map<string, BlockDeviceMapping>();
  for (const m of requested ?? []) {
    const name = checkDeviceName(m.DeviceName);
    const key = deviceKey(name);
    if (seen.has(key)) throw badMapping(`The device '${name}' is used in more than one block-device mapping`);
    seen.add(key);
    const kinds = [m.Ebs !== undefined, m.VirtualName !== undefined, m.NoDevice !== undefined].filter(Boolean).length;
    if (kinds !== 1) throw badMapping(`Exactly one of Ebs, VirtualName or NoDevice must be given for device ${name}`);
    if (m.NoDevice !== undefined && key === deviceKey(rootDeviceName)) throw badMapping(`The root device ${name} cannot be suppressed`);
    if (m.VirtualName !== undefined && !/^ephemeral\d{1,2}$/.test(m.VirtualName)) {
      throw Errors.invalidParameterValue(`Invalid value '${m.VirtualName}' for VirtualName. Expected ephemeral0 to ephemeral23.`);
    }
    overrides.set(key, m);
  }

  const plan: BlockDevicePlan = { volumes: [], ephemeral: [] };
  const keys = [...new Set([...byDevice.keys(), ...overrides.keys()])];
  for (const key of keys) {
    const base = byDevice.get(key);
    const over = overrides.get(key);
    const m = over ?? base!;
    const device = base?.DeviceName ?? over!.DeviceName!;
    if (m.NoDevice !== undefined) continue;
    if (m.VirtualName !== undefined) {
      plan.ephemeral.push({ DeviceName: device, VirtualName: m.VirtualName });
      continue;
    }
    plan.volumes.push(volumeFor(device, key === deviceKey(rootDeviceName), base?.Ebs, over?.Ebs ?? (over ? {} : undefined), imageSnapshots));
  }
  plan.volumes.sort((a, b) => Number(b.root) - Number(a.root));
  return plan;
}

function volumeFor(device: string, root: boolean, base: EbsBlockDevice | undefined, over: EbsBlockDevice | undefined, imageSnapshots: Map<string, number | undefined>): VolumePlan {
  const e = { ...base, ...over };
  // A new device may name a snapshot; the only snapshots a launch can see are the image's own.
  const snapshotId = base?.SnapshotId ?? over?.SnapshotId;
  if (over?.SnapshotId && base?.SnapshotId && over.SnapshotId !== base.SnapshotId) {
    throw badMapping(`The snapshot of device ${device} is defined by the image and cannot be changed`);
  }
  if (snapshotId && !base?.SnapshotId && !imageSnapshots.has(snapshotId)) {
    throw new ApiError('InvalidSnapshot.NotFound', `The snapshot '${snapshotId}' does not exist.`);
  }
  const snapshotSize = snapshotId ? (base?.VolumeSize ?? imageSnapshots.get(snapshotId)) : undefined;
  const sizeGiB = over?.VolumeSize ?? base?.VolumeSize ?? snapshotSize;
  if (sizeGiB === undefined) throw badMapping(`The request must specify the volume size or a snapshot for device ${device}`);
  if (snapshotSize !== undefined && sizeGiB < snapshotSize) {
    throw badMapping(`Volume of size ${sizeGiB}GB is smaller than snapshot '${snapshotId}', expect size >= ${snapshotSize}GB`);
  }
  const volumeType = over?.VolumeType ?? base?.VolumeType ?? 'gp2';
  // An override of the type drops the image's IOPS and throughput unless given again.
  const typeChanged = over?.VolumeType !== undefined && over.VolumeType !== base?.VolumeType;
  const iops = over?.Iops ?? (typeChanged ? undefined : base?.Iops);
  const throughput = over?.Throughput ?? (typeChanged ? undefined : base?.Throughput);
  const keepIops = iopsBounds[volumeType] ? iops : undefined;
  const keepThroughput = volumeType === 'gp3' ? throughput : undefined;
  checkVolumeShape(volumeType, sizeGiB, over?.Iops ?? keepIops, over?.Throughput ?? keepThroughput);
  if (base?.Encrypted && over?.Encrypted === false) throw badMapping(`The volume of device ${device} comes from an encrypted snapshot and must be encrypted`);
  return {
    device,
    sizeGiB,
    volumeType,
    iops: effectiveIops(volumeType, sizeGiB, over?.Iops ?? keepIops),
    throughput: volumeType === 'gp3' ? (over?.Throughput ?? keepThroughput ?? 125) : null,
    snapshotId: snapshotId ?? null,
    encrypted: Boolean(e.Encrypted),
    kmsKeyId: e.Encrypted ? (e.KmsKeyId ?? null) : null,
    deleteOnTermination: e.DeleteOnTermination ?? true,
    root,
  };
}

/** The device names AttachVolume takes: /dev/sdf, /dev/xvdf, xvdba, /dev/sda1, … */
export function validAttachDevice(name: string): boolean {
  return /^(\/dev\/)?(sd|xvd|hd)[a-z]{1,2}[0-9]{0,2}$/.test(name);
}

/** '/dev/sdf' and 'sdf' name the same attachment point. */
export function attachPointKey(name: string): string {
  return deviceKey(name);
}

/** Volume types that take provisioned IOPS, and their bounds. */
export function iopsRange(type: string): [number, number] | undefined {
  return iopsBounds[type];
}
