// What RunInstances asks IAM about, as on AWS: the new instance, its new network interface and
// volumes (each `…/*`, with what the launch will give them), and the image, subnet, security groups,
// key pair and snapshots it uses. Defaults are those RunInstances applies: the zone's default subnet
// when none is given, the VPC's default group when no group is.
import type { RunInstancesRequest } from '@aws-sdk/client-ec2';
import type { Ctx } from '../../context.js';
import { blockDeviceMappingsColumn, imageRow } from '../images/store.js';
import { defaultInstanceType } from '../instance-types/catalog.js';
import { metadataOptions } from '../instances/run.js';
import { getSecurityGroupByName, securityGroupsOf } from '../security-groups/store.js';
import { planBlockDevices } from '../volumes/store.js';
import { defaultSubnetFor, findVpc, getSubnet } from '../vpcs/store.js';
import { bool, ec2Arn, existing, maybe, metadataKeys, zoneKeys, type Keys, type Touched } from './resources.js';

export async function runInstancesResources(ctx: Ctx, input: RunInstancesRequest): Promise<Touched[]> {
  const out: Touched[] = [];
  const image = input.ImageId ? await imageRow(ctx.db, input.ImageId) : undefined;
  const launchable = image && image.region === ctx.region ? image : undefined;
  if (input.ImageId) out.push(await existing(ctx, 'image', input.ImageId));

  // Where it goes: the primary interface's subnet, the instance's, or the zone's default one.
  const ni = input.NetworkInterfaces?.find((n) => (n.DeviceIndex ?? 0) === 0);
  const subnetId = ni?.SubnetId ?? input.SubnetId;
  const subnet = subnetId ? await maybe(getSubnet(ctx, subnetId)) : await maybe(defaultSubnetFor(ctx, input.Placement?.AvailabilityZone));
  if (subnetId) out.push(await existing(ctx, 'subnet', subnetId));
  else if (subnet) out.push(await existing(ctx, 'subnet', subnet.id));
  const vpc = subnet ? await findVpc(ctx, subnet.vpc_id) : undefined;
  const zone = zoneKeys(subnet?.availability_zone);

  const instance: Keys = { 'ec2:InstanceType': input.InstanceType ?? defaultInstanceType, ...zone, 'ec2:EbsOptimized': bool(input.EbsOptimized) };
  const tenancy = input.Placement?.Tenancy ?? (vpc ? (vpc.instance_tenancy === 'dedicated' ? 'dedicated' : 'default') : undefined);
  if (tenancy) instance['ec2:Tenancy'] = tenancy;
  if (launchable) instance['ec2:RootDeviceType'] = launchable.root_device_type;
  instance['ec2:InstanceMarketType'] = input.InstanceMarketOptions?.MarketType ?? 'on-demand';
  // By name, the profile's ARN (its path) is IAM's to say: only an ARN given is known here.
  if (input.IamInstanceProfile?.Arn) instance['ec2:InstanceProfile'] = input.IamInstanceProfile.Arn;
  const md = await maybe(Promise.resolve().then(() => metadataOptions(input.MetadataOptions)));
  if (md) Object.assign(instance, metadataKeys(md));
  out.push({ type: 'instance', id: '*', keys: instance, created: true });

  if (ni?.NetworkInterfaceId) {
    out.push(await existing(ctx, 'network-interface', ni.NetworkInterfaceId));
  } else {
    const eni: Keys = { ...zone };
    if (subnet) Object.assign(eni, { 'ec2:Subnet': ec2Arn(ctx, 'subnet', subnet.id), 'ec2:Vpc': ec2Arn(ctx, 'vpc', subnet.vpc_id) });
    if (ni?.AssociatePublicIpAddress !== undefined) eni['ec2:AssociatePublicIpAddress'] = bool(ni.AssociatePublicIpAddress);
    out.push({ type: 'network-interface', id: '*', keys: eni, created: true });
  }

  for (const id of await groupIds(ctx, input, ni?.Groups, vpc?.id)) out.push(await existing(ctx, 'security-group', id));
  if (input.KeyName !== undefined) out.push(await existing(ctx, 'key-pair', input.KeyName));

  // The volumes the launch creates, each with its size, type and source snapshot, and those snapshots.
  if (launchable) {
    const plan = await maybe(
      Promise.resolve().then(() => planBlockDevices(launchable.root_device_name, blockDeviceMappingsColumn.decode(launchable.block_device_mappings), input.BlockDeviceMappings)),
    );
    const snapshots = new Set<string>();
    for (const v of plan?.volumes ?? []) {
      const keys: Keys = { ...zone, 'ec2:VolumeSize': String(v.sizeGiB), 'ec2:VolumeType': v.volumeType, 'ec2:Encrypted': bool(v.encrypted) };
      if (v.iops !== null) keys['ec2:VolumeIops'] = String(v.iops);
      if (v.throughput !== null) keys['ec2:VolumeThroughput'] = String(v.throughput);
      if (v.snapshotId) {
        keys['ec2:ParentSnapshot'] = ec2Arn(ctx, 'snapshot', v.snapshotId);
        snapshots.add(v.snapshotId);
      }
      out.push({ type: 'volume', id: '*', keys, created: true });
    }
    for (const id of snapshots) out.push(await existing(ctx, 'snapshot', id));
  }
  return out;
}

/** The groups the instance gets: by id, by name (in the default VPC), or the VPC's default group. */
async function groupIds(ctx: Ctx, input: RunInstancesRequest, niGroups: string[] | undefined, vpcId: string | undefined): Promise<string[]> {
  const ids = new Set<string>(niGroups ?? input.SecurityGroupIds ?? []);
  for (const name of input.SecurityGroups ?? []) {
    const row = await maybe(getSecurityGroupByName(ctx, name));
    if (row) ids.add(row.id);
  }
  if (!ids.size && !input.SecurityGroups?.length && vpcId) {
    const [dflt] = await securityGroupsOf(ctx.db, ctx.accountId, ctx.region, { ids: [], names: ['default'], namesVpcId: vpcId });
    if (dflt) ids.add(dflt.id);
  }
  return [...ids];
}
