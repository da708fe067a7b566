// The EC2 shapes built from instance rows. Describe calls load each table once (instances,
// interfaces, volume attachments, tags) and join in memory: no per-instance queries.
import type {
  BlockDeviceMapping,
  GroupIdentifier,
  IamInstanceProfile,
  Instance,
  InstanceNetworkInterface,
  InstanceStateName,
  Reservation,
  StateReason,
  Tag,
} from '@aws-sdk/client-ec2';
import { zoneId } from '../../../../config.js';
import { privateDnsName } from '../../../../lib/ec2-names.js';
import type { Tx } from '../../../../store/db.js';
import { attachmentStatusFor, toInstanceNetworkInterface, type Associations, type EniRow } from '../../network-interfaces/store.js';
import { associationsOfInterfaces } from '../../common/public-ips.js';
import { tagsOf } from '../../tags/store.js';
import type { AttachmentRow } from '../../volumes/store.js';
import { stateOf } from '../states.js';
import { type LaunchOptions, metadataOptionsOf, parseShared } from './columns.js';
import type { InstanceRow } from './instances.js';

/** What Describe calls read: everything but the large columns nothing there shows. */
export type DescribedRow = Omit<InstanceRow, 'user_data' | 'console_output' | 'console_at' | 'ssh_public_key' | 'runtime'>;

const DESCRIBED_COLUMNS = [
  'id',
  'account_id',
  'region',
  'reservation_id',
  'ami_launch_index',
  'image_id',
  'instance_type',
  'state',
  'desired_state',
  'state_transition_reason',
  'state_reason',
  'key_name',
  'subnet_id',
  'vpc_id',
  'availability_zone',
  'private_ip',
  'public_ip',
  'mac_address',
  'client_token',
  'shutdown_behavior',
  'disable_api_termination',
  'disable_api_stop',
  'ebs_optimized',
  'monitoring',
  'tenancy',
  'security_groups',
  'metadata_options',
  'iam_instance_profile',
  'root_device_name',
  'launch_time',
  'updated_at',
  'terminated_at',
  'architecture',
  'hypervisor',
  'virtualization_type',
  'root_device_type',
  'ena_support',
  'boot_mode',
  'platform_details',
  'launch_options',
  'boots',
] as const satisfies readonly (keyof DescribedRow)[];

function rootFirst(a: { device: string }, b: { device: string }, root: string): number {
  if (a.device === root) return -1;
  if (b.device === root) return 1;
  return a.device < b.device ? -1 : a.device > b.device ? 1 : 0;
}

/** The Instance as DescribeInstances and RunInstances show it. */
export function toInstance(
  row: DescribedRow,
  enis: EniRow[],
  attachments: AttachmentRow[],
  tags: Tag[] | undefined,
  assoc: ReadonlyMap<string, Associations> = new Map(),
): Instance {
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
    PrivateDnsName: gone ? '' : primary?.private_ip === row.private_ip ? interfaces[0]!.PrivateDnsName : privateDnsName(row.private_ip, row.region),
    PrivateIpAddress: gone ? undefined : row.private_ip,
    ProductCodes: [],
    PublicDnsName: gone ? '' : primary && row.public_ip ? (assoc.get(primary.id)?.get(primary.private_ip)?.PublicDnsName ?? '') : '',
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
    SourceDestCheck: gone ? undefined : primary ? primary.source_dest_check === 1 : true,
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
    for (const part of chunks(
      rows.map((r) => r.id),
      CHUNK,
    )) {
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
  const assoc = await associationsOfInterfaces(
    db,
    enis.filter((e) => e.public_ip).map((e) => e.id),
  );
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
