// The family's JSON columns: the VPCs' IPv4 and IPv6 CIDR associations and the subnets' IPv6 ones.
import type { SubnetIpv6CidrBlockAssociation, VpcIpv6CidrBlockAssociation } from '@aws-sdk/client-ec2';
import { jsonColumn } from '../../../../store/json-column.js';
import type { SubnetRow } from './subnets.js';
import type { VpcRow } from './vpcs.js';

/**
 * vpcs.cidr_associations holds every IPv4 association, the primary block's first: EC2 lists the
 * primary in CidrBlockAssociationSet with its own association id, which must stay stable.
 */
export interface CidrAssociation {
  AssociationId: string;
  CidrBlock: string;
  CidrBlockState: { State: string };
}

export function parseJson<T>(s: string | null | undefined, fallback: T): T {
  if (!s) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

export const cidrAssociationsOf = (row: VpcRow) => parseJson<CidrAssociation[]>(row.cidr_associations, []);

export const vpcIpv6AssociationsOf = (row: VpcRow) => parseJson<VpcIpv6CidrBlockAssociation[]>(row.ipv6_cidr_associations, []);

export const subnetIpv6AssociationsOf = (row: SubnetRow) => parseJson<SubnetIpv6CidrBlockAssociation[]>(row.ipv6_cidr_associations, []);

/** The VPC's associated IPv4 blocks (primary first). */
export function vpcIpv4Blocks(row: VpcRow): string[] {
  const blocks = cidrAssociationsOf(row)
    .filter((a) => a.CidrBlockState.State === 'associated')
    .map((a) => a.CidrBlock);
  return blocks.length ? blocks : [row.cidr_block];
}

export function vpcIpv6Blocks(row: VpcRow): string[] {
  return vpcIpv6AssociationsOf(row)
    .filter((a) => a.Ipv6CidrBlockState?.State === 'associated')
    .map((a) => a.Ipv6CidrBlock!)
    .filter(Boolean);
}

/** vpcs.cidr_associations. */
export const cidrAssociationsColumn = jsonColumn<CidrAssociation[]>({ value: [] });
