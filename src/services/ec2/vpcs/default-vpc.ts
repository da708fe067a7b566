// The default VPC every (account, region) starts with, as EC2 makes it: 172.31.0.0/16 with a /20
// default subnet per zone, an attached internet gateway, a main route table routing 0.0.0.0/0 to it,
// the default network ACL and the default security group.
import { ApiError } from '../../errors.js';
import { zonesOf } from '../../../config.js';
import { formatCidr } from '../../../lib/cidr.js';
import { newId } from '../../../lib/ids.js';
import type { Ctx } from '../../context.js';
import { createSubnetRecords, createVpcRecords, getDefaultVpc, type CreatedVpc } from './store.js';
import { insertInternetGateway } from './store/internet-gateways.js';
import { insertRoute } from './store/route-tables.js';
import { claimRegionSetup, regionSetupDone, setDefaultVpc } from './store/vpcs.js';

export const DEFAULT_VPC_CIDR = '172.31.0.0/16';

/** The default subnet of the index-th zone: 172.31.0.0/20, 172.31.16.0/20, … */
export function defaultSubnetCidr(index: number): string {
  if (index < 0 || index > 15) throw new RangeError('a /16 holds 16 /20 subnets');
  return formatCidr({ family: 4, network: 0xac1f0000n + (BigInt(index) << 12n), prefix: 20 });
}

/** Once per (account, region): region_setup records that it ran, and the default VPC's id. */
export async function createDefaultVpc(ctx: Ctx): Promise<void> {
  if (await regionSetupDone(ctx.db, ctx.accountId, ctx.region)) return;
  // Claim the row first: a concurrent setup of the same pair fails on the primary key and rolls back.
  await claimRegionSetup(ctx.db, ctx.accountId, ctx.region, ctx.now);
  const made = await buildDefaultVpc(ctx);
  await setDefaultVpc(ctx.db, ctx.accountId, ctx.region, made.vpc.id);
}

/** Makes a default VPC and everything in it; CreateDefaultVpc uses it too. */
export async function buildDefaultVpc(ctx: Ctx): Promise<CreatedVpc & { internetGatewayId: string; subnetIds: string[] }> {
  if (await getDefaultVpc(ctx)) {
    throw new ApiError('DefaultVpcAlreadyExists', 'A Default VPC already exists for this account in this region.');
  }
  const made = await createVpcRecords(ctx, { cidr: DEFAULT_VPC_CIDR, isDefault: true, dnsHostnames: true });
  const vpcId = made.vpc.id;

  const internetGatewayId = newId('igw');
  await insertInternetGateway(ctx.db, { id: internetGatewayId, account_id: ctx.accountId, region: ctx.region, vpc_id: vpcId, created_at: ctx.now.toISOString() });
  await insertRoute(ctx.db, {
    route_table_id: made.mainRouteTableId,
    destination: '0.0.0.0/0',
    target_type: 'gateway',
    target_id: internetGatewayId,
    origin: 'CreateRoute',
    state: 'active',
  });

  const subnetIds: string[] = [];
  const zones = zonesOf(ctx.config, ctx.region).slice(0, 16);
  for (const [i, zone] of zones.entries()) {
    const s = await createSubnetRecords(ctx, { vpcId, cidr: defaultSubnetCidr(i), zone, defaultForAz: true, mapPublicIp: true });
    subnetIds.push(s.id);
  }
  return { ...made, internetGatewayId, subnetIds };
}
