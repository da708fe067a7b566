// The metadata of one instance: the lookup the metadata service is given. Its facts come from the
// store through MetadataFacts, which app.ts injects (the host asks no table itself). Which VPC asks
// comes from the host network (the uplink whose address the connection reached), never from the
// request; private addresses repeat across VPCs, but not within one.
import { zoneId } from '../../config.js';
import type { Row } from '../../store/schema.js';
import { privateDnsName, publicDnsName } from '../../lib/ec2-names.js';
import type { InstanceMetadata, InterfaceMetadata, RoleCredentials } from './metadata.js';
import type { MetadataLookup } from './server.js';

interface Group {
  GroupId?: string;
  GroupName?: string;
}

const groupsOf = (groups: Group[]) => groups.map((g) => ({ id: g.GroupId ?? '', name: g.GroupName ?? '' }));
const bare = (device: string) => device.replace(/^\/dev\//, '');

/** An instance row, its JSON columns decoded (by the repository that owns the table). */
export type MetadataInstance = Omit<Row<'instances'>, 'metadata_options' | 'launch_options' | 'iam_instance_profile' | 'security_groups'> & {
  metadata_options: { HttpTokens?: string; HttpEndpoint?: string; HttpPutResponseHopLimit?: number; InstanceMetadataTags?: string };
  launch_options: { InstanceStoreMappings?: { DeviceName?: string }[] };
  iam_instance_profile: { Arn?: string; Id?: string } | null;
  security_groups: Group[];
};

export type MetadataInterface = Omit<Row<'network_interfaces'>, 'secondary_private_ips' | 'security_groups'> & { secondary_private_ips: string[]; security_groups: Group[] };

export interface MetadataVpc {
  id: string;
  cidr_block: string;
  cidr_associations: { CidrBlock: string; CidrBlockState?: { State?: string } }[];
}

export interface MetadataRows {
  instance: MetadataInstance;
  /** Subnets and VPCs by id: the instance's and its interfaces'. */
  subnets: Map<string, Pick<Row<'subnets'>, 'id' | 'cidr_block' | 'vpc_id'>>;
  vpcs: Map<string, MetadataVpc>;
  interfaces: MetadataInterface[];
  attachments: Pick<Row<'volume_attachments'>, 'device'>[];
  /** Instance tags; read only when InstanceMetadataTags is enabled. */
  tags?: { key: string; value: string }[];
}

/** What the metadata service is told by the store (app.ts injects the repositories' answers). */
export interface MetadataFacts {
  /** The rows of one instance; undefined when it is gone or terminated (no metadata then). */
  rows(instanceId: string): Promise<MetadataRows | undefined>;
  /** The instance whose interface in this VPC holds this private address (primary or secondary). */
  instanceHolding(vpcId: string, ip: string): Promise<string | undefined>;
  /**
   * The role credentials of the instance's instance profile at `now` (issued or refreshed as
   * needed); undefined when it has no profile with a role.
   */
  credentials(instanceId: string, now: Date): Promise<RoleCredentials | undefined>;
}

function vpcCidrs(vpc: MetadataVpc | undefined): string[] {
  if (!vpc) return [];
  const assoc = vpc.cidr_associations;
  const live = assoc.filter((a) => !a.CidrBlockState?.State || a.CidrBlockState.State === 'associated').map((a) => a.CidrBlock);
  return live.length ? live : [vpc.cidr_block];
}

/** Pure: the rows of one instance → what its metadata service says. */
export function toInstanceMetadata(r: MetadataRows): InstanceMetadata {
  const row = r.instance;
  const opts = row.metadata_options;
  const launch = row.launch_options;
  const profile = row.iam_instance_profile;
  const groups = groupsOf(row.security_groups);
  const hostname = privateDnsName(row.private_ip, row.region);
  const publicHostname = row.public_ip ? publicDnsName(row.public_ip, row.region) : undefined;

  const primaryEni: MetadataInterface | undefined = r.interfaces.find((e) => e.device_index === 0);
  const enis = r.interfaces.length ? [...r.interfaces].sort((a, b) => (a.device_index ?? 0) - (b.device_index ?? 0)) : [];
  const interfaces: InterfaceMetadata[] = enis.map((e) => {
    const subnet = r.subnets.get(e.subnet_id);
    return {
      mac: e.mac_address,
      deviceNumber: e.device_index ?? 0,
      interfaceId: e.id,
      ownerId: row.account_id,
      hostname: privateDnsName(e.private_ip, row.region),
      privateIps: [e.private_ip, ...e.secondary_private_ips],
      publicIp: e.public_ip ?? undefined,
      publicHostname: e.public_ip ? publicDnsName(e.public_ip, row.region) : undefined,
      subnetId: e.subnet_id,
      subnetCidr: subnet?.cidr_block ?? '',
      vpcId: e.vpc_id,
      vpcCidrs: vpcCidrs(r.vpcs.get(e.vpc_id)),
      securityGroups: groupsOf(e.security_groups),
    };
  });
  if (!primaryEni) {
    // An instance row without its interface row (older data): describe the primary from the instance.
    interfaces.unshift({
      mac: row.mac_address,
      deviceNumber: 0,
      ownerId: row.account_id,
      hostname,
      privateIps: [row.private_ip],
      publicIp: row.public_ip ?? undefined,
      publicHostname,
      subnetId: row.subnet_id,
      subnetCidr: r.subnets.get(row.subnet_id)?.cidr_block ?? '',
      vpcId: row.vpc_id,
      vpcCidrs: vpcCidrs(r.vpcs.get(row.vpc_id)),
      securityGroups: groups,
    });
  }

  const root = row.root_device_name;
  const ebs = r.attachments
    .map((a) => a.device)
    .filter((d) => d !== root && bare(d) !== bare(root))
    .sort()
    .map(bare);
  const ephemeral = (launch.InstanceStoreMappings ?? [])
    .map((m) => m.DeviceName)
    .filter((d): d is string => !!d)
    .map(bare);

  const m: InstanceMetadata = {
    accountId: row.account_id,
    instanceId: row.id,
    imageId: row.image_id,
    instanceType: row.instance_type,
    architecture: row.architecture,
    region: row.region,
    availabilityZone: row.availability_zone,
    availabilityZoneId: zoneId(row.availability_zone),
    reservationId: row.reservation_id,
    amiLaunchIndex: row.ami_launch_index,
    pendingTime: new Date(row.launch_time),
    hostname,
    privateIp: row.private_ip,
    publicIp: row.public_ip ?? undefined,
    publicHostname,
    mac: row.mac_address,
    securityGroups: groups,
    key: row.key_name && row.ssh_public_key ? { name: row.key_name, openssh: row.ssh_public_key } : undefined,
    userData: row.user_data ? Buffer.from(row.user_data, 'base64') : undefined,
    blockDevices: { ami: root, root, ebs, ephemeral },
    interfaces,
    iamInstanceProfile: profile?.Arn ? { arn: profile.Arn, id: profile.Id ?? '', lastUpdated: new Date(row.launch_time) } : undefined,
    options: {
      httpTokens: opts.HttpTokens === 'required' ? 'required' : 'optional',
      httpEndpoint: opts.HttpEndpoint === 'disabled' ? 'disabled' : 'enabled',
      hopLimit: opts.HttpPutResponseHopLimit ?? 1,
    },
  };
  if (opts.InstanceMetadataTags === 'enabled') m.tags = Object.fromEntries((r.tags ?? []).map((t) => [t.key, t.value]));
  return m;
}

/**
 * The instance's metadata; undefined when it is gone (terminated instances have no metadata).
 * `credentialsAt`: also its role's credentials at that time (only paths under iam/ need them).
 */
export async function loadInstanceMetadata(facts: MetadataFacts, instanceId: string, credentialsAt?: Date): Promise<InstanceMetadata | undefined> {
  const rows = await facts.rows(instanceId);
  if (!rows) return undefined;
  const m = toInstanceMetadata(rows);
  if (m.iamInstanceProfile && credentialsAt) m.iamInstanceProfile.role = await facts.credentials(instanceId, credentialsAt);
  return m;
}

/** The metadata service's lookup: the host address reached → the VPC; the source address → its instance there → its metadata. */
export function metadataLookup(facts: MetadataFacts, vpcAt: (localAddress: string) => string | undefined, now: () => Date = () => new Date()): MetadataLookup {
  return async (ip, local, withCredentials) => {
    const vpcId = vpcAt(local);
    const id = vpcId ? await facts.instanceHolding(vpcId, ip) : undefined;
    return id ? loadInstanceMetadata(facts, id, withCredentials ? now() : undefined) : undefined;
  };
}
