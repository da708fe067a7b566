// The InstanceSpec a driver gets, built from the rows alone (pure: table-tested without a driver).
import type { ImageSource, InstanceSpec } from '../../../host/compute/driver.js';
import type { Row } from '../../../store/schema.js';
import { findInstanceType } from '../instance-types/catalog.js';
import { privateDnsName } from '../network-interfaces/store.js';
import { launchOptionsOf } from './store.js';

/** What the spec needs beyond the instance row: its image's host source and its root volume. */
export interface SpecRows {
  /** images.source of the instance's image (JSON). */
  imageSource?: string | null;
  /** The volume attached at the instance's root device. */
  rootVolume?: { volume_id: string; device: string; size_gib: number } | null;
}

export function buildInstanceSpec(row: Row<'instances'>, subnetCidr: string, rows: SpecRows = {}): InstanceSpec {
  const type = findInstanceType(row.instance_type);
  const cpu = launchOptionsOf(row).CpuOptions;
  // CpuOptions chosen at launch change the vCPU count (cores × threads), as on EC2.
  const vcpus = cpu?.CoreCount && cpu.ThreadsPerCore ? cpu.CoreCount * cpu.ThreadsPerCore : (type?.VCpuInfo?.DefaultVCpus ?? 1);
  const spec: InstanceSpec = {
    instanceId: row.id,
    accountId: row.account_id,
    region: row.region,
    availabilityZone: row.availability_zone,
    imageId: row.image_id,
    instanceType: row.instance_type,
    vcpus,
    memoryMiB: type?.MemoryInfo?.SizeInMiB ?? 512,
    hostname: privateDnsName(row.private_ip, row.region),
    privateIp: row.private_ip,
    macAddress: row.mac_address,
    subnetCidr,
    vpcId: row.vpc_id,
    publicKeys: row.ssh_public_key ? [row.ssh_public_key] : [],
  };
  if (row.user_data) spec.userData = Buffer.from(row.user_data, 'base64');
  const source = parseJson<Partial<ImageSource>>(rows.imageSource);
  if (source?.builtin) spec.imageSource = { builtin: source.builtin, version: source.version ?? '', sshUser: source.sshUser ?? 'ec2-user' };
  if (rows.rootVolume) spec.rootVolume = { volumeId: rows.rootVolume.volume_id, deviceName: rows.rootVolume.device, sizeGiB: rows.rootVolume.size_gib };
  const disks = type?.InstanceStorageInfo?.Disks ?? [];
  if (disks.length) {
    spec.instanceStore = disks.map((d) => ({ count: d.Count ?? 1, sizeGiB: d.SizeInGB ?? 0, type: d.Type === 'hdd' ? 'hdd' : 'ssd' }));
  }
  spec.metadataHopLimit = parseJson<{ HttpPutResponseHopLimit?: number }>(row.metadata_options)?.HttpPutResponseHopLimit ?? 1;
  return spec;
}

function parseJson<T>(text: string | null | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
