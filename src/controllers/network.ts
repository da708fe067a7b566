// The vpc.sync reconciler: a VPC's data plane on this host follows the store.
//
//   vpc.sync   any change to a VPC's groups, rules, ACLs, routes, gateway, addresses, interfaces or
//              instance states (queued by queueVpcSync in the change's transaction) → the VPC's
//              desired state (VpcSpec) rebuilt from the store → network.applyVpc, or removeVpc when
//              the VPC is gone (the fake network records the spec and runs nothing).
//
// The instance controllers call syncVpcNow before booting an instance (its VPC's namespace and
// rules must exist first), and adoptHost at server start (the metadata and DNS ports change).
import type { VpcNetwork } from '../host/network/part.js';
import type { NaclEntrySpec, RouteSpec, SecurityGroupSpec, SgRuleSpec, SubnetSpec, VpcSpec } from '../host/network/vpc-spec.js';
import { contains, parseCidrStrict, type Cidr } from '../lib/cidr.js';
import type { Tx } from '../store/db.js';
import type { Row } from '../store/schema.js';
import { VPC_SYNC } from '../services/ec2/common/network-sync.js';
import { publicIpsOfInterfaces } from '../services/ec2/common/public-ips.js';
import { buildInterfaceSpec, type InterfaceRow } from './specs.js';
import { currentCidrs } from '../services/ec2/prefix-lists/store.js';
import { forwardsThrough } from '../services/ec2/vpcs/route-state.js';
import { interfacesUpInVpc, vpcsWithInstancesIn } from '../services/ec2/network-interfaces/store.js';
import { rulesOf } from '../services/ec2/security-groups/store.js';
import { vpcById, vpcDataPlaneRows, vpcIpv4Blocks } from '../services/ec2/vpcs/store.js';
import type { ControllerDeps, Job, JobResult, Runner } from './runner.js';

/** Instance states whose interfaces are in their VPC's data plane: up, or on their way up or down. */
export const UP_STATES = ['pending', 'running', 'stopping', 'shutting-down'];

export function registerNetworkControllers(runner: Runner): void {
  runner.register(VPC_SYNC, syncVpc);
}

async function syncVpc(job: Job<typeof VPC_SYNC>, deps: ControllerDeps): Promise<JobResult> {
  await syncVpcNow(deps, job.resource_id);
}

/** Everything of the store that one VPC's spec is built from. */
export interface VpcRows {
  vpc: Row<'vpcs'>;
  subnets: Row<'subnets'>[];
  /** Internet gateways; only the one attached to this VPC (vpc_id) makes routes to it work. */
  internetGateways: Pick<Row<'internet_gateways'>, 'id' | 'vpc_id'>[];
  routeTables: Pick<Row<'route_tables'>, 'id' | 'vpc_id'>[];
  routes: Row<'routes'>[];
  routeTableAssociations: Row<'route_table_associations'>[];
  networkAcls: Pick<Row<'network_acls'>, 'id' | 'vpc_id' | 'is_default'>[];
  networkAclEntries: Row<'network_acl_entries'>[];
  networkAclAssociations: Row<'network_acl_associations'>[];
  /** Rules of the groups the interfaces are in and of the groups those rules reference. */
  securityGroupRules: Row<'security_group_rules'>[];
  /** Interfaces of this VPC attached to instances in UP_STATES. */
  interfaces: InterfaceRow[];
  /** Their instances (metadata options give the hop limit; the state whether routes through them forward). */
  instances: Pick<Row<'instances'>, 'id' | 'metadata_options' | 'state'>[];
  /** NAT mappings by interface id (publicIpsOfInterfaces). */
  publicIps: Map<string, { publicIp: string; privateIp: string }[]>;
  /** The current CIDRs of the prefix lists that rules and routes name, by list id. */
  prefixLists?: Map<string, string[]>;
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const isIpv4Cidr = (s: string | null | undefined): s is string => !!s && !s.includes(':') && !s.startsWith('pl-') && s.includes('/');

/** Where a route to an instance or an interface goes: that interface, while its instance runs here. */
export interface RouteHops {
  /** Interface id → its primary private IP, for interfaces of running instances. */
  forwarding: Map<string, string>;
  /** Instance id → its primary (device 0) interface id. */
  primaryOf: Map<string, string>;
}

function routeSpec(r: Row<'routes'>, attachedGateway: string | undefined, hops: RouteHops): RouteSpec {
  const out: RouteSpec = { destination: r.destination, target: 'blackhole', targetId: r.target_id };
  if (r.target_type === 'local') out.target = 'local';
  // A route to a gateway works only while that gateway is attached to this VPC.
  else if (r.target_type === 'gateway' && r.target_id.startsWith('igw-') && r.target_id === attachedGateway) out.target = 'internet-gateway';
  else if (r.target_type === 'instance' || r.target_type === 'network-interface') {
    const eniId = r.target_type === 'instance' ? hops.primaryOf.get(r.target_id) : r.target_id;
    const nextHop = eniId ? hops.forwarding.get(eniId) : undefined;
    if (eniId && nextHop) Object.assign(out, { target: 'interface', eniId, nextHop });
  }
  return out;
}

const ACL_PROTOCOLS: Record<string, number> = { all: -1, tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

function aclProtocolNumber(p: string): number {
  const named = ACL_PROTOCOLS[p.toLowerCase()];
  if (named !== undefined) return named;
  const n = Number(p);
  return Number.isInteger(n) ? n : -1;
}

function naclEntrySpec(e: Row<'network_acl_entries'>): NaclEntrySpec {
  const protocol = aclProtocolNumber(e.protocol);
  const out: NaclEntrySpec = { ruleNumber: e.rule_number, egress: e.egress === 1, protocol, action: e.rule_action === 'allow' ? 'allow' : 'deny', cidr: e.cidr_block! };
  // Ports mean something for TCP and UDP only, type and code for ICMP only.
  if ((protocol === 6 || protocol === 17) && e.port_from !== null && e.port_to !== null) {
    out.portFrom = e.port_from;
    out.portTo = e.port_to;
  }
  if (protocol === 1) {
    if (e.icmp_type !== null) out.icmpType = e.icmp_type;
    if (e.icmp_code !== null) out.icmpCode = e.icmp_code;
  }
  return out;
}

const SG_PROTOCOLS: Record<string, SgRuleSpec['protocol']> = { '-1': 'all', all: 'all', tcp: 'tcp', udp: 'udp', icmp: 'icmp', '6': 'tcp', '17': 'udp', '1': 'icmp', icmpv6: 58 };

function sgProtocol(p: string): SgRuleSpec['protocol'] {
  const named = SG_PROTOCOLS[p.toLowerCase()];
  if (named !== undefined) return named;
  const n = Number(p);
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : 'all';
}

/** One stored rule in the data plane's terms: a prefix list's rule is one per entry; an IPv6 rule (none is accepted any more) none. */
function sgRuleSpecs(r: Row<'security_group_rules'>, prefixLists: Map<string, string[]>): SgRuleSpec[] {
  const protocol = sgProtocol(r.ip_protocol);
  const base: SgRuleSpec = { protocol };
  if ((protocol === 'tcp' || protocol === 'udp' || protocol === 'icmp') && r.from_port !== null && r.to_port !== null) {
    base.fromPort = r.from_port;
    base.toPort = r.to_port;
  }
  if (r.referenced_group_id) return [{ ...base, groupId: r.referenced_group_id }];
  if (isIpv4Cidr(r.cidr_ipv4)) return [{ ...base, cidr: r.cidr_ipv4 }];
  if (r.prefix_list_id) return (prefixLists.get(r.prefix_list_id) ?? []).filter(isIpv4Cidr).map((cidr) => ({ ...base, cidr }));
  return [];
}

/** The VPC's desired data plane, from its rows alone (pure: table-tested). */
export function vpcSpecFromRows(rows: VpcRows): VpcSpec {
  const { vpc } = rows;
  const blocks = vpcIpv4Blocks(vpc);
  const cidrs = [vpc.cidr_block, ...blocks.filter((b) => b !== vpc.cidr_block)];
  const gateway = rows.internetGateways.find((g) => g.vpc_id === vpc.id)?.id;

  // Routes to instances and interfaces: the interfaces of running instances of this VPC.
  const stateOf = new Map(rows.instances.map((i) => [i.id, i.state]));
  const hops: RouteHops = { forwarding: new Map(), primaryOf: new Map() };
  for (const e of rows.interfaces) {
    if (!e.instance_id || e.private_ip === null) continue;
    if ((e.device_index ?? 0) === 0) hops.primaryOf.set(e.instance_id, e.id);
    if (forwardsThrough(stateOf.get(e.instance_id))) hops.forwarding.set(e.id, e.private_ip);
  }

  // Route tables: a subnet's explicit association, else the VPC's main table.
  const tables = new Set(rows.routeTables.filter((t) => t.vpc_id === vpc.id).map((t) => t.id));
  const assocs = rows.routeTableAssociations.filter((a) => tables.has(a.route_table_id));
  const mainTable = assocs.find((a) => a.main === 1)?.route_table_id;
  const tableOf = new Map(assocs.filter((a) => a.subnet_id && a.main !== 1).map((a) => [a.subnet_id!, a.route_table_id]));
  const prefixLists = rows.prefixLists ?? new Map<string, string[]>();
  const routesOf = new Map<string, RouteSpec[]>();
  const add = (table: string, route: RouteSpec) => {
    let list = routesOf.get(table);
    if (!list) routesOf.set(table, (list = []));
    list.push(route);
  };
  for (const r of rows.routes) if (tables.has(r.route_table_id) && isIpv4Cidr(r.destination)) add(r.route_table_id, routeSpec(r, gateway, hops));
  // A route to a prefix list is a route per entry; a route to that CIDR given explicitly wins. As
  // CreateRoute says of a CIDR, an entry inside the VPC's blocks may only go to an appliance.
  const vpcBlocks = cidrs.map((c) => parseCidrStrict(c)).filter((c): c is Cidr => !!c);
  const insideVpc = (cidr: string) => {
    const c = parseCidrStrict(cidr);
    return !c || vpcBlocks.some((b) => contains(b, c));
  };
  for (const r of rows.routes) {
    if (!tables.has(r.route_table_id) || !r.destination.startsWith('pl-')) continue;
    const taken = new Set((routesOf.get(r.route_table_id) ?? []).map((x) => x.destination));
    const appliance = r.target_type === 'instance' || r.target_type === 'network-interface';
    for (const cidr of prefixLists.get(r.destination) ?? []) {
      if (!isIpv4Cidr(cidr) || taken.has(cidr) || (!appliance && insideVpc(cidr))) continue;
      taken.add(cidr);
      add(r.route_table_id, { ...routeSpec(r, gateway, hops), destination: cidr });
    }
  }
  for (const list of routesOf.values()) list.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));

  // Network ACLs: a subnet's association, else the VPC's default ACL.
  const acls = rows.networkAcls.filter((a) => a.vpc_id === vpc.id);
  const aclIds = new Set(acls.map((a) => a.id));
  const defaultAcl = acls.find((a) => a.is_default === 1)?.id;
  const aclOf = new Map(rows.networkAclAssociations.filter((a) => aclIds.has(a.network_acl_id)).map((a) => [a.subnet_id, a.network_acl_id]));
  const entriesOf = new Map<string, NaclEntrySpec[]>();
  for (const e of rows.networkAclEntries) {
    if (!aclIds.has(e.network_acl_id) || !isIpv4Cidr(e.cidr_block)) continue;
    let list = entriesOf.get(e.network_acl_id);
    if (!list) entriesOf.set(e.network_acl_id, (list = []));
    list.push(naclEntrySpec(e));
  }
  for (const list of entriesOf.values()) list.sort((a, b) => Number(a.egress) - Number(b.egress) || a.ruleNumber - b.ruleNumber);

  const subnetRows = rows.subnets.filter((s) => s.vpc_id === vpc.id).sort(byId);
  const subnets: SubnetSpec[] = subnetRows.map((s) => {
    const table = tableOf.get(s.id) ?? mainTable;
    const acl = aclOf.get(s.id) ?? defaultAcl;
    return {
      subnetId: s.id,
      cidr: s.cidr_block,
      routes: table ? (routesOf.get(table) ?? []) : [],
      networkAcl: { networkAclId: acl ?? '', entries: acl ? (entriesOf.get(acl) ?? []) : [] },
    };
  });

  // Interfaces: those of instances that are up, each instance's primary first.
  const cidrOf = new Map(subnetRows.map((s) => [s.id, s.cidr_block]));
  const options = new Map(rows.instances.map((i) => [i.id, i.metadata_options]));
  const interfaces = rows.interfaces
    .filter((e) => e.instance_id && options.has(e.instance_id) && cidrOf.has(e.subnet_id))
    .sort((a, b) => (a.instance_id! < b.instance_id! ? -1 : a.instance_id! > b.instance_id! ? 1 : (a.device_index ?? 0) - (b.device_index ?? 0)))
    .map((e) => buildInterfaceSpec(e, { subnetCidr: cidrOf.get(e.subnet_id)!, metadataOptions: options.get(e.instance_id!), publicIps: rows.publicIps.get(e.id) }));

  // Security groups: every group an interface is in, and every group their rules reference.
  const rulesOf = new Map<string, Row<'security_group_rules'>[]>();
  for (const r of [...rows.securityGroupRules].sort((a, b) => a.seq - b.seq || byId(a, b))) {
    let list = rulesOf.get(r.group_id);
    if (!list) rulesOf.set(r.group_id, (list = []));
    list.push(r);
  }
  const used = new Set(interfaces.flatMap((i) => i.groups));
  const wanted = new Set(used);
  for (const g of used) for (const r of rulesOf.get(g) ?? []) if (r.referenced_group_id) wanted.add(r.referenced_group_id);
  const securityGroups: SecurityGroupSpec[] = [...wanted].sort().map((groupId) => {
    const mine = rulesOf.get(groupId) ?? [];
    const specs = (egress: number) => mine.filter((r) => r.is_egress === egress).flatMap((r) => sgRuleSpecs(r, prefixLists));
    return { groupId, ingress: specs(0), egress: specs(1) };
  });

  const spec: VpcSpec = {
    vpcId: vpc.id,
    accountId: vpc.account_id,
    region: vpc.region,
    cidrs,
    dnsSupport: vpc.enable_dns_support === 1,
    subnets,
    securityGroups,
    interfaces,
  };
  if (gateway) spec.internetGatewayId = gateway;
  return spec;
}

/** The VPC's desired data plane as the store has it now; undefined when the VPC is gone. */
export async function loadVpcSpec(db: Tx, vpcId: string): Promise<VpcSpec | undefined> {
  const vpc = await vpcById(db, vpcId);
  if (!vpc) return undefined;
  const own = await vpcDataPlaneRows(db, vpcId);
  const { interfaces, instances, groupIds: used } = await interfacesUpInVpc(db, vpcId, UP_STATES);
  const securityGroupRules = await rulesOf(db, used);
  const referenced = [...new Set(securityGroupRules.map((r) => r.referenced_group_id).filter((g): g is string => !!g && !used.includes(g)))];
  securityGroupRules.push(...(await rulesOf(db, referenced)));

  const publicIps = interfaces.length
    ? await publicIpsOfInterfaces(
        db,
        interfaces.map((e) => e.id),
      )
    : new Map<string, { publicIp: string; privateIp: string }[]>();
  const listIds = [
    ...securityGroupRules.flatMap((r) => (r.prefix_list_id ? [r.prefix_list_id] : [])),
    ...own.routes.flatMap((r) => (r.destination.startsWith('pl-') ? [r.destination] : [])),
  ];
  const prefixLists = listIds.length ? await currentCidrs(db, listIds) : new Map<string, string[]>();
  return vpcSpecFromRows({
    vpc,
    ...own,
    securityGroupRules,
    interfaces,
    instances,
    publicIps,
    prefixLists,
  });
}

// Syncs of one VPC take turns (per network part): a spec loaded earlier is never applied after one
// loaded later, whether it came from the queue or from an instance controller. Callers that
// arrive while a sync runs share the one queued behind it (it loads after they arrived), so a
// launch of many instances into one VPC applies a few specs, not one per instance.
class Turns {
  private running?: Promise<void>;
  private queued?: Promise<void>;

  constructor(private readonly idle: () => void) {}

  run(fn: () => Promise<void>): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start(fn);
    const q = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start(fn);
      });
    this.queued = q;
    return q;
  }

  private start(fn: () => Promise<void>): Promise<void> {
    const p: Promise<void> = fn().finally(() => {
      if (this.running === p) this.running = undefined;
      if (!this.running && !this.queued) this.idle();
    });
    this.running = p;
    return p;
  }
}

const turns = new WeakMap<VpcNetwork, Map<string, Turns>>();

function inTurn(network: VpcNetwork, vpcId: string, fn: () => Promise<void>): Promise<void> {
  let mine = turns.get(network);
  if (!mine) turns.set(network, (mine = new Map()));
  let t = mine.get(vpcId);
  if (!t) {
    const byVpc = mine;
    const created: Turns = new Turns(() => {
      if (byVpc.get(vpcId) === created) byVpc.delete(vpcId);
    });
    mine.set(vpcId, (t = created));
  }
  return t.run(fn);
}

/** Take the VPC's data plane on this host to what the store says, now (not through the queue). */
export async function syncVpcNow(deps: Pick<ControllerDeps, 'db' | 'network'>, vpcId: string): Promise<void> {
  const network = deps.network;
  await inTurn(network, vpcId, async () => {
    const spec = await loadVpcSpec(deps.db, vpcId);
    if (spec) await network.applyVpc(spec);
    else await network.removeVpc(vpcId);
  });
}

/** VPCs with an interface of an instance that is up (or on its way up or down). */
export async function vpcsWithInstancesUp(db: Tx): Promise<{ vpcId: string; accountId: string; region: string }[]> {
  return vpcsWithInstancesIn(db, UP_STATES);
}
