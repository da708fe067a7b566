// The InstanceSpec a driver gets, built from the rows alone (pure: table-tested without a driver).
import type { InstanceSpec } from '../../../host/compute/driver.js';
import type { Row } from '../../../store/schema.js';
import { findInstanceType } from '../instance-types/catalog.js';
import { privateDnsName } from '../network-interfaces/store.js';
import { launchOptionsOf } from './store.js';

export function buildInstanceSpec(row: Row<'instances'>, subnetCidr: string): InstanceSpec {
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
    publicKeys: row.ssh_public_key ? [row.ssh_public_key] : [],
  };
  if (row.user_data) spec.userData = Buffer.from(row.user_data, 'base64');
  return spec;
}
