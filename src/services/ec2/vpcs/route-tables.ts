// Route tables, their routes and associations: Create/Describe/DeleteRouteTable, Create/Delete/
// ReplaceRoute, Associate/DisassociateRouteTable, ReplaceRouteTableAssociation.
import type {
  AssociateRouteTableRequest,
  AssociateRouteTableResult,
  CreateRouteRequest,
  CreateRouteResult,
  CreateRouteTableRequest,
  CreateRouteTableResult,
  DeleteRouteRequest,
  DeleteRouteTableRequest,
  DescribeRouteTablesRequest,
  DescribeRouteTablesResult,
  DisassociateRouteTableRequest,
  ReplaceRouteRequest,
  ReplaceRouteTableAssociationRequest,
  ReplaceRouteTableAssociationResult,
  Route,
  RouteTable,
  RouteTableAssociation,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { contains, parseCidrStrict } from '../../../lib/cidr.js';
import { newId } from '../../../lib/ids.js';
import type { Tx } from '../../../store/db.js';
import type { Row } from '../../../store/schema.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { queueVpcSync } from '../common/network-sync.js';
import { ipv6Unsupported } from '../common/unsupported.js';
import { getPrefixList } from '../prefix-lists/store.js';
import { putTags, tagsForType, tagsOf } from '../tags/store.js';
import { describe } from './describe.js';
import { routeTableFilters } from './filters.js';
import { forwardsThrough } from './route-state.js';
import { routeDestination, routeTarget, type RouteDestination } from './rules.js';
import { instanceStates, findInstanceState } from '../instances/store.js';
import { findInterfaceVpc, interfaceIdsOfInstance, interfaceInstanceStates, interfacesOfInstances } from '../network-interfaces/store.js';
import { findInternetGateway, internetGatewayVpcs } from './store/internet-gateways.js';
import {
  associationsOfTables,
  deleteAssociation,
  deleteRoute as deleteRouteRow,
  findAssociation,
  findRoute as findRouteRow,
  hasAssociation,
  insertAssociation,
  insertRoute,
  isAssociated,
  routesOfTables,
  routeTablesOf,
  setRouteTarget,
  type AssocRow,
  type RouteRow,
} from './store/route-tables.js';
import {
  createRouteTableRecords,
  deleteRouteTableRecords,
  dependencies,
  findVpc,
  getRouteTable,
  getSubnet,
  getVpc,
  missingIds,
  notFound,
  routeDestination as destinationFields,
  routeTargetFields,
  vpcIpv4Blocks,
  vpcIpv6Blocks,
} from './store.js';

/** Routes and associations are the VPC's data plane: its subnets' kernel route tables follow. */
function syncVpc(ctx: Ctx, vpcId: string): Promise<void> {
  return queueVpcSync(ctx, { vpcId, accountId: ctx.accountId, region: ctx.region });
}

// ---------------------------------------------------------------------------------------------
// Shapes: a route's state is worked out when described, from whether its target is still there

interface TargetFacts {
  /** internet gateway id → attached VPC (null when detached) */
  igws: Map<string, string | null>;
  /** instance id → { state, primary ENI } */
  instances: Map<string, { state: string; eni?: string; vpc: string }>;
  /** ENI id → attached instance and its state */
  enis: Map<string, { instance: string | null; state?: string }>;
}

async function targetFacts(db: Tx, ctx: Ctx, routes: RouteRow[]): Promise<TargetFacts> {
  const ids = (type: string) => [...new Set(routes.filter((r) => r.target_type === type).map((r) => r.target_id))];
  const facts: TargetFacts = { igws: new Map(), instances: new Map(), enis: new Map() };
  facts.igws = await internetGatewayVpcs(db, ctx.accountId, ids('gateway'));
  const instanceIds = ids('instance');
  for (const [id, r] of await instanceStates(db, ctx.accountId, instanceIds)) facts.instances.set(id, { state: r.state, vpc: r.vpc_id });
  for (const e of await interfacesOfInstances(db, instanceIds)) {
    const i = facts.instances.get(e.instance_id!);
    if (i && (e.device_index === 0 || !i.eni)) i.eni = e.id;
  }
  for (const r of await interfaceInstanceStates(db, ctx.accountId, ids('network-interface'))) facts.enis.set(r.id, { instance: r.instance_id, state: r.state ?? undefined });
  return facts;
}

function toRoute(ctx: Ctx, r: RouteRow, vpcId: string, facts: TargetFacts): Route {
  const out: Route = { ...destinationFields(r.destination), Origin: r.origin as Route['Origin'] };
  let active = false;
  switch (r.target_type) {
    case 'local':
      active = true;
      break;
    case 'gateway':
      active = facts.igws.get(r.target_id) === vpcId;
      break;
    case 'instance': {
      const i = facts.instances.get(r.target_id);
      // The same rule as the data plane's (controllers/network.ts): it forwards while the instance runs.
      active = Boolean(i?.eni && forwardsThrough(i.state));
      out.InstanceOwnerId = ctx.accountId;
      if (i?.eni) out.NetworkInterfaceId = i.eni;
      break;
    }
    case 'network-interface': {
      const e = facts.enis.get(r.target_id);
      active = Boolean(e?.instance && forwardsThrough(e.state));
      if (e?.instance) {
        out.InstanceId = e.instance;
        out.InstanceOwnerId = ctx.accountId;
      }
      break;
    }
    default:
      // NAT gateways, peering connections, transit gateways…: none can exist here, so a route to one is a blackhole.
      active = false;
  }
  (out as Record<string, unknown>)[routeTargetFields[r.target_type] ?? 'GatewayId'] = r.target_id;
  out.State = active ? 'active' : 'blackhole';
  return out;
}

function toAssociation(a: AssocRow): RouteTableAssociation {
  const out: RouteTableAssociation = {
    Main: a.main === 1,
    RouteTableAssociationId: a.id,
    RouteTableId: a.route_table_id,
    AssociationState: { State: 'associated' },
  };
  if (a.subnet_id) out.SubnetId = a.subnet_id;
  if (a.gateway_id) out.GatewayId = a.gateway_id;
  return out;
}

/** Route tables of the caller as EC2 describes them (one query per table kind). */
async function routeTableShapes(ctx: Ctx, tables: Row<'route_tables'>[]): Promise<RouteTable[]> {
  const ids = tables.map((t) => t.id);
  const routes = await routesOfTables(ctx.db, ids);
  const assocs = await associationsOfTables(ctx.db, ids);
  const facts = await targetFacts(ctx.db, ctx, routes);
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'route-table', ids);
  const byTable = <T extends { route_table_id: string }>(rows: T[]) => {
    const m = new Map<string, T[]>();
    for (const r of rows) {
      let l = m.get(r.route_table_id);
      if (!l) m.set(r.route_table_id, (l = []));
      l.push(r);
    }
    return m;
  };
  const routesOf = byTable(routes);
  const assocsOf = byTable(assocs);
  return tables.map((t) => ({
    Associations: (assocsOf.get(t.id) ?? []).sort((a, b) => b.main - a.main || (a.id < b.id ? -1 : 1)).map(toAssociation),
    PropagatingVgws: [],
    RouteTableId: t.id,
    Routes: (routesOf.get(t.id) ?? []).sort(routeOrder).map((r) => toRoute(ctx, r, t.vpc_id, facts)),
    Tags: tags.get(t.id) ?? [],
    VpcId: t.vpc_id,
    OwnerId: t.account_id,
  }));
}

/** Local routes first, then IPv4 before IPv6 before prefix lists, each by destination. */
function routeOrder(a: RouteRow, b: RouteRow): number {
  const rank = (r: RouteRow) => (r.target_type === 'local' ? 0 : 1) * 10 + (r.destination.startsWith('pl-') ? 2 : r.destination.includes(':') ? 1 : 0);
  return rank(a) - rank(b) || (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Handlers

async function createRouteTable(ctx: Ctx, input: CreateRouteTableRequest): Promise<CreateRouteTableResult> {
  const vpc = await getVpc(ctx, input.VpcId!);
  const tags = tagsForType(input.TagSpecifications, ['route-table'], 'route-table');
  const id = await createRouteTableRecords(ctx, vpc, false);
  await putTags(ctx, 'route-table', id, tags);
  const [shape] = await routeTableShapes(ctx, [await getRouteTable(ctx, id)]);
  return { RouteTable: shape };
}

async function describeRouteTables(ctx: Ctx, input: DescribeRouteTablesRequest): Promise<DescribeRouteTablesResult> {
  const rows = await routeTablesOf(ctx.db, ctx.accountId, ctx.region);
  const page = describe(await routeTableShapes(ctx, rows), {
    ids: input.RouteTableIds,
    idOf: (t) => t.RouteTableId!,
    missing: (ids) => missingIds('routeTable', ids),
    filters: input.Filters,
    filterMap: routeTableFilters,
    tags: (t) => t.Tags,
    maxResults: input.MaxResults,
    nextToken: input.NextToken,
    min: 5,
    max: 100,
  });
  return { RouteTables: page.items, NextToken: page.nextToken };
}

async function deleteRouteTable(ctx: Ctx, input: DeleteRouteTableRequest): Promise<Record<string, never>> {
  const table = await getRouteTable(ctx, input.RouteTableId!);
  // The main association counts too: the main table cannot go while it is main.
  if (await hasAssociation(ctx.db, table.id)) throw dependencies('routeTable', table.id);
  await deleteRouteTableRecords(ctx, table.id);
  await syncVpc(ctx, table.vpc_id);
  return {};
}

/** The routes table's (target_type, target_id) for a CreateRoute/ReplaceRoute target, checked. */
async function resolveTarget(ctx: Ctx, table: Row<'route_tables'>, input: CreateRouteRequest): Promise<{ type: string; id: string }> {
  const t = routeTarget(input);
  const differentNetworks = (what: string) => Errors.invalidParameterValue(`route table ${table.id} and ${what} ${t.id} belong to different networks`);
  switch (t.field) {
    case 'GatewayId': {
      if (!t.id.startsWith('igw-')) throw new ApiError('InvalidGatewayID.NotFound', `The gateway ID '${t.id}' does not exist`);
      const igw = await findInternetGateway(ctx.db, ctx.accountId, ctx.region, t.id);
      if (!igw) throw new ApiError('InvalidGatewayID.NotFound', `The gateway ID '${t.id}' does not exist`);
      if (igw.vpc_id !== table.vpc_id) throw differentNetworks('network gateway');
      return { type: 'gateway', id: igw.id };
    }
    case 'InstanceId': {
      const inst = await findInstanceState(ctx.db, ctx.accountId, ctx.region, t.id);
      if (!inst || inst.state === 'terminated') throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${t.id}' does not exist`);
      if (inst.vpc_id !== table.vpc_id) throw differentNetworks('instance');
      const enis = await interfaceIdsOfInstance(ctx.db, inst.id);
      if (enis.length > 1) {
        throw new ApiError('InvalidInstanceID', `There are multiple interfaces attached to instance '${inst.id}'. Please specify an interface ID for the operation instead.`);
      }
      return { type: 'instance', id: inst.id };
    }
    case 'NetworkInterfaceId': {
      const eni = await findInterfaceVpc(ctx.db, ctx.accountId, ctx.region, t.id);
      if (!eni) throw new ApiError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${t.id}' does not exist`);
      if (eni.vpc_id !== table.vpc_id) throw differentNetworks('interface');
      return { type: 'network-interface', id: eni.id };
    }
    default: {
      // Targets of kinds cumulo has no resources for yet: none of them can exist.
      const missing: Record<string, [string, string]> = {
        NatGatewayId: ['InvalidNatGatewayID.NotFound', `The natGateway ID '${t.id}' does not exist`],
        VpcPeeringConnectionId: ['InvalidVpcPeeringConnectionID.NotFound', `The vpcPeeringConnection ID '${t.id}' does not exist`],
        EgressOnlyInternetGatewayId: ['InvalidGatewayID.NotFound', `The gateway ID '${t.id}' does not exist`],
        TransitGatewayId: ['InvalidGatewayID.NotFound', `The transitGateway ID '${t.id}' does not exist`],
        LocalGatewayId: ['InvalidGatewayID.NotFound', `The localGateway ID '${t.id}' does not exist`],
        CarrierGatewayId: ['InvalidCarrierGatewayID.NotFound', `The carrierGateway ID '${t.id}' does not exist`],
        VpcEndpointId: ['InvalidVpcEndpointId.NotFound', `The vpcEndpoint ID '${t.id}' does not exist`],
        CoreNetworkArn: ['InvalidParameterValue', `The core network '${t.id}' does not exist`],
        OdbNetworkArn: ['InvalidParameterValue', `The ODB network '${t.id}' does not exist`],
      };
      const [code, message] = missing[t.field]!;
      throw new ApiError(code, message);
    }
  }
}

/** A route more specific than a VPC block may only go to an interface or an instance. */
async function checkMoreSpecific(ctx: Ctx, table: Row<'route_tables'>, dest: RouteDestination, targetType: string): Promise<void> {
  if (dest.family === 0 || targetType === 'instance' || targetType === 'network-interface') return;
  const vpc = await findVpc(ctx, table.vpc_id);
  if (!vpc) return;
  const c = parseCidrStrict(dest.destination)!;
  const blocks = [...vpcIpv4Blocks(vpc), ...vpcIpv6Blocks(vpc)].map((b) => parseCidrStrict(b)!);
  if (blocks.some((b) => contains(b, c))) {
    throw Errors.invalidParameterValue(
      `The destination CIDR block ${dest.destination} is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance.`,
    );
  }
}

async function findRoute(ctx: Ctx, tableId: string, destination: string): Promise<RouteRow | undefined> {
  return findRouteRow(ctx.db, tableId, destination);
}

/** A destination the data plane can route: IPv4, or a prefix list of the caller's (IPv6 is not carried). */
async function routableDestination(ctx: Ctx, input: CreateRouteRequest | ReplaceRouteRequest): Promise<RouteDestination> {
  const dest = routeDestination(input);
  if (dest.family === 6) throw ipv6Unsupported('DestinationIpv6CidrBlock');
  if (dest.family === 0) await getPrefixList(ctx, dest.destination);
  return dest;
}

async function createRoute(ctx: Ctx, input: CreateRouteRequest): Promise<CreateRouteResult> {
  const table = await getRouteTable(ctx, input.RouteTableId!);
  const dest = await routableDestination(ctx, input);
  const target = await resolveTarget(ctx, table, input);
  if (await findRoute(ctx, table.id, dest.destination)) {
    throw new ApiError('RouteAlreadyExists', `The route identified by ${dest.destination} already exists.`);
  }
  await checkMoreSpecific(ctx, table, dest, target.type);
  await insertRoute(ctx.db, { route_table_id: table.id, destination: dest.destination, target_type: target.type, target_id: target.id, origin: 'CreateRoute', state: 'active' });
  await syncVpc(ctx, table.vpc_id);
  return { Return: true };
}

function destinationParam(dest: RouteDestination): string {
  return dest.family === 4 ? 'destination-cidr-block' : dest.family === 6 ? 'destination-ipv6-cidr-block' : 'destination-prefix-list-id';
}

async function deleteRoute(ctx: Ctx, input: DeleteRouteRequest): Promise<Record<string, never>> {
  const table = await getRouteTable(ctx, input.RouteTableId!);
  const dest = routeDestination(input);
  const route = await findRoute(ctx, table.id, dest.destination);
  if (!route) {
    throw new ApiError('InvalidRoute.NotFound', `no route with ${destinationParam(dest)} ${dest.destination} in route table ${table.id}`);
  }
  if (route.target_type === 'local') {
    throw Errors.invalidParameterValue(`cannot remove local route ${dest.destination} in route table ${table.id}`);
  }
  await deleteRouteRow(ctx.db, table.id, dest.destination);
  await syncVpc(ctx, table.vpc_id);
  return {};
}

async function replaceRoute(ctx: Ctx, input: ReplaceRouteRequest): Promise<Record<string, never>> {
  const table = await getRouteTable(ctx, input.RouteTableId!);
  const dest = await routableDestination(ctx, input);
  const route = await findRoute(ctx, table.id, dest.destination);
  if (!route) {
    throw Errors.invalidParameterValue(`There is no route defined for '${dest.destination}' in the route table. Use CreateRoute instead.`);
  }
  let target: { type: string; id: string };
  if (input.LocalTarget) {
    // Restores a VPC block's route to local after it was pointed at an appliance.
    const vpc = await findVpc(ctx, table.vpc_id);
    const locals = vpc ? [...vpcIpv4Blocks(vpc), ...vpcIpv6Blocks(vpc)] : [];
    if (!locals.includes(dest.destination)) {
      throw Errors.invalidParameterValue(`The destination ${dest.destination} is not a CIDR block of the VPC: it cannot target local.`);
    }
    target = { type: 'local', id: 'local' };
  } else {
    target = await resolveTarget(ctx, table, input);
    if (route.target_type === 'local' || route.origin === 'CreateRouteTable') {
      if (target.type !== 'instance' && target.type !== 'network-interface') {
        throw Errors.invalidParameterValue(`The local route ${dest.destination} can only be replaced with a route to an interface or an instance.`);
      }
    } else {
      await checkMoreSpecific(ctx, table, dest, target.type);
    }
  }
  await setRouteTarget(ctx.db, table.id, dest.destination, target);
  await syncVpc(ctx, table.vpc_id);
  return {};
}

async function associateRouteTable(ctx: Ctx, input: AssociateRouteTableRequest): Promise<AssociateRouteTableResult> {
  const table = await getRouteTable(ctx, input.RouteTableId!);
  // A BYOIP pool for the gateway's addresses: no such pool exists here.
  if (input.PublicIpv4Pool !== undefined)
    throw Errors.invalidParameterValue(`Value (${input.PublicIpv4Pool}) for parameter PublicIpv4Pool is invalid. The public IPv4 pool does not exist: cumulo has no BYOIP pools.`);
  if ((input.SubnetId === undefined) === (input.GatewayId === undefined)) {
    if (input.SubnetId === undefined) throw Errors.missingParameter('SubnetId or GatewayId');
    throw Errors.invalidParameterCombination('Only one of SubnetId or GatewayId can be specified.');
  }
  const conflict = () => new ApiError('Resource.AlreadyAssociated', `the specified association for route table ${table.id} conflicts with an existing association`);
  const id = newId('rtbassoc');
  if (input.SubnetId !== undefined) {
    const subnet = await getSubnet(ctx, input.SubnetId);
    if (subnet.vpc_id !== table.vpc_id) {
      throw Errors.invalidParameterValue(`Route table ${table.id} and subnet ${subnet.id} belong to different networks`);
    }
    if (await isAssociated(ctx.db, { subnetId: subnet.id })) throw conflict();
    await insertAssociation(ctx.db, { id, route_table_id: table.id, subnet_id: subnet.id, gateway_id: null, main: 0 });
  } else {
    const gw = input.GatewayId!;
    const igw = await findInternetGateway(ctx.db, ctx.accountId, ctx.region, gw);
    if (!igw) throw new ApiError('InvalidGatewayID.NotFound', `The gateway ID '${gw}' does not exist`);
    if (igw.vpc_id !== table.vpc_id) throw Errors.invalidParameterValue(`Route table ${table.id} and gateway ${gw} belong to different networks`);
    if (await isAssociated(ctx.db, { gatewayId: gw })) throw conflict();
    await insertAssociation(ctx.db, { id, route_table_id: table.id, subnet_id: null, gateway_id: gw, main: 0 });
  }
  await syncVpc(ctx, table.vpc_id);
  return { AssociationId: id, AssociationState: { State: 'associated' } };
}

/** An association of one of the caller's route tables. */
async function getAssociation(ctx: Ctx, associationId: string | undefined): Promise<AssocRow & { vpc_id: string }> {
  if (!associationId) throw Errors.missingParameter('AssociationId');
  const row = await findAssociation(ctx.db, ctx.accountId, ctx.region, associationId);
  if (!row) throw notFound.association(associationId);
  return row;
}

async function disassociateRouteTable(ctx: Ctx, input: DisassociateRouteTableRequest): Promise<Record<string, never>> {
  const assoc = await getAssociation(ctx, input.AssociationId);
  if (assoc.main) throw Errors.invalidParameterValue(`cannot disassociate the main route table association ${assoc.id}`);
  await deleteAssociation(ctx.db, assoc.id);
  await syncVpc(ctx, assoc.vpc_id);
  return {};
}

async function replaceRouteTableAssociation(ctx: Ctx, input: ReplaceRouteTableAssociationRequest): Promise<ReplaceRouteTableAssociationResult> {
  const assoc = await getAssociation(ctx, input.AssociationId);
  const table = await getRouteTable(ctx, input.RouteTableId!);
  if (table.vpc_id !== assoc.vpc_id) {
    const what = assoc.subnet_id ? `subnet ${assoc.subnet_id}` : assoc.gateway_id ? `gateway ${assoc.gateway_id}` : `network ${assoc.vpc_id}`;
    throw Errors.invalidParameterValue(`Route table ${table.id} and ${what} belong to different networks`);
  }
  // A new association id each time, the main one included: that is how the main table moves.
  const id = newId('rtbassoc');
  await deleteAssociation(ctx.db, assoc.id);
  await insertAssociation(ctx.db, { id, route_table_id: table.id, subnet_id: assoc.subnet_id, gateway_id: assoc.gateway_id, main: assoc.main });
  await syncVpc(ctx, table.vpc_id);
  return { NewAssociationId: id, AssociationState: { State: 'associated' } };
}

export const handlers = {
  CreateRouteTable: createRouteTable,
  DescribeRouteTables: describeRouteTables,
  DeleteRouteTable: deleteRouteTable,
  CreateRoute: createRoute,
  DeleteRoute: deleteRoute,
  ReplaceRoute: replaceRoute,
  AssociateRouteTable: associateRouteTable,
  DisassociateRouteTable: disassociateRouteTable,
  ReplaceRouteTableAssociation: replaceRouteTableAssociation,
} satisfies Ec2Handlers;
