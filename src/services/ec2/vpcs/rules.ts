// EC2's rules for VPC and subnet CIDR blocks, routes and network ACL entries, as pure functions:
// each takes the request's values (and what it must fit with) and returns them canonical or throws
// EC2's error.
import { ApiError, Errors } from '../../errors.js';
import { contains, formatCidr, overlaps, parseCidrLoose, parseCidrStrict, type Cidr } from '../../../lib/cidr.js';

export const VPC_MIN_PREFIX = 16;
export const VPC_MAX_PREFIX = 28;
/** IPv4 blocks a VPC may hold, the primary included (EC2's default quota). */
export const MAX_VPC_IPV4_BLOCKS = 5;

const notACidr = (value: string, param: string) => Errors.invalidParameterValue(`Value (${value}) for parameter ${param} is invalid. This is not a valid CIDR block.`);

/** A VPC's IPv4 block: a strict CIDR (host bits zero) between /16 and /28. */
export function vpcCidr(value: string | undefined, param = 'cidrBlock'): Cidr {
  if (value === undefined || value === '') throw Errors.missingParameter('CidrBlock');
  const c = parseCidrStrict(value);
  if (!c || c.family !== 4) throw notACidr(value, param);
  if (c.prefix < VPC_MIN_PREFIX || c.prefix > VPC_MAX_PREFIX) throw new ApiError('InvalidVpc.Range', `The CIDR '${value}' is invalid.`);
  return c;
}

const PRIVATE_RANGES: Cidr[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((s) => parseCidrStrict(s)!);
const CARRIER_RANGE = parseCidrStrict('198.19.0.0/16')!;

/**
 * A secondary IPv4 block: no overlap with the VPC's blocks, and from the same RFC 1918 range as
 * the primary when the primary is private (EC2's "restricted" ranges).
 */
export function secondaryVpcCidr(value: string | undefined, existing: string[]): Cidr {
  const c = vpcCidr(value);
  const blocks = existing.map((b) => parseCidrStrict(b)!).filter(Boolean);
  if (blocks.length >= MAX_VPC_IPV4_BLOCKS) {
    throw new ApiError('CidrLimitExceeded', `This network has met its maximum number of allowed CIDRs: ${MAX_VPC_IPV4_BLOCKS}`);
  }
  for (const b of blocks) {
    if (overlaps(b, c)) {
      throw new ApiError('InvalidVpc.Range', `The CIDR '${value}' overlaps with the VPC's CIDR block ${formatCidr(b)}.`);
    }
  }
  const primary = blocks[0];
  const home = primary && PRIVATE_RANGES.find((r) => contains(r, primary));
  if (home) {
    const restricted = [...PRIVATE_RANGES.filter((r) => r !== home), CARRIER_RANGE];
    if (restricted.some((r) => overlaps(r, c))) {
      throw new ApiError(
        'InvalidVpc.Range',
        `The CIDR '${value}' is restricted. Use a CIDR from the same private address range as the current VPC CIDR, or use a publicly-routable CIDR.`,
      );
    }
  }
  return c;
}

/** A subnet's IPv4 block: /16../28, inside one of the VPC's blocks, overlapping no other subnet. */
export function subnetCidr(value: string | undefined, vpcBlocks: string[], siblings: string[]): Cidr {
  if (value === undefined || value === '') throw Errors.missingParameter('CidrBlock');
  const c = parseCidrStrict(value);
  if (!c || c.family !== 4) throw notACidr(value, 'cidrBlock');
  const range = () => new ApiError('InvalidSubnet.Range', `The CIDR '${value}' is invalid.`);
  if (c.prefix < VPC_MIN_PREFIX || c.prefix > VPC_MAX_PREFIX) throw range();
  if (!vpcBlocks.some((b) => contains(parseCidrStrict(b)!, c))) throw range();
  if (siblings.some((s) => overlaps(parseCidrStrict(s)!, c))) {
    throw new ApiError('InvalidSubnet.Conflict', `The CIDR '${value}' conflicts with another subnet`);
  }
  return c;
}

/** A subnet's IPv6 block: a /64 of one of the VPC's IPv6 blocks, overlapping no other subnet's. */
export function subnetIpv6Cidr(value: string, vpcBlocks: string[], siblings: string[]): Cidr {
  const c = parseCidrStrict(value);
  if (!c || c.family !== 6) throw notACidr(value, 'ipv6CidrBlock');
  const range = () => new ApiError('InvalidSubnet.Range', `The CIDR '${value}' is invalid.`);
  if (c.prefix !== 64) throw range();
  if (!vpcBlocks.some((b) => contains(parseCidrStrict(b)!, c))) throw range();
  if (siblings.some((s) => overlaps(parseCidrStrict(s)!, c))) {
    throw new ApiError('InvalidSubnet.Conflict', `The CIDR '${value}' conflicts with another subnet`);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Routes

export interface RouteDestination {
  /** Canonical text: the CIDR or the prefix list id. */
  destination: string;
  family: 4 | 6 | 0;
}

export function routeDestination(input: { DestinationCidrBlock?: string; DestinationIpv6CidrBlock?: string; DestinationPrefixListId?: string }): RouteDestination {
  const given = [input.DestinationCidrBlock, input.DestinationIpv6CidrBlock, input.DestinationPrefixListId].filter((v) => v !== undefined);
  if (given.length === 0) {
    throw Errors.missingParameter('destinationCidrBlock or destinationIpv6CidrBlock or destinationPrefixListId');
  }
  if (given.length > 1) {
    throw Errors.invalidParameterCombination('Only one of destinationCidrBlock, destinationIpv6CidrBlock or destinationPrefixListId may be given.');
  }
  if (input.DestinationCidrBlock !== undefined) {
    const c = parseCidrStrict(input.DestinationCidrBlock);
    if (!c || c.family !== 4) throw notACidr(input.DestinationCidrBlock, 'destinationCidrBlock');
    return { destination: formatCidr(c), family: 4 };
  }
  if (input.DestinationIpv6CidrBlock !== undefined) {
    const c = parseCidrStrict(input.DestinationIpv6CidrBlock);
    if (!c || c.family !== 6) throw notACidr(input.DestinationIpv6CidrBlock, 'destinationIpv6CidrBlock');
    return { destination: formatCidr(c), family: 6 };
  }
  const pl = input.DestinationPrefixListId!;
  if (!/^pl-[0-9a-f]{8,17}$/.test(pl)) throw new ApiError('InvalidPrefixListId.Malformed', `The prefix list ID '${pl}' is malformed`);
  return { destination: pl, family: 0 };
}

/** The route target request fields and the target_type each is stored as. */
export const routeTargets = [
  { field: 'GatewayId', type: 'gateway' },
  { field: 'InstanceId', type: 'instance' },
  { field: 'NetworkInterfaceId', type: 'network-interface' },
  { field: 'NatGatewayId', type: 'nat-gateway' },
  { field: 'VpcPeeringConnectionId', type: 'vpc-peering-connection' },
  { field: 'EgressOnlyInternetGatewayId', type: 'egress-only-internet-gateway' },
  { field: 'TransitGatewayId', type: 'transit-gateway' },
  { field: 'LocalGatewayId', type: 'local-gateway' },
  { field: 'CarrierGatewayId', type: 'carrier-gateway' },
  { field: 'VpcEndpointId', type: 'vpc-endpoint' },
  { field: 'CoreNetworkArn', type: 'core-network' },
  { field: 'OdbNetworkArn', type: 'odb-network' },
] as const;

export type RouteTargetField = (typeof routeTargets)[number]['field'];

export function routeTarget(input: Partial<Record<RouteTargetField, string>>): { type: string; id: string; field: RouteTargetField } {
  const given = routeTargets.filter((t) => input[t.field] !== undefined && input[t.field] !== '');
  if (given.length !== 1) {
    const names =
      'gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, egressOnlyInternetGatewayId, transitGatewayId, localGatewayId, carrierGatewayId, vpcEndpointId, coreNetworkArn, odbNetworkArn or instanceId';
    if (given.length === 0) throw Errors.missingParameter(`exactly one of ${names}`);
    throw Errors.invalidParameterCombination(`The request must contain exactly one of ${names}`);
  }
  const t = given[0]!;
  return { type: t.type, id: input[t.field]!, field: t.field };
}

// ---------------------------------------------------------------------------------------------
// Network ACL entries

export const ACL_MIN_RULE = 1;
export const ACL_MAX_RULE = 32766;

const PROTOCOL_NAMES: Record<string, string> = { all: '-1', tcp: '6', udp: '17', icmp: '1', icmpv6: '58' };

/** EC2 stores protocols as numbers: 'tcp' → '6', 'all' → '-1', '006' → '6'. */
export function aclProtocol(value: string | undefined): string {
  if (value === undefined || value === '') throw Errors.missingParameter('Protocol');
  const named = PROTOCOL_NAMES[value.toLowerCase()];
  if (named) return named;
  if (value === '-1') return '-1';
  if (/^\d{1,3}$/.test(value) && Number(value) <= 255) return String(Number(value));
  throw Errors.invalidParameterValue(`Invalid value '${value}' for protocol. Valid values are -1, a protocol number between 0 and 255, tcp, udp, icmp or icmpv6.`);
}

export interface AclEntryInput {
  RuleNumber?: number;
  Protocol?: string;
  RuleAction?: string;
  Egress?: boolean;
  CidrBlock?: string;
  Ipv6CidrBlock?: string;
  IcmpTypeCode?: { Type?: number; Code?: number };
  PortRange?: { From?: number; To?: number };
}

export interface AclEntry {
  rule_number: number;
  egress: number;
  protocol: string;
  rule_action: string;
  cidr_block: string | null;
  ipv6_cidr_block: string | null;
  icmp_type: number | null;
  icmp_code: number | null;
  port_from: number | null;
  port_to: number | null;
}

export function aclRuleNumber(n: number | undefined): number {
  if (n === undefined) throw Errors.missingParameter('RuleNumber');
  if (!Number.isInteger(n) || n < ACL_MIN_RULE || n > ACL_MAX_RULE) {
    throw Errors.invalidParameterValue(`Value (${n}) for parameter ruleNumber is invalid. Rule number must be between ${ACL_MIN_RULE} and ${ACL_MAX_RULE}.`);
  }
  return n;
}

/** A CreateNetworkAclEntry/ReplaceNetworkAclEntry request, checked and made canonical. */
export function aclEntry(input: AclEntryInput): AclEntry {
  const rule = aclRuleNumber(input.RuleNumber);
  const protocol = aclProtocol(input.Protocol);
  if (input.RuleAction === undefined) throw Errors.missingParameter('RuleAction');
  if (input.RuleAction !== 'allow' && input.RuleAction !== 'deny') {
    throw Errors.invalidParameterValue(`Value (${input.RuleAction}) for parameter ruleAction is invalid. Valid values are allow and deny.`);
  }
  if (input.Egress === undefined) throw Errors.missingParameter('Egress');
  if (input.CidrBlock === undefined && input.Ipv6CidrBlock === undefined) throw Errors.missingParameter('cidrBlock or ipv6CidrBlock');
  if (input.CidrBlock !== undefined && input.Ipv6CidrBlock !== undefined) {
    throw Errors.invalidParameterCombination('Only one of cidrBlock or ipv6CidrBlock may be given.');
  }
  let cidr: string | null = null;
  let ipv6: string | null = null;
  if (input.CidrBlock !== undefined) {
    const c = parseCidrLoose(input.CidrBlock);
    if (!c || c.family !== 4) throw notACidr(input.CidrBlock, 'cidrBlock');
    cidr = formatCidr(c);
  } else {
    const c = parseCidrLoose(input.Ipv6CidrBlock!);
    if (!c || c.family !== 6) throw notACidr(input.Ipv6CidrBlock!, 'ipv6CidrBlock');
    ipv6 = formatCidr(c);
  }
  let ports: [number, number] | null = null;
  let icmp: [number, number] | null = null;
  if (protocol === '6' || protocol === '17') {
    const p = input.PortRange;
    if (p?.From === undefined || p?.To === undefined) throw Errors.missingParameter('portRange');
    for (const [name, v] of [
      ['portRange.from', p.From],
      ['portRange.to', p.To],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 65535) {
        throw Errors.invalidParameterValue(`Value (${v}) for parameter ${name} is invalid. Ports must be between 0 and 65535.`);
      }
    }
    if (p.From > p.To) throw Errors.invalidParameterValue(`The port range ${p.From}-${p.To} is invalid: from must not be greater than to.`);
    ports = [p.From, p.To];
  } else if (protocol === '1' || protocol === '58') {
    const t = input.IcmpTypeCode;
    if (t?.Type === undefined || t?.Code === undefined) throw Errors.missingParameter('icmpTypeCode');
    for (const [name, v] of [
      ['icmpTypeCode.type', t.Type],
      ['icmpTypeCode.code', t.Code],
    ] as const) {
      if (!Number.isInteger(v) || v < -1 || v > 255) throw Errors.invalidParameterValue(`Value (${v}) for parameter ${name} is invalid.`);
    }
    icmp = [t.Type, t.Code];
  }
  return {
    rule_number: rule,
    egress: input.Egress ? 1 : 0,
    protocol,
    rule_action: input.RuleAction,
    cidr_block: cidr,
    ipv6_cidr_block: ipv6,
    icmp_type: icmp ? icmp[0] : null,
    icmp_code: icmp ? icmp[1] : null,
    port_from: ports ? ports[0] : null,
    port_to: ports ? ports[1] : null,
  };
}
