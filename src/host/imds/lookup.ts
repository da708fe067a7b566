// The metadata of one instance, read from the store: the lookup the metadata service is given.
// Which VPC asks comes from the host network (the uplink whose address the connection reached),
// never from the request; private addresses repeat across VPCs, but not within one.
import { zoneId } from '../../config.js';
import type { Tx } from '../../store/db.js';
import type { Row } from '../../store/schema.js';
import { privateDnsName, publicDnsName } from '../../lib/ec2-names.js';
import type { InstanceMetadata, InterfaceMetadata } from './metadata.js';
import type { MetadataLookup } from './server.js';

interface Group {
  GroupId?: string;
  GroupName?: string;
}

function json<T>(s: string | null | undefined, fallback: T): T {
  if (!s) return fallback;
  try {
    return (JSON.parse(s) as T) ?? fallback;
  } catch {
    return fallback;
  }
}

const groupsOf = (s: string | null | undefined) => json<Group[]>(s, []).map((g) => ({ id: g.GroupId ?? '', name: g.GroupName ?? '' }));
const bare = (device: string) => device.replace(/^\/dev\//, '');

export interface MetadataRows {
  instance: Row<'instances'>;
  /** Subnets and VPCs by id: the instance's and its interfaces'. */
  subnets: Map<string, Pick<Row<'subnets'>, 'id' | 'cidr_block' | 'vpc_id'>>;
  vpcs: Map<string, Pick<Row<'vpcs'>, 'id' | 'cidr_block' | 'cidr_associations'>>;
  interfaces: Row<'network_interfaces'>[];
  attachments: Pick<Row<'volume_attachments'>, 'device'>[];
  /** Instance tags; read only when InstanceMetadataTags is enabled. */
  tags?: { key: string; value: string }[];
}

function vpcCidrs(vpc: Pick<Row<'vpcs'>, 'cidr_block' | 'cidr_associations'> | undefined): string[] {
  if (!vpc) return [];
  const assoc = json<{ CidrBlock: string; CidrBlockState?: { State?: string } }[]>(vpc.cidr_associations, []);
  const live = assoc.filter((a) => !a.CidrBlockState?.State || a.CidrBlockState.State === 'associated').map((a) => a.CidrBlock);
  return live.length ? live : [vpc.cidr_block];
}

/** Pure: the rows of one instance → what its metadata service says. */
export function toInstanceMetadata(r: MetadataRows): InstanceMetadata {
  const row = r.instance;
  const opts = json<{ HttpTokens?: string; HttpEndpoint?: string; HttpPutResponseHopLimit?: number; InstanceMetadataTags?: string }>(row.metadata_options, {});
  const launch = json<{ InstanceStoreMappings?: { DeviceName?: string }[] }>(row.launch_options, {});
  const profile = json<{ Arn?: string; Id?: string } | null>(row.iam_instance_profile, null);
  const groups = groupsOf(row.security_groups);
  const hostname = privateDnsName(row.private_ip, row.region);
  const publicHostname = row.public_ip ? publicDnsName(row.public_ip, row.region) : undefined;

  const primaryEni: Row<'network_interfaces'> | undefined = r.interfaces.find((e) => e.device_index === 0);
  const enis = r.interfaces.length ? [...r.interfaces].sort((a, b) => (a.device_index ?? 0) - (b.device_index ?? 0)) : [];
  const interfaces: InterfaceMetadata[] = enis.map((e) => {
    const subnet = r.subnets.get(e.subnet_id);
    return {
      mac: e.mac_address,
      deviceNumber: e.device_index ?? 0,
      interfaceId: e.id,
      ownerId: row.account_id,
      hostname: privateDnsName(e.private_ip, row.region),
      privateIps: [e.private_ip, ...json<string[]>(e.secondary_private_ips, [])],
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
  const ebs = r.attachments.map((a) => a.device).filter((d) => d !== root && bare(d) !== bare(root)).sort().map(bare);
  const ephemeral = (launch.InstanceStoreMappings ?? []).map((m) => m.DeviceName).filter((d): d is string => !!d).map(bare);

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

/** The instance's rows from the store; undefined when it is gone (terminated instances have no metadata). */
export async function loadInstanceMetadata(db: Tx, instanceId: string): Promise<InstanceMetadata | undefined> {
  const instance = await db.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirst();
  if (!instance || instance.state === 'terminated') return undefined;
  const [interfaces, attachments] = await Promise.all([
    db.selectFrom('network_interfaces').selectAll().where('instance_id', '=', instanceId).execute(),
    db.selectFrom('volume_attachments').select('device').where('instance_id', '=', instanceId).execute(),
  ]);
  const subnetIds = [...new Set([instance.subnet_id, ...interfaces.map((e) => e.subnet_id)])];
  const vpcIds = [...new Set([instance.vpc_id, ...interfaces.map((e) => e.vpc_id)])];
  const [subnets, vpcs] = await Promise.all([
    db.selectFrom('subnets').select(['id', 'cidr_block', 'vpc_id']).where('id', 'in', subnetIds).execute(),
    db.selectFrom('vpcs').select(['id', 'cidr_block', 'cidr_associations']).where('id', 'in', vpcIds).execute(),
  ]);
  const rows: MetadataRows = {
    instance,
    subnets: new Map(subnets.map((s) => [s.id, s])),
    vpcs: new Map(vpcs.map((v) => [v.id, v])),
    interfaces,
    attachments,
  };
  if (json<{ InstanceMetadataTags?: string }>(instance.metadata_options, {}).InstanceMetadataTags === 'enabled') {
    rows.tags = await db.selectFrom('tags').select(['key', 'value']).where('resource_id', '=', instanceId).execute();
  }
  return toInstanceMetadata(rows);
}

/**
 * The instance whose interface in this VPC holds this private address (primary or secondary). The
 * VPC's namespace drops packets from an interface with a source that is not its own, so the address
 * is the asker's.
 */
export async function instanceHolding(db: Tx, vpcId: string, ip: string): Promise<string | undefined> {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return undefined;
  const rows = await db
    .selectFrom('network_interfaces')
    .select(['instance_id', 'private_ip', 'secondary_private_ips'])
    .where('vpc_id', '=', vpcId)
    .where('instance_id', 'is not', null)
    .where((eb) => eb.or([eb('private_ip', '=', ip), eb('secondary_private_ips', 'like', `%"${ip}"%`)]))
    .execute();
  const row = rows.find((r) => r.private_ip === ip) ?? rows.find((r) => json<string[]>(r.secondary_private_ips, []).includes(ip));
  return row?.instance_id ?? undefined;
}

/** The metadata service's lookup: the host address reached → the VPC; the source address → its instance there → its metadata. */
export function metadataLookup(db: Tx, vpcAt: (localAddress: string) => string | undefined): MetadataLookup {
  return async (ip, local) => {
    const vpcId = vpcAt(local);
    const id = vpcId ? await instanceHolding(db, vpcId, ip) : undefined;
    return id ? loadInstanceMetadata(db, id) : undefined;
  };
}
