// Image rows ↔ EC2's Image shape, who may see and launch an image, and the lookups other
// families use (RunInstances: getLaunchableImage).
import type { BlockDeviceMapping, Image, ProductCode, StateReason, Tag } from '@aws-sdk/client-ec2';
import { ApiError } from '../../errors.js';
import type { Tx } from '../../../store/db.js';
import type { NewRow, Row, RowUpdate } from '../../../store/schema.js';
import { jsonColumn } from '../../../store/json-column.js';
import type { Ctx } from '../../context.js';

// For the handlers.

/** Writes an image row, or brings an existing one up to date with `update`. */
export async function upsertImage(db: Tx, row: NewRow<'images'>, update: RowUpdate<'images'>): Promise<void> {
  await db
    .insertInto('images')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet(update))
    .execute();
}

/** The images of these owners (every region): id, source and deprecation time. */
export async function imagesOwnedBy(db: Tx, ownerIds: string[]): Promise<Pick<Row<'images'>, 'id' | 'source' | 'deprecation_time'>[]> {
  return db.selectFrom('images').select(['id', 'source', 'deprecation_time']).where('owner_id', 'in', ownerIds).execute();
}

export async function deprecateImages(db: Tx, ids: string[], at: Date): Promise<void> {
  if (ids.length) await db.updateTable('images').set({ deprecation_time: at.toISOString() }).where('id', 'in', ids).execute();
}

/** Sets the state (and its reason) of these owners' images of this name, in every region. */
export async function setImageStateByName(db: Tx, ownerIds: string[], name: string, state: string, reason: string | null): Promise<void> {
  await db.updateTable('images').set({ state, state_reason: reason }).where('name', '=', name).where('owner_id', 'in', ownerIds).execute();
}

/** The id of the owner's live (not deregistered) image of this name in the region, if any. */
export async function liveImageNamed(db: Tx, ownerId: string, region: string, name: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('images')
    .select('id')
    .where('owner_id', '=', ownerId)
    .where('region', '=', region)
    .where('name', '=', name)
    .where('state', '!=', 'deregistered')
    .executeTakeFirst();
  return row?.id;
}

/** An image by id, whoever owns it and whatever its state. */
export async function imageRow(db: Tx, id: string): Promise<Row<'images'> | undefined> {
  return db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertImage(db: Tx, row: NewRow<'images'>): Promise<void> {
  await db.insertInto('images').values(row).execute();
}

export async function updateImage(db: Tx, id: string, set: RowUpdate<'images'>): Promise<void> {
  await db.updateTable('images').set(set).where('id', '=', id).execute();
}

/** The oldest image whose block device mappings name this snapshot: its source and mappings. */
export async function oldestImageMentioning(db: Tx, snapshotId: string): Promise<Pick<Row<'images'>, 'source' | 'block_device_mappings'> | undefined> {
  return db.selectFrom('images').select(['source', 'block_device_mappings']).where('block_device_mappings', 'like', `%${snapshotId}%`).orderBy('creation_date').executeTakeFirst();
}

/** An image deregistered: its launch permissions go with it. */
export async function deregisterImageRecords(db: Tx, id: string): Promise<void> {
  await db.updateTable('images').set({ state: 'deregistered' }).where('id', '=', id).execute();
  await db.deleteFrom('image_launch_permissions').where('image_id', '=', id).execute();
}

export async function addLaunchPermissions(db: Tx, imageId: string, grantees: string[]): Promise<void> {
  for (const g of grantees) {
    await db
      .insertInto('image_launch_permissions')
      .values({ image_id: imageId, grantee: g })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/** Removes these grantees' launch permissions, or all of the image's. */
export async function removeLaunchPermissions(db: Tx, imageId: string, grantees?: string[]): Promise<void> {
  let q = db.deleteFrom('image_launch_permissions').where('image_id', '=', imageId);
  if (grantees) q = q.where('grantee', 'in', grantees);
  await q.execute();
}

/** is_public follows the launch permission of group all. */
export async function refreshIsPublic(db: Tx, imageId: string): Promise<void> {
  const all = await db.selectFrom('image_launch_permissions').select('grantee').where('image_id', '=', imageId).where('grantee', '=', 'all').executeTakeFirst();
  await db
    .updateTable('images')
    .set({ is_public: all ? 1 : 0 })
    .where('id', '=', imageId)
    .execute();
}

export { CUMULO_OWNER_ALIAS, CUMULO_OWNER_ID, DEBIAN_OWNER_ID, seedBuiltinImages } from './builtin.js';

const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

export function isImageId(id: string): boolean {
  return AMI_ID.test(id);
}

/** EC2: InvalidAMIID.Malformed — Invalid id: "ami-123" (expecting "ami-...") */
export function malformedImageId(id: string): ApiError {
  return new ApiError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
}

/** EC2: "The image id '[ami-…]' does not exist", or for several "The image ids '[ami-…, ami-…]' do not exist". */
export function imageNotFound(ids: string[]): ApiError {
  return ids.length === 1
    ? new ApiError('InvalidAMIID.NotFound', `The image id '[${ids[0]}]' does not exist`)
    : new ApiError('InvalidAMIID.NotFound', `The image ids '[${ids.join(', ')}]' do not exist`);
}

function json<T>(text: string | null, fallback: T): T {
  if (text === null || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function isDeprecated(row: Row<'images'>, now: Date): boolean {
  return row.deprecation_time !== null && row.deprecation_time <= now.toISOString();
}

export function imageToEc2(row: Row<'images'>, tags: Tag[] = []): Image {
  const out: Image = {
    ImageId: row.id,
    ImageLocation: row.image_location ?? `${row.owner_alias ?? row.owner_id}/${row.name}`,
    State: row.state as Image['State'],
    OwnerId: row.owner_id,
    CreationDate: row.creation_date,
    Public: row.is_public === 1,
    Architecture: row.architecture as Image['Architecture'],
    ImageType: row.image_type as Image['ImageType'],
    PlatformDetails: row.platform_details,
    UsageOperation: row.usage_operation ?? 'RunInstances',
    BlockDeviceMappings: json<BlockDeviceMapping[]>(row.block_device_mappings, []),
    EnaSupport: row.ena_support === 1,
    Hypervisor: row.hypervisor as Image['Hypervisor'],
    Name: row.name,
    RootDeviceName: row.root_device_name,
    RootDeviceType: row.root_device_type as Image['RootDeviceType'],
    VirtualizationType: row.virtualization_type as Image['VirtualizationType'],
    DeregistrationProtection: row.deregistration_protection ?? 'disabled',
  };
  // EC2 leaves out what an image does not have rather than sending empty elements.
  const codes = json<ProductCode[]>(row.product_codes, []);
  if (codes.length) out.ProductCodes = codes;
  if (row.kernel_id) out.KernelId = row.kernel_id;
  if (row.ramdisk_id) out.RamdiskId = row.ramdisk_id;
  if (row.platform) out.Platform = row.platform as Image['Platform'];
  if (row.description !== null) out.Description = row.description;
  if (row.owner_alias) out.ImageOwnerAlias = row.owner_alias;
  if (row.sriov_net_support) out.SriovNetSupport = row.sriov_net_support;
  const reason = json<StateReason | null>(row.state_reason, null);
  if (reason) out.StateReason = reason;
  if (tags.length) out.Tags = tags;
  if (row.boot_mode) out.BootMode = row.boot_mode as Image['BootMode'];
  if (row.tpm_support) out.TpmSupport = row.tpm_support as Image['TpmSupport'];
  if (row.deprecation_time) out.DeprecationTime = row.deprecation_time;
  if (row.imds_support) out.ImdsSupport = row.imds_support as Image['ImdsSupport'];
  if (row.source_instance_id) out.SourceInstanceId = row.source_instance_id;
  if (row.last_launched_time) out.LastLaunchedTime = row.last_launched_time;
  if (row.source_image_id) out.SourceImageId = row.source_image_id;
  if (row.source_image_region) out.SourceImageRegion = row.source_image_region;
  return out;
}

/**
 * Images of the region the account may see: public ones, its own, and those shared with it.
 * Deregistered images are gone for everyone.
 */
export async function visibleImages(db: Tx, accountId: string, region: string, ids?: string[]): Promise<Row<'images'>[]> {
  let q = db
    .selectFrom('images')
    .selectAll()
    .where('region', '=', region)
    .where('state', '!=', 'deregistered')
    .where((eb) =>
      eb.or([
        eb('owner_id', '=', accountId),
        eb('is_public', '=', 1),
        eb('id', 'in', eb.selectFrom('image_launch_permissions').select('image_id').where('grantee', 'in', [accountId, 'all'])),
      ]),
    );
  if (ids) q = q.where('id', 'in', ids.length ? ids : ['']);
  return q.orderBy('id').execute();
}

/** Explicit launch permissions of these images: image id → grantees (account ids, 'all'). */
export async function launchPermissionsOf(db: Tx, imageIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!imageIds.length) return out;
  const rows = await db.selectFrom('image_launch_permissions').select(['image_id', 'grantee']).where('image_id', 'in', imageIds).orderBy('grantee').execute();
  for (const r of rows) {
    let list = out.get(r.image_id);
    if (!list) out.set(r.image_id, (list = []));
    list.push(r.grantee);
  }
  return out;
}

/**
 * The image RunInstances (and anything else that launches) may use: it must be well formed,
 * visible to the caller (public, owned, or shared with it) and available. Deprecated images
 * still launch, as in EC2.
 */
export async function getLaunchableImage(ctx: Ctx, imageId: string): Promise<Row<'images'>> {
  if (!isImageId(imageId)) throw malformedImageId(imageId);
  const [row] = await visibleImages(ctx.db, ctx.accountId, ctx.region, [imageId]);
  if (!row || row.state === 'disabled') throw imageNotFound([imageId]);
  if (row.state === 'pending') throw new ApiError('InvalidAMIID.Unavailable', `AMI '${imageId}' is pending, and cannot be run`);
  if (row.state !== 'available') {
    throw new ApiError('InvalidAMIID.Unavailable', `The image id '[${imageId}]' is not available`);
  }
  return row;
}

// For the controllers and the host.

/** images.block_device_mappings. */
export const blockDeviceMappingsColumn = jsonColumn<BlockDeviceMapping[]>({ value: [] });
/** images.state_reason. */
export const imageStateReasonColumn = jsonColumn<StateReason | null>({ value: null });

/** A pending image and its block device mappings; undefined when it is gone. */
export async function imageWithMappings(db: Tx, id: string): Promise<{ id: string; state: string; blockDeviceMappings: BlockDeviceMapping[] } | undefined> {
  const image = await db.selectFrom('images').select(['id', 'state', 'block_device_mappings']).where('id', '=', id).executeTakeFirst();
  return image && { id: image.id, state: image.state, blockDeviceMappings: blockDeviceMappingsColumn.decode(image.block_device_mappings) };
}

/** A pending image ends `failed` with `reason`, or `available` (reason null). */
export async function finishPendingImage(db: Tx, id: string, state: 'available' | 'failed', reason: StateReason | null): Promise<void> {
  await db
    .updateTable('images')
    .set({ state, state_reason: reason === null ? null : imageStateReasonColumn.encode(reason) })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .execute();
}

/** images.source of the image (its host source, as the controllers hand it to the driver), if any. */
export async function imageSourceOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('images').select('source').where('id', '=', id).executeTakeFirst())?.source;
}

/** images.source: where the host gets the image (a built-in's name and version, and its login user). */
export const imageSourceColumn = jsonColumn<{ builtin?: string; version?: string; sshUser?: string } | null>({ value: null });
