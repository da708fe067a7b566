// What the controllers hand to the host (instance and interface specs, volume limits), built from
// the rows alone (pure: table-tested without a driver).
import type { AttachedVolumeSpec, InstanceSpec, VolumeLimits } from '../host/compute/driver.js';
import type { InterfaceSpec } from '../host/network/vpc-spec.js';
import { addressAt, parseCidrLoose } from '../lib/cidr.js';
import { privateDnsName } from '../lib/ec2-names.js';
import type { Row } from '../store/schema.js';
import { findInstanceType, runtimeMemoryMiB, runtimeVcpus } from '../services/ec2/instance-types/catalog.js';
import { imageSourceColumn } from '../services/ec2/images/store.js';
import { launchOptionsOf, metadataOptionsColumn } from '../services/ec2/instances/store.js';
import { groupIdsIn, secondaryIpsColumn } from '../services/ec2/network-interfaces/store.js';

/** What the spec needs beyond the instance row: its image's host source and its root volume. */
export interface SpecRows {
  /** images.source of the instance's image (JSON). */
  imageSource?: string | null;
  /** The volume attached at the instance's root device. */
  rootVolume?: { volume_id: string; device: string; size_gib: number } | null;
  /** The instance's interfaces, built by buildInterfaceSpec (device index 0 first). */
  interfaces?: InterfaceSpec[];
  /** The primary IPv4 CIDR of the instance's VPC: its Amazon-provided resolver is the base + 2. */
  vpcCidr?: string;
  /** The EBS data volumes attached (not the root), with their limits. */
  volumes?: AttachedVolumeSpec[];
  /** The root volume's snapshot, when it is one of the region's block store (snapshots table). */
  rootSnapshotId?: string;
  /** The first host uid of the instance's range (uid_ranges): its root on the host. */
  uidBase?: number;
}

/** An interface row as the data plane needs it. */
export type InterfaceRow = Pick<
  Row<'network_interfaces'>,
  'id' | 'instance_id' | 'device_index' | 'subnet_id' | 'mac_address' | 'private_ip' | 'secondary_private_ips' | 'security_groups' | 'source_dest_check'
>;

/**
 * One attached interface of an instance, as both the instance's spec (plugging) and its VPC's
 * spec (routes, rules, NAT) carry it: one builder, so the two always agree.
 */
export function buildInterfaceSpec(
  eni: InterfaceRow,
  o: { subnetCidr: string; metadataOptions: string | null | undefined; publicIps?: { publicIp: string; privateIp: string }[] },
): InterfaceSpec {
  const listed = secondaryIpsColumn.decode(eni.secondary_private_ips) as unknown;
  const secondary = (Array.isArray(listed) ? (listed as unknown[]) : []).filter((ip): ip is string => typeof ip === 'string' && ip !== eni.private_ip);
  const groups = groupIdsIn(eni.security_groups);
  return {
    eniId: eni.id,
    instanceId: eni.instance_id ?? '',
    deviceIndex: eni.device_index ?? 0,
    subnetId: eni.subnet_id,
    subnetCidr: o.subnetCidr,
    macAddress: eni.mac_address,
    privateIps: [eni.private_ip, ...secondary],
    groups: [...new Set(groups)],
    publicIps: o.publicIps ?? [],
    sourceDestCheck: eni.source_dest_check !== 0,
    metadataHopLimit: metadataHopLimit(o.metadataOptions),
  };
}

/** IMDSv2's PUT response hop limit (ModifyInstanceMetadataOptions); EC2's default is 1. */
export function metadataHopLimit(metadataOptions: string | null | undefined): number {
  const n = metadataOptionsColumn.decode(metadataOptions).HttpPutResponseHopLimit;
  return typeof n === 'number' && n >= 1 ? n : 1;
}

/** The VPC's Amazon-provided DNS server: the base of its primary IPv4 CIDR plus two. */
export function vpcDnsServer(vpcCidr: string): string | undefined {
  const c = parseCidrLoose(vpcCidr);
  return c && c.family === 4 ? addressAt(c, 2n) : undefined;
}

/** The DHCP options' domain name EC2 gives a VPC's instances. */
export function dnsDomainOf(region: string): string {
  return region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
}

export function buildInstanceSpec(row: Row<'instances'>, subnetCidr: string, rows: SpecRows = {}): InstanceSpec {
  const type = findInstanceType(row.instance_type);
  // CpuOptions chosen at launch change the vCPU count (cores × threads), as on EC2.
  const vcpus = runtimeVcpus(row.instance_type, launchOptionsOf(row).CpuOptions);
  const spec: InstanceSpec = {
    instanceId: row.id,
    accountId: row.account_id,
    region: row.region,
    availabilityZone: row.availability_zone,
    imageId: row.image_id,
    instanceType: row.instance_type,
    vcpus,
    memoryMiB: runtimeMemoryMiB(row.instance_type),
    hostname: privateDnsName(row.private_ip, row.region),
    privateIp: row.private_ip,
    macAddress: row.mac_address,
    subnetCidr,
    vpcId: row.vpc_id,
    publicKeys: row.ssh_public_key ? [row.ssh_public_key] : [],
  };
  if (row.user_data) spec.userData = Buffer.from(row.user_data, 'base64');
  const source = imageSourceColumn.decode(rows.imageSource);
  if (source?.builtin) spec.imageSource = { builtin: source.builtin, version: source.version ?? '', sshUser: source.sshUser ?? 'ec2-user' };
  if (rows.rootVolume) spec.rootVolume = { volumeId: rows.rootVolume.volume_id, deviceName: rows.rootVolume.device, sizeGiB: rows.rootVolume.size_gib };
  if (rows.rootSnapshotId) spec.rootSnapshotId = rows.rootSnapshotId;
  if (rows.uidBase !== undefined) spec.uidBase = rows.uidBase;
  if (rows.volumes?.length) spec.volumes = rows.volumes;
  const disks = type?.InstanceStorageInfo?.Disks ?? [];
  if (disks.length) {
    spec.instanceStore = disks.map((d) => ({ count: d.Count ?? 1, sizeGiB: d.SizeInGB ?? 0, type: d.Type === 'hdd' ? 'hdd' : 'ssd' }));
  }
  spec.metadataHopLimit = metadataHopLimit(row.metadata_options);
  if (rows.interfaces) spec.interfaces = rows.interfaces;
  const dns = rows.vpcCidr ? vpcDnsServer(rows.vpcCidr) : undefined;
  if (dns) {
    spec.dnsServer = dns;
    spec.dnsDomain = dnsDomainOf(row.region);
  }
  return spec;
}

/** What a volume of this type, size and provisioning gets from the block I/O controller (EC2's numbers). */
export function volumeLimits(row: Pick<Row<'volumes'>, 'volume_type' | 'size_gib' | 'iops' | 'throughput'>): VolumeLimits {
  const size = row.size_gib;
  const tib = size / 1024;
  switch (row.volume_type) {
    case 'gp3':
      return { iops: row.iops ?? 3000, throughputMiBps: row.throughput ?? 125 };
    case 'gp2':
      // 3 IOPS per GiB between 100 and 16,000; up to 250 MiB/s.
      return { iops: Math.min(16000, Math.max(100, 3 * size)), throughputMiBps: 250 };
    case 'io1':
    case 'io2': {
      // Throughput scales at 0.256 MiB/s per provisioned IOPS, up to 1,000 MiB/s (io1) or 4,000 MiB/s (io2 Block Express).
      const iops = row.iops ?? 100;
      return { iops, throughputMiBps: Math.min(row.volume_type === 'io1' ? 1000 : 4000, Math.max(1, Math.floor(iops * 0.256))) };
    }
    case 'st1':
      // Burst: 250 MiB/s per TiB up to 500 MiB/s; 500 IOPS (1 MiB I/O).
      return { iops: 500, throughputMiBps: Math.min(500, Math.max(1, Math.floor(250 * tib))) };
    case 'sc1':
      // Burst: 80 MiB/s per TiB up to 250 MiB/s; 250 IOPS.
      return { iops: 250, throughputMiBps: Math.min(250, Math.max(1, Math.floor(80 * tib))) };
    default:
      // Magnetic: about 100 IOPS on average, bursts to hundreds; 40–90 MiB/s.
      return { iops: 200, throughputMiBps: 90 };
  }
}
