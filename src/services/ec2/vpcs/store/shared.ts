// What the family's table parts share: id kinds with EC2's errors and wording, and chunked IN lists.
import { ApiError, Errors } from '../../../errors.js';
import { idPattern } from '../../../../lib/ids.js';

interface IdKind {
  prefix: string;
  label: string;
  notFound: string;
  malformed: string;
}

const idKinds = {
  vpc: { prefix: 'vpc', label: 'vpc', notFound: 'InvalidVpcID.NotFound', malformed: 'InvalidVpcID.Malformed' },
  subnet: { prefix: 'subnet', label: 'subnet', notFound: 'InvalidSubnetID.NotFound', malformed: 'InvalidSubnetID.Malformed' },
  igw: { prefix: 'igw', label: 'internetGateway', notFound: 'InvalidInternetGatewayID.NotFound', malformed: 'InvalidInternetGatewayId.Malformed' },
  routeTable: { prefix: 'rtb', label: 'routeTable', notFound: 'InvalidRouteTableID.NotFound', malformed: 'InvalidRouteTableId.Malformed' },
  networkAcl: { prefix: 'acl', label: 'networkAcl', notFound: 'InvalidNetworkAclID.NotFound', malformed: 'InvalidNetworkAclId.Malformed' },
  dhcpOptions: { prefix: 'dopt', label: 'dhcpOption', notFound: 'InvalidDhcpOptionID.NotFound', malformed: 'InvalidDhcpOptionsId.Malformed' },
} satisfies Record<string, IdKind>;

export type IdKindName = keyof typeof idKinds;

const malformedError = (k: IdKind, id: string) => new ApiError(k.malformed, `Invalid id: "${id}" (expecting "${k.prefix}-...")`);

/** EC2 tells an id of the wrong shape (…Malformed) from one that is not there (…NotFound). */
export function missingIds(kind: IdKindName, ids: string[]): ApiError {
  const k: IdKind = idKinds[kind];
  const bad = ids.find((id) => !idPattern(k.prefix).test(id));
  if (bad !== undefined) return malformedError(k, bad);
  return ids.length === 1
    ? new ApiError(k.notFound, `The ${k.label} ID '${ids[0]}' does not exist`)
    : new ApiError(k.notFound, `The ${k.label} IDs '${ids.join(', ')}' do not exist`);
}

export const notFound = {
  vpc: (id: string) => missingIds('vpc', [id]),
  subnet: (id: string) => missingIds('subnet', [id]),
  igw: (id: string) => missingIds('igw', [id]),
  routeTable: (id: string) => missingIds('routeTable', [id]),
  networkAcl: (id: string) => missingIds('networkAcl', [id]),
  association: (id: string) => new ApiError('InvalidAssociationID.NotFound', `The association ID '${id}' does not exist`),
};

export function dependencies(label: string, id: string): ApiError {
  return Errors.dependencyViolation(`The ${label} '${id}' has dependencies and cannot be deleted.`);
}

export const bool = (n: number | null | undefined) => n === 1;

export function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
