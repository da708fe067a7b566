// What IAM may know of an existing EC2 resource a request names: its ARN's id and the condition
// keys its row and tags give (ec2:InstanceType, ec2:ResourceTag/team, …). A resource that does not
// exist (or is another account's) is still asked about, by its ARN, with no keys but its id: the
// handler answers NotFound afterwards if the request is allowed.
import type { ContextValue } from '../../iam/policy/types.js';
import { zoneId } from '../../../config.js';
import { arnIdVariables, arnOf } from '../../iam/actions.js';
import type { Ctx } from '../../context.js';
import { ApiError } from '../../errors.js';
import { findOwned } from '../common/resources.js';
import { findAddress } from '../addresses/store.js';
import { imageRow } from '../images/store.js';
import { iamInstanceProfileColumn, metadataOptionsColumn } from '../instances/store.js';
import { findKeyPairByName, keyPairsOf } from '../key-pairs/store.js';
import { prefixListRow } from '../prefix-lists/store.js';
import { securityGroupRulesOf } from '../security-groups/store.js';
import { COPY_VOLUME_ID, snapshotInRegion } from '../snapshots/store.js';
import { tagPairsOwnedBy } from '../tags/store.js';
import { findVolume } from '../volumes/store.js';

export type Keys = Record<string, ContextValue>;

/** A resource one request touches, as IAM is asked about it. */
export interface Touched {
  /** The Service Authorization Reference's resource type ('instance', 'security-group'). */
  readonly type: string;
  /** What the ARN names it by (an id, a key pair's name), or '*' for a resource the call creates. */
  readonly id: string;
  /** The ARN's region when it is not the request's (CopySnapshot's and CopyImage's source). */
  readonly region?: string;
  /** Every condition key known of it; the caller keeps those the action lists for its type. */
  readonly keys: Keys;
  /** Created by the call: its TagSpecifications apply, and tagging it asks for ec2:CreateTags too. */
  readonly created?: boolean;
}

/** A lookup that answers EC2's error for a bad id gives undefined here: authorization comes first. */
export async function maybe<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError) return undefined;
    throw e;
  }
}

export const bool = (b: boolean | number | null | undefined): string => (b === true || b === 1 ? 'true' : 'false');

/** An EC2 resource's ARN, from its type's format in the Service Authorization Reference (images and snapshots name no account). */
export function ec2Arn(at: { accountId: string; region: string }, type: string, id: string): string {
  const [idVar] = arnIdVariables('ec2', type);
  return arnOf('ec2', type, { partition: 'aws', region: at.region, account: at.accountId, [idVar!]: id });
}

/** ec2:AvailabilityZone and ec2:AvailabilityZoneId. */
export function zoneKeys(zone: string | undefined): Keys {
  return zone ? { 'ec2:AvailabilityZone': zone, 'ec2:AvailabilityZoneId': zoneId(zone) } : {};
}

/** aws:ResourceTag/k and ec2:ResourceTag/k for each of the account's tags on the resource. */
async function resourceTagKeys(ctx: Ctx, resourceId: string): Promise<Keys> {
  const out: Keys = {};
  for (const t of await tagPairsOwnedBy(ctx.db, ctx.accountId, resourceId)) {
    out[`aws:ResourceTag/${t.key}`] = t.value;
    out[`ec2:ResourceTag/${t.key}`] = t.value;
  }
  return out;
}

/** ec2:Owner: 'amazon' or 'aws-marketplace' for the images AWS names so, else the owner's account. */
export function ownerKey(ownerId: string, alias: string | null): string {
  return alias === 'amazon' || alias === 'aws-marketplace' ? alias : ownerId;
}

type Loader = (ctx: Ctx, id: string) => Promise<{ keys: Keys; tagsOf?: string; id?: string } | undefined>;

// Each type's row → its keys; `tagsOf` is the id its tags are kept under when it differs (a key pair's).
const loaders: Record<string, Loader> = {
  async instance(ctx, id) {
    const r = await findOwned(ctx, 'instances', id);
    if (!r) return undefined;
    const md = metadataOptionsColumn.decode(r.metadata_options);
    const keys: Keys = {
      'ec2:InstanceID': r.id,
      'ec2:InstanceType': r.instance_type,
      ...zoneKeys(r.availability_zone),
      'ec2:Tenancy': r.tenancy,
      'ec2:RootDeviceType': r.root_device_type,
      'ec2:EbsOptimized': bool(r.ebs_optimized),
      // Spot launches are refused: every instance here is on demand.
      'ec2:InstanceMarketType': 'on-demand',
    };
    const profile = iamInstanceProfileColumn.decode(r.iam_instance_profile);
    if (profile?.Arn) keys['ec2:InstanceProfile'] = profile.Arn;
    Object.assign(keys, metadataKeys(md));
    return { keys };
  },
  async volume(ctx, id) {
    const r = await findVolume(ctx.db, ctx.accountId, ctx.region, id);
    if (!r) return undefined;
    const keys: Keys = {
      'ec2:VolumeID': r.id,
      'ec2:VolumeSize': String(r.size_gib),
      'ec2:VolumeType': r.volume_type,
      'ec2:Encrypted': bool(r.encrypted),
      ...zoneKeys(r.availability_zone),
    };
    if (r.snapshot_id) keys['ec2:ParentSnapshot'] = ec2Arn(ctx, 'snapshot', r.snapshot_id);
    if (r.iops !== null) keys['ec2:VolumeIops'] = String(r.iops);
    if (r.throughput !== null) keys['ec2:VolumeThroughput'] = String(r.throughput);
    if (r.kms_key_id) keys['ec2:KmsKeyId'] = r.kms_key_id;
    return { keys };
  },
  async snapshot(ctx, id) {
    // Any owner's: shared and public snapshots are used by others (CreateVolume, RunInstances).
    const r = await snapshotInRegion(ctx.db, ctx.region, id);
    if (!r) return undefined;
    const keys: Keys = {
      'ec2:SnapshotID': r.id,
      'ec2:Owner': r.account_id,
      'ec2:VolumeSize': String(r.volume_size),
      'ec2:Encrypted': bool(r.encrypted),
      'ec2:SnapshotTime': r.start_time,
    };
    // A copy's volume id is EC2's placeholder, no volume's.
    if (r.volume_id !== COPY_VOLUME_ID) keys['ec2:ParentVolume'] = ec2Arn({ accountId: r.account_id, region: r.region }, 'volume', r.volume_id);
    return { keys };
  },
  async image(ctx, id) {
    const r = await imageRow(ctx.db, id);
    if (!r || r.region !== ctx.region) return undefined;
    return {
      keys: {
        'ec2:ImageID': r.id,
        'ec2:ImageType': r.image_type,
        'ec2:Owner': ownerKey(r.owner_id, r.owner_alias),
        'ec2:Public': bool(r.is_public),
        'ec2:RootDeviceType': r.root_device_type,
      },
    };
  },
  async 'security-group'(ctx, id) {
    const r = await findOwned(ctx, 'security_groups', id);
    return r && { keys: { 'ec2:SecurityGroupID': r.id, 'ec2:Vpc': ec2Arn(ctx, 'vpc', r.vpc_id) } };
  },
  async 'security-group-rule'(ctx, id) {
    const [r] = await securityGroupRulesOf(ctx.db, ctx.accountId, ctx.region, [id]);
    return r && { keys: {} };
  },
  async subnet(ctx, id) {
    const r = await findOwned(ctx, 'subnets', id);
    return r && { keys: { 'ec2:SubnetID': r.id, 'ec2:Vpc': ec2Arn(ctx, 'vpc', r.vpc_id), ...zoneKeys(r.availability_zone) } };
  },
  async vpc(ctx, id) {
    const r = await findOwned(ctx, 'vpcs', id);
    return r && { keys: { 'ec2:VpcID': r.id, 'ec2:Tenancy': r.instance_tenancy } };
  },
  async 'network-interface'(ctx, id) {
    const r = await findOwned(ctx, 'network_interfaces', id);
    return (
      r && {
        keys: {
          'ec2:NetworkInterfaceID': r.id,
          'ec2:Subnet': ec2Arn(ctx, 'subnet', r.subnet_id),
          'ec2:Vpc': ec2Arn(ctx, 'vpc', r.vpc_id),
          ...zoneKeys(r.availability_zone),
        },
      }
    );
  },
  async 'key-pair'(ctx, name) {
    const r = await findKeyPairByName(ctx, name);
    return r && { keys: { 'ec2:KeyPairName': r.key_name, 'ec2:KeyPairType': r.key_type }, tagsOf: r.id };
  },
  async 'elastic-ip'(ctx, id) {
    const r = await findAddress(ctx, 'allocation_id', id);
    return r && { keys: { 'ec2:AllocationId': id, 'ec2:Domain': 'vpc', 'ec2:PublicIpAddress': r.public_ip } };
  },
  async 'route-table'(ctx, id) {
    const r = await findOwned(ctx, 'route_tables', id);
    return r && { keys: { 'ec2:Vpc': ec2Arn(ctx, 'vpc', r.vpc_id) } };
  },
  async 'network-acl'(ctx, id) {
    const r = await findOwned(ctx, 'network_acls', id);
    return r && { keys: { 'ec2:Vpc': ec2Arn(ctx, 'vpc', r.vpc_id) } };
  },
  async 'internet-gateway'(ctx, id) {
    const r = await findOwned(ctx, 'internet_gateways', id);
    return r && { keys: {} };
  },
  async 'prefix-list'(ctx, id) {
    const r = await prefixListRow(ctx.db, id);
    return r && r.account_id === ctx.accountId && r.region === ctx.region ? { keys: {} } : undefined;
  },
};

/** The instance keys of metadata options (a row's, or those a launch asks for). */
export function metadataKeys(md: { HttpTokens?: string; HttpEndpoint?: string; HttpPutResponseHopLimit?: number; InstanceMetadataTags?: string }): Keys {
  const keys: Keys = {};
  if (md.HttpTokens) keys['ec2:MetadataHttpTokens'] = md.HttpTokens;
  if (md.HttpEndpoint) keys['ec2:MetadataHttpEndpoint'] = md.HttpEndpoint;
  if (md.HttpPutResponseHopLimit !== undefined) keys['ec2:MetadataHttpPutResponseHopLimit'] = String(md.HttpPutResponseHopLimit);
  if (md.InstanceMetadataTags) keys['ec2:InstanceMetadataTags'] = md.InstanceMetadataTags;
  return keys;
}

// The key a type's own id is known by, even when no such resource exists.
const idKeys: Record<string, string> = {
  instance: 'ec2:InstanceID',
  volume: 'ec2:VolumeID',
  snapshot: 'ec2:SnapshotID',
  image: 'ec2:ImageID',
  'security-group': 'ec2:SecurityGroupID',
  subnet: 'ec2:SubnetID',
  vpc: 'ec2:VpcID',
  'network-interface': 'ec2:NetworkInterfaceID',
  'key-pair': 'ec2:KeyPairName',
  'elastic-ip': 'ec2:AllocationId',
};

/** Whether this resource type's rows can be looked up here. */
export function isKnownType(type: string): boolean {
  return type in loaders;
}

/** An existing resource by the id the request names (a key pair by its name). */
export async function existing(ctx: Ctx, type: string, id: string): Promise<Touched> {
  const load = loaders[type];
  const found = load ? await load(ctx, id) : undefined;
  if (!found) return { type, id, keys: idKeys[type] ? { [idKeys[type]]: id } : {} };
  return { type, id, keys: { ...found.keys, ...(await resourceTagKeys(ctx, found.tagsOf ?? id)) } };
}

/** A key pair named by its id (DeleteKeyPair's KeyPairId): its ARN names it by its name. */
export async function keyPairById(ctx: Ctx, keyPairId: string): Promise<Touched> {
  const [r] = await keyPairsOf(ctx.db, ctx.accountId, ctx.region, { names: [], ids: [keyPairId] });
  // No such key pair: its name is unknown, so the ARN can only say "some key pair".
  return r ? existing(ctx, 'key-pair', r.key_name) : { type: 'key-pair', id: '*', keys: {} };
}
