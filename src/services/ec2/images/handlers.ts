// DescribeImages, DescribeImageAttribute; the calls that make and change images are in manage.ts.
import type { DescribeImageAttributeRequest, DescribeImagesRequest, DescribeImagesResult, ImageAttribute, LaunchPermission, ProductCode } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import type { Row } from '../../../store/schema.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { paginate } from '../common/pagination.js';
import { tagsOf } from '../tags/store.js';
import { CUMULO_OWNER_ALIAS } from './builtin.js';
import { imageFilters } from './filters.js';
import { attributeHandlers } from './attributes.js';
import { manageHandlers } from './manage.js';
import { imageNotFound, imageToEc2, isDeprecated, isImageId, launchPermissionsOf, malformedImageId, visibleImages } from './store.js';

const ACCOUNT_ID = /^\d{12}$/;

/** Owner aliases EC2 knows, plus cumulo's own. */
const OWNER_ALIASES = new Set(['amazon', 'aws-marketplace', 'aws-backup-vault', CUMULO_OWNER_ALIAS]);

function malformedUser(value: string): ApiError {
  return new ApiError('InvalidUserID.Malformed', `Invalid user id: "${value}"`);
}

/** Owners: self, an alias or an account id, any of which may match. */
function ownerMatcher(ctx: Ctx, owners: string[]): (row: Row<'images'>) => boolean {
  const tests = owners.map((o): ((row: Row<'images'>) => boolean) => {
    if (o === 'self') return (r) => r.owner_id === ctx.accountId;
    if (OWNER_ALIASES.has(o)) return (r) => r.owner_alias === o;
    if (ACCOUNT_ID.test(o)) return (r) => r.owner_id === o;
    throw malformedUser(o);
  });
  return (row) => tests.some((t) => t(row));
}

/**
 * ExecutableUsers: 'all' is every public image; 'self' (or one's own id) the images explicitly
 * shared with the caller; another account id, the images explicitly shared with that account.
 */
function executableMatcher(ctx: Ctx, users: string[], perms: Map<string, string[]>): (row: Row<'images'>) => boolean {
  const tests = users.map((u): ((row: Row<'images'>) => boolean) => {
    if (u === 'all') return (r) => r.is_public === 1 || (perms.get(r.id) ?? []).includes('all');
    const account = u === 'self' ? ctx.accountId : u;
    if (!ACCOUNT_ID.test(account)) throw malformedUser(u);
    return (r) => (perms.get(r.id) ?? []).includes(account);
  });
  return (row) => tests.some((t) => t(row));
}

async function describeImages(ctx: Ctx, input: DescribeImagesRequest): Promise<DescribeImagesResult> {
  const ids = input.ImageIds ?? [];
  if (ids.length && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter imagesSet cannot be used with the parameter maxResults');
  }
  for (const id of ids) if (!isImageId(id)) throw malformedImageId(id);
  const owners = input.Owners ?? [];
  const users = input.ExecutableUsers ?? [];
  // Validate every parameter before looking anything up, so bad input fails the same way always.
  const byOwner = owners.length ? ownerMatcher(ctx, owners) : undefined;
  if (users.length) executableMatcher(ctx, users, new Map());
  validateFilters(input.Filters, imageFilters, { tags: (i) => i.Tags });

  let rows = await visibleImages(ctx.db, ctx.accountId, ctx.region, ids.length ? [...new Set(ids)] : undefined);
  if (ids.length) {
    const found = new Set(rows.map((r) => r.id));
    const missing = [...new Set(ids)].filter((id) => !found.has(id));
    if (missing.length) throw imageNotFound(missing);
  }

  // Deprecated images: hidden unless asked for, named by id, or the caller's own (EC2's rule).
  if (!input.IncludeDeprecated && !ids.length) {
    rows = rows.filter((r) => r.owner_id === ctx.accountId || !isDeprecated(r, ctx.now));
  }
  // Disabled images are private to their owner, and shown only when asked for.
  rows = rows.filter((r) => r.state !== 'disabled' || (input.IncludeDisabled && r.owner_id === ctx.accountId));
  if (byOwner) rows = rows.filter(byOwner);
  if (users.length) {
    const perms = await launchPermissionsOf(
      ctx.db,
      rows.map((r) => r.id),
    );
    rows = rows.filter(executableMatcher(ctx, users, perms));
  }

  const tags = await tagsOf(
    ctx.db,
    ctx.accountId,
    ctx.region,
    'image',
    rows.map((r) => r.id),
  );
  const images = rows.map((r) => imageToEc2(r, tags.get(r.id)));
  const matched = applyFilters(images, input.Filters, imageFilters, { tags: (i) => i.Tags });
  // Rows come sorted by id, and the page token carries the last id.
  const page = paginate(matched, (i) => i.ImageId!, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 1, max: 1000 });
  return { Images: page.items, NextToken: page.nextToken };
}

const ATTRIBUTES = [
  'description',
  'kernel',
  'ramdisk',
  'launchPermission',
  'productCodes',
  'blockDeviceMapping',
  'sriovNetSupport',
  'bootMode',
  'tpmSupport',
  'uefiData',
  'lastLaunchedTime',
  'imdsSupport',
  'deregistrationProtection',
] as const;
type Attribute = (typeof ATTRIBUTES)[number];

/** What only the owner may read: who may launch it, when it was last used, its protection. */
const OWNER_ONLY = new Set<Attribute>(['launchPermission', 'lastLaunchedTime', 'deregistrationProtection']);

const value = (v: string | null | undefined) => (v === null || v === undefined ? {} : { Value: v });

async function describeImageAttribute(ctx: Ctx, input: DescribeImageAttributeRequest): Promise<ImageAttribute> {
  const id = input.ImageId!;
  const attribute = input.Attribute as string;
  if (!(ATTRIBUTES as readonly string[]).includes(attribute)) {
    throw Errors.invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
  if (!isImageId(id)) throw malformedImageId(id);
  const [row] = await visibleImages(ctx.db, ctx.accountId, ctx.region, [id]);
  if (!row || (row.state === 'disabled' && row.owner_id !== ctx.accountId)) throw imageNotFound([id]);
  const attr = attribute as Attribute;
  // EC2 answers these with HTTP 400, unlike signature failures.
  if (attr === 'blockDeviceMapping') {
    // Deprecated attribute: EC2 always refuses it and points to DescribeImages instead.
    throw new ApiError('AuthFailure', 'Unauthorized attempt to access restricted resource', 400);
  }
  if (OWNER_ONLY.has(attr) && row.owner_id !== ctx.accountId) {
    throw new ApiError('AuthFailure', `Not authorized for image:${id}`, 400);
  }
  const out: ImageAttribute = { ImageId: id };
  switch (attr) {
    case 'description':
      out.Description = value(row.description);
      break;
    case 'kernel':
      out.KernelId = value(row.kernel_id);
      break;
    case 'ramdisk':
      out.RamdiskId = value(row.ramdisk_id);
      break;
    case 'launchPermission': {
      const grantees = (await launchPermissionsOf(ctx.db, [id])).get(id) ?? [];
      const perms: LaunchPermission[] = [];
      if (row.is_public === 1 || grantees.includes('all')) perms.push({ Group: 'all' });
      for (const g of grantees) if (g !== 'all') perms.push({ UserId: g });
      out.LaunchPermissions = perms;
      break;
    }
    case 'productCodes':
      out.ProductCodes = row.product_codes ? (JSON.parse(row.product_codes) as ProductCode[]) : [];
      break;
    case 'sriovNetSupport':
      out.SriovNetSupport = value(row.sriov_net_support);
      break;
    case 'bootMode':
      out.BootMode = value(row.boot_mode);
      break;
    case 'tpmSupport':
      out.TpmSupport = value(row.tpm_support);
      break;
    case 'uefiData':
      out.UefiData = value(row.uefi_data);
      break;
    case 'lastLaunchedTime':
      out.LastLaunchedTime = value(row.last_launched_time);
      break;
    case 'imdsSupport':
      out.ImdsSupport = value(row.imds_support);
      break;
    case 'deregistrationProtection':
      out.DeregistrationProtection = value(row.deregistration_protection ?? 'disabled');
      break;
  }
  return out;
}

export const handlers = {
  DescribeImages: describeImages,
  DescribeImageAttribute: describeImageAttribute,
  ...manageHandlers,
  ...attributeHandlers,
} satisfies Ec2Handlers;
