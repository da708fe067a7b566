// What one EC2 request asks IAM, as the Service Authorization Reference defines it: an action that
// lists no resource types (every Describe*) asks once about '*'; any other asks once per resource the
// call touches, by its ARN, with the condition keys the reference lists for that action and resource
// type and that are known here (tags, instance type, zone, …). A resource the call creates is
// `…/*`; tagging it on create asks for ec2:CreateTags on it too, with ec2:CreateAction. Global keys
// (aws:RequestedRegion, aws:SourceIp, aws:PrincipalTag/…) are the authorizer's to add.
import type { RunInstancesRequest, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import type { Ctx } from '../context.js';
import { actionInfo, keyListed, type ActionInfo } from '../iam/actions.js';
import type { AuthzRequest } from '../iam/policy/types.js';
import { findOwned, kindOf } from './common/resources.js';
import { findAddress } from './addresses/store.js';
import { bool, ec2Arn, existing, isKnownType, keyPairById, maybe, zoneKeys, type Keys, type Touched } from './authz/resources.js';
import { runInstancesResources } from './authz/run-instances.js';
import { getDefaultVpc, findAclAssociation, findAssociation, getSubnet, vpcsOf, cidrAssociationsOf, vpcIpv6AssociationsOf } from './vpcs/store.js';
import { getByAttachment } from './network-interfaces/store.js';
import { getSecurityGroupByName } from './security-groups/store.js';
import { findSnapshotInRegion } from './snapshots/store.js';
import { attachedVolumesOf, attachmentsOfVolume, findVolume } from './volumes/store.js';

type Input = Record<string, unknown>;

/**
 * Operations cumulo serves that the Service Authorization Reference does not list, with why: they
 * ask about '*' under their own name. Empty while the reference knows every one (a test keeps it so).
 */
export const notInReference: Readonly<Record<string, string>> = {};

const str = (input: Input, name: string): string | undefined => (typeof input[name] === 'string' ? (input[name] as string) : undefined);
const strs = (input: Input, name: string): string[] => {
  const v = input[name];
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};

/** A list member's entries that are structures (the protocol parses lists as arrays; anything else is none). */
function list<T extends object>(input: Input, name: string): T[] {
  const v = input[name];
  return Array.isArray(v) ? v.filter((x): x is T => typeof x === 'object' && x !== null) : [];
}

// Input members that name an existing resource, for every operation: what most calls touch.
const idMembers: readonly (readonly [string, string])[] = [
  ['InstanceId', 'instance'],
  ['InstanceIds', 'instance'],
  ['VolumeId', 'volume'],
  ['SnapshotId', 'snapshot'],
  ['ImageId', 'image'],
  ['SubnetId', 'subnet'],
  ['VpcId', 'vpc'],
  ['GroupId', 'security-group'],
  ['Groups', 'security-group'],
  ['NetworkInterfaceId', 'network-interface'],
  ['AllocationId', 'elastic-ip'],
  ['KeyName', 'key-pair'],
  ['RouteTableId', 'route-table'],
  ['NetworkAclId', 'network-acl'],
  ['InternetGatewayId', 'internet-gateway'],
  ['PrefixListId', 'prefix-list'],
  ['GatewayId', 'internet-gateway'],
];

type Resolver = (ctx: Ctx, input: Input) => Promise<Touched[]>;
const created = (type: string, keys: Keys = {}, id = '*'): Touched => ({ type, id, keys, created: true });
const vpcArnOf = (ctx: Ctx, vpcId: string | undefined): Keys => (vpcId ? { 'ec2:Vpc': ec2Arn(ctx, 'vpc', vpcId) } : {});

/** A resource named in another region (a copy's source). */
async function existingIn(ctx: Ctx, region: string | undefined, type: string, id: string): Promise<Touched> {
  if (!region || region === ctx.region) return existing(ctx, type, id);
  return { ...(await existing({ ...ctx, region }, type, id)), region };
}

/** A group named by GroupName: the caller's group of that name in the default VPC. */
async function groupByName(ctx: Ctx, name: string): Promise<Touched> {
  const row = await maybe(getSecurityGroupByName(ctx, name));
  return row ? existing(ctx, 'security-group', row.id) : { type: 'security-group', id: '*', keys: {} };
}

/** The snapshots the call creates from these volumes (CreateSnapshot, CreateSnapshots, CreateImage). */
async function snapshotsOfVolumes(ctx: Ctx, volumeIds: string[]): Promise<Touched[]> {
  const out: Touched[] = [];
  for (const id of volumeIds) {
    const v = await findVolume(ctx.db, ctx.accountId, ctx.region, id);
    const keys: Keys = { 'ec2:ParentVolume': ec2Arn(ctx, 'volume', id), 'ec2:Owner': ctx.accountId };
    if (v) Object.assign(keys, { 'ec2:VolumeSize': String(v.size_gib), 'ec2:Encrypted': bool(v.encrypted) });
    out.push(created('snapshot', keys));
  }
  return out.length ? out : [created('snapshot')];
}

/** CreateTags and DeleteTags: each resource by its id's prefix, with the tags asked for. */
const tagging: Resolver = async (ctx, input) => {
  const out: Touched[] = [];
  const tags = list<Tag>(input, 'Tags');
  const requested: Keys = {};
  for (const t of tags) if (t.Key !== undefined && t.Value !== undefined) requested[`aws:RequestTag/${t.Key}`] = t.Value;
  const keys = tags.map((t) => t.Key).filter((k): k is string => k !== undefined);
  if (keys.length) requested['aws:TagKeys'] = keys;
  for (const id of strs(input, 'Resources')) {
    const type = kindOf(id)?.type;
    if (!type) continue;
    const r = type === 'key-pair' ? await keyPairById(ctx, id) : isKnownType(type) ? await existing(ctx, type, id) : { type, id, keys: {} };
    out.push({ ...r, keys: { ...r.keys, ...requested } });
  }
  return out;
};

// What each operation creates, and what it touches that no id member names.
const resolvers: Readonly<Record<string, Resolver>> = {
  // The protocol parsed the input against EC2's model, whose shapes the SDK's types are.
  RunInstances: (ctx, input) => runInstancesResources(ctx, input as unknown as RunInstancesRequest),
  CreateTags: tagging,
  DeleteTags: tagging,
  async CreateVolume(ctx, input) {
    const snapshotId = str(input, 'SnapshotId');
    const snap = snapshotId ? await findSnapshotInRegion(ctx.db, ctx.region, snapshotId) : undefined;
    const keys: Keys = { ...zoneKeys(str(input, 'AvailabilityZone')), 'ec2:VolumeType': str(input, 'VolumeType') ?? 'gp2' };
    const size = typeof input.Size === 'number' ? input.Size : snap?.volume_size;
    if (size !== undefined) keys['ec2:VolumeSize'] = String(size);
    if (!snapshotId || snap) keys['ec2:Encrypted'] = bool(input.Encrypted === true || snap?.encrypted === 1);
    if (snapshotId) keys['ec2:ParentSnapshot'] = ec2Arn(ctx, 'snapshot', snapshotId);
    if (typeof input.Iops === 'number') keys['ec2:VolumeIops'] = String(input.Iops);
    if (typeof input.Throughput === 'number') keys['ec2:VolumeThroughput'] = String(input.Throughput);
    return [created('volume', keys)];
  },
  CreateSnapshot: async (ctx, input) => snapshotsOfVolumes(ctx, strs(input, 'VolumeId')),
  async CreateSnapshots(ctx, input) {
    const spec = (typeof input.InstanceSpecification === 'object' && input.InstanceSpecification !== null ? input.InstanceSpecification : {}) as {
      InstanceId?: string;
      ExcludeBootVolume?: boolean;
      ExcludeDataVolumeIds?: string[];
    };
    if (!spec.InstanceId) return [];
    const instance = await existing(ctx, 'instance', spec.InstanceId);
    const row = await findOwned(ctx, 'instances', spec.InstanceId);
    const volumes = row ? await attachedVolumesOf(ctx.db, row.id) : [];
    const chosen = volumes.filter((v) => !(spec.ExcludeBootVolume && v.device === row!.root_device_name) && !(spec.ExcludeDataVolumeIds ?? []).includes(v.id)).map((v) => v.id);
    return [instance, ...(await Promise.all(chosen.map((id) => existing(ctx, 'volume', id)))), ...(await snapshotsOfVolumes(ctx, chosen))];
  },
  async CreateImage(ctx, input) {
    const id = str(input, 'InstanceId');
    const volumes = id && (await findOwned(ctx, 'instances', id)) ? await attachedVolumesOf(ctx.db, id) : [];
    return [
      created('image', { 'ec2:Owner': ctx.accountId }),
      ...(await snapshotsOfVolumes(
        ctx,
        volumes.map((v) => v.id),
      )),
    ];
  },
  async RegisterImage(ctx, input) {
    const mappings = list<{ Ebs?: { SnapshotId?: string } }>(input, 'BlockDeviceMappings');
    const snaps = [...new Set(mappings.map((m) => m.Ebs?.SnapshotId).filter((s): s is string => Boolean(s)))];
    return [created('image', { 'ec2:Owner': ctx.accountId }), ...(await Promise.all(snaps.map((s) => existing(ctx, 'snapshot', s))))];
  },
  async CopyImage(ctx, input) {
    const source = str(input, 'SourceImageId');
    const from = source ? [await existingIn(ctx, str(input, 'SourceRegion'), 'image', source)] : [];
    return [...from, created('image', { 'ec2:Owner': ctx.accountId }), created('snapshot', { 'ec2:Owner': ctx.accountId })];
  },
  async CopySnapshot(ctx, input) {
    const source = str(input, 'SourceSnapshotId');
    const from = source ? await existingIn(ctx, str(input, 'SourceRegion'), 'snapshot', source) : undefined;
    const keys: Keys = { 'ec2:Owner': ctx.accountId };
    if (source) keys['ec2:ParentSnapshot'] = ec2Arn({ accountId: ctx.accountId, region: str(input, 'SourceRegion') ?? ctx.region }, 'snapshot', source);
    for (const k of ['ec2:VolumeSize', 'ec2:ParentVolume'] as const) if (from?.keys[k] !== undefined) keys[k] = from.keys[k];
    keys['ec2:Encrypted'] = bool(input.Encrypted === true || from?.keys['ec2:Encrypted'] === 'true');
    return [...(from ? [from] : []), created('snapshot', keys)];
  },
  CreateVpc: async (_ctx, input) => [created('vpc', { 'ec2:Tenancy': str(input, 'InstanceTenancy') ?? 'default' })],
  CreateSubnet: async (ctx, input) => [created('subnet', { ...zoneKeys(str(input, 'AvailabilityZone')), ...vpcArnOf(ctx, str(input, 'VpcId')) })],
  async CreateSecurityGroup(ctx, input) {
    const vpcId = str(input, 'VpcId') ?? (await getDefaultVpc(ctx))?.id;
    return [created('security-group', vpcArnOf(ctx, vpcId)), ...(vpcId && !str(input, 'VpcId') ? [await existing(ctx, 'vpc', vpcId)] : [])];
  },
  async CreateNetworkInterface(ctx, input) {
    const subnetId = str(input, 'SubnetId');
    const subnet = subnetId ? await maybe(getSubnet(ctx, subnetId)) : undefined;
    const keys: Keys = subnet ? { 'ec2:Subnet': ec2Arn(ctx, 'subnet', subnet.id), ...vpcArnOf(ctx, subnet.vpc_id), ...zoneKeys(subnet.availability_zone) } : {};
    return [created('network-interface', keys)];
  },
  CreateKeyPair: async (_ctx, input) => [
    created('key-pair', { 'ec2:KeyPairName': str(input, 'KeyName') ?? '', 'ec2:KeyPairType': str(input, 'KeyType') ?? 'rsa' }, str(input, 'KeyName')),
  ],
  ImportKeyPair: async (_ctx, input) => [created('key-pair', { 'ec2:KeyPairName': str(input, 'KeyName') ?? '' }, str(input, 'KeyName'))],
  async DeleteKeyPair(ctx, input) {
    const name = str(input, 'KeyName');
    const id = str(input, 'KeyPairId');
    return [name !== undefined ? await existing(ctx, 'key-pair', name) : id ? await keyPairById(ctx, id) : { type: 'key-pair', id: '*', keys: {} }];
  },
  AllocateAddress: async (_ctx, input) => [created('elastic-ip', { 'ec2:Domain': str(input, 'Domain') ?? 'vpc' })],
  CreateInternetGateway: async () => [created('internet-gateway')],
  CreateRouteTable: async (ctx, input) => [created('route-table', vpcArnOf(ctx, str(input, 'VpcId')))],
  CreateNetworkAcl: async (ctx, input) => [created('network-acl', vpcArnOf(ctx, str(input, 'VpcId')))],
  CreateManagedPrefixList: async () => [created('prefix-list')],
  AuthorizeSecurityGroupIngress: async () => [created('security-group-rule')],
  AuthorizeSecurityGroupEgress: async () => [created('security-group-rule')],
  async ModifySecurityGroupRules(ctx, input) {
    const rules = list<{ SecurityGroupRuleId?: string }>(input, 'SecurityGroupRules');
    return Promise.all(rules.filter((r) => r.SecurityGroupRuleId).map((r) => existing(ctx, 'security-group-rule', r.SecurityGroupRuleId!)));
  },
  async ModifyInstanceAttribute(ctx, input) {
    const mappings = list<{ Ebs?: { VolumeId?: string } }>(input, 'BlockDeviceMappings');
    return Promise.all(mappings.filter((m) => m.Ebs?.VolumeId).map((m) => existing(ctx, 'volume', m.Ebs!.VolumeId!)));
  },
  async DetachVolume(ctx, input) {
    const volumeId = str(input, 'VolumeId');
    if (str(input, 'InstanceId') || !volumeId || !(await findVolume(ctx.db, ctx.accountId, ctx.region, volumeId))) return [];
    // Without InstanceId, the instance the volume is attached to.
    return Promise.all((await attachmentsOfVolume(ctx.db, volumeId)).map((a) => existing(ctx, 'instance', a.instance_id)));
  },
  async DetachNetworkInterface(ctx, input) {
    const eni = await maybe(getByAttachment(ctx, str(input, 'AttachmentId')));
    if (!eni) return [];
    return [await existing(ctx, 'network-interface', eni.id), ...(eni.instance_id ? [await existing(ctx, 'instance', eni.instance_id)] : [])];
  },
  async AssociateAddress(ctx, input) {
    const ip = str(input, 'PublicIp');
    const a = ip && !str(input, 'AllocationId') ? await findAddress(ctx, 'public_ip', ip) : undefined;
    return a?.allocation_id ? [await existing(ctx, 'elastic-ip', a.allocation_id)] : [];
  },
  async DisassociateAddress(ctx, input) {
    const assoc = str(input, 'AssociationId');
    const ip = str(input, 'PublicIp');
    const a = assoc ? await findAddress(ctx, 'association_id', assoc) : ip ? await findAddress(ctx, 'public_ip', ip) : undefined;
    if (!a) return [];
    return [
      ...(a.allocation_id ? [await existing(ctx, 'elastic-ip', a.allocation_id)] : []),
      ...(a.network_interface_id ? [await existing(ctx, 'network-interface', a.network_interface_id)] : []),
    ];
  },
  async ReleaseAddress(ctx, input) {
    const ip = str(input, 'PublicIp');
    const a = ip && !str(input, 'AllocationId') ? await findAddress(ctx, 'public_ip', ip) : undefined;
    return a?.allocation_id ? [await existing(ctx, 'elastic-ip', a.allocation_id)] : [];
  },
  DisassociateRouteTable: routeTableAssociation,
  ReplaceRouteTableAssociation: routeTableAssociation,
  async ReplaceNetworkAclAssociation(ctx, input) {
    const assoc = str(input, 'AssociationId');
    const a = assoc ? await findAclAssociation(ctx.db, ctx.accountId, ctx.region, assoc) : undefined;
    return a ? [await existing(ctx, 'subnet', a.subnet_id)] : [];
  },
  async DisassociateVpcCidrBlock(ctx, input) {
    const assoc = str(input, 'AssociationId');
    const vpc = (await vpcsOf(ctx.db, ctx.accountId, ctx.region)).find((v) => [...cidrAssociationsOf(v), ...vpcIpv6AssociationsOf(v)].some((a) => a.AssociationId === assoc));
    return vpc ? [await existing(ctx, 'vpc', vpc.id)] : [];
  },
};

/** An association's route table and its subnet or gateway. */
async function routeTableAssociation(ctx: Ctx, input: Input): Promise<Touched[]> {
  const assoc = str(input, 'AssociationId');
  const a = assoc ? await findAssociation(ctx.db, ctx.accountId, ctx.region, assoc) : undefined;
  if (!a) return [];
  const out = str(input, 'RouteTableId') ? [] : [await existing(ctx, 'route-table', a.route_table_id)];
  if (a.subnet_id) out.push(await existing(ctx, 'subnet', a.subnet_id));
  if (a.gateway_id) out.push(await existing(ctx, 'internet-gateway', a.gateway_id));
  return out;
}

// Members whose name is the new resource's, not an existing one's.
const namesNew: Readonly<Record<string, readonly string[]>> = {
  CreateKeyPair: ['KeyName'],
  ImportKeyPair: ['KeyName'],
  DeleteKeyPair: ['KeyName'],
  RunInstances: idMembers.map(([m]) => m),
  CreateTags: idMembers.map(([m]) => m),
  DeleteTags: idMembers.map(([m]) => m),
  CreateSnapshots: ['InstanceId'],
};

/** The resources an operation touches: those its id members name, and its own resolver's. */
async function touched(ctx: Ctx, operation: string, input: Input): Promise<Touched[]> {
  const out: Touched[] = [];
  const skip = namesNew[operation] ?? [];
  for (const [member, type] of idMembers) {
    if (skip.includes(member)) continue;
    for (const id of strs(input, member)) out.push(await existing(ctx, member === 'GatewayId' ? (kindOf(id)?.type ?? type) : type, id));
  }
  // GroupName names an existing group of the default VPC (except the one CreateSecurityGroup makes).
  const groupName = str(input, 'GroupName');
  if (groupName !== undefined && !str(input, 'GroupId') && operation !== 'CreateSecurityGroup') out.push(await groupByName(ctx, groupName));
  const resolve = resolvers[operation];
  if (resolve) out.push(...(await resolve(ctx, input)));
  return out;
}

/** ec2:Attribute and ec2:Attribute/<Name> of a Modify…Attribute call, for the values it sets. */
function attributeKeys(operation: string, input: Input): Keys {
  if (!/^Modify\w*Attribute$/.test(operation)) return {};
  const keys: Keys = {};
  const scalar = (v: unknown): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v);
  const attribute = str(input, 'Attribute');
  if (attribute) {
    keys['ec2:Attribute'] = attribute;
    if (scalar(input.Value)) keys[`ec2:Attribute/${attribute[0]!.toUpperCase()}${attribute.slice(1)}`] = String(input.Value);
  }
  for (const [name, v] of Object.entries(input)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && 'Value' in v && scalar((v as { Value: unknown }).Value))
      keys[`ec2:Attribute/${name}`] = String((v as { Value: unknown }).Value);
  }
  return keys;
}

/** aws:RequestTag/k and aws:TagKeys of the TagSpecifications for one resource type. */
function requestTagKeys(specs: TagSpecification[], type: string): Keys {
  const tags = new Map<string, string>();
  for (const s of specs) if (s.ResourceType === type && Array.isArray(s.Tags)) for (const t of s.Tags) if (t.Key !== undefined) tags.set(t.Key, t.Value ?? '');
  if (!tags.size) return {};
  const keys: Keys = { 'aws:TagKeys': [...tags.keys()] };
  for (const [k, v] of tags) keys[`aws:RequestTag/${k}`] = v;
  return keys;
}

/** One request for `t` under `action`, with the keys the reference lists for it; none if the action does not authorize on its type. */
function requestFor(ctx: Ctx, action: ActionInfo, t: Touched, actionKeys: Keys): AuthzRequest | undefined {
  const rt = action.resourceTypes.find((r) => r.name === t.type);
  if (!rt) return undefined;
  const context: Keys = {};
  for (const [k, v] of Object.entries(t.keys)) if (keyListed(k, rt.conditionKeys)) context[k] = v;
  for (const [k, v] of Object.entries(actionKeys)) if (keyListed(k, action.conditionKeys) || keyListed(k, rt.conditionKeys)) context[k] = v;
  return { action: `ec2:${action.name}`, resource: ec2Arn({ accountId: ctx.accountId, region: t.region ?? ctx.region }, t.type, t.id), context };
}

/** What IAM is asked for one EC2 call: one request per resource it touches, or one about '*'. */
export async function ec2AuthzRequests(ctx: Ctx, operation: string, input: Record<string, unknown>): Promise<AuthzRequest[]> {
  const action = actionInfo('ec2', operation);
  const regionKeys: Keys = { 'ec2:Region': ctx.region };
  if (!action) return [{ action: `ec2:${operation}`, resource: '*', context: regionKeys }];
  const star = (): AuthzRequest => ({
    action: `ec2:${action.name}`,
    resource: '*',
    context: Object.fromEntries(Object.entries(actionKeys).filter(([k]) => keyListed(k, action.conditionKeys))),
  });
  const actionKeys: Keys = { ...regionKeys, ...attributeKeys(operation, input) };
  if (operation === 'DeleteTags') {
    const keys = list<Tag>(input, 'Tags')
      .map((t) => t.Key)
      .filter((k): k is string => k !== undefined);
    if (keys.length) actionKeys['aws:TagKeys'] = keys;
  }
  if (!action.resourceTypes.length) return [star()];

  const specs = list<TagSpecification>(input, 'TagSpecifications');
  const out: AuthzRequest[] = [];
  const tagOnCreate: AuthzRequest[] = [];
  const seen = new Set<string>();
  const createTags = actionInfo('ec2', 'CreateTags')!;
  for (const t0 of await touched(ctx, operation, input)) {
    const t = t0.created ? { ...t0, keys: { ...t0.keys, ...requestTagKeys(specs, t0.type) } } : t0;
    const r = requestFor(ctx, action, t, actionKeys);
    if (!r) continue;
    const key = `${r.resource}\u0000${JSON.stringify(r.context)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
    if (t.created && t.keys['aws:TagKeys']) {
      const c = requestFor(ctx, createTags, t, { ...regionKeys, 'ec2:CreateAction': action.name });
      if (c) tagOnCreate.push(c);
    }
  }
  if (!out.length) out.push(star());
  return [...out, ...tagOnCreate];
}
