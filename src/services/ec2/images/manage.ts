// Making and unmaking AMIs: CreateImage (snapshots of an instance's EBS volumes), RegisterImage
// (from completed snapshots), CopyImage (into the caller's region, its snapshots copied),
// and DeregisterImage; attributes.ts has the owner's attributes.
// Handlers write rows and queue jobs; the image.create / image.copy controllers wait for the
// snapshots (src/controllers/images.ts), the snapshot controllers do the host's work.
import type {
  BlockDeviceMapping,
  CopyImageRequest,
  CopyImageResult,
  CreateImageRequest,
  CreateImageResult,
  DeregisterImageRequest,
  DeregisterImageResult,
  EbsBlockDevice,
  RegisterImageRequest,
  RegisterImageResult,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { Row } from '../../../store/schema.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { priorAnswer, rememberAnswer } from '../common/client-tokens.js';
import { checkEbsMappings, checkSnapshotLocation, memberUnsupported, timeBasedCopyUnsupported } from '../common/unsupported.js';
import { getInstanceRows } from '../instances/store.js';
import { COPY_VOLUME_ID, captureBeforeCommit, checkSnapshotId, findVisibleSnapshot, pendingSnapshot } from '../snapshots/store.js';
import { deleteAllTags, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { deleteImageSnapshots } from '../snapshots/remove.js';
import { builtinSnapshotId, builtinSourceOf } from './builtin.js';
import { deregisterImageRecords, imageNotFound, imageRow, insertImage, isImageId, liveImageNamed, malformedImageId, oldestImageMentioning, visibleImages } from './store.js';
import { insertSnapshots, snapshotInRegion, snapshotOrigin } from '../snapshots/store.js';
import { attachedVolumesOf, launchImageSourceOfVolume, volumeSourceSnapshot } from '../volumes/store.js';

/** What an image made here carries in images.source: the built-in's fields (sshUser…) and its root snapshot. */
export interface ImageSourceJson {
  builtin?: string;
  version?: string;
  sshUser?: string;
  rootSnapshotId?: string;
}

// EC2: 3–128 characters: letters, digits, ( ) [ ] space . / - ' @ _
const AMI_NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;
const DEVICE = /^\/dev\/(sd[a-z]\d{0,2}|xvd[a-z]{1,2}\d{0,2}|nvme\d{1,2}n1)$/;

function parseJson<T>(text: string | null, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function sourceOf(row: Pick<Row<'images'>, 'source'>): ImageSourceJson {
  const s = parseJson<ImageSourceJson | null>(row.source, null);
  return s && typeof s === 'object' ? s : {};
}

export function mappingsOf(row: Pick<Row<'images'>, 'block_device_mappings'>): BlockDeviceMapping[] {
  const m = parseJson<BlockDeviceMapping[]>(row.block_device_mappings, []);
  return Array.isArray(m) ? m : [];
}

/** Validate an AMI name; then refuse it when the account already has a live image of that name in the region. */
async function checkName(ctx: Ctx, name: string | undefined): Promise<string> {
  if (name === undefined || name === '') throw Errors.missingParameter('Name');
  if (!AMI_NAME.test(name)) {
    throw new ApiError(
      'InvalidAMIName.Malformed',
      `AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', ''', '@' and '_'`,
    );
  }
  const taken = await liveImageNamed(ctx.db, ctx.accountId, ctx.region, name);
  if (taken) throw new ApiError('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${taken}`);
  return name;
}

export function checkDescription(description: string | undefined): string | null {
  if (description === undefined) return null;
  if (description.length > 255) {
    throw Errors.invalidParameterValue(`Value (${description.slice(0, 32)}…) for parameter description is invalid. Length exceeds the maximum of 255.`);
  }
  return description;
}

function badMapping(message: string): ApiError {
  return new ApiError('InvalidBlockDeviceMapping', message);
}

function checkDevice(name: string | undefined): string {
  if (!name) throw Errors.missingParameter('BlockDeviceMapping.DeviceName');
  if (!DEVICE.test(name)) throw badMapping(`Invalid device name ${name}`);
  return name;
}

/** Device names /dev/sdf and /dev/xvdf name the same device. */
const deviceKey = (name: string) => name.replace(/^\/dev\/(sd|xvd)/, '/dev/x');

const VOLUME_TYPES = new Set(['standard', 'io1', 'io2', 'gp2', 'gp3', 'sc1', 'st1']);

function checkEbsOverride(device: string, e: EbsBlockDevice): void {
  if (e.VolumeType !== undefined && !VOLUME_TYPES.has(e.VolumeType)) {
    throw Errors.invalidParameterValue(`Value (${e.VolumeType}) for parameter volumeType is invalid.`);
  }
  if (e.VolumeSize !== undefined && (!Number.isInteger(e.VolumeSize) || e.VolumeSize < 1 || e.VolumeSize > 65536)) {
    throw badMapping(`Invalid volume size ${e.VolumeSize} for device ${device}`);
  }
}

/** The one ImageId of a request: present and well formed. */
export function checkImageId(id: string | undefined, param = 'ImageId'): string {
  if (id === undefined || id === '') throw Errors.missingParameter(param);
  if (!isImageId(id)) throw malformedImageId(id);
  return id;
}

/** The caller's own live image in its region; NotFound for one it cannot see, AuthFailure for one it can but does not own. */
export async function ownImage(ctx: Ctx, id: string): Promise<Row<'images'>> {
  const [row] = await visibleImages(ctx.db, ctx.accountId, ctx.region, [id]);
  if (!row || (row.state === 'disabled' && row.owner_id !== ctx.accountId)) throw imageNotFound([id]);
  if (row.owner_id !== ctx.accountId) throw new ApiError('AuthFailure', `Not authorized for image:${id}`, 400);
  return row;
}

function baseImageRow(ctx: Ctx, id: string, name: string): Omit<Row<'images'>, 'architecture' | 'root_device_name' | 'block_device_mappings' | 'source' | 'state'> {
  return {
    id,
    region: ctx.region,
    owner_id: ctx.accountId,
    owner_alias: null,
    name,
    description: null,
    platform_details: 'Linux/UNIX',
    root_device_type: 'ebs',
    virtualization_type: 'hvm',
    hypervisor: 'xen',
    ena_support: 1,
    boot_mode: null,
    is_public: 0,
    image_type: 'machine',
    creation_date: ctx.now.toISOString(),
    deprecation_time: null,
    image_location: `${ctx.accountId}/${name}`,
    usage_operation: 'RunInstances',
    platform: null,
    kernel_id: null,
    ramdisk_id: null,
    sriov_net_support: 'simple',
    tpm_support: null,
    imds_support: null,
    uefi_data: null,
    deregistration_protection: null,
    last_launched_time: null,
    state_reason: null,
    source_instance_id: null,
    source_image_id: null,
    source_image_region: null,
    product_codes: null,
  };
}

// ---------------------------------------------------------------------------------------------
// CreateImage

async function createImage(ctx: Ctx, input: CreateImageRequest): Promise<CreateImageResult> {
  if (!input.InstanceId) throw Errors.missingParameter('InstanceId');
  checkSnapshotLocation(input.SnapshotLocation, 'SnapshotLocation');
  const bootModeOverride = oneOf('bootModeOverride', input.BootModeOverride, ['legacy-bios', 'uefi']);
  checkEbsMappings(input.BlockDeviceMappings, 'CreateImage');
  const description = checkDescription(input.Description);
  const imageTags = tagsForType(input.TagSpecifications, ['image', 'snapshot'], 'image');
  const snapshotTags = tagsForType(input.TagSpecifications, ['image', 'snapshot'], 'snapshot');
  const [instance] = await getInstanceRows(ctx, [input.InstanceId]);
  const name = await checkName(ctx, input.Name);
  if (instance!.state !== 'running' && instance!.state !== 'stopped') {
    throw Errors.incorrectInstanceState(`The instance '${instance!.id}' is not in the 'running' or 'stopped' state.`);
  }
  const inst = instance!;
  const sourceImage = await imageRow(ctx.db, inst.image_id);

  // The instance's EBS volumes as they are now: each becomes a snapshot and a mapping of the image.
  const attached = await attachedVolumesOf(ctx.db, inst.id);

  // Overrides by device: NoDevice leaves a volume out, Ebs changes what a launch gets, a new device adds a mapping.
  const overrides = new Map<string, BlockDeviceMapping>();
  for (const m of input.BlockDeviceMappings ?? []) {
    const device = checkDevice(m.DeviceName);
    const key = deviceKey(device);
    if (overrides.has(key)) throw badMapping(`The device '${device}' is used in more than one block-device mapping`);
    const kinds = [m.Ebs !== undefined, m.VirtualName !== undefined, m.NoDevice !== undefined].filter(Boolean).length;
    if (kinds !== 1) throw badMapping(`Exactly one of Ebs, VirtualName or NoDevice must be given for device ${device}`);
    if (m.NoDevice !== undefined && key === deviceKey(inst.root_device_name)) throw badMapping(`The root device ${device} cannot be suppressed`);
    if (m.VirtualName !== undefined && !/^ephemeral\d{1,2}$/.test(m.VirtualName)) {
      throw Errors.invalidParameterValue(`Invalid value '${m.VirtualName}' for VirtualName. Expected ephemeral0 to ephemeral23.`);
    }
    if (m.Ebs) {
      checkEbsOverride(device, m.Ebs);
      if (m.Ebs.SnapshotId !== undefined) throw badMapping(`The snapshot of device ${device} comes from the instance's volume and cannot be given`);
    }
    overrides.set(key, m);
  }

  const imageId = newId('ami');
  const mappings: BlockDeviceMapping[] = [];
  const snapshots: Row<'snapshots'>[] = [];
  let rootSnapshotId: string | undefined;
  const byDevice = new Set<string>();
  for (const v of attached.sort((a, b) => a.device.localeCompare(b.device))) {
    const key = deviceKey(v.device);
    byDevice.add(key);
    const over = overrides.get(key);
    if (over?.NoDevice !== undefined) continue;
    if (over?.VirtualName !== undefined) throw badMapping(`The device ${v.device} is an EBS volume of the instance and cannot be an instance store volume`);
    const e = over?.Ebs ?? {};
    if (e.VolumeSize !== undefined && e.VolumeSize < v.size_gib) {
      throw badMapping(`Volume of size ${e.VolumeSize}GB is smaller than snapshot, expect size >= ${v.size_gib}GB`);
    }
    const snapshot = await pendingSnapshot(ctx, v, `Created by CreateImage(${inst.id}) for ${imageId}`);
    const snapshotId = snapshot.id;
    snapshots.push(snapshot);
    if (key === deviceKey(inst.root_device_name)) rootSnapshotId = snapshotId;
    const volumeType = e.VolumeType ?? v.volume_type;
    const ebs: EbsBlockDevice = {
      DeleteOnTermination: e.DeleteOnTermination ?? v.delete_on_termination === 1,
      SnapshotId: snapshotId,
      VolumeSize: e.VolumeSize ?? v.size_gib,
      VolumeType: volumeType as EbsBlockDevice['VolumeType'],
      Encrypted: v.encrypted === 1,
    };
    const iops = e.Iops ?? (volumeType === v.volume_type ? v.iops : undefined);
    if (iops !== null && iops !== undefined && ['io1', 'io2', 'gp3'].includes(volumeType)) ebs.Iops = iops;
    if (volumeType === 'gp3') ebs.Throughput = e.Throughput ?? v.throughput ?? 125;
    if (v.kms_key_id) ebs.KmsKeyId = v.kms_key_id;
    mappings.push({ DeviceName: v.device, Ebs: ebs });
  }
  // Devices the instance does not have: new empty volumes or instance-store volumes at launch.
  for (const [key, m] of overrides) {
    if (byDevice.has(key) || m.NoDevice !== undefined) continue;
    if (m.VirtualName !== undefined) mappings.push({ DeviceName: m.DeviceName, VirtualName: m.VirtualName });
    else {
      if (m.Ebs!.VolumeSize === undefined) throw badMapping(`The request must specify the volume size or a snapshot for device ${m.DeviceName}`);
      mappings.push({
        DeviceName: m.DeviceName,
        Ebs: {
          DeleteOnTermination: m.Ebs!.DeleteOnTermination ?? true,
          VolumeSize: m.Ebs!.VolumeSize,
          VolumeType: m.Ebs!.VolumeType ?? 'gp2',
          Encrypted: m.Ebs!.Encrypted ?? false,
        },
      });
    }
  }
  if (!rootSnapshotId) throw Errors.incorrectInstanceState(`The instance '${inst.id}' has no root volume to image.`);

  // The built-in's fields (sshUser) carry over: a launch of the new image logs in as the old one did.
  const { rootSnapshotId: _old, ...inherited } = sourceImage ? sourceOf(sourceImage) : {};
  const tpm = sourceImage?.tpm_support ?? null;
  if (bootModeOverride === 'legacy-bios' && tpm === 'v2.0') throw Errors.invalidParameterCombination('TpmSupport v2.0 requires BootMode uefi.');
  await insertImage(ctx.db, {
    ...baseImageRow(ctx, imageId, name),
    description,
    architecture: inst.architecture,
    root_device_name: inst.root_device_name,
    virtualization_type: inst.virtualization_type,
    hypervisor: inst.hypervisor,
    ena_support: inst.ena_support,
    boot_mode: bootModeOverride ?? sourceImage?.boot_mode ?? inst.boot_mode,
    platform_details: inst.platform_details,
    sriov_net_support: sourceImage?.sriov_net_support ?? 'simple',
    imds_support: sourceImage?.imds_support ?? null,
    tpm_support: tpm,
    state: 'pending',
    block_device_mappings: JSON.stringify(mappings),
    source: JSON.stringify({ ...inherited, rootSnapshotId, noReboot: input.NoReboot === true }),
    source_instance_id: inst.id,
  });
  await insertSnapshots(ctx.db, snapshots);
  for (const s of snapshots) await putTags(ctx, 'snapshot', s.id, snapshotTags);
  // One job for all the volumes, taken one right after the other (as CreateSnapshots does).
  await ctx.enqueue('snapshot.create-set', snapshots[0]!.id, { snapshotIds: snapshots.map((s) => s.id) });
  await putTags(ctx, 'image', imageId, imageTags);
  await ctx.enqueue('image.create', imageId, {});
  // The instance's volumes as they are at the request (its root frozen on the host for that instant).
  captureBeforeCommit(ctx, snapshots);
  // Without NoReboot, EC2 reboots a running instance for its image: the reboot follows the capture
  // (the job runs only once this request has committed).
  if (input.NoReboot !== true && inst.state === 'running') await ctx.enqueue('instance.reboot', inst.id, {});
  return { ImageId: imageId };
}

// ---------------------------------------------------------------------------------------------
// RegisterImage

const ARCHITECTURES = ['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'];
const BOOT_MODES = ['legacy-bios', 'uefi', 'uefi-preferred'];

function oneOf(param: string, value: string | undefined, allowed: string[]): string | undefined {
  if (value !== undefined && !allowed.includes(value)) {
    throw Errors.invalidParameterValue(`Value (${value}) for parameter ${param} is invalid. Valid values: ${allowed.join(', ')}`);
  }
  return value;
}

/**
 * Where a snapshot's bits first came from, for a launch's login user: the image it was made
 * from, or the image of the instance whose volume it snapshotted, following copies and volumes
 * made from snapshots.
 */
async function inheritedSource(ctx: Ctx, snapshotId: string): Promise<ImageSourceJson> {
  let id: string | null = snapshotId;
  for (let depth = 0; id && depth < 8; depth++) {
    const image = await oldestImageMentioning(ctx.db, id);
    if (image) {
      const { rootSnapshotId: _r, ...rest } = sourceOf(image);
      return rest;
    }
    const snap = await snapshotOrigin(ctx.db, id);
    if (!snap) break;
    if (snap.source_snapshot_id) {
      id = snap.source_snapshot_id;
      continue;
    }
    const launchSource = await launchImageSourceOfVolume(ctx.db, snap.volume_id);
    if (launchSource !== undefined) {
      const { rootSnapshotId: _r, ...rest } = sourceOf({ source: launchSource });
      return rest;
    }
    id = (await volumeSourceSnapshot(ctx.db, snap.volume_id)) ?? null;
  }
  return {};
}

async function registerImage(ctx: Ctx, input: RegisterImageRequest): Promise<RegisterImageResult> {
  if (input.ImageLocation !== undefined) {
    throw new ApiError(
      'UnsupportedOperation',
      'Instance store-backed AMIs from an S3 manifest (ImageLocation) are not supported: register an EBS-backed AMI with BlockDeviceMappings and a snapshot.',
    );
  }
  if (input.KernelId || input.RamdiskId) throw new ApiError('UnsupportedOperation', 'Kernel and RAM disk images (KernelId, RamdiskId) are not supported: register an hvm image.');
  if (input.BillingProducts?.length) throw new ApiError('InvalidParameter', 'BillingProducts can be set only by AWS Marketplace sellers.');
  checkEbsMappings(input.BlockDeviceMappings, 'RegisterImage');
  const description = checkDescription(input.Description);
  const architecture = oneOf('architecture', input.Architecture, ARCHITECTURES) ?? 'x86_64';
  const virtualization = oneOf('virtualizationType', input.VirtualizationType, ['hvm', 'paravirtual']) ?? 'hvm';
  if (virtualization !== 'hvm') throw Errors.invalidParameterValue('Paravirtual images are not supported: use VirtualizationType hvm.');
  const bootMode = oneOf('bootMode', input.BootMode, BOOT_MODES) ?? null;
  const imds = oneOf('imdsSupport', input.ImdsSupport, ['v2.0']) ?? null;
  const tpm = oneOf('tpmSupport', input.TpmSupport, ['v2.0']) ?? null;
  if (tpm && bootMode !== 'uefi') throw Errors.invalidParameterCombination('TpmSupport v2.0 requires BootMode uefi.');
  const sriov = oneOf('sriovNetSupport', input.SriovNetSupport, ['simple']) ?? 'simple';
  const imageTags = tagsForType(input.TagSpecifications, ['image'], 'image');
  if (!input.RootDeviceName) throw Errors.missingParameter('RootDeviceName');
  const root = checkDevice(input.RootDeviceName);
  if (!input.BlockDeviceMappings?.length) throw Errors.missingParameter('BlockDeviceMapping');
  const name = await checkName(ctx, input.Name);

  const seen = new Set<string>();
  const mappings: BlockDeviceMapping[] = [];
  let rootSnapshotId: string | undefined;
  for (const m of input.BlockDeviceMappings) {
    const device = checkDevice(m.DeviceName);
    const key = deviceKey(device);
    if (seen.has(key)) throw badMapping(`The device '${device}' is used in more than one block-device mapping`);
    seen.add(key);
    const kinds = [m.Ebs !== undefined, m.VirtualName !== undefined, m.NoDevice !== undefined].filter(Boolean).length;
    if (kinds !== 1) throw badMapping(`Exactly one of Ebs, VirtualName or NoDevice must be given for device ${device}`);
    if (m.NoDevice !== undefined) {
      if (key === deviceKey(root)) throw badMapping(`The root device ${device} cannot be suppressed`);
      mappings.push({ DeviceName: device, NoDevice: '' });
      continue;
    }
    if (m.VirtualName !== undefined) {
      if (!/^ephemeral\d{1,2}$/.test(m.VirtualName)) throw Errors.invalidParameterValue(`Invalid value '${m.VirtualName}' for VirtualName. Expected ephemeral0 to ephemeral23.`);
      if (key === deviceKey(root)) throw badMapping(`The root device ${device} must be an EBS volume`);
      mappings.push({ DeviceName: device, VirtualName: m.VirtualName });
      continue;
    }
    const e = m.Ebs!;
    checkEbsOverride(device, e);
    let size = e.VolumeSize;
    let encrypted = e.Encrypted ?? false;
    let kms = e.KmsKeyId;
    if (e.SnapshotId !== undefined) {
      const snap = await findVisibleSnapshot(ctx, ctx.region, checkSnapshotId(e.SnapshotId, 'BlockDeviceMapping.Ebs.SnapshotId'));
      if (snap.state !== 'completed') throw Errors.incorrectState(`Snapshot '${snap.id}' is in invalid state - ${snap.state}`);
      if (size !== undefined && size < snap.volume_size) {
        throw badMapping(`Volume of size ${size}GB is smaller than snapshot '${snap.id}', expect size >= ${snap.volume_size}GB`);
      }
      size ??= snap.volume_size;
      if (snap.encrypted && e.Encrypted === false) throw badMapping(`The volume of device ${device} comes from an encrypted snapshot and must be encrypted`);
      encrypted = snap.encrypted === 1 || encrypted;
      kms ??= snap.kms_key_id ?? undefined;
      if (key === deviceKey(root)) rootSnapshotId = snap.id;
    } else if (size === undefined) {
      throw badMapping(`The request must specify the volume size or a snapshot for device ${device}`);
    }
    const volumeType = e.VolumeType ?? 'gp2';
    const ebs: EbsBlockDevice = { DeleteOnTermination: e.DeleteOnTermination ?? true, VolumeSize: size, VolumeType: volumeType, Encrypted: encrypted };
    if (e.SnapshotId) ebs.SnapshotId = e.SnapshotId;
    if (e.Iops !== undefined) ebs.Iops = e.Iops;
    else if (volumeType === 'gp3') ebs.Iops = 3000;
    if (volumeType === 'gp3') ebs.Throughput = e.Throughput ?? 125;
    if (encrypted && kms) ebs.KmsKeyId = kms;
    mappings.push({ DeviceName: device, Ebs: ebs });
  }
  if (!rootSnapshotId) {
    throw badMapping(`The root device ${root} must be one of the block device mappings, with an EBS snapshot`);
  }

  const imageId = newId('ami');
  await insertImage(ctx.db, {
    ...baseImageRow(ctx, imageId, name),
    description,
    architecture,
    root_device_name: root,
    ena_support: input.EnaSupport === false ? 0 : 1,
    boot_mode: bootMode,
    imds_support: imds,
    tpm_support: tpm,
    uefi_data: input.UefiData ?? null,
    sriov_net_support: sriov,
    state: 'available',
    block_device_mappings: JSON.stringify(mappings),
    source: JSON.stringify({ ...(await inheritedSource(ctx, rootSnapshotId)), rootSnapshotId }),
  });
  await putTags(ctx, 'image', imageId, imageTags);
  return { ImageId: imageId };
}

// ---------------------------------------------------------------------------------------------
// CopyImage

async function copyImage(ctx: Ctx, input: CopyImageRequest): Promise<CopyImageResult> {
  if (!input.SourceRegion) throw Errors.missingParameter('SourceRegion');
  const sourceImageId = checkImageId(input.SourceImageId, 'SourceImageId');
  if (input.DestinationOutpostArn) throw new ApiError('UnsupportedOperation', 'Outposts are not supported.');
  if (input.DestinationAvailabilityZone !== undefined || input.DestinationAvailabilityZoneId !== undefined) {
    throw memberUnsupported(
      input.DestinationAvailabilityZone !== undefined ? 'DestinationAvailabilityZone' : 'DestinationAvailabilityZoneId',
      'it names a Local Zone, and cumulo has none',
    );
  }
  if (input.SnapshotCopyCompletionDurationMinutes !== undefined) throw timeBasedCopyUnsupported('SnapshotCopyCompletionDurationMinutes');
  if (input.KmsKeyId && !input.Encrypted) throw new ApiError('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
  const description = checkDescription(input.Description);
  const imageTags = tagsForType(input.TagSpecifications, ['image'], 'image');
  if (!ctx.config.regions.some((r) => r.name === input.SourceRegion)) {
    throw Errors.invalidParameterValue(`Invalid region: ${input.SourceRegion}`);
  }
  const { token, prior } = await priorAnswer<CopyImageResult>(ctx, 'CopyImage', input);
  if (prior) return prior;
  const name = await checkName(ctx, input.Name);
  const [source] = await visibleImages(ctx.db, ctx.accountId, input.SourceRegion, [sourceImageId]);
  if (!source || source.state === 'disabled') throw imageNotFound([sourceImageId]);
  if (source.state !== 'available') throw new ApiError('InvalidAMIID.Unavailable', `The image id '[${sourceImageId}]' is not available`);
  if (source.product_codes && JSON.parse(source.product_codes).length) {
    throw new ApiError('AuthFailure', `Not authorized to copy image:${sourceImageId} (it has billing product codes)`, 400);
  }

  const imageId = newId('ami');
  const srcSource = sourceOf(source);
  const builtin = builtinSourceOf(source.source);
  const mappings = mappingsOf(source);
  const snapshots: Row<'snapshots'>[] = [];
  let rootSnapshotId: string | undefined;
  const encrypt = input.Encrypted === true;
  for (const m of mappings) {
    const old = m.Ebs?.SnapshotId;
    if (!m.Ebs || !old) continue;
    if (builtin && !srcSource.rootSnapshotId) {
      // A built-in's bits are on every host already: its copy names the region's own built-in snapshot.
      m.Ebs.SnapshotId = builtinSnapshotId(ctx.region, source.name);
      continue;
    }
    const snap = await snapshotInRegion(ctx.db, input.SourceRegion, old);
    if (!snap || snap.state !== 'completed') throw new ApiError('InvalidAMIID.Unavailable', `The snapshot ${old} of image '[${sourceImageId}]' is not available`);
    const id = newId('snap');
    const encrypted = snap.encrypted === 1 || encrypt;
    snapshots.push({
      id,
      account_id: ctx.accountId,
      region: ctx.region,
      volume_id: COPY_VOLUME_ID,
      volume_size: snap.volume_size,
      state: 'pending',
      progress: 0,
      description: `Copied for DestinationAmi ${imageId} from SourceAmi ${sourceImageId} for SourceSnapshot ${old}. Task created on ${ctx.now.getTime()}.`,
      encrypted: encrypted ? 1 : 0,
      kms_key_id: encrypted ? (input.KmsKeyId ?? snap.kms_key_id) : null,
      state_message: null,
      start_time: ctx.now.toISOString(),
      completion_time: null,
      data_bytes: 0,
      added_bytes: 0,
      parent_snapshot_id: null,
      source_region: input.SourceRegion,
      source_snapshot_id: old,
      created_at: ctx.now.toISOString(),
    });
    m.Ebs.SnapshotId = id;
    m.Ebs.Encrypted = encrypted;
    if (encrypted && (input.KmsKeyId ?? snap.kms_key_id)) m.Ebs.KmsKeyId = (input.KmsKeyId ?? snap.kms_key_id)!;
    if (old === srcSource.rootSnapshotId) rootSnapshotId = id;
  }
  const newSource: ImageSourceJson = { ...srcSource };
  if (rootSnapshotId) newSource.rootSnapshotId = rootSnapshotId;

  await insertImage(ctx.db, {
    ...baseImageRow(ctx, imageId, name),
    description: description ?? source.description,
    architecture: source.architecture,
    root_device_name: source.root_device_name,
    virtualization_type: source.virtualization_type,
    hypervisor: source.hypervisor,
    ena_support: source.ena_support,
    boot_mode: source.boot_mode,
    platform_details: source.platform_details,
    sriov_net_support: source.sriov_net_support,
    imds_support: source.imds_support,
    tpm_support: source.tpm_support,
    uefi_data: source.uefi_data,
    state: snapshots.length ? 'pending' : 'available',
    block_device_mappings: JSON.stringify(mappings),
    source: JSON.stringify(newSource),
    source_image_id: sourceImageId,
    source_image_region: input.SourceRegion,
  });
  await insertSnapshots(ctx.db, snapshots);
  for (const s of snapshots) await ctx.enqueue('snapshot.copy', s.id, {});
  // CopyImageTags: the source's user tags, when the caller owns the source.
  const copied =
    input.CopyImageTags && source.owner_id === ctx.accountId ? ((await tagsOf(ctx.db, ctx.accountId, input.SourceRegion, 'image', [sourceImageId])).get(sourceImageId) ?? []) : [];
  const tags = [...copied.filter((t) => !t.Key?.startsWith('aws:') && !imageTags.some((x) => x.Key === t.Key)), ...imageTags];
  await putTags(ctx, 'image', imageId, tags);
  if (snapshots.length) await ctx.enqueue('image.copy', imageId, {});
  const answer = { ImageId: imageId };
  await rememberAnswer(ctx, 'CopyImage', token, answer);
  return answer;
}

// ---------------------------------------------------------------------------------------------
// DeregisterImage

async function deregisterImage(ctx: Ctx, input: DeregisterImageRequest): Promise<DeregisterImageResult> {
  const id = checkImageId(input.ImageId);
  const row = await ownImage(ctx, id);
  if (row.deregistration_protection && row.deregistration_protection.startsWith('enabled')) {
    throw new ApiError('OperationNotPermitted', `Image ${id} has deregistration protection enabled. Disable it before deregistering the image.`);
  }
  // Its snapshots stay unless DeleteAssociatedSnapshots asks for them (those no other image uses).
  await deregisterImageRecords(ctx.db, id);
  await deleteAllTags(ctx, id);
  if (!input.DeleteAssociatedSnapshots) return { Return: true };
  const snapshotIds = mappingsOf(row).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
  return { Return: true, DeleteSnapshotResults: await deleteImageSnapshots(ctx, snapshotIds) };
}

export const manageHandlers = {
  CreateImage: createImage,
  RegisterImage: registerImage,
  CopyImage: copyImage,
  DeregisterImage: deregisterImage,
} satisfies Ec2Handlers;
