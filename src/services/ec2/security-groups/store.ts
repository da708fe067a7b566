// Security group rows shared with other families (the VPC family makes each VPC's default group).
import { newId } from '../../../lib/ids.js';
import type { NewRow } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';

/**
 * Every VPC gets a security group named "default", as on EC2: inbound from members of the same
 * group on every protocol, outbound to everywhere (IPv4; IPv6 too when the VPC has an IPv6 block).
 */
export async function createDefaultSecurityGroup(ctx: Ctx, vpcId: string, opts: { ipv6?: boolean } = {}): Promise<string> {
  const id = newId('sg');
  const now = ctx.now.toISOString();
  await ctx.db
    .insertInto('security_groups')
    .values({ id, account_id: ctx.accountId, region: ctx.region, vpc_id: vpcId, group_name: 'default', description: 'default VPC security group', created_at: now })
    .execute();
  const base: Omit<NewRow<'security_group_rules'>, 'id' | 'is_egress'> = {
    group_id: id,
    account_id: ctx.accountId,
    region: ctx.region,
    ip_protocol: '-1',
    from_port: null,
    to_port: null,
    cidr_ipv4: null,
    cidr_ipv6: null,
    prefix_list_id: null,
    referenced_group_id: null,
    referenced_group_owner: null,
    description: null,
    created_at: now,
  };
  const rules: NewRow<'security_group_rules'>[] = [
    { ...base, id: newId('sgr'), is_egress: 0, referenced_group_id: id, referenced_group_owner: ctx.accountId },
    { ...base, id: newId('sgr'), is_egress: 1, cidr_ipv4: '0.0.0.0/0' },
  ];
  if (opts.ipv6) rules.push({ ...base, id: newId('sgr'), is_egress: 1, cidr_ipv6: '::/0' });
  await ctx.db.insertInto('security_group_rules').values(rules).execute();
  return id;
}
