// Security groups through @aws-sdk/client-ec2 against a started server: the default group, creating
// groups, authorizing, revoking and modifying rules (describing, deleting and account isolation are
// in security-groups-describe.test.ts).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  EC2ServiceException,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  UpdateSecurityGroupRuleDescriptionsEgressCommand,
  UpdateSecurityGroupRuleDescriptionsIngressCommand,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { newId } from '../src/lib/ids.js';
import { startTestServer, type TestServer, errorOf } from './harness.js';

let s: TestServer;
let ec2: EC2Client;
let defaultVpcId: string;

beforeAll(async () => {
  s = await startTestServer();
  ec2 = s.ec2();
  const def = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }));
  defaultVpcId = def.SecurityGroups![0]!.VpcId!;
});
afterAll(async () => {
  await s?.stop();
});

let seq = 0;
const uniq = (p = 'sg') => `${p}-test-${++seq}`;

async function newGroup(opts: { vpcId?: string; name?: string } = {}): Promise<string> {
  const out = await ec2.send(new CreateSecurityGroupCommand({ GroupName: opts.name ?? uniq('grp'), Description: 'test group', VpcId: opts.vpcId }));
  return out.GroupId!;
}

async function describe1(id: string): Promise<SecurityGroup> {
  const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
  return out.SecurityGroups![0]!;
}

/** A non-default VPC: through CreateVpc when the VPC family serves it, else a row in the store. */
async function newVpc(): Promise<string> {
  try {
    const out = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
    return out.Vpc!.VpcId!;
  } catch (e) {
    if ((e as EC2ServiceException).name !== 'UnsupportedOperation') throw e;
  }
  const id = newId('vpc');
  await s.app.db
    .insertInto('vpcs')
    .values({
      id,
      account_id: s.admin.accountId,
      region: 'us-east-1',
      cidr_block: '10.9.0.0/16',
      state: 'available',
      is_default: 0,
      instance_tenancy: 'default',
      dhcp_options_id: 'dopt-00000000',
      enable_dns_support: 1,
      enable_dns_hostnames: 0,
      cidr_associations: '[]',
      ipv6_cidr_associations: '[]',
      created_at: new Date().toISOString(),
    } as never)
    .execute();
  await s.app.db
    .insertInto('security_groups')
    .values({
      id: newId('sg'),
      account_id: s.admin.accountId,
      region: 'us-east-1',
      vpc_id: id,
      group_name: 'default',
      description: 'default VPC security group',
      created_at: new Date().toISOString(),
    })
    .execute();
  return id;
}

describe('the default group', () => {
  test('every VPC has one: members talk to each other, everything may go out', async () => {
    const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }));
    const g = out.SecurityGroups![0]!;
    expect(g.GroupId).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(g.OwnerId).toBe(s.admin.accountId);
    expect(g.Description).toBe('default VPC security group');
    expect(g.IpPermissions).toEqual([{ IpProtocol: '-1', IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [{ GroupId: g.GroupId, UserId: s.admin.accountId }] }]);
    expect(g.IpPermissionsEgress).toEqual([{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] }]);
  });

  test('cannot be deleted', async () => {
    const e = await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupName: 'default' })));
    expect(e.name).toBe('CannotDelete');
    expect(e.message).toMatch(/name: "default" cannot be deleted by a user/);
  });
});

describe('CreateSecurityGroup', () => {
  test('in the default VPC, with tags, and an outbound rule to everywhere', async () => {
    const name = uniq('web');
    const out = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: name,
        Description: 'Web servers (public) #1',
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'team', Value: 'web' }] }],
      }),
    );
    expect(out.GroupId).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(out.Tags).toEqual([{ Key: 'team', Value: 'web' }]);
    const g = await describe1(out.GroupId!);
    expect(g).toMatchObject({ GroupName: name, Description: 'Web servers (public) #1', VpcId: defaultVpcId, OwnerId: s.admin.accountId });
    expect(g.Tags).toEqual([{ Key: 'team', Value: 'web' }]);
    expect(g.IpPermissions).toEqual([]);
    expect(g.IpPermissionsEgress).toEqual([{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] }]);
  });

  test('names are unique per VPC, case-insensitively', async () => {
    const name = uniq('Dup');
    await newGroup({ name });
    const e = await errorOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: name.toLowerCase(), Description: 'x' })));
    expect(e.name).toBe('InvalidGroup.Duplicate');
    expect(e.message).toBe(`The security group '${name.toLowerCase()}' already exists for VPC '${defaultVpcId}'`);
    // The same name in another VPC is fine.
    const vpc = await newVpc();
    expect(await newGroup({ name, vpcId: vpc })).toMatch(/^sg-/);
  });

  test.each([
    [{ GroupName: 'sg-web', Description: 'x' }, 'InvalidParameterValue', /sg-\*/],
    [{ GroupName: 'caf\u00e9', Description: 'x' }, 'InvalidParameterValue', /beyond ASCII/],
    [{ GroupName: 'ok', Description: 'x'.repeat(256) }, 'InvalidParameterValue', /GroupDescription/],
    [{ GroupName: 'ok', Description: 'bad <html>' }, 'InvalidParameterValue', /GroupDescription/],
    [{ GroupName: 'ok', Description: '' }, 'MissingParameter', /GroupDescription/],
    [{ GroupName: 'ok', Description: 'x', VpcId: 'vpc-0000000000000000f' }, 'InvalidVpcID.NotFound', /vpc-0000000000000000f/],
    [{ GroupName: 'ok', Description: 'x', TagSpecifications: [{ ResourceType: 'instance' as const, Tags: [{ Key: 'a', Value: 'b' }] }] }, 'InvalidParameterValue', /taggable/],
  ])('refuses %j', async (input, code, message) => {
    const e = await errorOf(ec2.send(new CreateSecurityGroupCommand(input)));
    expect(e.name).toBe(code);
    expect(e.message).toMatch(message);
  });

  test('DryRun validates and writes nothing', async () => {
    const name = uniq('dry');
    const e = await errorOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: 'x', DryRun: true })));
    expect(e.name).toBe('DryRunOperation');
    const f = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] }));
    expect(f.SecurityGroups).toEqual([]);
    const bad = await errorOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'sg-x', Description: 'x', DryRun: true })));
    expect(bad.name).toBe('InvalidParameterValue');
  });
});

describe('AuthorizeSecurityGroupIngress', () => {
  test('IpPermissions come back from DescribeSecurityGroups exactly as given', async () => {
    const id = await newGroup();
    const peer = await newGroup();
    const perms: IpPermission[] = [
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'office' }, { CidrIp: '192.168.1.0/24' }],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [{ GroupId: peer, UserId: s.admin.accountId, Description: 'bastion' }],
      },
      { IpProtocol: 'icmp', FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ];
    const out = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: perms }));
    expect(out.Return).toBe(true);
    expect(out.SecurityGroupRules).toHaveLength(4);
    for (const r of out.SecurityGroupRules!) {
      expect(r.SecurityGroupRuleId).toMatch(/^sgr-[0-9a-f]{17}$/);
      expect(r).toMatchObject({ GroupId: id, GroupOwnerId: s.admin.accountId, IsEgress: false });
    }
    expect(out.SecurityGroupRules!.find((r) => r.ReferencedGroupInfo)).toMatchObject({
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      ReferencedGroupInfo: { GroupId: peer, UserId: s.admin.accountId },
      Description: 'bastion',
    });
    const g = await describe1(id);
    expect(g.IpPermissions).toEqual(perms);
  });

  test('protocol numbers are shown by name, host bits are masked off, -1 ignores ports', async () => {
    const id = await newGroup();
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [
          { IpProtocol: '6', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.1.2.3/16' }] },
          { IpProtocol: '-1', FromPort: 5, ToPort: 7, IpRanges: [{ CidrIp: '172.16.0.0/12' }] },
          { IpProtocol: '47', IpRanges: [{ CidrIp: '172.16.0.0/12' }] },
        ],
      }),
    );
    const g = await describe1(id);
    expect(g.IpPermissions!.map((p) => [p.IpProtocol, p.FromPort, p.ToPort, p.IpRanges!.map((r) => r.CidrIp)])).toEqual([
      ['tcp', 443, 443, ['10.1.0.0/16']],
      ['-1', undefined, undefined, ['172.16.0.0/12']],
      ['47', undefined, undefined, ['172.16.0.0/12']],
    ]);
    const rules = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [id] }] }));
    const all = rules.SecurityGroupRules!.find((r) => r.IpProtocol === '-1' && !r.IsEgress)!;
    expect([all.FromPort, all.ToPort]).toEqual([-1, -1]);
  });

  test('the legacy top-level form, and a source group by name', async () => {
    const name = uniq('legacy');
    const id = await newGroup({ name });
    const src = uniq('src');
    const srcId = await newGroup({ name: src });
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupName: name, IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }));
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupName: name, SourceSecurityGroupName: src }));
    const g = await describe1(id);
    const pair = [{ GroupId: srcId, UserId: s.admin.accountId }];
    expect(g.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
      { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: pair },
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: pair },
      { IpProtocol: 'udp', FromPort: 0, ToPort: 65535, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: pair },
    ]);
  });

  test('duplicates are refused, against the group and within the request', async () => {
    const id = await newGroup();
    const perm = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [perm] }));
    const e = await errorOf(
      ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ ...perm, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'other' }] }] })),
    );
    expect(e.name).toBe('InvalidPermission.Duplicate');
    expect(e.message).toBe('the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists');
    const twice = await errorOf(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [{ IpProtocol: 'udp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '1.1.1.1/32' }, { CidrIp: '1.1.1.1/32' }] }],
        }),
      ),
    );
    expect(twice.name).toBe('InvalidParameterValue');
    expect(twice.message).toBe('The same permission must not appear multiple times');
    // Nothing of a failed request is kept.
    expect((await describe1(id)).IpPermissions).toHaveLength(1);
  });

  test.each<[IpPermission, string]>([
    [{ IpProtocol: 'tcp', FromPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }, 'InvalidParameterValue'],
    [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 70000, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }, 'InvalidPermission.Malformed'],
    [{ IpProtocol: 'icmp', FromPort: 300, ToPort: 0, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }, 'InvalidPermission.Malformed'],
    [{ IpProtocol: 'bogus', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }, 'InvalidParameterValue'],
    [{ FromPort: 1, ToPort: 2, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }, 'InvalidParameterValue'],
    [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 2, IpRanges: [{ CidrIp: '300.0.0.0/8' }] }, 'InvalidParameterValue'],
    [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 2 }, 'MissingParameter'],
    [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 2, UserIdGroupPairs: [{ GroupId: 'sg-0000000000000000f' }] }, 'InvalidGroup.NotFound'],
    [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 2, UserIdGroupPairs: [{ GroupId: 'sg-nope' }] }, 'InvalidGroupId.Malformed'],
  ])('bad permission %j → %s', async (perm, code) => {
    const id = await newGroup();
    const e = await errorOf(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [perm] })));
    expect(e.name).toBe(code);
    expect(e.$metadata.httpStatusCode).toBe(400);
  });

  test('rules get tags from TagSpecifications', async () => {
    const id = await newGroup();
    const out = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
        TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: [{ Key: 'Name', Value: 'https' }] }],
      }),
    );
    expect(out.SecurityGroupRules![0]!.Tags).toEqual([{ Key: 'Name', Value: 'https' }]);
    const f = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [
          { Name: 'tag:Name', Values: ['https'] },
          { Name: 'group-id', Values: [id] },
        ],
      }),
    );
    expect(f.SecurityGroupRules!.map((r) => r.SecurityGroupRuleId)).toEqual([out.SecurityGroupRules![0]!.SecurityGroupRuleId]);
  });

  test('a source group in another VPC is refused', async () => {
    const vpc = await newVpc();
    const other = await newGroup({ vpcId: vpc });
    const id = await newGroup();
    const e = await errorOf(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: other }] }] })));
    expect(e.name).toBe('InvalidParameter');
  });
});

describe('RevokeSecurityGroupIngress / Egress', () => {
  test('by permission, matching protocol, ports and source exactly', async () => {
    const id = await newGroup();
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'd' }, { CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    const out = await ec2.send(
      new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: '6', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] }),
    );
    expect(out.Return).toBe(true);
    expect(out.UnknownIpPermissions).toBeUndefined();
    expect((await describe1(id)).IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ]);
  });

  test('in the default VPC an unknown rule is reported, not an error', async () => {
    const id = await newGroup();
    const out = await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpProtocol: 'tcp', FromPort: 25, ToPort: 25, CidrIp: '1.2.3.4/32' }));
    expect(out.Return).toBe(true);
    expect(out.UnknownIpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 25, ToPort: 25, IpRanges: [{ CidrIp: '1.2.3.4/32' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ]);
  });

  test('in another VPC an unknown rule is InvalidPermission.NotFound', async () => {
    const vpc = await newVpc();
    const id = await newGroup({ vpcId: vpc });
    const e = await errorOf(
      ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 25, ToPort: 25, IpRanges: [{ CidrIp: '1.2.3.4/32' }] }] })),
    );
    expect(e.name).toBe('InvalidPermission.NotFound');
    expect(e.message).toBe('The specified rule does not exist in this security group.');
  });

  test('by SecurityGroupRuleIds, each direction only sees its own rules', async () => {
    const id = await newGroup();
    const g = await describe1(id);
    const egress = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [g.GroupId!] }] }));
    const ruleId = egress.SecurityGroupRules!.find((r) => r.IsEgress)!.SecurityGroupRuleId!;
    const wrongWay = await errorOf(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, SecurityGroupRuleIds: [ruleId] })));
    expect(wrongWay.name).toBe('InvalidSecurityGroupRuleId.NotFound');
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: id, SecurityGroupRuleIds: [ruleId] }));
    expect((await describe1(id)).IpPermissionsEgress).toEqual([]);
    const gone = await errorOf(ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [ruleId] })));
    expect(gone.name).toBe('InvalidSecurityGroupRuleId.NotFound');
  });

  test('egress rules: authorize, duplicate, revoke by permission', async () => {
    const id = await newGroup();
    const perm = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '192.0.2.0/24' }] };
    const out = await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [perm] }));
    expect(out.SecurityGroupRules![0]).toMatchObject({ IsEgress: true, CidrIpv4: '192.0.2.0/24', FromPort: 443 });
    expect((await errorOf(ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [perm] })))).name).toBe('InvalidPermission.Duplicate');
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }, perm] }));
    expect((await describe1(id)).IpPermissionsEgress).toEqual([]);
  });

  test('IPv6 ranges and prefix lists are refused (not carried, none exists), and nothing is stored', async () => {
    const id = await newGroup();
    const v6 = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '192.0.2.0/24' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] };
    const pl = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: 'pl-0123456789abcdef0' }] };
    for (const send of [
      (p: IpPermission) => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [p] })),
      (p: IpPermission) => ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [p] })),
    ]) {
      const a = await errorOf(send(v6));
      expect([a.name, a.message]).toEqual(['UnsupportedOperation', 'IPv6 is not supported by cumulo yet (the VPC data plane carries IPv4 only): Ipv6Ranges cannot be used.']);
      const b = await errorOf(send(pl));
      expect([b.name, b.message]).toEqual(['InvalidPrefixListID.NotFound', "The prefix list ID 'pl-0123456789abcdef0' does not exist"]);
      expect((await errorOf(send({ ...pl, PrefixListIds: [{ PrefixListId: 'pl-nope' }] }))).name).toBe('InvalidPrefixListId.Malformed');
    }
    const g = await describe1(id);
    expect(g.IpPermissions).toEqual([]);
    expect(g.IpPermissionsEgress).toEqual([{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] }]);
    // ModifySecurityGroupRules cannot turn a rule into one either.
    const [rule] = (await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [id] }] }))).SecurityGroupRules!;
    for (const [change, code] of [
      [{ CidrIpv6: '::/0' }, 'UnsupportedOperation'],
      [{ PrefixListId: 'pl-0123456789abcdef0' }, 'InvalidPrefixListID.NotFound'],
    ] as const) {
      const e = await errorOf(
        ec2.send(
          new ModifySecurityGroupRulesCommand({
            GroupId: id,
            SecurityGroupRules: [{ SecurityGroupRuleId: rule!.SecurityGroupRuleId, SecurityGroupRule: { IpProtocol: '-1', ...change } }],
          }),
        ),
      );
      expect(e.name).toBe(code);
    }
  });
});

describe('ModifySecurityGroupRules and rule descriptions', () => {
  test('replace a rule by id; update descriptions by permission and by id', async () => {
    const id = await newGroup();
    const peer = await newGroup();
    const out = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] }),
    );
    const ruleId = out.SecurityGroupRules![0]!.SecurityGroupRuleId!;
    await ec2.send(
      new ModifySecurityGroupRulesCommand({
        GroupId: id,
        SecurityGroupRules: [{ SecurityGroupRuleId: ruleId, SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 2222, ToPort: 2222, ReferencedGroupId: peer, Description: 'ssh' } }],
      }),
    );
    const r = await ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [ruleId] }));
    expect(r.SecurityGroupRules).toEqual([
      {
        SecurityGroupRuleId: ruleId,
        GroupId: id,
        GroupOwnerId: s.admin.accountId,
        IsEgress: false,
        IpProtocol: 'tcp',
        FromPort: 2222,
        ToPort: 2222,
        ReferencedGroupInfo: { GroupId: peer, UserId: s.admin.accountId },
        Description: 'ssh',
        Tags: [],
      },
    ]);

    await ec2.send(
      new UpdateSecurityGroupRuleDescriptionsIngressCommand({
        GroupId: id,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 2222, ToPort: 2222, UserIdGroupPairs: [{ GroupId: peer, Description: 'ssh from peer' }] }],
      }),
    );
    expect((await describe1(id)).IpPermissions![0]!.UserIdGroupPairs).toEqual([{ GroupId: peer, UserId: s.admin.accountId, Description: 'ssh from peer' }]);

    const egressId = (await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [id] }] }))).SecurityGroupRules!.find(
      (x) => x.IsEgress,
    )!.SecurityGroupRuleId!;
    await ec2.send(
      new UpdateSecurityGroupRuleDescriptionsEgressCommand({ GroupId: id, SecurityGroupRuleDescriptions: [{ SecurityGroupRuleId: egressId, Description: 'all out' }] }),
    );
    expect((await describe1(id)).IpPermissionsEgress![0]!.IpRanges).toEqual([{ CidrIp: '0.0.0.0/0', Description: 'all out' }]);

    const missing = await errorOf(
      ec2.send(
        new UpdateSecurityGroupRuleDescriptionsIngressCommand({
          GroupId: id,
          IpPermissions: [{ IpProtocol: 'udp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '1.1.1.1/32', Description: 'x' }] }],
        }),
      ),
    );
    expect(missing.name).toBe('InvalidPermission.NotFound');
    const foreign = await errorOf(
      ec2.send(
        new ModifySecurityGroupRulesCommand({
          GroupId: peer,
          SecurityGroupRules: [{ SecurityGroupRuleId: ruleId, SecurityGroupRule: { IpProtocol: '-1', CidrIpv4: '1.1.1.1/32' } }],
        }),
      ),
    );
    expect(foreign.name).toBe('InvalidSecurityGroupRuleId.NotFound');
  });
});
