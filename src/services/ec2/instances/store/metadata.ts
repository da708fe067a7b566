// What the metadata service and the VPC's DNS read about an instance.
import type { Tx } from '../../../../store/db.js';
import { tagPairsOf } from '../../tags/store.js';
import { attachmentDevicesOf } from '../../volumes/store.js';
import { decodedInterfacesOf } from '../../network-interfaces/store.js';
import { subnetsByIds, vpcCidrsByIds } from '../../vpcs/store.js';
import { type DecodedInstance, groupsColumn, iamInstanceProfileColumn, launchOptionsColumn, metadataOptionsColumn } from './columns.js';

/**
 * What the metadata service says about an instance: its row, interfaces, their subnets and VPCs,
 * its volumes' devices and (when InstanceMetadataTags is enabled) its tags. Undefined when the
 * instance is gone or terminated (terminated instances have no metadata).
 */
export async function instanceMetadataRows(db: Tx, instanceId: string) {
  const row = await db.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirst();
  if (!row || row.state === 'terminated') return undefined;
  const instance: DecodedInstance = {
    ...row,
    metadata_options: metadataOptionsColumn.decode(row.metadata_options),
    launch_options: launchOptionsColumn.decode(row.launch_options),
    iam_instance_profile: iamInstanceProfileColumn.decode(row.iam_instance_profile),
    security_groups: groupsColumn.decode(row.security_groups),
  };
  const [interfaces, attachments] = await Promise.all([decodedInterfacesOf(db, instanceId), attachmentDevicesOf(db, instanceId)]);
  const [subnets, vpcs] = await Promise.all([
    subnetsByIds(db, [...new Set([row.subnet_id, ...interfaces.map((e) => e.subnet_id)])]),
    vpcCidrsByIds(db, [...new Set([row.vpc_id, ...interfaces.map((e) => e.vpc_id)])]),
  ]);
  const tags = instance.metadata_options.InstanceMetadataTags === 'enabled' ? await tagPairsOf(db, instanceId) : undefined;
  return { instance, interfaces, attachments, subnets, vpcs, ...(tags ? { tags } : {}) };
}

/**
 * The instance's primary private IP when it is in the VPC, not terminated, and has an A record for
 * its resource name (EC2: PrivateDnsNameOptions.EnableResourceNameDnsARecord).
 */
export async function instanceResourceNameIp(db: Tx, vpcId: string, instanceId: string): Promise<string | undefined> {
  const r = await db.selectFrom('instances').select(['private_ip', 'launch_options', 'state']).where('id', '=', instanceId).where('vpc_id', '=', vpcId).executeTakeFirst();
  if (!r || r.state === 'terminated') return undefined;
  return launchOptionsColumn.decode(r.launch_options).PrivateDnsNameOptions?.EnableResourceNameDnsARecord === true ? r.private_ip : undefined;
}
