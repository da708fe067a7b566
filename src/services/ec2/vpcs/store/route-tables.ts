// The route tables' repository: tables, their routes and their associations, and the Route shapes.
import type { Tx } from '../../../../store/db.js';
import type { NewRow, Row } from '../../../../store/schema.js';
import type { Route } from '@aws-sdk/client-ec2';
import { Errors } from '../../../errors.js';
import { newId } from '../../../../lib/ids.js';
import type { Ctx } from '../../../context.js';
import { deleteAllTags } from '../../tags/store.js';
import { findOwned } from '../../common/resources.js';
import { vpcIpv4Blocks, vpcIpv6Blocks } from './columns.js';
import { chunks, notFound } from './shared.js';
import type { VpcRow } from './vpcs.js';

export type RouteRow = Row<'routes'>;
export type AssocRow = Row<'route_table_associations'>;

// For the handlers.

/** Every route table of the account in the region. */
export async function routeTablesOf(db: Tx, accountId: string, region: string): Promise<Row<'route_tables'>[]> {
  return db.selectFrom('route_tables').selectAll().where('account_id', '=', accountId).where('region', '=', region).execute();
}

/** The ids of a VPC's route tables. */
export async function routeTableIdsOfVpc(db: Tx, vpcId: string): Promise<string[]> {
  const rows = await db.selectFrom('route_tables').select('id').where('vpc_id', '=', vpcId).execute();
  return rows.map((r) => r.id);
}

/** A VPC's route tables with the id of their main association, if they are the main one. */
export async function routeTablesWithMainOf(db: Tx, vpcId: string): Promise<{ id: string; main_assoc: string | null }[]> {
  return db
    .selectFrom('route_tables')
    .leftJoin('route_table_associations', (j) => j.onRef('route_table_associations.route_table_id', '=', 'route_tables.id').on('route_table_associations.main', '=', 1))
    .select(['route_tables.id', 'route_table_associations.id as main_assoc'])
    .where('route_tables.vpc_id', '=', vpcId)
    .execute();
}

/** The routes of these tables. */
export async function routesOfTables(db: Tx, tableIds: string[]): Promise<RouteRow[]> {
  const out: RouteRow[] = [];
  for (const chunk of chunks(tableIds, 500)) out.push(...(await db.selectFrom('routes').selectAll().where('route_table_id', 'in', chunk).execute()));
  return out;
}

/** The associations of these tables. */
export async function associationsOfTables(db: Tx, tableIds: string[]): Promise<AssocRow[]> {
  const out: AssocRow[] = [];
  for (const chunk of chunks(tableIds, 500)) {
    out.push(...(await db.selectFrom('route_table_associations').selectAll().where('route_table_id', 'in', chunk).execute()));
  }
  return out;
}

/** Whether the table has any association, the main one included. */
export async function hasAssociation(db: Tx, tableId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('route_table_associations').select('id').where('route_table_id', '=', tableId).executeTakeFirst());
}

/** Whether a subnet (or a gateway) already has an explicit association. */
export async function isAssociated(db: Tx, target: { subnetId: string } | { gatewayId: string }): Promise<boolean> {
  const q = db.selectFrom('route_table_associations').select('id');
  const row = await ('subnetId' in target ? q.where('subnet_id', '=', target.subnetId) : q.where('gateway_id', '=', target.gatewayId)).executeTakeFirst();
  return Boolean(row);
}

export async function insertAssociation(db: Tx, row: NewRow<'route_table_associations'>): Promise<void> {
  await db.insertInto('route_table_associations').values(row).execute();
}

export async function deleteAssociation(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('route_table_associations').where('id', '=', id).execute();
}

/** An association of one of the account's route tables, with the table's VPC. */
export async function findAssociation(db: Tx, accountId: string, region: string, id: string): Promise<(AssocRow & { vpc_id: string }) | undefined> {
  return db
    .selectFrom('route_table_associations')
    .innerJoin('route_tables', 'route_tables.id', 'route_table_associations.route_table_id')
    .selectAll('route_table_associations')
    .select('route_tables.vpc_id')
    .where('route_table_associations.id', '=', id)
    .where('route_tables.account_id', '=', accountId)
    .where('route_tables.region', '=', region)
    .executeTakeFirst();
}

export async function findRoute(db: Tx, tableId: string, destination: string): Promise<RouteRow | undefined> {
  return db.selectFrom('routes').selectAll().where('route_table_id', '=', tableId).where('destination', '=', destination).executeTakeFirst();
}

export async function insertRoute(db: Tx, row: NewRow<'routes'>): Promise<void> {
  await db.insertInto('routes').values(row).execute();
}

export async function deleteRoute(db: Tx, tableId: string, destination: string): Promise<void> {
  await db.deleteFrom('routes').where('route_table_id', '=', tableId).where('destination', '=', destination).execute();
}

/** Points a route at another target; it is active again. */
export async function setRouteTarget(db: Tx, tableId: string, destination: string, target: { type: string; id: string }): Promise<void> {
  await db
    .updateTable('routes')
    .set({ target_type: target.type, target_id: target.id, state: 'active' })
    .where('route_table_id', '=', tableId)
    .where('destination', '=', destination)
    .execute();
}

/** A local route to a VPC block in each of these tables (taking over a route to the same block). */
export async function putLocalRoutes(db: Tx, tableIds: string[], destination: string): Promise<void> {
  for (const id of tableIds) {
    await db
      .insertInto('routes')
      .values({ route_table_id: id, destination, target_type: 'local', target_id: 'local', origin: 'CreateRouteTable', state: 'active' })
      .onConflict((oc) => oc.columns(['route_table_id', 'destination']).doUpdateSet({ target_type: 'local', target_id: 'local', origin: 'CreateRouteTable' }))
      .execute();
  }
}

/** Removes the local routes to a VPC block from these tables. */
export async function deleteLocalRoutes(db: Tx, tableIds: string[], destination: string): Promise<void> {
  if (!tableIds.length) return;
  await db.deleteFrom('routes').where('route_table_id', 'in', tableIds).where('destination', '=', destination).where('target_type', '=', 'local').execute();
}

/** The table of a route to this destination (a prefix list id, say), if any. */
export async function tableRoutingTo(db: Tx, destination: string): Promise<string | undefined> {
  return (await db.selectFrom('routes').select('route_table_id').where('destination', '=', destination).executeTakeFirst())?.route_table_id;
}

/** The VPCs with a route through this instance or through one of its interfaces. */
export async function vpcsRoutingThroughInstance(db: Tx, instanceId: string): Promise<string[]> {
  const enis = db.selectFrom('network_interfaces').select('id').where('instance_id', '=', instanceId);
  const rows = await db
    .selectFrom('routes')
    .innerJoin('route_tables', 'route_tables.id', 'routes.route_table_id')
    .select('route_tables.vpc_id')
    .where((eb) =>
      eb.or([
        eb.and([eb('routes.target_type', '=', 'instance'), eb('routes.target_id', '=', instanceId)]),
        eb.and([eb('routes.target_type', '=', 'network-interface'), eb('routes.target_id', 'in', enis)]),
      ]),
    )
    .distinct()
    .execute();
  return rows.map((r) => r.vpc_id);
}

export async function getRouteTable(ctx: Ctx, id: string): Promise<Row<'route_tables'>> {
  if (!id) throw Errors.missingParameter('RouteTableId');
  const row = await findOwned(ctx, 'route_tables', id);
  if (!row) throw notFound.routeTable(id);
  return row;
}

/** A route table with the VPC's local routes; the main one also gets the VPC's main association. */
export async function createRouteTableRecords(ctx: Ctx, vpc: VpcRow, main: boolean): Promise<string> {
  const id = newId('rtb');
  await ctx.db.insertInto('route_tables').values({ id, account_id: ctx.accountId, region: ctx.region, vpc_id: vpc.id, created_at: ctx.now.toISOString() }).execute();
  const locals = [...vpcIpv4Blocks(vpc), ...vpcIpv6Blocks(vpc)];
  if (locals.length) {
    await ctx.db
      .insertInto('routes')
      .values(locals.map((d) => ({ route_table_id: id, destination: d, target_type: 'local', target_id: 'local', origin: 'CreateRouteTable', state: 'active' })))
      .execute();
  }
  if (main) {
    await ctx.db
      .insertInto('route_table_associations')
      .values({ id: newId('rtbassoc'), route_table_id: id, subnet_id: null, gateway_id: null, main: 1 })
      .execute();
  }
  return id;
}

export async function deleteRouteTableRecords(ctx: Ctx, id: string): Promise<void> {
  await ctx.db.deleteFrom('routes').where('route_table_id', '=', id).execute();
  await ctx.db.deleteFrom('route_table_associations').where('route_table_id', '=', id).execute();
  await ctx.db.deleteFrom('route_tables').where('id', '=', id).execute();
  await deleteAllTags(ctx, id);
}

/** Which Route field names a target, by the target_type stored in the routes table. */
export const routeTargetFields: Record<string, keyof Route> = {
  local: 'GatewayId',
  gateway: 'GatewayId',
  'vpc-endpoint': 'GatewayId',
  instance: 'InstanceId',
  'network-interface': 'NetworkInterfaceId',
  'nat-gateway': 'NatGatewayId',
  'vpc-peering-connection': 'VpcPeeringConnectionId',
  'egress-only-internet-gateway': 'EgressOnlyInternetGatewayId',
  'transit-gateway': 'TransitGatewayId',
  'local-gateway': 'LocalGatewayId',
  'carrier-gateway': 'CarrierGatewayId',
  'core-network': 'CoreNetworkArn',
};

export function routeDestination(destination: string): Pick<Route, 'DestinationCidrBlock' | 'DestinationIpv6CidrBlock' | 'DestinationPrefixListId'> {
  if (destination.startsWith('pl-')) return { DestinationPrefixListId: destination };
  if (destination.includes(':')) return { DestinationIpv6CidrBlock: destination };
  return { DestinationCidrBlock: destination };
}
