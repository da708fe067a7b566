import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../lib/secrets.js';
import { rootPrincipal } from '../../iam/principal.js';
// resolveSecurityGroups and the lookups other families use, against a real (in-memory) store.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Kysely } from 'kysely';
import { ApiError } from '../../errors.js';
import { loadConfig } from '../../../config.js';
import { openStore, type Db } from '../../../store/db.js';
import type { Ctx } from '../../context.js';
import { createDefaultSecurityGroup, resolveSecurityGroups, rulesOf } from './store.js';

let db: Db;
const account = '111122223333';
let defaultVpc: string;
let otherVpc: string;
let defaultGroup: string;
let otherDefault: string;

function ctxFor(accountId = account): Ctx {
  return {
    accountId,
    region: 'us-east-1',
    requestId: 'test',
    principal: rootPrincipal(accountId, ''),
    source: { ip: '127.0.0.1', secure: true },
    secrets: new SecretBox(randomBytes(32)),
    operation: 'Test',
    db,
    config: loadConfig({ CUMULO_HOME: '/nonexistent' }),
    now: new Date('2024-01-01T00:00:00Z'),
    enqueue: async () => {},
    afterCommit: () => {},
    beforeCommit: () => {},
  };
}

async function vpc(id: string, isDefault: boolean): Promise<void> {
  await (db as unknown as Kysely<any>)
    .insertInto('vpcs')
    .values({
      id,
      account_id: account,
      region: 'us-east-1',
      cidr_block: '10.0.0.0/16',
      state: 'available',
      is_default: isDefault ? 1 : 0,
      instance_tenancy: 'default',
      dhcp_options_id: 'dopt-00000000',
      enable_dns_support: 1,
      enable_dns_hostnames: 1,
      cidr_associations: '[]',
      ipv6_cidr_associations: '[]',
      created_at: '2024-01-01T00:00:00.000Z',
    })
    .execute();
}

async function group(id: string, vpcId: string, name: string): Promise<void> {
  await db
    .insertInto('security_groups')
    .values({ id, account_id: account, region: 'us-east-1', vpc_id: vpcId, group_name: name, description: 'd', created_at: '2024-01-01T00:00:00.000Z' })
    .execute();
}

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'ok';
};

beforeAll(async () => {
  db = await openStore({ file: ':memory:', url: '' });
  defaultVpc = 'vpc-00000000000000001';
  otherVpc = 'vpc-00000000000000002';
  await vpc(defaultVpc, true);
  await vpc(otherVpc, false);
  defaultGroup = await createDefaultSecurityGroup(ctxFor(), defaultVpc);
  otherDefault = await createDefaultSecurityGroup(ctxFor(), otherVpc, { ipv6: true });
  await group('sg-0000000000000000a', defaultVpc, 'web');
  await group('sg-0000000000000000b', otherVpc, 'app');
});
afterAll(async () => {
  await db?.destroy();
});

describe('createDefaultSecurityGroup', () => {
  test('ingress from itself, egress everywhere (and ::/0 with IPv6)', async () => {
    const rules = await rulesOf(db, [otherDefault]);
    expect(rules.map((r) => [r.is_egress, r.ip_protocol, r.referenced_group_id ?? r.cidr_ipv4 ?? r.cidr_ipv6]).sort()).toEqual(
      [
        [0, '-1', otherDefault],
        [1, '-1', '0.0.0.0/0'],
        [1, '-1', '::/0'],
      ].sort(),
    );
  });
});

describe('resolveSecurityGroups', () => {
  test('ids and names, in order and without repeats', async () => {
    const out = await resolveSecurityGroups(ctxFor(), { ids: ['sg-0000000000000000a', defaultGroup], names: ['web', 'default'], vpcId: defaultVpc });
    expect(out).toEqual([
      { GroupId: 'sg-0000000000000000a', GroupName: 'web' },
      { GroupId: defaultGroup, GroupName: 'default' },
    ]);
  });

  test("with neither, the VPC's default group", async () => {
    expect(await resolveSecurityGroups(ctxFor(), { vpcId: otherVpc })).toEqual([{ GroupId: otherDefault, GroupName: 'default' }]);
    expect(await resolveSecurityGroups(ctxFor(), { ids: [], names: [], vpcId: defaultVpc })).toEqual([{ GroupId: defaultGroup, GroupName: 'default' }]);
  });

  test.each([
    [{ ids: ['sg-0000000000000000f'] }, "InvalidGroup.NotFound: The security group 'sg-0000000000000000f' does not exist"],
    [{ ids: ['sg-xyz'] }, 'InvalidGroupId.Malformed: Invalid id: "sg-xyz" (expecting "sg-...")'],
    [{ names: ['nope'] }, "InvalidGroup.NotFound: The security group 'nope' does not exist in default VPC 'vpc-00000000000000001'"],
    [{ ids: ['sg-0000000000000000b'] }, 'InvalidParameter: Security group sg-0000000000000000b and subnet subnet-1 belong to different networks.'],
  ])('%j', async (opts, err) => {
    expect(await code(resolveSecurityGroups(ctxFor(), { ...opts, vpcId: defaultVpc, subnetId: 'subnet-1' }))).toBe(err);
  });

  test('names only work when launching into the default VPC', async () => {
    expect(await code(resolveSecurityGroups(ctxFor(), { names: ['app'], vpcId: otherVpc }))).toMatch(/^InvalidParameterCombination/);
    expect(await resolveSecurityGroups(ctxFor(), { ids: ['sg-0000000000000000b'], vpcId: otherVpc })).toEqual([{ GroupId: 'sg-0000000000000000b', GroupName: 'app' }]);
  });

  test("another account's groups do not exist", async () => {
    expect(await code(resolveSecurityGroups(ctxFor('999988887777'), { ids: ['sg-0000000000000000a'], vpcId: defaultVpc }))).toMatch(/^InvalidGroup.NotFound/);
  });
});
