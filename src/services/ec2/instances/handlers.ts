// RunInstances, DescribeInstances, DescribeInstanceStatus, Start/Stop/Reboot/TerminateInstances,
// Describe/ModifyInstanceAttribute, GetConsoleOutput, ModifyInstanceMetadataOptions.
// Handlers only write desired state and queue jobs; src/controllers/instances.ts does the work.
import type {
  DescribeInstanceAttributeRequest,
  DescribeInstanceStatusRequest,
  DescribeInstanceStatusResult,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  GetConsoleOutputRequest,
  GetConsoleOutputResult,
  InstanceAttribute,
  InstanceMetadataOptionsResponse,
  InstanceStateChange,
  InstanceStatus,
  ModifyInstanceAttributeRequest,
  ModifyInstanceMetadataOptionsRequest,
  ModifyInstanceMetadataOptionsResult,
  RebootInstancesRequest,
  StartInstancesRequest,
  StartInstancesResult,
  StopInstancesRequest,
  StopInstancesResult,
  TerminateInstancesRequest,
  TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { zoneId } from '../../../config.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { queueVpcSync } from '../common/network-sync.js';
import { byKey, paginate } from '../common/pagination.js';
import { assignEphemeralPublicIps } from '../common/public-ips.js';
import { findInstanceType, runtimeVcpus } from '../instance-types/catalog.js';
import { admitStart, checkGroupsPerInstance } from '../quotas/check.js';
import { resolveSecurityGroups } from '../security-groups/store.js';
import { tagsOf } from '../tags/store.js';
import { instanceFilters, instanceStatusFilters } from './filters.js';
import { checkSummaries, ebsSummary } from './status.js';
import type { Row, RowUpdate } from '../../../store/schema.js';
import { decodeUserData, metadataOptions, runInstances } from './run.js';
import { operationNotPermitted, stateOf, stateReasons, transition, userInitiated, type Action } from './states.js';
import {
  checkInstanceIds,
  getInstanceRows,
  instancesNotFound,
  launchOptionsOf,
  loadInstanceKeys,
  loadInstanceRows,
  loadInstanceViews,
  parse,
  sortKey,
  toReservations,
  viewsOf,
  type InstanceRow,
  type InstanceView,
  instancesOf,
  instanceStatusChecks,
  updateInstance,
  updateInstanceInState,
} from './store.js';
import { hasSeveralInterfaces, primaryInterfaceOf, updatePrimaryInterface } from '../network-interfaces/store.js';
import { attachedVolumeChecks, attachmentsOfInstance, setDeleteOnTermination } from '../volumes/store.js';

function idsWithMaxResults(ids: string[] | undefined, maxResults: number | undefined): void {
  if (ids?.length && maxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
  }
}

const tagsOfView = (v: InstanceView) => v.instance.Tags;

async function describeInstances(ctx: Ctx, input: DescribeInstancesRequest): Promise<DescribeInstancesResult> {
  // IncludeManagedResources changes nothing here: no service manages resources in cumulo (Operator.Managed is always false).
  const ids = input.InstanceIds?.length ? [...new Set(input.InstanceIds)] : undefined;
  idsWithMaxResults(ids, input.MaxResults);
  if (ids) checkInstanceIds(ids);
  validateFilters(input.Filters, instanceFilters, { tags: tagsOfView });
  const found = (have: { id: string }[]) => {
    if (!ids) return;
    const seen = new Set(have.map((r) => r.id));
    const missing = ids.filter((id) => !seen.has(id));
    if (missing.length) throw instancesNotFound(missing);
  };
  const page = { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 };
  if (!input.Filters?.length && (input.MaxResults !== undefined || input.NextToken)) {
    // Nothing to filter on, a page asked for: page on the sort keys alone, then load and build
    // only the page.
    const keys = await loadInstanceKeys(ctx.db, ctx.accountId, ctx.region, ids);
    found(keys);
    const keyed = keys.map((k) => ({ key: sortKey(k), id: k.id })).sort(byKey((x) => x.key));
    const p = paginate(keyed, (x) => x.key, page);
    const order = new Map(p.items.map((x, i) => [x.id, i]));
    // A big page reads the rows in one scan rather than in many IN lists.
    const rows = (
      p.items.length > 2000
        ? await loadInstanceRows(ctx.db, ctx.accountId, ctx.region, ids ? { ids } : {})
        : await loadInstanceRows(ctx.db, ctx.accountId, ctx.region, { ids: p.items.map((x) => x.id) })
    )
      .filter((r) => order.has(r.id))
      .sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    const views = await viewsOf(ctx.db, ctx.accountId, ctx.region, rows);
    return { Reservations: toReservations(views), NextToken: p.nextToken };
  }
  const rows = await loadInstanceRows(ctx.db, ctx.accountId, ctx.region, ids ? { ids } : {});
  found(rows);
  let views = await viewsOf(ctx.db, ctx.accountId, ctx.region, rows);
  if (input.Filters?.some((f) => f.Name?.startsWith('network-interface.tag-'))) await addInterfaceTags(ctx, views);
  views = applyFilters(views, input.Filters, instanceFilters, { tags: tagsOfView });
  const keyed = views.map((v) => ({ key: sortKey(v.row), v })).sort(byKey((x) => x.key));
  const p = paginate(keyed, (x) => x.key, page);
  return { Reservations: toReservations(p.items.map((x) => x.v)), NextToken: p.nextToken };
}

async function addInterfaceTags(ctx: Ctx, views: InstanceView[]): Promise<void> {
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'network-interface');
  for (const v of views) v.interfaceTags = (v.instance.NetworkInterfaces ?? []).flatMap((n) => tags.get(n.NetworkInterfaceId!) ?? []);
}

function statusOf(row: InstanceRow, check: Row<'instance_status_checks'> | undefined, volumes: { volumeId: string; check?: Row<'volume_status_checks'> }[]): InstanceStatus {
  const { system, instance } = checkSummaries(row, check);
  return {
    AvailabilityZone: row.availability_zone,
    AvailabilityZoneId: zoneId(row.availability_zone),
    InstanceId: row.id,
    InstanceState: stateOf(row.state),
    InstanceStatus: instance,
    SystemStatus: system,
    AttachedEbsStatus: ebsSummary(row.state === 'running', volumes),
    Operator: { Managed: false },
  };
}

/** What the hosts last observed of these instances and their attached volumes (never asked of the host here). */
async function checksOf(ctx: Ctx, rows: InstanceRow[]) {
  const ids = rows.filter((r) => r.state === 'running').map((r) => r.id);
  const checks = await instanceStatusChecks(ctx.db, ids);
  const volumes = new Map<string, { volumeId: string; check?: Row<'volume_status_checks'> }[]>();
  for (let k = 0; k < ids.length; k += 500) {
    const part = ids.slice(k, k + 500);
    const attached = await attachedVolumeChecks(ctx.db, part);
    for (const a of attached) {
      const list = volumes.get(a.instance_id) ?? [];
      const check = a.status && a.checked_at ? { volume_id: a.volume_id, status: a.status, failed_since: a.failed_since, checked_at: a.checked_at } : undefined;
      list.push({ volumeId: a.volume_id, check });
      volumes.set(a.instance_id, list);
    }
  }
  return { checks, volumes };
}

async function describeInstanceStatus(ctx: Ctx, input: DescribeInstanceStatusRequest): Promise<DescribeInstanceStatusResult> {
  // IncludeManagedResources changes nothing here: no service manages resources in cumulo (Operator.Managed is always false).
  const ids = input.InstanceIds?.length ? [...new Set(input.InstanceIds)] : undefined;
  idsWithMaxResults(ids, input.MaxResults);
  if (ids) checkInstanceIds(ids);
  validateFilters(input.Filters, instanceStatusFilters);
  let rows = await instancesOf(ctx.db, ctx.accountId, ctx.region, ids);
  if (ids) {
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) throw instancesNotFound(missing);
  }
  // Without IncludeAllInstances, only running instances have a status to report.
  if (!input.IncludeAllInstances) rows = rows.filter((r) => r.state === 'running');
  const seen = await checksOf(ctx, rows);
  const statuses = applyFilters(
    rows.map((r) => statusOf(r, seen.checks.get(r.id), seen.volumes.get(r.id) ?? [])),
    input.Filters,
    instanceStatusFilters,
  ).sort(byKey((s) => s.InstanceId!));
  const page = paginate(statuses, (s) => s.InstanceId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { InstanceStatuses: page.items, NextToken: page.nextToken };
}

/**
 * Start, stop, reboot and terminate share one shape: check every instance first (all or nothing),
 * then write each one's new state and queue its job.
 */
/** force: StopInstances/TerminateInstances Force; skipOsShutdown: no graceful OS shutdown (the instance is killed at once). */
interface ChangeOptions {
  force?: boolean;
  skipOsShutdown?: boolean;
}

async function changeStates(ctx: Ctx, ids: string[] | undefined, action: Action, opts: ChangeOptions = {}): Promise<InstanceStateChange[]> {
  const rows = await getInstanceRows(ctx, ids);
  const plans = rows.map((row) => {
    // A stop that skips the OS shutdown kills a stopping instance now, as a forced one does.
    const force = opts.force || (action === 'stop' && opts.skipOsShutdown);
    const t = transition({ id: row.id, state: row.state as never, hasRun: row.boots > 0 }, action, { force });
    if (t.job && action === 'terminate' && row.disable_api_termination) {
      throw operationNotPermitted(`The instance '${row.id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`);
    }
    if (t.job && action === 'stop' && row.disable_api_stop) {
      throw operationNotPermitted(`The instance '${row.id}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.`);
    }
    return { row, t };
  });
  // Instances that start take vCPUs of the account's quota and room on the host again: all or none.
  if (action === 'start') {
    const starting = plans.filter((p) => p.t.job === 'instance.start').map(({ row }) => row);
    await admitStart(
      ctx,
      starting.map((row) => ({ instanceType: row.instance_type, vcpus: runtimeVcpus(row.instance_type, launchOptionsOf(row).CpuOptions), zone: row.availability_zone })),
    );
  }
  const now = ctx.now.toISOString();
  const changes: InstanceStateChange[] = [];
  for (const { row, t } of plans) {
    if (t.desired) {
      const set: RowUpdate<'instances'> = { state: t.next, desired_state: t.desired, updated_at: now };
      if (action === 'start') Object.assign(set, { state_transition_reason: '', state_reason: JSON.stringify(stateReasons.pending) });
      if (action === 'stop' || action === 'terminate') {
        Object.assign(set, { state_transition_reason: userInitiated(ctx.now), state_reason: JSON.stringify(stateReasons.userShutdown) });
      }
      // Guarded by the state read above: a controller step that moved the instance meanwhile wins.
      if (!(await updateInstanceInState(ctx.db, row.id, row.state, set)))
        throw new ApiError('IncorrectInstanceState', `The instance '${row.id}' changed state during the request; try again.`);
    }
    // A starting instance gets new ephemeral public IPs (its old ones went back at the stop).
    if (action === 'start' && t.job) await assignEphemeralPublicIps(ctx.db, ctx.config, row.id);
    if (t.job === 'instance.stop') await ctx.enqueue(t.job, row.id, opts.force || opts.skipOsShutdown ? { force: true } : {});
    // Force on one shutting down: its graceful attempt was made; this one kills it at once.
    else if (t.job === 'instance.terminate') await ctx.enqueue(t.job, row.id, opts.skipOsShutdown || row.state === 'shutting-down' ? { skipOsShutdown: true } : {});
    else if (t.job) await ctx.enqueue(t.job, row.id);
    changes.push({ InstanceId: row.id, PreviousState: stateOf(row.state), CurrentState: stateOf(t.next) });
  }
  return changes;
}

async function startInstances(ctx: Ctx, input: StartInstancesRequest): Promise<StartInstancesResult> {
  return { StartingInstances: await changeStates(ctx, input.InstanceIds, 'start') };
}

async function stopInstances(ctx: Ctx, input: StopInstancesRequest): Promise<StopInstancesResult> {
  if (input.Hibernate) {
    const rows = await getInstanceRows(ctx, input.InstanceIds);
    throw new ApiError('UnsupportedHibernationConfiguration', `The instance ${rows[0]!.id} does not have hibernation configured. Please enable hibernation on launch.`);
  }
  return { StoppingInstances: await changeStates(ctx, input.InstanceIds, 'stop', { force: input.Force, skipOsShutdown: input.SkipOsShutdown }) };
}

async function rebootInstances(ctx: Ctx, input: RebootInstancesRequest): Promise<Record<string, never>> {
  await changeStates(ctx, input.InstanceIds, 'reboot');
  return {};
}

async function terminateInstances(ctx: Ctx, input: TerminateInstancesRequest): Promise<TerminateInstancesResult> {
  return { TerminatingInstances: await changeStates(ctx, input.InstanceIds, 'terminate', { force: input.Force, skipOsShutdown: input.SkipOsShutdown }) };
}

// ---------------------------------------------------------------------------------------------
// Attributes

const attributes = [
  'instanceType',
  'kernel',
  'ramdisk',
  'userData',
  'disableApiTermination',
  'instanceInitiatedShutdownBehavior',
  'rootDeviceName',
  'blockDeviceMapping',
  'productCodes',
  'sourceDestCheck',
  'groupSet',
  'ebsOptimized',
  'sriovNetSupport',
  'enaSupport',
  'enclaveOptions',
  'disableApiStop',
] as const;
type AttributeName = (typeof attributes)[number];

const unknownAttribute = (a: string) => Errors.invalidParameterValue(`Value (${a}) for parameter attribute is invalid. Unknown attribute.`);

async function oneInstance(ctx: Ctx, id: string | undefined): Promise<InstanceRow> {
  if (!id) throw Errors.missingParameter('InstanceId');
  return (await getInstanceRows(ctx, [id]))[0]!;
}

async function primaryInterface(ctx: Ctx, instanceId: string) {
  return primaryInterfaceOf(ctx.db, instanceId);
}

/** The instance attributes that are really its interface's (groups, source/dest check) need a single interface. */
async function singleInterface(ctx: Ctx, instanceId: string): Promise<void> {
  if (await hasSeveralInterfaces(ctx.db, instanceId)) {
    throw new ApiError('InvalidInstanceID', `There are multiple interfaces attached to instance '${instanceId}'. Please specify an interface ID for the operation instead.`);
  }
}

/** The instance's VPC data plane has changed (groups, source/dest check, metadata hop limit). */
function syncVpcOf(ctx: Ctx, row: InstanceRow): Promise<void> {
  return queueVpcSync(ctx, { vpcId: row.vpc_id, accountId: row.account_id, region: row.region });
}

async function describeInstanceAttribute(ctx: Ctx, input: DescribeInstanceAttributeRequest): Promise<InstanceAttribute> {
  const attr = input.Attribute as string | undefined;
  if (!attr) throw Errors.missingParameter('Attribute');
  if (!(attributes as readonly string[]).includes(attr)) throw unknownAttribute(attr);
  const row = await oneInstance(ctx, input.InstanceId);
  const out: InstanceAttribute = { InstanceId: row.id };
  const bool = (v: number) => ({ Value: v === 1 });
  switch (attr as AttributeName) {
    case 'instanceType':
      out.InstanceType = { Value: row.instance_type };
      break;
    case 'kernel':
      out.KernelId = {};
      break;
    case 'ramdisk':
      out.RamdiskId = {};
      break;
    case 'userData':
      out.UserData = row.user_data ? { Value: row.user_data } : {};
      break;
    case 'disableApiTermination':
      out.DisableApiTermination = bool(row.disable_api_termination);
      break;
    case 'disableApiStop':
      out.DisableApiStop = bool(row.disable_api_stop);
      break;
    case 'instanceInitiatedShutdownBehavior':
      out.InstanceInitiatedShutdownBehavior = { Value: row.shutdown_behavior };
      break;
    case 'rootDeviceName':
      out.RootDeviceName = { Value: row.root_device_name };
      break;
    case 'blockDeviceMapping': {
      const [view] = await loadInstanceViews(ctx.db, ctx.accountId, ctx.region, { ids: [row.id] });
      out.BlockDeviceMappings = (view?.instance.BlockDeviceMappings ?? []).map((m) => ({
        DeviceName: m.DeviceName,
        Ebs: { AttachTime: m.Ebs?.AttachTime, DeleteOnTermination: m.Ebs?.DeleteOnTermination, Status: m.Ebs?.Status, VolumeId: m.Ebs?.VolumeId },
      }));
      break;
    }
    case 'productCodes':
      out.ProductCodes = [];
      break;
    case 'sourceDestCheck': {
      const eni = await primaryInterface(ctx, row.id);
      out.SourceDestCheck = { Value: eni ? eni.source_dest_check === 1 : true };
      break;
    }
    case 'groupSet':
      out.Groups = row.state === 'terminated' ? [] : parse(row.security_groups, []);
      break;
    case 'ebsOptimized':
      out.EbsOptimized = bool(row.ebs_optimized);
      break;
    case 'sriovNetSupport': {
      const v = launchOptionsOf(row).SriovNetSupport;
      out.SriovNetSupport = v ? { Value: v } : {};
      break;
    }
    case 'enaSupport':
      out.EnaSupport = bool(row.ena_support);
      break;
    case 'enclaveOptions':
      out.EnclaveOptions = { Enabled: Boolean(launchOptionsOf(row).EnclaveOptions?.Enabled) };
      break;
  }
  return out;
}

type Change =
  | { attr: 'instanceType'; value: string }
  | { attr: 'userData'; value: Buffer }
  | { attr: 'disableApiTermination' | 'disableApiStop' | 'sourceDestCheck' | 'ebsOptimized' | 'enaSupport' | 'enclaveOptions'; value: boolean }
  | { attr: 'instanceInitiatedShutdownBehavior' | 'sriovNetSupport'; value: string }
  | { attr: 'groupSet'; value: string[] }
  | { attr: 'blockDeviceMapping'; value: NonNullable<ModifyInstanceAttributeRequest['BlockDeviceMappings']> };

function parseBool(attr: string, v: string | undefined): boolean {
  if (v === 'true' || v === 'false') return v === 'true';
  throw Errors.invalidParameterValue(`Value (${v ?? ''}) for parameter ${attr} is invalid. Expected 'true' or 'false'.`);
}

/** The one attribute a ModifyInstanceAttribute request changes, from either of its two forms. */
function changeOf(input: ModifyInstanceAttributeRequest): Change {
  const found: Change[] = [];
  const names: string[] = [];
  const add = (c: Change) => {
    found.push(c);
    names.push(c.attr);
  };
  if (input.InstanceType?.Value !== undefined) add({ attr: 'instanceType', value: input.InstanceType.Value });
  if (input.UserData?.Value !== undefined) add({ attr: 'userData', value: Buffer.from(input.UserData.Value) });
  if (input.DisableApiTermination?.Value !== undefined) add({ attr: 'disableApiTermination', value: input.DisableApiTermination.Value });
  if (input.DisableApiStop?.Value !== undefined) add({ attr: 'disableApiStop', value: input.DisableApiStop.Value });
  if (input.SourceDestCheck?.Value !== undefined) add({ attr: 'sourceDestCheck', value: input.SourceDestCheck.Value });
  if (input.EbsOptimized?.Value !== undefined) add({ attr: 'ebsOptimized', value: input.EbsOptimized.Value });
  if (input.EnaSupport?.Value !== undefined) add({ attr: 'enaSupport', value: input.EnaSupport.Value });
  if (input.EnclaveOptions?.Enabled !== undefined) add({ attr: 'enclaveOptions', value: input.EnclaveOptions.Enabled });
  if (input.InstanceInitiatedShutdownBehavior?.Value !== undefined) add({ attr: 'instanceInitiatedShutdownBehavior', value: input.InstanceInitiatedShutdownBehavior.Value });
  if (input.SriovNetSupport?.Value !== undefined) add({ attr: 'sriovNetSupport', value: input.SriovNetSupport.Value });
  if (input.Groups?.length) add({ attr: 'groupSet', value: input.Groups });
  if (input.BlockDeviceMappings?.length) add({ attr: 'blockDeviceMapping', value: input.BlockDeviceMappings });
  if (input.Kernel?.Value !== undefined || input.Ramdisk?.Value !== undefined) {
    throw new ApiError('UnsupportedOperation', 'The kernel and ramdisk of an HVM instance cannot be changed.');
  }
  if (input.Attribute !== undefined) {
    const attr = input.Attribute as string;
    const v = input.Value;
    if (!(attributes as readonly string[]).includes(attr)) throw unknownAttribute(attr);
    switch (attr as AttributeName) {
      case 'instanceType':
      case 'instanceInitiatedShutdownBehavior':
      case 'sriovNetSupport':
        if (v === undefined) throw Errors.missingParameter('Value');
        add({ attr: attr as 'instanceType', value: v });
        break;
      case 'userData':
        add({ attr: 'userData', value: decodeUserData(v ?? '') });
        break;
      case 'disableApiTermination':
      case 'disableApiStop':
      case 'sourceDestCheck':
      case 'ebsOptimized':
      case 'enaSupport':
        add({ attr: attr as 'ebsOptimized', value: parseBool(attr, v) });
        break;
      case 'groupSet':
        if (!v) throw Errors.missingParameter('Value');
        add({ attr: 'groupSet', value: [v] });
        break;
      default:
        throw Errors.invalidParameterValue(`Value (${attr}) for parameter attribute is invalid. The attribute cannot be modified.`);
    }
  }
  if (found.length === 0) throw Errors.missingParameter('Attribute');
  if (found.length > 1) throw Errors.invalidParameterCombination(`Fields for multiple attribute types specified: ${names.join(', ')}`);
  return found[0]!;
}

const notStopped = (id: string) => Errors.incorrectInstanceState(`The instance '${id}' is not in the 'stopped' state.`);

async function modifyInstanceAttribute(ctx: Ctx, input: ModifyInstanceAttributeRequest): Promise<Record<string, never>> {
  const row = await oneInstance(ctx, input.InstanceId);
  const change = changeOf(input);
  if (row.state === 'terminated' || row.state === 'shutting-down') {
    throw Errors.incorrectInstanceState(`The instance '${row.id}' is not in a state from which it can be modified.`);
  }
  const now = ctx.now.toISOString();
  const update = (set: RowUpdate<'instances'>) => updateInstance(ctx.db, row.id, { ...set, updated_at: now });
  switch (change.attr) {
    case 'instanceType': {
      if (row.state !== 'stopped') throw notStopped(row.id);
      const type = findInstanceType(change.value);
      if (!type) throw Errors.invalidParameterValue(`Invalid value '${change.value}' for InstanceType.`);
      if (!((type.ProcessorInfo?.SupportedArchitectures ?? []) as string[]).includes(row.architecture)) {
        throw Errors.invalidParameterValue(`The instance type '${change.value}' does not support the architecture '${row.architecture}' of instance '${row.id}'.`);
      }
      const v = type.VCpuInfo ?? {};
      const opts = { ...launchOptionsOf(row), CpuOptions: { CoreCount: v.DefaultCores ?? v.DefaultVCpus ?? 1, ThreadsPerCore: v.DefaultThreadsPerCore ?? 1 } };
      const ebs = type.EbsInfo?.EbsOptimizedSupport;
      await update({ instance_type: change.value, launch_options: JSON.stringify(opts), ebs_optimized: ebs === 'unsupported' ? 0 : row.ebs_optimized });
      break;
    }
    case 'userData':
      if (row.state !== 'stopped') throw notStopped(row.id);
      if (change.value.length > 16384) throw Errors.invalidParameterValue('User data is limited to 16384 bytes');
      await update({ user_data: change.value.length ? change.value.toString('base64') : null });
      break;
    case 'disableApiTermination':
      await update({ disable_api_termination: change.value ? 1 : 0 });
      break;
    case 'disableApiStop':
      await update({ disable_api_stop: change.value ? 1 : 0 });
      break;
    case 'instanceInitiatedShutdownBehavior':
      if (change.value !== 'stop' && change.value !== 'terminate') {
        throw Errors.invalidParameterValue(`Value (${change.value}) for parameter instanceInitiatedShutdownBehavior is invalid. Expected: 'stop', 'terminate'.`);
      }
      await update({ shutdown_behavior: change.value });
      break;
    case 'ebsOptimized': {
      if (row.state !== 'stopped') throw notStopped(row.id);
      const support = findInstanceType(row.instance_type)?.EbsInfo?.EbsOptimizedSupport;
      if (change.value && support === 'unsupported')
        throw Errors.invalidParameterCombination(`EBS-optimized instances are not supported for the instance type ${row.instance_type}.`);
      await update({ ebs_optimized: change.value ? 1 : 0 });
      break;
    }
    case 'enaSupport':
      if (row.state !== 'stopped') throw notStopped(row.id);
      await update({ ena_support: change.value ? 1 : 0 });
      break;
    case 'sriovNetSupport':
      if (row.state !== 'stopped') throw notStopped(row.id);
      if (change.value !== 'simple') throw Errors.invalidParameterValue(`Value (${change.value}) for parameter sriovNetSupport is invalid. Expected: 'simple'.`);
      await update({ launch_options: JSON.stringify({ ...launchOptionsOf(row), SriovNetSupport: 'simple' }) });
      break;
    case 'enclaveOptions':
      // Enclaves are always off here (RunInstances refuses them): off stays off.
      if (change.value) throw new ApiError('UnsupportedOperation', 'Nitro Enclaves are not supported by cumulo (EnclaveOptions.Enabled).');
      break;
    case 'sourceDestCheck':
      await singleInterface(ctx, row.id);
      await updatePrimaryInterface(ctx.db, row.id, { source_dest_check: change.value ? 1 : 0 });
      await syncVpcOf(ctx, row);
      break;
    case 'groupSet': {
      await singleInterface(ctx, row.id);
      const groups = await resolveSecurityGroups(ctx, { ids: change.value, vpcId: row.vpc_id, subnetId: row.subnet_id });
      await checkGroupsPerInstance(ctx, groups.length);
      const json = JSON.stringify(groups);
      await update({ security_groups: json });
      // The groups are the primary interface's: the data plane reads them from there.
      await updatePrimaryInterface(ctx.db, row.id, { security_groups: json });
      await syncVpcOf(ctx, row);
      break;
    }
    case 'blockDeviceMapping': {
      const attached = await attachmentsOfInstance(ctx.db, row.id);
      for (const m of change.value) {
        const a = attached.find((x) => x.device === m.DeviceName);
        if (!a) throw new ApiError('InvalidInstanceAttributeValue', `No device is currently mapped at ${m.DeviceName ?? ''}`);
        if (m.Ebs?.VolumeId && m.Ebs.VolumeId !== a.volume_id) {
          throw new ApiError('InvalidInstanceAttributeValue', `The volume ${m.Ebs.VolumeId} is not attached at ${m.DeviceName}`);
        }
        if (m.Ebs?.DeleteOnTermination !== undefined) {
          await setDeleteOnTermination(ctx.db, a.volume_id, row.id, m.Ebs.DeleteOnTermination);
        }
      }
      break;
    }
  }
  return {};
}

async function getConsoleOutput(ctx: Ctx, input: GetConsoleOutputRequest): Promise<GetConsoleOutputResult> {
  const row = await oneInstance(ctx, input.InstanceId);
  // The controllers capture the console as the instance boots, stops and runs (EC2 also posts it
  // shortly after state changes), so this read needs no call to the host.
  return {
    InstanceId: row.id,
    Output: row.console_output ?? undefined,
    Timestamp: new Date(row.console_at ?? row.updated_at),
  };
}

async function modifyInstanceMetadataOptions(ctx: Ctx, input: ModifyInstanceMetadataOptionsRequest): Promise<ModifyInstanceMetadataOptionsResult> {
  const row = await oneInstance(ctx, input.InstanceId);
  if (row.state === 'terminated' || row.state === 'shutting-down') {
    throw Errors.incorrectInstanceState(`The instance '${row.id}' is not in a state from which its metadata options can be modified.`);
  }
  const current = parse<InstanceMetadataOptionsResponse>(row.metadata_options, {});
  // -1 asks for no change of the hop limit.
  const hop = input.HttpPutResponseHopLimit === -1 ? undefined : input.HttpPutResponseHopLimit;
  const next = metadataOptions({ ...input, HttpPutResponseHopLimit: hop }, current);
  await updateInstance(ctx.db, row.id, { metadata_options: JSON.stringify(next), updated_at: ctx.now.toISOString() });
  // The hop limit is enforced in the VPC's data plane; HttpTokens is read by the metadata service per request.
  if (next.HttpPutResponseHopLimit !== current.HttpPutResponseHopLimit) await syncVpcOf(ctx, row);
  // EC2 answers "pending" and applies the change shortly after; DescribeInstances shows "applied".
  return { InstanceId: row.id, InstanceMetadataOptions: { ...next, State: 'pending' } };
}

export const handlers = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  DescribeInstanceStatus: describeInstanceStatus,
  StartInstances: startInstances,
  StopInstances: stopInstances,
  RebootInstances: rebootInstances,
  TerminateInstances: terminateInstances,
  DescribeInstanceAttribute: describeInstanceAttribute,
  ModifyInstanceAttribute: modifyInstanceAttribute,
  GetConsoleOutput: getConsoleOutput,
  ModifyInstanceMetadataOptions: modifyInstanceMetadataOptions,
} satisfies Ec2Handlers;
