// What an id prefix names: EC2's resource type, the table that holds it, and the error EC2 gives
// when it does not exist. Used by CreateTags/DeleteTags and anything that takes "any resource".
import type { Database, Row } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';
import type { Tx } from '../../../store/db.js';

export interface ResourceKind {
  type: string;
  table?: keyof Database;
  /** The table's column holding the id, when it is not `id`. */
  idColumn?: string;
  notFound: string;
  label: string;
}

export const resourceKinds: Record<string, ResourceKind> = {
  i: { type: 'instance', table: 'instances', notFound: 'InvalidInstanceID.NotFound', label: 'instance ID' },
  vpc: { type: 'vpc', table: 'vpcs', notFound: 'InvalidVpcID.NotFound', label: 'vpc ID' },
  subnet: { type: 'subnet', table: 'subnets', notFound: 'InvalidSubnetID.NotFound', label: 'subnet ID' },
  sg: { type: 'security-group', table: 'security_groups', notFound: 'InvalidGroup.NotFound', label: 'security group ID' },
  sgr: { type: 'security-group-rule', table: 'security_group_rules', notFound: 'InvalidSecurityGroupRuleId.NotFound', label: 'security group rule ID' },
  igw: { type: 'internet-gateway', table: 'internet_gateways', notFound: 'InvalidInternetGatewayID.NotFound', label: 'internet gateway ID' },
  rtb: { type: 'route-table', table: 'route_tables', notFound: 'InvalidRouteTableID.NotFound', label: 'route table ID' },
  acl: { type: 'network-acl', table: 'network_acls', notFound: 'InvalidNetworkAclID.NotFound', label: 'network ACL ID' },
  key: { type: 'key-pair', table: 'key_pairs', notFound: 'InvalidKeyPair.NotFound', label: 'key pair ID' },
  ami: { type: 'image', table: 'images', notFound: 'InvalidAMIID.NotFound', label: 'image ID' },
  vol: { type: 'volume', table: 'volumes', notFound: 'InvalidVolume.NotFound', label: 'volume ID' },
  eni: { type: 'network-interface', table: 'network_interfaces', notFound: 'InvalidNetworkInterfaceID.NotFound', label: 'network interface ID' },
  snap: { type: 'snapshot', table: 'snapshots', notFound: 'InvalidSnapshot.NotFound', label: 'snapshot ID' },
  dopt: { type: 'dhcp-options', notFound: 'InvalidDhcpOptionID.NotFound', label: 'DHCP options ID' },
  eipalloc: { type: 'elastic-ip', table: 'public_ips', idColumn: 'allocation_id', notFound: 'InvalidAllocationID.NotFound', label: 'allocation ID' },
  pl: { type: 'prefix-list', table: 'managed_prefix_lists', notFound: 'InvalidPrefixListID.NotFound', label: 'prefix list ID' },
  r: { type: 'reservation', notFound: 'InvalidReservationID.NotFound', label: 'reservation ID' },
};

const ID = /^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$/;

export function kindOf(id: string): ResourceKind | undefined {
  const m = ID.exec(id);
  return m ? resourceKinds[m[1]!] : undefined;
}

/** EC2's resource types accepted in TagSpecification.ResourceType. */
export const taggableTypes = new Set(Object.values(resourceKinds).map((k) => k.type));

/** Tables whose rows belong to one account in one region. */
export type OwnedTable =
  'vpcs' | 'subnets' | 'internet_gateways' | 'route_tables' | 'network_acls' | 'security_groups' | 'key_pairs' | 'instances' | 'volumes' | 'network_interfaces';

/** The caller's row of `table` with this id, or undefined: never another account's or region's. */
export async function findOwned<T extends OwnedTable>(ctx: Ctx, table: T, id: string): Promise<Row<T> | undefined> {
  // One table stands for all in the builder's types: every owned table has these three columns.
  const row = await ctx.db
    .selectFrom(table as 'vpcs')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .executeTakeFirst();
  return row as Row<T> | undefined;
}

/** Whether the caller has a resource of this kind with this id in the region (an image: one it owns). */
export async function ownsResource(db: Tx, kind: ResourceKind & { table: keyof Database }, accountId: string, region: string, id: string): Promise<boolean> {
  // One table stands for all in the builder's types: every table of a kind has these columns.
  const row = await db
    .selectFrom(kind.table as 'vpcs')
    .select((kind.idColumn ?? 'id') as 'id')
    .where((kind.idColumn ?? 'id') as 'id', '=', id)
    .where('region', '=', region)
    .where(kind.table === 'images' ? ('owner_id' as 'account_id') : 'account_id', '=', accountId)
    .executeTakeFirst();
  return Boolean(row);
}
