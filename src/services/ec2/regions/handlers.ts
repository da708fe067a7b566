// DescribeRegions, DescribeAvailabilityZones, DescribeAccountAttributes.
import type {
  AccountAttribute,
  AvailabilityZone,
  DescribeAccountAttributesRequest,
  DescribeAccountAttributesResult,
  DescribeAvailabilityZonesRequest,
  DescribeAvailabilityZonesResult,
  DescribeRegionsRequest,
  DescribeRegionsResult,
  Region,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { zoneId, zonesOf } from '../../../config.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, type FilterMap } from '../common/filters.js';
import { quotaValues } from '../quotas/store.js';
import { recordedDefaultVpc } from '../vpcs/store/vpcs.js';

export function endpointOf(ctx: Ctx, region: string): string {
  // One endpoint serves every region; the credential scope picks the region.
  void region;
  return `${ctx.config.host}:${ctx.config.port}`;
}

const regionFilters: FilterMap<Region> = {
  endpoint: (r) => r.Endpoint,
  'region-name': (r) => r.RegionName,
  'opt-in-status': (r) => r.OptInStatus,
};

async function describeRegions(ctx: Ctx, input: DescribeRegionsRequest): Promise<DescribeRegionsResult> {
  let regions: Region[] = ctx.config.regions.map((r) => ({
    RegionName: r.name,
    Endpoint: endpointOf(ctx, r.name),
    OptInStatus: 'opt-in-not-required',
  }));
  if (input.RegionNames?.length) {
    for (const name of input.RegionNames) {
      if (!regions.some((r) => r.RegionName === name)) throw new ApiError('InvalidParameterValue', `Invalid region: ${name}`);
    }
    regions = regions.filter((r) => input.RegionNames!.includes(r.RegionName!));
  }
  return { Regions: applyFilters(regions, input.Filters, regionFilters) };
}

export function zonesOfRegion(ctx: Ctx, region = ctx.region): AvailabilityZone[] {
  return zonesOf(ctx.config, region).map((z) => ({
    State: 'available',
    OptInStatus: 'opt-in-not-required',
    Messages: [],
    RegionName: region,
    ZoneName: z,
    ZoneId: zoneId(z),
    GroupName: region,
    NetworkBorderGroup: region,
    ZoneType: 'availability-zone',
    GroupLongName: region,
  }));
}

const zoneFilters: FilterMap<AvailabilityZone> = {
  'group-name': (z) => z.GroupName,
  message: (z) => z.Messages?.map((m) => m.Message),
  'opt-in-status': (z) => z.OptInStatus,
  'parent-zone-id': (z) => z.ParentZoneId,
  'parent-zone-name': (z) => z.ParentZoneName,
  'region-name': (z) => z.RegionName,
  state: (z) => z.State,
  'zone-id': (z) => z.ZoneId,
  'zone-name': (z) => z.ZoneName,
  'zone-type': (z) => z.ZoneType,
  'network-border-group': (z) => z.NetworkBorderGroup,
};

async function describeAvailabilityZones(ctx: Ctx, input: DescribeAvailabilityZonesRequest): Promise<DescribeAvailabilityZonesResult> {
  let zones = zonesOfRegion(ctx);
  if (input.ZoneNames?.length) {
    for (const n of input.ZoneNames) {
      if (!zones.some((z) => z.ZoneName === n)) throw Errors.invalidParameterValue(`The zone '${n}' does not exist.`);
    }
    zones = zones.filter((z) => input.ZoneNames!.includes(z.ZoneName!));
  }
  if (input.ZoneIds?.length) {
    for (const n of input.ZoneIds) {
      if (!zones.some((z) => z.ZoneId === n)) throw Errors.invalidParameterValue(`The zone ID '${n}' does not exist.`);
    }
    zones = zones.filter((z) => input.ZoneIds!.includes(z.ZoneId!));
  }
  return { AvailabilityZones: applyFilters(zones, input.Filters, zoneFilters) };
}

async function describeAccountAttributes(ctx: Ctx, input: DescribeAccountAttributesRequest): Promise<DescribeAccountAttributesResult> {
  const defaultVpc = await recordedDefaultVpc(ctx.db, ctx.accountId, ctx.region);
  // The account's quotas in this region (its overrides, else EC2's defaults). max-instances is no
  // longer a quota of its own on EC2: the Standard vCPU quota bounds how many instances run (the
  // smallest standard types have one vCPU).
  const quotas = await quotaValues(ctx.db, ctx.accountId, ctx.region);
  const q = (name: string) => String(quotas.get(name)!.value);
  const all: AccountAttribute[] = [
    { AttributeName: 'supported-platforms', AttributeValues: [{ AttributeValue: 'VPC' }] },
    { AttributeName: 'vpc-max-security-groups-per-interface', AttributeValues: [{ AttributeValue: q('security-groups-per-network-interface') }] },
    { AttributeName: 'max-elastic-ips', AttributeValues: [{ AttributeValue: q('elastic-ips') }] },
    { AttributeName: 'max-instances', AttributeValues: [{ AttributeValue: q('running-on-demand-standard-vcpus') }] },
    { AttributeName: 'vpc-max-elastic-ips', AttributeValues: [{ AttributeValue: q('elastic-ips') }] },
    { AttributeName: 'default-vpc', AttributeValues: [{ AttributeValue: defaultVpc ?? 'none' }] },
  ];
  const names = input.AttributeNames;
  if (names?.length) {
    for (const n of names) {
      if (!all.some((a) => a.AttributeName === n)) throw Errors.invalidParameterValue(`Invalid attribute name: ${n}`);
    }
  }
  return { AccountAttributes: names?.length ? all.filter((a) => (names as string[]).includes(a.AttributeName!)) : all };
}

export const handlers = {
  DescribeRegions: describeRegions,
  DescribeAvailabilityZones: describeAvailabilityZones,
  DescribeAccountAttributes: describeAccountAttributes,
} satisfies Ec2Handlers;
