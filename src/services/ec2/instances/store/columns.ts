// The instances table's JSON columns (launch options, metadata options, groups, state reason …) and how they decode.
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
  PrivateDnsNameOptionsResponse,
  StateReason,
} from '@aws-sdk/client-ec2';
import { jsonColumn } from '../../../../store/json-column.js';
import type { InstanceRow } from './instances.js';

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

export function metadataOptionsOf(row: Pick<InstanceRow, 'metadata_options' | 'state' | 'boots'>): InstanceMetadataOptionsResponse {
  const m = parseShared<InstanceMetadataOptionsResponse>(row.metadata_options, {});
  // Applied once the instance has booted with them; a first launch shows them pending, as EC2 does.
  const state = row.state === 'pending' && row.boots === 0 ? 'pending' : 'applied';
  return { ...m, State: state };
}

/** instances.state_reason: why the instance is in its state, in EC2's words. */
export const stateReasonColumn = jsonColumn<StateReason | null>({ value: null });

/** instances.runtime: the host-side facts of the instance (the driver that runs it). */
export const runtimeColumn = jsonColumn<{ driver?: string }>({ value: {} });

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
