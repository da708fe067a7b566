// Security group rules as EC2 takes and shows them, without the store: parsing IpPermissions into
// one rule per (protocol, ports, source), validating them with EC2's errors, and grouping stored
// rules back into IpPermissions the way DescribeSecurityGroups shows them.
import type { IpPermission, SecurityGroupRule } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { formatCidr, parseCidrLoose } from '../../../lib/cidr.js';

/** A source group as the caller named it; resolved against the store by the handlers. */
export interface GroupRef {
  groupId?: string;
  groupName?: string;
  userId?: string;
}

/** Exactly one of cidrIpv4, cidrIpv6, prefixListId, group. */
export interface RuleSource {
  cidrIpv4?: string;
  cidrIpv6?: string;
  prefixListId?: string;
  group?: GroupRef;
  description?: string;
}

export interface RuleSpec {
  /** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | '-1' | another protocol number as decimal text. */
  protocol: string;
  /** null when the protocol has no ports ('-1' and numbered protocols other than the four above). */
  fromPort: number | null;
  toPort: number | null;
  source: RuleSource;
}

/** The columns of a stored rule that this module reads. */
export interface RuleFields {
  id: string;
  ip_protocol: string;
  from_port: number | null;
  to_port: number | null;
  cidr_ipv4: string | null;
  cidr_ipv6: string | null;
  prefix_list_id: string | null;
  referenced_group_id: string | null;
  referenced_group_owner: string | null;
  description: string | null;
}

const NAMED: Record<string, string> = { tcp: 'tcp', udp: 'udp', icmp: 'icmp', icmpv6: 'icmpv6', '-1': '-1', '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };

/**
 * EC2 names the four protocols it knows ports for and shows every other one as its number
 * ("6" comes back as "tcp"). '-1' is every protocol.
 */
export function normalizeProtocol(raw: string | undefined): string {
  if (raw === undefined || raw === '') {
    throw Errors.invalidParameterValue(`Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly.`);
  }
  const lower = raw.toLowerCase();
  if (NAMED[lower]) return NAMED[lower]!;
  if (/^\d{1,3}$/.test(raw) && Number(raw) <= 255) return NAMED[String(Number(raw))] ?? String(Number(raw));
  throw Errors.invalidParameterValue(`Invalid value '${raw}' for IP protocol. Unknown protocol.`);
}

const malformed = (message: string) => new ApiError('InvalidPermission.Malformed', message);

/** The protocol's port range (ICMP type and code) in stored form. */
export function normalizePorts(protocol: string, from: number | undefined, to: number | undefined): { fromPort: number | null; toPort: number | null } {
  switch (protocol) {
    case 'tcp':
    case 'udp': {
      if (from === undefined || to === undefined) {
        throw Errors.invalidParameterValue(`Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.`);
      }
      for (const p of [from, to]) if (p < 0 || p > 65535) throw malformed(`TCP/UDP port (${p}) out of range`);
      if (from > to) throw malformed(`Invalid TCP/UDP port range: from port (${from}) is greater than to port (${to})`);
      return { fromPort: from, toPort: to };
    }
    case 'icmp':
    case 'icmpv6': {
      // ICMPv6 may leave the range out (all types and codes); ICMP must give both.
      if (from === undefined && to === undefined && protocol === 'icmpv6') return { fromPort: -1, toPort: -1 };
      if (from === undefined || to === undefined) {
        throw Errors.invalidParameterValue(`Invalid value 'Must specify both from and to ports with ICMP.' for portRange.`);
      }
      if (from < -1 || from > 255) throw malformed(`ICMP type (${from}) out of range`);
      if (to < -1 || to > 255) throw malformed(`ICMP code (${to}) out of range`);
      // Every type means every code too.
      return { fromPort: from, toPort: from === -1 ? -1 : to };
    }
    default:
      // '-1' and other protocols allow all ports, "regardless of any ports you specify".
      return { fromPort: null, toPort: null };
  }
}

const TEXT = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;

/** Rule descriptions: up to 255 characters of EC2's set. */
export function validateRuleDescription(d: string | undefined): void {
  if (d === undefined) return;
  if (d.length > 255 || !TEXT.test(d)) {
    throw Errors.invalidParameterValue(
      'Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*',
    );
  }
}

/** Group names and descriptions: the same set, with EC2's message naming the parameter. */
export function validateGroupText(param: 'GroupName' | 'GroupDescription', value: string): void {
  if (value.length > 255) throw Errors.invalidParameterValue(`Value (${value}) for parameter ${param} is invalid. Length exceeds maximum of 255.`);
  if (/[^\x00-\x7f]/.test(value)) throw Errors.invalidParameterValue(`Value (${value}) for parameter ${param} is invalid. Character sets beyond ASCII are not supported.`);
  if (!TEXT.test(value)) {
    throw Errors.invalidParameterValue(`Value (${value}) for parameter ${param} is invalid. Valid characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*`);
  }
}

export function parseCidrIpv4(s: string): string {
  const c = parseCidrLoose(s);
  if (!c || c.family !== 4) throw Errors.invalidParameterValue(`CIDR block ${s} is malformed`);
  return formatCidr(c); // host bits are masked off, as EC2 stores them
}

export function parseCidrIpv6(s: string): string {
  const c = parseCidrLoose(s);
  if (!c || c.family !== 6) throw Errors.invalidParameterValue(`CIDR block ${s} is malformed`);
  return formatCidr(c);
}

const GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;
const PREFIX_LIST_ID = /^pl-([0-9a-f]{8}|[0-9a-f]{17})$/;
const RULE_ID = /^sgr-([0-9a-f]{8}|[0-9a-f]{17})$/;

export function checkGroupId(id: string): void {
  if (!GROUP_ID.test(id)) throw new ApiError('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`);
}

export function isRuleId(id: string): boolean {
  return RULE_ID.test(id);
}

function checkPrefixListId(id: string): void {
  if (!PREFIX_LIST_ID.test(id)) throw new ApiError('InvalidPrefixListId.Malformed', `Invalid id: "${id}" (expecting "pl-...")`);
}

export const missingSource = () => new ApiError('MissingParameter', 'Missing source specification: include source security group or CIDR information');

/** IpPermissions → one rule per source, validated. */
export function parsePermissions(perms: IpPermission[]): RuleSpec[] {
  const out: RuleSpec[] = [];
  for (const p of perms) {
    const protocol = normalizeProtocol(p.IpProtocol);
    const { fromPort, toPort } = normalizePorts(protocol, p.FromPort, p.ToPort);
    const add = (source: RuleSource) => {
      validateRuleDescription(source.description);
      out.push({ protocol, fromPort, toPort, source });
    };
    const before = out.length;
    for (const r of p.IpRanges ?? []) {
      if (r.CidrIp === undefined) throw Errors.missingParameter('CidrIp');
      add({ cidrIpv4: parseCidrIpv4(r.CidrIp), description: r.Description });
    }
    for (const r of p.Ipv6Ranges ?? []) {
      if (r.CidrIpv6 === undefined) throw Errors.missingParameter('CidrIpv6');
      add({ cidrIpv6: parseCidrIpv6(r.CidrIpv6), description: r.Description });
    }
    for (const r of p.PrefixListIds ?? []) {
      if (r.PrefixListId === undefined) throw Errors.missingParameter('PrefixListId');
      checkPrefixListId(r.PrefixListId);
      add({ prefixListId: r.PrefixListId, description: r.Description });
    }
    for (const g of p.UserIdGroupPairs ?? []) {
      if (!g.GroupId && !g.GroupName) throw missingSource();
      if (g.GroupId) checkGroupId(g.GroupId);
      add({ group: { groupId: g.GroupId || undefined, groupName: g.GroupId ? undefined : g.GroupName, userId: g.UserId || undefined }, description: g.Description });
    }
    if (out.length === before) throw missingSource();
  }
  return out;
}

/** The legacy top-level form of AuthorizeSecurityGroupIngress / RevokeSecurityGroupIngress. */
export interface LegacyPermission {
  CidrIp?: string;
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  SourceSecurityGroupName?: string;
  SourceSecurityGroupOwnerId?: string;
}

export function hasLegacy(input: LegacyPermission): boolean {
  return (
    input.CidrIp !== undefined ||
    input.IpProtocol !== undefined ||
    input.FromPort !== undefined ||
    input.ToPort !== undefined ||
    input.SourceSecurityGroupName !== undefined ||
    input.SourceSecurityGroupOwnerId !== undefined
  );
}

/**
 * The legacy parameters as IpPermissions. A source group name alone grants full ICMP, TCP and UDP
 * access from that group, as EC2 documents; it can't be combined with CIDR, protocol or ports.
 */
export function legacyToPermissions(input: LegacyPermission): IpPermission[] {
  if (input.SourceSecurityGroupName !== undefined) {
    if (input.CidrIp !== undefined || input.IpProtocol !== undefined || input.FromPort !== undefined || input.ToPort !== undefined) {
      throw Errors.invalidParameterCombination('The parameter sourceSecurityGroupName cannot be used with the parameters cidrIp, ipProtocol, fromPort or toPort');
    }
    const pair = [{ GroupName: input.SourceSecurityGroupName, UserId: input.SourceSecurityGroupOwnerId }];
    return [
      { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, UserIdGroupPairs: pair },
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, UserIdGroupPairs: pair },
      { IpProtocol: 'udp', FromPort: 0, ToPort: 65535, UserIdGroupPairs: pair },
    ];
  }
  if (input.CidrIp === undefined) throw missingSource();
  return [{ IpProtocol: input.IpProtocol, FromPort: input.FromPort, ToPort: input.ToPort, IpRanges: [{ CidrIp: input.CidrIp }] }];
}

/** A rule's identity: protocol, ports and source; the description is not part of it. */
export function ruleKey(protocol: string, fromPort: number | null, toPort: number | null, source: string): string {
  return `${protocol}|${fromPort ?? ''}|${toPort ?? ''}|${source}`;
}

export function sourceOfRow(r: RuleFields): string {
  if (r.cidr_ipv4) return `v4:${r.cidr_ipv4}`;
  if (r.cidr_ipv6) return `v6:${r.cidr_ipv6}`;
  if (r.prefix_list_id) return `pl:${r.prefix_list_id}`;
  return `sg:${r.referenced_group_id}`;
}

export function keyOfRow(r: RuleFields): string {
  return ruleKey(r.ip_protocol, r.from_port, r.to_port, sourceOfRow(r));
}

/** EC2's text for InvalidPermission.Duplicate: the specified rule "peer: …, TCP, from port: 22, to port: 22, ALLOW" already exists. */
export function describeForDuplicate(r: Pick<RuleFields, 'ip_protocol' | 'from_port' | 'to_port' | 'cidr_ipv4' | 'cidr_ipv6' | 'prefix_list_id' | 'referenced_group_id'>): string {
  const peer = r.cidr_ipv4 ?? r.cidr_ipv6 ?? r.prefix_list_id ?? r.referenced_group_id;
  let what: string;
  if (r.ip_protocol === 'tcp' || r.ip_protocol === 'udp') what = `${r.ip_protocol.toUpperCase()}, from port: ${r.from_port}, to port: ${r.to_port}`;
  else if (r.ip_protocol === 'icmp' || r.ip_protocol === 'icmpv6') what = `${r.ip_protocol.toUpperCase()}, type: ${r.from_port}, code: ${r.to_port}`;
  else if (r.ip_protocol === '-1') what = 'ALL';
  else what = `protocol: ${r.ip_protocol}`;
  return `the specified rule "peer: ${peer}, ${what}, ALLOW" already exists`;
}

/**
 * Stored rules → IpPermissions, one per protocol and port range with its sources collected
 * (IpRanges, Ipv6Ranges, PrefixListIds, UserIdGroupPairs), all in the order of `rows`.
 */
export function groupRules(rows: RuleFields[]): IpPermission[] {
  const perms = new Map<string, { perm: IpPermission; rows: RuleFields[] }>();
  for (const r of rows) {
    const key = `${r.ip_protocol}|${r.from_port ?? ''}|${r.to_port ?? ''}`;
    let entry = perms.get(key);
    if (!entry) {
      const perm: IpPermission = { IpProtocol: r.ip_protocol };
      if (r.from_port !== null) perm.FromPort = r.from_port;
      if (r.to_port !== null) perm.ToPort = r.to_port;
      perms.set(key, (entry = { perm, rows: [] }));
    }
    entry.rows.push(r);
  }
  return [...perms.values()].map(({ perm, rows: sorted }) => {
    const desc = (r: RuleFields) => (r.description !== null ? { Description: r.description } : {});
    return {
      ...perm,
      IpRanges: sorted.filter((r) => r.cidr_ipv4).map((r) => ({ CidrIp: r.cidr_ipv4!, ...desc(r) })),
      Ipv6Ranges: sorted.filter((r) => r.cidr_ipv6).map((r) => ({ CidrIpv6: r.cidr_ipv6!, ...desc(r) })),
      PrefixListIds: sorted.filter((r) => r.prefix_list_id).map((r) => ({ PrefixListId: r.prefix_list_id!, ...desc(r) })),
      UserIdGroupPairs: sorted.filter((r) => r.referenced_group_id).map((r) => ({ ...desc(r), UserId: r.referenced_group_owner ?? undefined, GroupId: r.referenced_group_id! })),
    };
  });
}

/** Rule specs (e.g. the ones Revoke could not find) → IpPermissions, for UnknownIpPermissions. */
export function groupSpecs(specs: RuleSpec[]): IpPermission[] {
  return groupRules(
    specs.map((s, i) => ({
      id: String(i),
      ip_protocol: s.protocol,
      from_port: s.fromPort,
      to_port: s.toPort,
      cidr_ipv4: s.source.cidrIpv4 ?? null,
      cidr_ipv6: s.source.cidrIpv6 ?? null,
      prefix_list_id: s.source.prefixListId ?? null,
      referenced_group_id: s.source.group ? (s.source.group.groupId ?? s.source.group.groupName ?? null) : null,
      referenced_group_owner: s.source.group?.userId ?? null,
      description: s.source.description ?? null,
    })),
  );
}

/** One stored rule as DescribeSecurityGroupRules shows it: -1 for "all ports". */
export function toSecurityGroupRule(r: RuleFields & { group_id: string; account_id: string; is_egress: number }, tags: SecurityGroupRule['Tags']): SecurityGroupRule {
  const out: SecurityGroupRule = {
    SecurityGroupRuleId: r.id,
    GroupId: r.group_id,
    GroupOwnerId: r.account_id,
    IsEgress: r.is_egress === 1,
    IpProtocol: r.ip_protocol,
    FromPort: r.from_port ?? -1,
    ToPort: r.to_port ?? -1,
  };
  if (r.cidr_ipv4) out.CidrIpv4 = r.cidr_ipv4;
  if (r.cidr_ipv6) out.CidrIpv6 = r.cidr_ipv6;
  if (r.prefix_list_id) out.PrefixListId = r.prefix_list_id;
  if (r.referenced_group_id) out.ReferencedGroupInfo = { GroupId: r.referenced_group_id, UserId: r.referenced_group_owner ?? undefined };
  if (r.description !== null) out.Description = r.description;
  out.Tags = tags ?? [];
  return out;
}
