// DescribeSecurityGroups and DescribeSecurityGroupRules filters, as EC2 documents them.
// Rule filters look at every rule of a group separately, so several rule filters may be
// satisfied by different rules of the same group, as on EC2.
import type { SecurityGroup, SecurityGroupRule } from '@aws-sdk/client-ec2';
import type { FilterMap, FilterValue } from '../common/filters.js';

export interface RuleView {
  protocol: string;
  /** -1 for protocols without ports, as DescribeSecurityGroupRules shows them. */
  fromPort: number;
  toPort: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  prefixListId?: string;
  groupId?: string;
  groupName?: string;
  userId?: string;
}

export interface SecurityGroupView {
  group: SecurityGroup;
  ingress: RuleView[];
  egress: RuleView[];
}

type Pick = (r: RuleView) => string | number | undefined;

function ruleFilters(prefix: string, rules: (v: SecurityGroupView) => RuleView[]): FilterMap<SecurityGroupView> {
  const over =
    (pick: Pick) =>
    (v: SecurityGroupView): FilterValue =>
      rules(v).map(pick);
  return {
    [`${prefix}ip-permission.cidr`]: over((r) => r.cidrIpv4),
    [`${prefix}ip-permission.from-port`]: over((r) => r.fromPort),
    [`${prefix}ip-permission.group-id`]: over((r) => r.groupId),
    [`${prefix}ip-permission.group-name`]: over((r) => r.groupName),
    [`${prefix}ip-permission.ipv6-cidr`]: over((r) => r.cidrIpv6),
    [`${prefix}ip-permission.prefix-list-id`]: over((r) => r.prefixListId),
    [`${prefix}ip-permission.protocol`]: over((r) => r.protocol),
    [`${prefix}ip-permission.to-port`]: over((r) => r.toPort),
    [`${prefix}ip-permission.user-id`]: over((r) => r.userId),
  };
}

export const securityGroupFilters: FilterMap<SecurityGroupView> = {
  description: (v) => v.group.Description,
  'group-id': (v) => v.group.GroupId,
  'group-name': (v) => v.group.GroupName,
  'owner-id': (v) => v.group.OwnerId,
  'vpc-id': (v) => v.group.VpcId,
  ...ruleFilters('', (v) => v.ingress),
  ...ruleFilters('egress.', (v) => v.egress),
};

export const securityGroupRuleFilters: FilterMap<SecurityGroupRule> = {
  'group-id': (r) => r.GroupId,
  'security-group-rule-id': (r) => r.SecurityGroupRuleId,
};
