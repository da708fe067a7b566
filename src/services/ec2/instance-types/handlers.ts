// DescribeInstanceTypes, DescribeInstanceTypeOfferings: answered from the catalog, no store.
import type {
  DescribeInstanceTypeOfferingsRequest,
  DescribeInstanceTypeOfferingsResult,
  DescribeInstanceTypesRequest,
  DescribeInstanceTypesResult,
  InstanceTypeInfo,
  InstanceTypeOffering,
  LocationType,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { zoneId, zonesOf } from '../../../config.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { byKey, paginate } from '../common/pagination.js';
import { findInstanceType, instanceTypes, isOfferedIn } from './catalog.js';
import { instanceTypeFilters, instanceTypeOfferingFilters } from './filters.js';

// Pages follow the catalog's order (families together, smallest size first); the token carries
// the position, zero-padded so that positions compare as strings.
const position = new Map<string, string>(instanceTypes.map((t, i) => [t.InstanceType as string, String(i).padStart(6, '0')]));
const posOf = (type: string | undefined) => position.get(type ?? '') ?? '999999';

async function describeInstanceTypes(ctx: Ctx, input: DescribeInstanceTypesRequest): Promise<DescribeInstanceTypesResult> {
  void ctx;
  // IncludeUnsupportedInRegion changes nothing: every type of the catalog is offered in some zone
  // of every region (isOfferedIn), so none is unsupported in a region.
  let types: InstanceTypeInfo[] = [...instanceTypes];
  if (input.InstanceTypes?.length) {
    const names = [...new Set(input.InstanceTypes as string[])];
    const unknown = names.filter((n) => !findInstanceType(n));
    if (unknown.length) {
      throw new ApiError('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
    }
    const wanted = new Set(names);
    types = types.filter((t) => wanted.has(t.InstanceType as string));
  }
  const matched = applyFilters(types, input.Filters, instanceTypeFilters);
  // EC2 pages this call even without MaxResults: 100 types and a NextToken.
  const page = paginate(matched, (t) => posOf(t.InstanceType), { maxResults: input.MaxResults ?? 100, nextToken: input.NextToken, min: 5, max: 100 });
  return { InstanceTypes: page.items, NextToken: page.nextToken };
}

const LOCATION_TYPES: readonly string[] = ['region', 'availability-zone', 'availability-zone-id', 'outpost'];

async function describeInstanceTypeOfferings(ctx: Ctx, input: DescribeInstanceTypeOfferingsRequest): Promise<DescribeInstanceTypeOfferingsResult> {
  const locationType = (input.LocationType ?? 'region') as LocationType;
  if (!LOCATION_TYPES.includes(locationType)) {
    throw Errors.invalidParameterValue(`Value (${locationType}) for parameter locationType is invalid. Valid values are: ${LOCATION_TYPES.join(', ')}`);
  }
  validateFilters(input.Filters, instanceTypeOfferingFilters);
  const offerings: InstanceTypeOffering[] = [];
  if (locationType === 'region') {
    // A type is offered in the region when some zone of it offers the type.
    const zoneCount = zonesOf(ctx.config, ctx.region).length;
    for (const t of instanceTypes) {
      const name = t.InstanceType as string;
      if (Array.from({ length: zoneCount }, (_, i) => i).some((i) => isOfferedIn(name, i))) {
        offerings.push({ InstanceType: t.InstanceType, LocationType: locationType, Location: ctx.region });
      }
    }
  } else if (locationType !== 'outpost') {
    // No Outposts here: an outpost location type has nothing to offer.
    zonesOf(ctx.config, ctx.region).forEach((zone, i) => {
      const location = locationType === 'availability-zone' ? zone : zoneId(zone);
      for (const t of instanceTypes) {
        if (isOfferedIn(t.InstanceType as string, i)) offerings.push({ InstanceType: t.InstanceType, LocationType: locationType, Location: location });
      }
    });
  }
  const key = (o: InstanceTypeOffering) => `${o.Location}\u0000${posOf(o.InstanceType)}`;
  const matched = applyFilters(offerings, input.Filters, instanceTypeOfferingFilters).sort(byKey(key));
  const page = paginate(matched, key, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
  return { InstanceTypeOfferings: page.items, NextToken: page.nextToken };
}

export const handlers = {
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeInstanceTypeOfferings: describeInstanceTypeOfferings,
} satisfies Ec2Handlers;
