// Instance rows and the EC2 shapes built from them. Describe calls load each table once (instances,
// interfaces, volume attachments, tags) and join in memory: no per-instance queries.
import type {
  BlockDeviceMapping,
  CapacityReservationSpecificationResponse,
  CpuOptions,
  EnclaveOptions,
  GroupIdentifier,
  HibernationOptions,
  IamInstanceProfile,
  Instance,
  InstanceMaintenanceOptions,
  InstanceMetadataOptionsResponse,
  InstanceNetworkInterface,
  InstanceStateName,
  PrivateDnsNameOptionsResponse,
  Reservation,
  StateReason,
  Tag,
} from '@aws-sdk/client-ec2';
import { Errors } from '../../errors.js';
import { zoneId } from '../../../config.js';
import { privateDnsName } from '../../../lib/ec2-names.js';
import { idPattern } from '../../../lib/ids.js';
import type { Tx } from '../../../store/db.js';
import type { NewRow, Row, RowUpdate } from '../../../store/schema.js';
import { jsonColumn } from '../../../store/json-column.js';
import type { Ctx } from '../../context.js';
import { attachmentStatusFor, toInstanceNetworkInterface, type Associations, type EniRow } from '../network-interfaces/store.js';
import { associationsOfInterfaces } from '../common/public-ips.js';
import { tagPairsOf, tagsOf } from '../tags/store.js';
import { attachmentDevicesOf, type AttachmentRow } from '../volumes/store.js';
import { decodedInterfacesOf } from '../network-interfaces/store.js';
import { subnetsByIds, vpcCidrsByIds } from '../vpcs/store.js';
import { stateOf } from './states.js';

// For the handlers.

/** The instance's uid range slot, if it has one. */
export async function uidSlotOf(db: Tx, instanceId: string): Promise<number | undefined> {
  return (await db.selectFrom('uid_ranges').select('slot').where('instance_id', '=', instanceId).executeTakeFirst())?.slot;
}

/** Every uid range slot taken, ascending. */
export async function takenUidSlots(db: Tx): Promise<number[]> {
  return (await db.selectFrom('uid_ranges').select('slot').orderBy('slot').execute()).map((r) => r.slot);
}

export async function insertUidSlot(db: Tx, slot: number, instanceId: string, at: Date): Promise<void> {
  await db.insertInto('uid_ranges').values({ slot, instance_id: instanceId, allocated_at: at.toISOString() }).execute();
}

export async function deleteUidSlot(db: Tx, instanceId: string): Promise<void> {
  await db.deleteFrom('uid_ranges').where('instance_id', '=', instanceId).execute();
}

/** The account's instances in the region: all, or those with these ids. */
export async function instancesOf(db: Tx, accountId: string, region: string, ids?: string[]): Promise<InstanceRow[]> {
  let q = db.selectFrom('instances').selectAll().where('account_id', '=', accountId).where('region', '=', region);
  if (ids) q = q.where('id', 'in', ids);
  return q.execute();
}

/** The hosts' last status check of each of these instances. */
export async function instanceStatusChecks(db: Tx, instanceIds: string[]): Promise<Map<string, Row<'instance_status_checks'>>> {
  const out = new Map<string, Row<'instance_status_checks'>>();
  for (let k = 0; k < instanceIds.length; k += 500) {
    for (const c of await db.selectFrom('instance_status_checks').selectAll().where('instance_id', 'in', instanceIds.slice(k, k + 500)).execute()) out.set(c.instance_id, c);
  }
  return out;
}

export async function updateInstance(db: Tx, id: string, set: RowUpdate<'instances'>): Promise<void> {
  await db.updateTable('instances').set(set).where('id', '=', id).execute();
}

/** Updates the instance only if it is still in `state` (a controller step may have moved it); whether it did. */
export async function updateInstanceInState(db: Tx, id: string, state: string, set: RowUpdate<'instances'>): Promise<boolean> {
  const res = await db.updateTable('instances').set(set).where('id', '=', id).where('state', '=', state).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Bounded multi-row inserts: SQLite allows at most 32766 bound parameters per statement. */
export async function insertChunks<T extends 'instances' | 'network_interfaces' | 'volumes' | 'volume_attachments' | 'tags'>(db: Tx, table: T, rows: NewRow<T>[]): Promise<void> {
  const per = Math.max(1, Math.floor(30000 / Math.max(1, Object.keys(rows[0] ?? {}).length)));
  for (let i = 0; i < rows.length; i += per) {
    await db
      .insertInto(table)
      // Kysely cannot narrow a union of tables' insert types from a generic T; NewRow<T> is that type.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      .values(rows.slice(i, i + per) as any)
      .execute();
  }
}

/** An instance's state and how many times it booted. */
export async function instanceStateAndBoots(db: Tx, id: string): Promise<Pick<InstanceRow, 'state' | 'boots'> | undefined> {
  return db.selectFrom('instances').select(['state', 'boots']).where('id', '=', id).executeTakeFirst();
}

/** The security_groups JSON of the account's live instances whose groups may include this one (a coarse match: check each). */
export async function liveInstanceGroupsMentioning(db: Tx, accountId: string, region: string, groupId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('instances')
    .select('security_groups')
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('state', '!=', 'terminated')
    .where('security_groups', 'like', `%${groupId}%`)
    .execute();
  return rows.map((r) => r.security_groups);
}

/** An instance's id, state and type. */
export async function instanceTypeAndState(db: Tx, id: string): Promise<Pick<InstanceRow, 'id' | 'state' | 'instance_type'> | undefined> {
  return db.selectFrom('instances').select(['id', 'state', 'instance_type']).where('id', '=', id).executeTakeFirst();
}

/** instances.security_groups: its primary interface's groups. */
export async function setInstanceSecurityGroups(db: Tx, id: string, groupsJson: string): Promise<void> {
  await db.updateTable('instances').set({ security_groups: groupsJson }).where('id', '=', id).execute();
}

/** What releasing an instance's public addresses needs of it. */
export async function instanceLifecycle(db: Tx, id: string): Promise<Pick<InstanceRow, 'id' | 'account_id' | 'region' | 'state' | 'desired_state'> | undefined> {
  return db.selectFrom('instances').select(['id', 'account_id', 'region', 'state', 'desired_state']).where('id', '=', id).executeTakeFirst();
}

/** instances.public_ip: the address of the primary interface, as DescribeInstances shows it. */
export async function setInstancePublicIp(db: Tx, id: string, ip: string | null): Promise<void> {
  await db.updateTable('instances').set({ public_ip: ip }).where('id', '=', id).execute();
}

/** The account's instance with this id (terminated ones included), as AttachVolume checks it. */
export async function findInstanceForAttach(
  db: Tx,
  accountId: string,
  region: string,
  id: string,
): Promise<Pick<InstanceRow, 'id' | 'state' | 'availability_zone' | 'root_device_name' | 'instance_type'> | undefined> {
  return db
    .selectFrom('instances')
    .select(['id', 'state', 'availability_zone', 'root_device_name', 'instance_type'])
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .executeTakeFirst();
}

/** An instance's state and root device name. */
export async function instanceRootDevice(db: Tx, id: string): Promise<Pick<InstanceRow, 'state' | 'root_device_name'> | undefined> {
  return db.selectFrom('instances').select(['state', 'root_device_name']).where('id', '=', id).executeTakeFirst();
}

/** The state and VPC of each of the account's instances with these ids. */
export async function instanceStates(db: Tx, accountId: string, ids: string[]): Promise<Map<string, { state: string; vpc_id: string }>> {
  const out = new Map<string, { state: string; vpc_id: string }>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('instances').select(['id', 'state', 'vpc_id']).where('id', 'in', ids.slice(i, i + 500)).where('account_id', '=', accountId).execute();
    for (const r of rows) out.set(r.id, { state: r.state, vpc_id: r.vpc_id });
  }
  return out;
}

/** The account's instance with this id (terminated ones included), its VPC and state. */
export async function findInstanceState(db: Tx, accountId: string, region: string, id: string): Promise<Pick<InstanceRow, 'id' | 'vpc_id' | 'state'> | undefined> {
  return db.selectFrom('instances').select(['id', 'vpc_id', 'state']).where('id', '=', id).where('account_id', '=', accountId).where('region', '=', region).executeTakeFirst();
}

/** Whether an instance that is not terminated is in this VPC or subnet. */
export async function hasLiveInstanceIn(db: Tx, where: { vpcId: string } | { subnetId: string }): Promise<boolean> {
  const q = db.selectFrom('instances').select('id').where('state', '!=', 'terminated');
  return Boolean(await ('vpcId' in where ? q.where('vpc_id', '=', where.vpcId) : q.where('subnet_id', '=', where.subnetId)).executeTakeFirst());
}

export type InstanceRow = Row<'instances'>;

/** What Describe calls read: everything but the large columns nothing there shows. */
export type DescribedRow = Omit<InstanceRow, 'user_data' | 'console_output' | 'console_at' | 'ssh_public_key' | 'runtime'>;

const DESCRIBED_COLUMNS = [
  'id', 'account_id', 'region', 'reservation_id', 'ami_launch_index', 'image_id', 'instance_type', 'state', 'desired_state',
  'state_transition_reason', 'state_reason', 'key_name', 'subnet_id', 'vpc_id', 'availability_zone', 'private_ip', 'public_ip',
  'mac_address', 'client_token', 'shutdown_behavior', 'disable_api_termination', 'disable_api_stop', 'ebs_optimized', 'monitoring',
  'tenancy', 'security_groups', 'metadata_options', 'iam_instance_profile', 'root_device_name', 'launch_time', 'updated_at',
  'terminated_at', 'architecture', 'hypervisor', 'virtualization_type', 'root_device_type', 'ena_support', 'boot_mode',
  'platform_details', 'launch_options', 'boots',
] as const satisfies readonly (keyof DescribedRow)[];

/** What RunInstances was given beyond the columns, in EC2's shapes; kept for the instance's life. */
export interface LaunchOptions {
  CpuOptions?: CpuOptions;
  CapacityReservationSpecification?: CapacityReservationSpecificationResponse;
  HibernationOptions?: HibernationOptions;
  EnclaveOptions?: EnclaveOptions;
  MaintenanceOptions?: InstanceMaintenanceOptions;
  PrivateDnsNameOptions?: PrivateDnsNameOptionsResponse;
  CurrentInstanceBootMode?: Instance['CurrentInstanceBootMode'];
  UsageOperation?: string;
  /** Instance store devices (ephemeralN): EC2 does not list them in BlockDeviceMappings. */
  InstanceStoreMappings?: BlockDeviceMapping[];
  /** Asked for at launch; public addresses arrive with a later issue. */
  AssociatePublicIpAddress?: boolean;
  SriovNetSupport?: string;
}

export function launchOptionsOf(row: Pick<InstanceRow, 'launch_options'>): LaunchOptions {
  return parse<LaunchOptions>(row.launch_options, {});
}

/**
 * JSON columns repeat across instances (a reservation shares its groups and options), so Describe
 * parses each distinct text once. The values are shared: callers must not mutate them.
 */
const parsed = new Map<string, unknown>();

export function parseShared<T>(s: string | null | undefined, fallback: T): T {
  if (!s) return fallback;
  let v = parsed.get(s);
  if (v === undefined) {
    v = parse<T>(s, fallback);
    if (parsed.size > 5000) parsed.clear();
    parsed.set(s, v);
  }
  return v as T;
}

export function parse<T>(s: string | null | undefined, fallback: T): T {
  if (!s) return fallback;
  try {
    return (JSON.parse(s) as T) ?? fallback;
  } catch {
    return fallback;
  }
}

const INSTANCE_ID = idPattern('i');

export function isInstanceId(id: string): boolean {
  return INSTANCE_ID.test(id);
}

export function malformedInstanceId(id: string) {
  return Errors.notFound('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
}

export function instancesNotFound(ids: string[]) {
  return ids.length === 1
    ? Errors.notFound('InvalidInstanceID.NotFound', `The instance ID '${ids[0]}' does not exist`)
    : Errors.notFound('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`);
}

/** Malformed ids fail first, as on EC2. */
export function checkInstanceIds(ids: string[]): void {
  for (const id of ids) if (!isInstanceId(id)) throw malformedInstanceId(id);
}

/** The caller's instances with these ids, in the order asked; NotFound names every missing one. */
export async function getInstanceRows(ctx: Ctx, ids: string[] | undefined, param = 'InstanceId'): Promise<InstanceRow[]> {
  if (!ids?.length) throw Errors.missingParameter(param);
  checkInstanceIds(ids);
  const unique = [...new Set(ids)];
  const rows = await ctx.db
    .selectFrom('instances')
    .selectAll()
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .where('id', 'in', unique)
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const missing = unique.filter((id) => !byId.has(id));
  if (missing.length) throw instancesNotFound(missing);
  return unique.map((id) => byId.get(id)!);
}

export function metadataOptionsOf(row: Pick<InstanceRow, 'metadata_options' | 'state' | 'boots'>): InstanceMetadataOptionsResponse {
  const m = parseShared<InstanceMetadataOptionsResponse>(row.metadata_options, {});
  // Applied once the instance has booted with them; a first launch shows them pending, as EC2 does.
  const state = row.state === 'pending' && row.boots === 0 ? 'pending' : 'applied';
  return { ...m, State: state };
}

function rootFirst(a: { device: string }, b: { device: string }, root: string): number {
  if (a.device === root) return -1;
  if (b.device === root) return 1;
  return a.device < b.device ? -1 : a.device > b.device ? 1 : 0;
}

/** The Instance as DescribeInstances and RunInstances show it. */
export function toInstance(row: DescribedRow, enis: EniRow[], attachments: AttachmentRow[], tags: Tag[] | undefined, assoc: ReadonlyMap<string, Associations> = new Map()): Instance {
  const opts = parseShared<LaunchOptions>(row.launch_options, {});
  const state = row.state as InstanceStateName;
  const hasRun = row.boots > 0;
  const gone = state === 'terminated';
  const groups = gone ? [] : parseShared<GroupIdentifier[]>(row.security_groups, []);
  const status = attachmentStatusFor(state, hasRun);
  const ordered = enis.length > 1 ? enis.slice().sort((a, b) => (a.device_index ?? 0) - (b.device_index ?? 0)) : enis;
  const interfaces: InstanceNetworkInterface[] = ordered.map((e) => toInstanceNetworkInterface(e, status, assoc.get(e.id)));
  const primary = enis.find((e) => e.device_index === 0);
  const sorted = attachments.length > 1 ? attachments.slice().sort((a, b) => rootFirst(a, b, row.root_device_name)) : attachments;
  const bdm: BlockDeviceMapping[] = sorted.map((a) => ({
    DeviceName: a.device,
    Ebs: { AttachTime: new Date(a.attach_time), DeleteOnTermination: a.delete_on_termination === 1, Status: a.state as 'attached', VolumeId: a.volume_id },
  }));
  const stateReason = parseShared<StateReason | null>(row.state_reason, null);
  const profile = parseShared<IamInstanceProfile | null>(row.iam_instance_profile, null);

  const out: Instance = {
    AmiLaunchIndex: row.ami_launch_index,
    ImageId: row.image_id,
    InstanceId: row.id,
    InstanceType: row.instance_type as Instance['InstanceType'],
    KeyName: row.key_name ?? undefined,
    LaunchTime: new Date(row.launch_time),
    Monitoring: { State: row.monitoring as 'disabled' },
    Placement: { AvailabilityZone: row.availability_zone, AvailabilityZoneId: zoneId(row.availability_zone), GroupName: '', Tenancy: row.tenancy as 'default' },
    PrivateDnsName: gone ? '' : (primary?.private_ip === row.private_ip ? interfaces[0]!.PrivateDnsName : privateDnsName(row.private_ip, row.region)),
    PrivateIpAddress: gone ? undefined : row.private_ip,
    ProductCodes: [],
    PublicDnsName: gone ? '' : (primary && row.public_ip ? (assoc.get(primary.id)?.get(primary.private_ip)?.PublicDnsName ?? '') : ''),
    PublicIpAddress: row.public_ip && !gone ? row.public_ip : undefined,
    State: stateOf(state),
    StateTransitionReason: row.state_transition_reason,
    SubnetId: gone ? undefined : row.subnet_id,
    VpcId: gone ? undefined : row.vpc_id,
    Architecture: row.architecture as Instance['Architecture'],
    BlockDeviceMappings: bdm,
    ClientToken: row.client_token ?? '',
    EbsOptimized: row.ebs_optimized === 1,
    EnaSupport: row.ena_support === 1,
    Hypervisor: row.hypervisor as Instance['Hypervisor'],
    IamInstanceProfile: profile ?? undefined,
    NetworkInterfaces: interfaces,
    RootDeviceName: row.root_device_name,
    RootDeviceType: row.root_device_type as Instance['RootDeviceType'],
    SecurityGroups: groups,
    SourceDestCheck: gone ? undefined : (primary ? primary.source_dest_check === 1 : true),
    StateReason: stateReason ?? undefined,
    Tags: tags?.length ? tags : undefined,
    VirtualizationType: row.virtualization_type as Instance['VirtualizationType'],
    CpuOptions: opts.CpuOptions,
    CapacityReservationSpecification: opts.CapacityReservationSpecification ?? { CapacityReservationPreference: 'open' },
    HibernationOptions: opts.HibernationOptions ?? { Configured: false },
    MetadataOptions: metadataOptionsOf(row),
    EnclaveOptions: opts.EnclaveOptions ?? { Enabled: false },
    BootMode: (row.boot_mode ?? undefined) as Instance['BootMode'],
    PlatformDetails: row.platform_details,
    UsageOperation: opts.UsageOperation ?? 'RunInstances',
    UsageOperationUpdateTime: new Date(row.launch_time),
    PrivateDnsNameOptions: opts.PrivateDnsNameOptions ?? { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    MaintenanceOptions: opts.MaintenanceOptions ?? { AutoRecovery: 'default' },
    CurrentInstanceBootMode: opts.CurrentInstanceBootMode,
    Operator: { Managed: false },
  };
  return out;
}

export interface InstanceView {
  row: DescribedRow;
  instance: Instance;
  /** Tags of the instance's interfaces, loaded only for the network-interface.tag-* filters. */
  interfaceTags?: Tag[];
}

/** The caller's instance rows (all, these ids, or one reservation), as Describe calls read them. */
export async function loadInstanceRows(db: Tx, accountId: string, region: string, opts: { ids?: string[]; reservationId?: string } = {}): Promise<DescribedRow[]> {
  const base = () => db.selectFrom('instances').select(DESCRIBED_COLUMNS).where('account_id', '=', accountId).where('region', '=', region);
  if (opts.ids) {
    // By primary key, scoped afterwards: with the scope in SQL, SQLite walks the account's index
    // and tests every row against the IN list.
    const out: DescribedRow[] = [];
    for (const part of chunks(opts.ids, CHUNK)) {
      const rows = await db.selectFrom('instances').select(DESCRIBED_COLUMNS).where('id', 'in', part).execute();
      for (const r of rows) if (r.account_id === accountId && r.region === region) out.push(r);
    }
    return out;
  }
  let q = base();
  if (opts.reservationId) q = q.where('reservation_id', '=', opts.reservationId);
  return q.execute();
}

/** Just what orders instances, for paging before loading whole rows. */
export async function loadInstanceKeys(db: Tx, accountId: string, region: string, ids?: string[]) {
  const cols = ['id', 'launch_time', 'reservation_id', 'ami_launch_index', 'account_id', 'region'] as const;
  if (!ids) return db.selectFrom('instances').select(cols).where('account_id', '=', accountId).where('region', '=', region).execute();
  const out = [];
  for (const part of chunks(ids, CHUNK)) {
    const rows = await db.selectFrom('instances').select(cols).where('id', 'in', part).execute();
    for (const r of rows) if (r.account_id === accountId && r.region === region) out.push(r);
  }
  return out;
}

/** IN lists stay this short (SQLite binds at most 32766 parameters; planners prefer short lists). */
const CHUNK = 500;
/** Above this many instances, one scan of the account's rows beats many IN lists. */
const SCAN_ABOVE = 2000;

function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out.length ? out : [[]];
}

/**
 * The instances of these rows with their interfaces, volumes and tags: a bounded number of
 * queries per table (one, or one per 500 instances), never one per instance.
 */
export async function viewsOf(db: Tx, accountId: string, region: string, rows: DescribedRow[]): Promise<InstanceView[]> {
  if (!rows.length) return [];
  const enisQ = () => db.selectFrom('network_interfaces').selectAll().where('account_id', '=', accountId).where('region', '=', region);
  const attachQ = () =>
    db
      .selectFrom('volume_attachments')
      .innerJoin('volumes', 'volumes.id', 'volume_attachments.volume_id')
      .selectAll('volume_attachments')
      .where('volumes.account_id', '=', accountId)
      .where('volumes.region', '=', region);
  const enis: EniRow[] = [];
  const attachments: AttachmentRow[] = [];
  const tags = new Map<string, Tag[]>();
  if (rows.length > SCAN_ABOVE) {
    const [e, a, t] = await Promise.all([enisQ().where('instance_id', 'is not', null).execute(), attachQ().execute(), tagsOf(db, accountId, region, 'instance')]);
    enis.push(...e);
    attachments.push(...a);
    for (const [k, v] of t) tags.set(k, v);
  } else {
    // These instances are the caller's, and so is whatever is attached to them: look up by the
    // instance_id indexes alone (a scope in SQL would make SQLite walk the account's rows instead).
    for (const part of chunks(rows.map((r) => r.id), CHUNK)) {
      const [e, a, t] = await Promise.all([
        db.selectFrom('network_interfaces').selectAll().where('instance_id', 'in', part).execute(),
        db.selectFrom('volume_attachments').selectAll().where('instance_id', 'in', part).execute(),
        tagsOf(db, accountId, region, 'instance', part),
      ]);
      enis.push(...e);
      attachments.push(...a);
      for (const [k, v] of t) tags.set(k, v);
    }
  }
  const enisOf = groupBy(enis, (e) => e.instance_id!);
  const attachmentsOf = groupBy(attachments, (a) => a.instance_id);
  // Public addresses are few: one query for those of these interfaces.
  const assoc = await associationsOfInterfaces(db, enis.filter((e) => e.public_ip).map((e) => e.id));
  return rows.map((row) => ({ row, instance: toInstance(row, enisOf.get(row.id) ?? [], attachmentsOf.get(row.id) ?? [], tags.get(row.id), assoc) }));
}

export async function loadInstanceViews(db: Tx, accountId: string, region: string, opts: { ids?: string[]; reservationId?: string } = {}): Promise<InstanceView[]> {
  return viewsOf(db, accountId, region, await loadInstanceRows(db, accountId, region, opts));
}

export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(it);
  }
  return out;
}

/** EC2's listing order: oldest launch first, a reservation's instances by launch index. */
export function sortKey(row: Pick<InstanceRow, 'launch_time' | 'reservation_id' | 'ami_launch_index' | 'id'>): string {
  return `${row.launch_time}\u0000${row.reservation_id}\u0000${String(row.ami_launch_index).padStart(6, '0')}\u0000${row.id}`;
}

/** Consecutive instances of one reservation share a Reservation element. */
export function toReservations(views: InstanceView[]): Reservation[] {
  const out: Reservation[] = [];
  let current: Reservation | undefined;
  for (const v of views) {
    if (!current || current.ReservationId !== v.row.reservation_id) {
      current = { ReservationId: v.row.reservation_id, OwnerId: v.row.account_id, Groups: [], Instances: [] };
      out.push(current);
    }
    current.Instances!.push(v.instance);
  }
  return out;
}

// For the controllers and the host.

/** instances.state_reason: why the instance is in its state, in EC2's words. */
export const stateReasonColumn = jsonColumn<StateReason | null>({ value: null });
/** instances.runtime: the host-side facts of the instance (the driver that runs it). */
export const runtimeColumn = jsonColumn<{ driver?: string }>({ value: {} });

export async function instanceById(db: Tx, id: string): Promise<InstanceRow | undefined> {
  return db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function instanceStateOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('instances').select('state').where('id', '=', id).executeTakeFirst())?.state;
}

/** The states of those of these instances the store still has. */
export async function storedInstanceStates(db: Tx, ids: string[]): Promise<Map<string, string>> {
  const rows = ids.length ? await db.selectFrom('instances').select(['id', 'state']).where('id', 'in', ids).execute() : [];
  return new Map(rows.map((r) => [r.id, r.state]));
}

export async function instanceVpcOf(db: Tx, id: string): Promise<Pick<InstanceRow, 'vpc_id' | 'account_id' | 'region'> | undefined> {
  return db.selectFrom('instances').select(['vpc_id', 'account_id', 'region']).where('id', '=', id).executeTakeFirst();
}

export async function runningInstances(db: Tx): Promise<Pick<InstanceRow, 'id' | 'account_id' | 'region' | 'boots'>[]> {
  return db.selectFrom('instances').select(['id', 'account_id', 'region', 'boots']).where('state', '=', 'running').execute();
}

/** Whether any instance is up or on its way up or down. */
export async function anyInstanceUp(db: Tx): Promise<boolean> {
  const up = await db.selectFrom('instances').select('id').where('state', 'in', ['pending', 'running', 'stopping', 'shutting-down']).executeTakeFirst();
  return up !== undefined;
}

/** The console columns a controller captured (both or neither). */
export type ConsoleCapture = { console_output?: string; console_at?: string };

/** What a controller's guarded write changes: the columns, with state_reason and runtime typed. */
export type InstanceChange = Omit<RowUpdate<'instances'>, 'state_reason' | 'runtime'> & { state_reason?: StateReason | null; runtime?: { driver?: string } };

/**
 * Write `change` if the instance is still as the controller found it (`state`, and `desired_state`
 * when given): false when another change won meanwhile.
 */
export async function updateInstanceIf(db: Tx, id: string, guard: { state: string; desired_state?: string }, change: InstanceChange): Promise<boolean> {
  const { state_reason, runtime, ...rest } = change;
  let q = db
    .updateTable('instances')
    .set({
      ...rest,
      ...(state_reason !== undefined ? { state_reason: state_reason === null ? null : stateReasonColumn.encode(state_reason) } : {}),
      ...(runtime !== undefined ? { runtime: runtimeColumn.encode(runtime) } : {}),
    })
    .where('id', '=', id)
    .where('state', '=', guard.state);
  if (guard.desired_state !== undefined) q = q.where('desired_state', '=', guard.desired_state);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** The console as captured, and updated_at when `touched` (a reboot: the watcher posts its console while it boots). */
export async function setInstanceConsole(db: Tx, id: string, capture: ConsoleCapture, touched?: string): Promise<void> {
  const set = touched === undefined ? capture : { ...capture, updated_at: touched };
  if (!Object.keys(set).length) return;
  await db.updateTable('instances').set(set).where('id', '=', id).execute();
}

/** A terminated instance shows no public address (an elastic IP stays with its kept interface). */
export async function clearPublicIpIfTerminated(db: Tx, id: string): Promise<void> {
  await db.updateTable('instances').set({ public_ip: null }).where('id', '=', id).where('state', '=', 'terminated').execute();
}

/** The row of a terminated instance goes (purge). */
export async function deleteTerminatedInstance(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('instances').where('id', '=', id).where('state', '=', 'terminated').execute();
}

export type StatusCheckRow = Row<'instance_status_checks'>;

export async function statusChecksOf(db: Tx, instanceId: string): Promise<StatusCheckRow | undefined> {
  return db.selectFrom('instance_status_checks').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
}

/** The last checks of these instances (bounded IN lists). */
export async function statusChecksOfInstances(db: Tx, ids: string[]): Promise<StatusCheckRow[]> {
  const rows: StatusCheckRow[] = [];
  for (let k = 0; k < ids.length; k += 500) rows.push(...(await db.selectFrom('instance_status_checks').selectAll().where('instance_id', 'in', ids.slice(k, k + 500)).execute()));
  return rows;
}

export async function putStatusChecks(db: Tx, row: StatusCheckRow): Promise<void> {
  const { instance_id: _id, ...values } = row;
  await db.insertInto('instance_status_checks').values(row).onConflict((oc) => oc.column('instance_id').doUpdateSet(values)).execute();
}

export async function forgetStatusChecksOf(db: Tx, instanceId: string): Promise<void> {
  await db.deleteFrom('instance_status_checks').where('instance_id', '=', instanceId).execute();
}

/** Samples of the instances' metrics, then those older than `keepSince` go. */
export async function recordInstanceMetrics(db: Tx, rows: Row<'instance_metrics'>[], keepSince: string): Promise<void> {
  // 22 columns a row: well under SQLite's 32766 bound parameters per statement.
  for (let k = 0; k < rows.length; k += 1000) await db.insertInto('instance_metrics').values(rows.slice(k, k + 1000)).execute();
  await db.deleteFrom('instance_metrics').where('at', '<', keepSince).execute();
}

/** instances.metadata_options, as ModifyInstanceMetadataOptions left them. */
export const metadataOptionsColumn = jsonColumn<InstanceMetadataOptionsResponse>({ value: {} });
/** instances.security_groups and network_interfaces.security_groups. */
export const groupsColumn = jsonColumn<GroupIdentifier[]>({ value: [] });
/** instances.iam_instance_profile. */
export const iamInstanceProfileColumn = jsonColumn<IamInstanceProfile | null>({ value: null });
/** instances.launch_options. */
export const launchOptionsColumn = jsonColumn<LaunchOptions>({ value: {} });

/** An instance row with its JSON columns decoded. */
export type DecodedInstance = Omit<InstanceRow, 'metadata_options' | 'launch_options' | 'iam_instance_profile' | 'security_groups'> & {
  metadata_options: InstanceMetadataOptionsResponse;
  launch_options: LaunchOptions;
  iam_instance_profile: IamInstanceProfile | null;
  security_groups: GroupIdentifier[];
};

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
