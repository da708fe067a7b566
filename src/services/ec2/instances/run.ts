// RunInstances: validate everything, then write the reservation's rows (instances, their primary
// interfaces, volumes and attachments, tags) and one launch job per instance, in the request's one
// transaction. The answer is built from the same rows DescribeInstances reads.
import { priorAnswer, rememberAnswer } from '../common/client-tokens.js';
import type {
  BlockDeviceMapping,
  CpuOptions,
  InstanceMetadataOptionsResponse,
  InstanceNetworkInterfaceSpecification,
  Reservation,
  RunInstancesRequest,
  Tag,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { zonesOf } from '../../../config.js';
import { newId } from '../../../lib/ids.js';
import type { NewRow } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';
import { checkEbsMappings, cloudWatchMissing, dedicatedUnsupported, ipv6Unsupported, operatorUnsupported } from '../common/unsupported.js';
import { insertAssociation, resolveProfile } from '../iam-instance-profiles/store.js';
import { resolveZone } from '../common/zones.js';
import { queueVpcSync } from '../common/network-sync.js';
import { assignEphemeralPublicIpsMany } from '../common/public-ips.js';
import { getLaunchableImage } from '../images/store.js';
import { findInstanceType, defaultInstanceType, isOfferedIn, runtimeVcpus } from '../instance-types/catalog.js';
import { getKeyPairByName } from '../key-pairs/store.js';
import { lowestFree, newAttachmentId, newMacAddress, reservedOrOutside, usedAddresses } from '../network-interfaces/store.js';
import { resolveSecurityGroups } from '../security-groups/store.js';
import { MAX_TAGS, tagsForType } from '../tags/store.js';
import { admitLaunch, checkGroupsPerInstance } from '../quotas/check.js';
import { planBlockDevices, type VolumePlan } from '../volumes/store.js';
import { defaultSubnetFor, getSubnet, getVpc, privateDnsOptionsOf } from '../vpcs/store.js';
import { stateReasons } from './states.js';
import { insertChunks, loadInstanceViews, sortKey, toReservations, type LaunchOptions } from './store.js';

export const USER_DATA_LIMIT = 16384;
const TAGGABLE = ['instance', 'volume', 'network-interface'];

/** Decoded user data, or InvalidParameterValue as EC2 words it. */
export function decodeUserData(raw: string): Buffer {
  const compact = raw.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw Errors.invalidParameterValue('Invalid BASE64 encoding of user data');
  }
  const data = Buffer.from(compact, 'base64');
  if (data.length > USER_DATA_LIMIT) throw Errors.invalidParameterValue(`User data is limited to ${USER_DATA_LIMIT} bytes`);
  return data;
}

/** EC2's metadata defaults, and its checks of what RunInstances and ModifyInstanceMetadataOptions take. */
export function metadataOptions(
  given: { HttpTokens?: string; HttpPutResponseHopLimit?: number; HttpEndpoint?: string; HttpProtocolIpv6?: string; InstanceMetadataTags?: string } | undefined,
  base: InstanceMetadataOptionsResponse = {
    HttpTokens: 'optional',
    HttpPutResponseHopLimit: 1,
    HttpEndpoint: 'enabled',
    HttpProtocolIpv6: 'disabled',
    InstanceMetadataTags: 'disabled',
  },
): InstanceMetadataOptionsResponse {
  const g = given ?? {};
  const oneOf = (name: string, v: string | undefined, allowed: string[]) => {
    if (v !== undefined && !allowed.includes(v)) {
      throw Errors.invalidParameterValue(`Value (${v}) for parameter ${name} is invalid. Expected: '${allowed.join("', '")}'.`);
    }
  };
  oneOf('HttpTokens', g.HttpTokens, ['optional', 'required']);
  oneOf('HttpEndpoint', g.HttpEndpoint, ['enabled', 'disabled']);
  oneOf('HttpProtocolIpv6', g.HttpProtocolIpv6, ['enabled', 'disabled']);
  oneOf('InstanceMetadataTags', g.InstanceMetadataTags, ['enabled', 'disabled']);
  // The metadata service answers at 169.254.169.254 only: no IPv6 endpoint (fd00:ec2::254) exists.
  if (g.HttpProtocolIpv6 === 'enabled') throw ipv6Unsupported('HttpProtocolIpv6');
  const hop = g.HttpPutResponseHopLimit;
  if (hop !== undefined && (!Number.isInteger(hop) || hop < 1 || hop > 64)) {
    throw Errors.invalidParameterValue(`The HttpPutResponseHopLimit value (${hop}) is invalid. The value must be between 1 and 64.`);
  }
  return {
    HttpTokens: (g.HttpTokens ?? base.HttpTokens) as 'optional',
    HttpPutResponseHopLimit: hop ?? base.HttpPutResponseHopLimit,
    HttpEndpoint: (g.HttpEndpoint ?? base.HttpEndpoint) as 'enabled',
    HttpProtocolIpv6: (g.HttpProtocolIpv6 ?? base.HttpProtocolIpv6) as 'disabled',
    InstanceMetadataTags: (g.InstanceMetadataTags ?? base.InstanceMetadataTags) as 'disabled',
  };
}

const unsupported = (what: string) => new ApiError('Unsupported', `${what} is not supported by cumulo yet.`);

/** Launch parameters nothing here would honour: refused with EC2's error rather than accepted and ignored. */
function refuseUnhonoured(input: RunInstancesRequest): void {
  const p = input.Placement;
  // No placement groups, dedicated hosts or capacity reservations exist here.
  if (p?.GroupName || p?.GroupId) throw new ApiError('InvalidPlacementGroup.Unknown', `The Placement Group '${p.GroupName ?? p.GroupId}' is unknown.`);
  if (p?.PartitionNumber !== undefined || p?.SpreadDomain) throw Errors.invalidParameterCombination('A partition number or spread domain needs a placement group.');
  if (p?.HostId) throw new ApiError('InvalidHostID.NotFound', `The host ID '${p.HostId}' does not exist`);
  if (p?.Affinity || p?.HostResourceGroupArn) throw unsupported('Dedicated hosts (Affinity, HostResourceGroupArn)');
  const target = input.CapacityReservationSpecification?.CapacityReservationTarget;
  if (target?.CapacityReservationId) throw new ApiError('InvalidCapacityReservationId.NotFound', `The capacity reservation ID '${target.CapacityReservationId}' does not exist`);
  if (target?.CapacityReservationResourceGroupArn) throw unsupported('Capacity reservation resource groups');
  if (input.CapacityReservationSpecification?.CapacityReservationPreference === 'capacity-reservations-only') throw unsupported('Capacity reservations');
  // The CPU limit is the type's vCPUs at all times: no credits are earned or spent.
  if (input.CreditSpecification?.CpuCredits === 'standard') throw unsupported('CPU credits (CpuCredits standard)');
  if (input.LicenseSpecifications?.length) throw unsupported('License configurations (LicenseSpecifications)');
  if (input.ElasticGpuSpecification?.length || input.ElasticInferenceAccelerators?.length) throw unsupported('Elastic GPUs and Elastic Inference');
  // The guest's hostname and private DNS name are the IP-based ones.
  if (input.PrivateDnsNameOptions?.HostnameType === 'resource-name') throw unsupported('Resource-based hostnames (HostnameType resource-name)');
  if ((input as { EnablePrimaryIpv6?: boolean }).EnablePrimaryIpv6) throw ipv6Unsupported('EnablePrimaryIpv6');
  if (input.Monitoring?.MetricCategoryIds?.length) throw cloudWatchMissing('Monitoring.MetricCategoryIds');
  // Instances are containers: no virtualization extensions to nest, which 'disabled' says truly.
  const nested = oneOf('CpuOptions.NestedVirtualization', input.CpuOptions?.NestedVirtualization, ['enabled', 'disabled'] as const, 'disabled');
  if (nested === 'enabled') throw unsupported('Nested virtualization (CpuOptions.NestedVirtualization enabled)');
  // One bandwidth for the VPC and EBS: the default weighting is the only one there is.
  const weighting = oneOf('NetworkPerformanceOptions.BandwidthWeighting', input.NetworkPerformanceOptions?.BandwidthWeighting, ['default', 'vpc-1', 'ebs-1'] as const, 'default');
  if (weighting !== 'default') throw unsupported(`Bandwidth weighting ${weighting} (NetworkPerformanceOptions.BandwidthWeighting)`);
  if (input.Operator) throw operatorUnsupported();
  if (input.SecondaryInterfaces?.length) throw unsupported('Secondary interfaces (SecondaryInterfaces)');
  for (const [i, ni] of (input.NetworkInterfaces ?? []).entries()) {
    if (ni.EnaQueueCount !== undefined) throw unsupported(`Setting the ENA queue count (NetworkInterface.${i + 1}.EnaQueueCount)`);
  }
  checkEbsMappings(input.BlockDeviceMappings, 'RunInstances');
}

function checkCount(name: 'minimum' | 'maximum', n: number | undefined): number {
  if (n === undefined) throw Errors.missingParameter(name === 'minimum' ? 'MinCount' : 'MaxCount');
  if (!Number.isInteger(n) || n < 1) throw Errors.invalidParameterValue(`${name === 'minimum' ? 'Minimum' : 'Maximum'} instance count must be greater than zero`);
  return n;
}

function oneOf<T extends string>(param: string, v: string | undefined, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) {
    throw Errors.invalidParameterValue(`Value (${v}) for parameter ${param} is invalid. Expected: '${allowed.join("', '")}'.`);
  }
  return v as T;
}

/** The primary interface's settings, from NetworkInterfaces[0] or the instance-level parameters. */
function primaryInterface(input: RunInstancesRequest): InstanceNetworkInterfaceSpecification | undefined {
  const nis = input.NetworkInterfaces;
  if (!nis?.length) return undefined;
  if (input.SubnetId) throw Errors.invalidParameterCombination('Network interfaces and an instance-level subnet ID may not be specified on the same request');
  if (input.SecurityGroupIds?.length || input.SecurityGroups?.length) {
    throw Errors.invalidParameterCombination('Network interfaces and an instance-level security groups may not be specified on the same request');
  }
  if (input.PrivateIpAddress) throw Errors.invalidParameterCombination('Network interfaces and an instance-level private IP address should not be specified on the same request');
  const indexes = new Set<number>();
  for (const [i, ni] of nis.entries()) {
    if (ni.DeviceIndex === undefined && ni.NetworkCardIndex === undefined) throw Errors.missingParameter(`NetworkInterface.${i + 1}.DeviceIndex`);
    if (indexes.has(ni.DeviceIndex ?? 0)) throw Errors.invalidParameterValue(`Each network interface requires a unique device index.`);
    indexes.add(ni.DeviceIndex ?? 0);
  }
  // A public address goes to eth0 of a new interface, and only when it is the only one (EC2's rules).
  if (nis.some((n) => n.AssociatePublicIpAddress && (n.DeviceIndex ?? 0) !== 0)) {
    throw Errors.invalidParameterCombination('The associatePublicIPAddress parameter can only be specified for the network interface with DeviceIndex 0.');
  }
  if (nis.length > 1 && nis.some((n) => n.AssociatePublicIpAddress)) {
    throw Errors.invalidParameterCombination('The associatePublicIPAddress parameter cannot be specified when launching with multiple network interfaces.');
  }
  const primary = nis.find((n) => (n.DeviceIndex ?? 0) === 0);
  if (!primary) throw Errors.invalidParameterValue('When specifying network interfaces, you must include a device at index 0.');
  if (primary.NetworkInterfaceId && primary.AssociatePublicIpAddress) {
    throw Errors.invalidParameterCombination('The associatePublicIPAddress parameter cannot be specified for an existing network interface.');
  }
  if (nis.length > 1) throw unsupported('Launching with more than one network interface');
  if (primary.NetworkInterfaceId) throw unsupported('Launching with an existing network interface');
  if (primary.SecondaryPrivateIpAddressCount || (primary.PrivateIpAddresses ?? []).some((a) => !a.Primary)) throw unsupported('Secondary private IP addresses');
  if (primary.Ipv6AddressCount || primary.Ipv6Addresses?.length || primary.Ipv4Prefixes?.length || primary.Ipv6Prefixes?.length) throw unsupported('IPv6 addresses and prefixes');
  if (primary.InterfaceType && primary.InterfaceType !== 'interface') throw unsupported(`Interface type ${primary.InterfaceType}`);
  return primary;
}

export async function runInstances(ctx: Ctx, input: RunInstancesRequest): Promise<Reservation> {
  const { token, prior: first } = await priorAnswer<{ ReservationId: string; InstanceIds: string[] }>(ctx, 'RunInstances', input);
  if (first) {
    // The same request again: the same reservation, as it is now (its instances terminated and
    // gone after the retention time, if so).
    const views = (await loadInstanceViews(ctx.db, ctx.accountId, ctx.region, { reservationId: first.ReservationId })).sort((a, b) => (sortKey(a.row) < sortKey(b.row) ? -1 : 1));
    if (views.length) return toReservations(views)[0]!;
    return {
      ReservationId: first.ReservationId,
      OwnerId: ctx.accountId,
      Groups: [],
      Instances: first.InstanceIds.map((id, i) => ({ InstanceId: id, AmiLaunchIndex: i, State: { Code: 48, Name: 'terminated' } })),
    };
  }

  // Counts and the simple parameters first: they fail without touching the store.
  const minCount = checkCount('minimum', input.MinCount);
  const maxCount = checkCount('maximum', input.MaxCount);
  if (minCount > maxCount) throw Errors.invalidParameterValue('Minimum instance count must be less than or equal to the maximum instance count');
  if (input.LaunchTemplate) throw unsupported('Launching from a launch template');
  if (!input.ImageId) throw Errors.missingParameter('ImageId');
  if (input.InstanceMarketOptions) throw unsupported('Spot instances (InstanceMarketOptions)');
  if (input.Ipv6AddressCount || input.Ipv6Addresses?.length) throw unsupported('IPv6 addresses');
  if (input.KernelId || input.RamdiskId)
    throw new ApiError('UnsupportedOperation', 'The requested configuration is currently not supported. Please check the documentation for supported configurations.');
  const shutdownBehavior = oneOf('InstanceInitiatedShutdownBehavior', input.InstanceInitiatedShutdownBehavior, ['stop', 'terminate'] as const, 'stop');
  const metadata = metadataOptions(input.MetadataOptions);
  const userData = input.UserData !== undefined && input.UserData !== '' ? decodeUserData(input.UserData) : undefined;
  const instanceTags = tagsForType(input.TagSpecifications, TAGGABLE, 'instance');
  const volumeTags = tagsForType(input.TagSpecifications, TAGGABLE, 'volume');
  const eniTags = tagsForType(input.TagSpecifications, TAGGABLE, 'network-interface');
  for (const t of [instanceTags, volumeTags, eniTags]) {
    if (new Set(t.map((x) => x.Key)).size > MAX_TAGS) throw new ApiError('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
  }
  if (input.HibernationOptions?.Configured) throw new ApiError('UnsupportedHibernationConfiguration', 'Hibernation is not supported by cumulo instances.');
  if (input.Monitoring?.Enabled) throw cloudWatchMissing('Detailed monitoring');
  if (input.EnclaveOptions?.Enabled) throw new ApiError('UnsupportedOperation', 'Nitro Enclaves are not supported by cumulo.');
  refuseUnhonoured(input);
  if (input.PrivateDnsNameOptions?.EnableResourceNameDnsAAAARecord) throw ipv6Unsupported('EnableResourceNameDnsAAAARecord');
  // The instance profile (its role's credentials are the metadata service's to serve).
  const profile = input.IamInstanceProfile ? (await resolveProfile(ctx.db, ctx.accountId, input.IamInstanceProfile)).profile : undefined;

  const typeName = input.InstanceType ?? defaultInstanceType;
  const type = findInstanceType(typeName);
  if (!type) throw Errors.invalidParameterValue(`Invalid value '${typeName}' for InstanceType.`);
  const image = await getLaunchableImage(ctx, input.ImageId);
  const archs = (type.ProcessorInfo?.SupportedArchitectures ?? []) as string[];
  if (!archs.includes(image.architecture)) {
    throw Errors.invalidParameterValue(
      `The architecture '${archs.filter((a) => a !== 'i386')[0] ?? archs[0]}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`,
    );
  }
  if (type.NetworkInfo?.EnaSupport === 'required' && !image.ena_support) {
    throw Errors.invalidParameterCombination(
      `Enhanced networking with the Elastic Network Adapter (ENA) is required for the '${typeName}' instance type. Ensure that you are using an AMI that is enabled for ENA.`,
    );
  }
  const ebsSupport = type.EbsInfo?.EbsOptimizedSupport;
  if (input.EbsOptimized && ebsSupport === 'unsupported') {
    throw Errors.invalidParameterCombination(
      'EBS-optimized instances are not supported for your requested configuration. Please check the documentation for supported configurations.',
    );
  }
  // Types optimized by default still show false unless asked for, as EC2 (and Terraform's docs) say.
  const ebsOptimized = Boolean(input.EbsOptimized);
  const cpuOptions = cpuOptionsFor(type, input.CpuOptions);

  // Where it goes: the subnet (given, or the default one of the zone), its VPC and groups.
  const ni = primaryInterface(input);
  // The zone by its name or its id (use1-az1), never both.
  const byId = input.Placement?.AvailabilityZoneId;
  const zone = byId !== undefined ? resolveZone(ctx, { name: input.Placement?.AvailabilityZone, id: byId }) : input.Placement?.AvailabilityZone;
  const subnetId = ni?.SubnetId ?? input.SubnetId;
  const subnet = subnetId ? await getSubnet(ctx, subnetId) : await defaultSubnetFor(ctx, zone);
  const subnetDns = privateDnsOptionsOf(subnet);
  if (zone && zone !== subnet.availability_zone) {
    const [param, value] = byId !== undefined ? ['availabilityZoneId', byId] : ['availabilityZone', zone];
    throw Errors.invalidParameterValue(`Value (${value}) for parameter ${param} is invalid. Subnet '${subnet.id}' is in the availability zone ${subnet.availability_zone}`);
  }
  const zoneIndex = zonesOf(ctx.config, ctx.region).indexOf(subnet.availability_zone);
  if (!isOfferedIn(typeName, zoneIndex)) {
    throw new ApiError(
      'Unsupported',
      `Your requested instance type (${typeName}) is not supported in your requested Availability Zone (${subnet.availability_zone}). Please retry your request by not specifying an Availability Zone or choosing ${zonesOf(
        ctx.config,
        ctx.region,
      )
        .filter((_z, i) => isOfferedIn(typeName, i))
        .join(', ')}.`,
    );
  }
  const vpc = await getVpc(ctx, subnet.vpc_id);
  // A public IPv4 address whenever it runs: asked for, or the subnet's default.
  const autoPublicIp = ni?.AssociatePublicIpAddress ?? subnet.map_public_ip_on_launch === 1;
  const tenancy = oneOf('tenancy', input.Placement?.Tenancy, ['default', 'dedicated', 'host'] as const, vpc.instance_tenancy === 'dedicated' ? 'dedicated' : 'default');
  if (tenancy === 'host') throw unsupported('Dedicated hosts (tenancy host)');
  // Every account's instances share this cloud's hosts: nothing here could keep them apart.
  if (tenancy === 'dedicated') throw dedicatedUnsupported();
  if (vpc.instance_tenancy === 'dedicated' && tenancy === 'default') {
    throw Errors.invalidParameterCombination(`The VPC '${vpc.id}' requires dedicated tenancy.`);
  }
  const groups = await resolveSecurityGroups(ctx, {
    ids: ni ? ni.Groups : input.SecurityGroupIds,
    names: ni ? undefined : input.SecurityGroups,
    vpcId: vpc.id,
    subnetId: subnet.id,
  });
  await checkGroupsPerInstance(ctx, groups.length);
  const key = input.KeyName !== undefined ? await getKeyPairByName(ctx, input.KeyName) : undefined;

  const bdm = parseImageMappings(image.block_device_mappings);
  const plan = planBlockDevices(image.root_device_name, bdm, input.BlockDeviceMappings);

  // Addresses: the one asked for, or the lowest free ones; all or nothing down to MinCount.
  const used = await usedAddresses(ctx.db, subnet.id);
  const askedIp = ni?.PrivateIpAddress ?? ni?.PrivateIpAddresses?.find((a) => a.Primary)?.PrivateIpAddress ?? input.PrivateIpAddress;
  let ips: string[];
  if (askedIp) {
    if (maxCount > 1) throw Errors.invalidParameterCombination('Multiple instances cannot be launched with the same IP address.');
    const bad = reservedOrOutside(subnet.cidr_block, askedIp);
    if (bad) throw bad;
    if (used.has(askedIp)) throw new ApiError('InvalidIPAddress.InUse', `Address ${askedIp} is in use.`);
    ips = [askedIp];
  } else {
    ips = lowestFree(subnet.cidr_block, used, maxCount);
    if (ips.length < minCount) {
      throw new ApiError('InsufficientFreeAddressesInSubnet', `There are not enough free addresses in subnet '${subnet.id}' to satisfy the requested number of instances.`);
    }
  }
  // The account's quotas and the host's capacity: as many as fit, from MaxCount down to MinCount.
  const admitted = await admitLaunch(ctx, {
    instance: { instanceType: typeName, vcpus: runtimeVcpus(typeName, cpuOptions), zone: subnet.availability_zone },
    volumes: plan.volumes.map((v) => ({ volumeType: v.volumeType, sizeGiB: v.sizeGiB, iops: v.iops })),
    min: minCount,
    max: ips.length,
  });
  ips = ips.slice(0, admitted);

  const now = ctx.now.toISOString();
  const launchTime = new Date(Math.floor(ctx.now.getTime() / 1000) * 1000).toISOString();
  const reservationId = newId('r');
  const bootModes = (type.SupportedBootModes ?? []) as string[];
  const options: LaunchOptions = {
    CpuOptions: cpuOptions,
    CapacityReservationSpecification: { CapacityReservationPreference: input.CapacityReservationSpecification?.CapacityReservationPreference ?? 'open' },
    HibernationOptions: { Configured: false },
    EnclaveOptions: { Enabled: Boolean(input.EnclaveOptions?.Enabled) },
    MaintenanceOptions: { AutoRecovery: oneOf('AutoRecovery', input.MaintenanceOptions?.AutoRecovery, ['default', 'disabled'] as const, 'default') },
    // What the request leaves out comes from the subnet's settings for launches, as on EC2.
    PrivateDnsNameOptions: {
      HostnameType: oneOf('HostnameType', input.PrivateDnsNameOptions?.HostnameType, ['ip-name'] as const, 'ip-name'),
      EnableResourceNameDnsARecord: input.PrivateDnsNameOptions?.EnableResourceNameDnsARecord ?? subnetDns.EnableResourceNameDnsARecord ?? false,
      EnableResourceNameDnsAAAARecord: false,
    },
    CurrentInstanceBootMode: currentBootMode(image.boot_mode, bootModes),
    UsageOperation: 'RunInstances',
    InstanceStoreMappings: plan.ephemeral,
    AssociatePublicIpAddress: ni?.AssociatePublicIpAddress,
  };
  const instances: NewRow<'instances'>[] = [];
  const enis: NewRow<'network_interfaces'>[] = [];
  const volumes: NewRow<'volumes'>[] = [];
  const attachments: NewRow<'volume_attachments'>[] = [];
  const tags: NewRow<'tags'>[] = [];
  const tag = (type: string, id: string, list: Tag[]) => {
    const byKey = new Map(list.map((t) => [t.Key!, t.Value ?? '']));
    for (const [k, v] of byKey) tags.push({ resource_id: id, key: k, value: v, account_id: ctx.accountId, region: ctx.region, resource_type: type });
  };
  for (const [index, ip] of ips.entries()) {
    const id = newId('i');
    const mac = newMacAddress();
    instances.push({
      id,
      account_id: ctx.accountId,
      region: ctx.region,
      reservation_id: reservationId,
      ami_launch_index: index,
      image_id: image.id,
      instance_type: typeName,
      state: 'pending',
      desired_state: 'running',
      state_transition_reason: '',
      state_reason: JSON.stringify(stateReasons.pending),
      key_name: key?.key_name ?? null,
      subnet_id: subnet.id,
      vpc_id: vpc.id,
      availability_zone: subnet.availability_zone,
      private_ip: ip,
      public_ip: null,
      mac_address: mac,
      client_token: token?.token ?? null,
      user_data: userData ? userData.toString('base64') : null,
      shutdown_behavior: shutdownBehavior,
      disable_api_termination: input.DisableApiTermination ? 1 : 0,
      disable_api_stop: input.DisableApiStop ? 1 : 0,
      ebs_optimized: ebsOptimized ? 1 : 0,
      monitoring: input.Monitoring?.Enabled ? 'enabled' : 'disabled',
      tenancy,
      security_groups: JSON.stringify(groups),
      metadata_options: JSON.stringify(metadata),
      iam_instance_profile: null, // set with its association below
      root_device_name: image.root_device_name,
      runtime: '{}',
      launch_time: launchTime,
      updated_at: now,
      terminated_at: null,
      architecture: image.architecture,
      hypervisor: image.hypervisor || 'xen',
      virtualization_type: image.virtualization_type,
      root_device_type: image.root_device_type,
      ena_support: image.ena_support ? 1 : 0,
      boot_mode: image.boot_mode,
      platform_details: image.platform_details || 'Linux/UNIX',
      launch_options: JSON.stringify(options),
      ssh_public_key: key?.public_key ?? null,
      boots: 0,
      console_output: null,
      console_at: null,
    });
    tag('instance', id, instanceTags);
    const eniId = newId('eni');
    enis.push({
      id: eniId,
      account_id: ctx.accountId,
      region: ctx.region,
      subnet_id: subnet.id,
      vpc_id: vpc.id,
      availability_zone: subnet.availability_zone,
      private_ip: ip,
      mac_address: mac,
      description: ni?.Description ?? '',
      interface_type: 'interface',
      status: 'in-use',
      instance_id: id,
      device_index: 0,
      attachment_id: newAttachmentId(),
      delete_on_termination: ni?.DeleteOnTermination === false ? 0 : 1,
      source_dest_check: 1,
      security_groups: JSON.stringify(groups),
      secondary_private_ips: '[]',
      public_ip: null,
      created_at: now,
      attach_time: launchTime,
      auto_public_ip: autoPublicIp ? 1 : 0,
    });
    tag('network-interface', eniId, eniTags);
    for (const v of plan.volumes) {
      const volumeId = newId('vol');
      volumes.push(volumeRow(ctx, volumeId, subnet.availability_zone, v, now));
      attachments.push({
        volume_id: volumeId,
        instance_id: id,
        device: v.device,
        state: 'attaching',
        delete_on_termination: v.deleteOnTermination ? 1 : 0,
        attach_time: launchTime,
      });
      tag('volume', volumeId, volumeTags);
    }
  }

  await insertChunks(ctx.db, 'instances', instances);
  await insertChunks(ctx.db, 'network_interfaces', enis);
  await insertChunks(ctx.db, 'volumes', volumes);
  await insertChunks(ctx.db, 'volume_attachments', attachments);
  await insertChunks(ctx.db, 'tags', tags);
  if (profile) for (const i of instances) await insertAssociation(ctx.db, { accountId: ctx.accountId, region: ctx.region, instanceId: i.id, profile, now: ctx.now });
  // Public addresses are taken now, with the rows: the answer and DescribeInstances show them at once.
  if (autoPublicIp)
    await assignEphemeralPublicIpsMany(
      ctx.db,
      ctx.config,
      instances.map((i) => i.id),
    );
  for (const i of instances) await ctx.enqueue('instance.launch', i.id);
  await queueVpcSync(ctx, { vpcId: vpc.id, accountId: ctx.accountId, region: ctx.region });

  const views = await loadInstanceViews(ctx.db, ctx.accountId, ctx.region, { reservationId });
  views.sort((a, b) => a.row.ami_launch_index - b.row.ami_launch_index);
  const reservation = toReservations(views)[0]!;
  await rememberAnswer(ctx, 'RunInstances', token, { ReservationId: reservationId, InstanceIds: instances.map((i) => i.id) });
  return reservation;
}

function parseImageMappings(json: string): BlockDeviceMapping[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? (v as BlockDeviceMapping[]) : [];
  } catch {
    return [];
  }
}

/** Launches with CpuOptions get exactly those; otherwise the type's defaults. */
function cpuOptionsFor(type: NonNullable<ReturnType<typeof findInstanceType>>, given: RunInstancesRequest['CpuOptions']): CpuOptions {
  const v = type.VCpuInfo ?? {};
  const cores = given?.CoreCount ?? v.DefaultCores ?? v.DefaultVCpus ?? 1;
  const threads = given?.ThreadsPerCore ?? v.DefaultThreadsPerCore ?? 1;
  if (given?.CoreCount !== undefined && !(v.ValidCores ?? [v.DefaultCores]).includes(given.CoreCount)) {
    throw Errors.invalidParameterValue(`CPU core count ${given.CoreCount} is not supported for instance type ${type.InstanceType}.`);
  }
  if (given?.ThreadsPerCore !== undefined && !(v.ValidThreadsPerCore ?? [v.DefaultThreadsPerCore]).includes(given.ThreadsPerCore)) {
    throw Errors.invalidParameterValue(`CPU threads per core ${given.ThreadsPerCore} is not supported for instance type ${type.InstanceType}.`);
  }
  return { CoreCount: cores, ThreadsPerCore: threads };
}

/** uefi-preferred boots UEFI where the type can, legacy BIOS otherwise. */
function currentBootMode(imageMode: string | null, typeModes: string[]): 'uefi' | 'legacy-bios' {
  if (imageMode === 'uefi') return 'uefi';
  if (imageMode === 'uefi-preferred' && typeModes.includes('uefi')) return 'uefi';
  return 'legacy-bios';
}

export function volumeRow(ctx: Ctx, id: string, zone: string, v: VolumePlan, now: string): NewRow<'volumes'> {
  return {
    id,
    account_id: ctx.accountId,
    region: ctx.region,
    availability_zone: zone,
    size_gib: v.sizeGiB,
    volume_type: v.volumeType,
    iops: v.iops,
    throughput: v.throughput,
    snapshot_id: v.snapshotId,
    encrypted: v.encrypted ? 1 : 0,
    kms_key_id: v.kmsKeyId,
    multi_attach_enabled: 0,
    state: 'in-use',
    created_at: now,
  };
}
