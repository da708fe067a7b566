// Security groups through @aws-sdk/client-ec2 against a started server: DescribeSecurityGroups'
// filters and pages, DeleteSecurityGroup and its dependencies, account isolation.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  EC2ServiceException,
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

describe('DescribeSecurityGroups', () => {
  let web: string;
  let db: string;
  beforeAll(async () => {
    web = await newGroup({ name: 'filter-web' });
    db = await newGroup({ name: 'filter-db' });
    await ec2.send(new CreateTagsCommand({ Resources: [db], Tags: [{ Key: 'tier', Value: 'data' }] }));
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: web,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '198.51.100.0/24' }] },
        ],
      }),
    );
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: db, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: web }] }] }),
    );
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({ GroupId: db, IpPermissions: [{ IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '10.0.0.2/32' }] }] }),
    );
  });

  const ids = async (filters: { Name: string; Values: string[] }[]) =>
    (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['filter-*'] }, ...filters] }))).SecurityGroups!.map((g) => g.GroupId).sort();

  test.each([
    ['group-name', ['filter-w?b']],
    ['ip-permission.cidr', ['0.0.0.0/0']],
    ['ip-permission.from-port', ['443']],
    ['ip-permission.to-port', ['22']],
    ['ip-permission.protocol', ['tcp']],
  ])('%s', async (name, values) => {
    const got = await ids([{ Name: name, Values: values }]);
    expect(got).toEqual(name === 'ip-permission.protocol' ? [web, db].sort() : [web]);
  });

  test.each([
    ['ip-permission.group-id', () => [web]],
    ['ip-permission.group-name', () => ['filter-web']],
    ['ip-permission.user-id', () => [s.admin.accountId]],
    ['egress.ip-permission.cidr', () => ['10.0.0.2/32']],
    ['egress.ip-permission.protocol', () => ['udp']],
    ['egress.ip-permission.from-port', () => ['53']],
    ['tag:tier', () => ['data']],
    ['tag-key', () => ['tier']],
  ])('%s', async (name, values) => {
    expect(await ids([{ Name: name, Values: values() }])).toEqual([db]);
  });

  test('description, owner-id, vpc-id, group-id', async () => {
    expect(
      await ids([
        { Name: 'description', Values: ['test group'] },
        { Name: 'owner-id', Values: [s.admin.accountId] },
        { Name: 'vpc-id', Values: [defaultVpcId] },
      ]),
    ).toEqual([web, db].sort());
    expect(await ids([{ Name: 'group-id', Values: [web] }])).toEqual([web]);
  });

  test('an unknown filter is refused', async () => {
    const e = await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'nope', Values: ['x'] }] })));
    expect(e.name).toBe('InvalidParameterValue');
  });

  test('ids and names that do not exist', async () => {
    const a = await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [web, 'sg-0000000000000000f'] })));
    expect(a.name).toBe('InvalidGroup.NotFound');
    expect(a.message).toBe("The security group 'sg-0000000000000000f' does not exist");
    const b = await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['nope'] })));
    expect(b.name).toBe('InvalidGroup.NotFound');
    expect(b.message).toBe(`The security group 'nope' does not exist in default VPC '${defaultVpcId}'`);
    const c = await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['abc'] })));
    expect(c.name).toBe('InvalidGroupId.Malformed');
  });

  test('names are only looked up in the default VPC', async () => {
    const vpc = await newVpc();
    await newGroup({ vpcId: vpc, name: 'only-elsewhere' });
    expect((await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['only-elsewhere'] })))).name).toBe('InvalidGroup.NotFound');
  });

  test('pagination: MaxResults 5..1000 and NextToken', async () => {
    for (let i = 0; i < 6; i++) await newGroup({ name: `page-${i}` });
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const out = await ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 5, NextToken: token, Filters: [{ Name: 'group-name', Values: ['page-*'] }] }));
      expect(out.SecurityGroups!.length).toBeLessThanOrEqual(5);
      seen.push(...out.SecurityGroups!.map((g) => g.GroupName!));
      token = out.NextToken;
    } while (token);
    expect(seen.sort()).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5']);
    expect((await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(ec2.send(new DescribeSecurityGroupRulesCommand({ MaxResults: 1001 })))).name).toBe('InvalidParameterValue');
  });
});

describe('DeleteSecurityGroup', () => {
  test('by id and by name; tags and rules go with it', async () => {
    const id = await newGroup();
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'v' }] }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: id }));
    expect((await errorOf(describe1(id))).name).toBe('InvalidGroup.NotFound');
    const rules = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [id] }] }));
    expect(rules.SecurityGroupRules).toEqual([]);
    const name = uniq('byname');
    await newGroup({ name });
    await ec2.send(new DeleteSecurityGroupCommand({ GroupName: name }));
    expect((await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupName: name })))).name).toBe('InvalidGroup.NotFound');
    expect((await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })))).name).toBe('InvalidGroup.NotFound');
  });

  test('DependencyViolation while another group refers to it', async () => {
    const target = await newGroup();
    const user = await newGroup();
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: user, IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: target }] }] }));
    const e = await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: target })));
    expect(e.name).toBe('DependencyViolation');
    expect(e.message).toBe(`resource ${target} has a dependent object`);
    // A group referring to itself is no obstacle.
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: user, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, UserIdGroupPairs: [{ GroupId: user }] }] }),
    );
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: user }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: target }));
  });

  test('DependencyViolation while a network interface uses it', async () => {
    const id = await newGroup();
    const eni = newId('eni');
    await s.app.db
      .insertInto('network_interfaces')
      .values({
        id: eni,
        account_id: s.admin.accountId,
        region: 'us-east-1',
        subnet_id: 'subnet-00000000000000000',
        vpc_id: defaultVpcId,
        availability_zone: 'us-east-1a',
        private_ip: '172.31.99.99',
        mac_address: '02:00:00:00:99:99',
        description: '',
        interface_type: 'interface',
        status: 'available',
        instance_id: null,
        device_index: null,
        attachment_id: null,
        delete_on_termination: 0,
        source_dest_check: 1,
        security_groups: JSON.stringify([{ GroupId: id, GroupName: 'x' }]),
        secondary_private_ips: '[]',
        public_ip: null,
        created_at: new Date().toISOString(),
      } as never)
      .execute();
    expect((await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })))).name).toBe('DependencyViolation');
    await s.app.db.deleteFrom('network_interfaces').where('id', '=', eni).execute();
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: id }));
  });
});

describe('accounts are isolated', () => {
  test("another account neither sees nor touches this account's groups", async () => {
    const creds = await s.app.accounts.create('sg-other');
    const other = s.ec2({ credentials: creds });
    const mine = await newGroup({ name: 'isolated' });
    const theirs = await other.send(new DescribeSecurityGroupsCommand({}));
    expect(theirs.SecurityGroups!.map((g) => g.GroupId)).not.toContain(mine);
    expect(theirs.SecurityGroups!.every((g) => g.OwnerId === creds.accountId)).toBe(true);
    expect((await errorOf(other.send(new DescribeSecurityGroupsCommand({ GroupIds: [mine] })))).name).toBe('InvalidGroup.NotFound');
    expect((await errorOf(other.send(new DeleteSecurityGroupCommand({ GroupId: mine })))).name).toBe('InvalidGroup.NotFound');
    expect(
      (await errorOf(other.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: mine, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })))).name,
    ).toBe('InvalidGroup.NotFound');
    // Nor can it name this account's group as a source.
    const own = (await other.send(new CreateSecurityGroupCommand({ GroupName: 'isolated', Description: 'same name, other account' }))).GroupId!;
    const e = await errorOf(other.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: own, IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: mine }] }] })));
    expect(e.name).toBe('InvalidGroup.NotFound');
    const rules = await other.send(new DescribeSecurityGroupRulesCommand({}));
    expect(rules.SecurityGroupRules!.every((r) => r.GroupOwnerId === creds.accountId)).toBe(true);
  });
});
