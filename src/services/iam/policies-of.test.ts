// identityPolicies, permissionsBoundaryOf and entityOfPrincipal against a store: what the authorizer
// evaluates for a user (own and groups'), a group and a role.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStore, type Db } from '../../store/db.js';
import { insertGroup, insertRole, insertUser } from '../../../test/iam-fixtures.js';
import { evaluate } from './policy/index.js';
import { entityOfPrincipal, identityPolicies, identityPolicySources, permissionsBoundaryOf } from './policies-of.js';
import { rootPrincipal } from './principal.js';

const ACCOUNT = '123456789012';
const doc = (effect: string, action: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: effect, Action: action, Resource: '*' }] });
let db: Db;

async function managed(name: string, versions: string[], defaultVersion: string): Promise<string> {
  const arn = `arn:aws:iam::${ACCOUNT}:policy/${name}`;
  const now = new Date().toISOString();
  const id = `ANPA${name.toUpperCase().padEnd(16, 'X').slice(0, 16)}`;
  await db
    .insertInto('iam_policies')
    .values({
      id,
      account_id: ACCOUNT,
      name,
      name_key: name,
      path: '/',
      arn,
      created_at: now,
      description: null,
      default_version_id: defaultVersion,
      next_version: versions.length + 1,
      updated_at: now,
    })
    .execute();
  for (const [i, d] of versions.entries())
    await db
      .insertInto('iam_policy_versions')
      .values({ policy_id: id, version_id: `v${i + 1}`, document: d, created_at: now })
      .execute();
  return arn;
}

const attach = (type: 'user' | 'group' | 'role', entityId: string, arn: string) =>
  db.insertInto('iam_attached_policies').values({ account_id: ACCOUNT, entity_type: type, entity_id: entityId, policy_arn: arn, attached_at: new Date().toISOString() }).execute();
const inline = (type: 'user' | 'group' | 'role', entityId: string, name: string, document: string) =>
  db.insertInto('iam_inline_policies').values({ account_id: ACCOUNT, entity_type: type, entity_id: entityId, name, document }).execute();

beforeAll(async () => {
  db = await openStore({ file: ':memory:' });
});
afterAll(async () => db?.destroy());

describe('identityPolicies', () => {
  test("a user's inline and attached policies (default versions), then its groups'; AWS managed ones from the catalog", async () => {
    const user = await insertUser(db, ACCOUNT, 'ann');
    const group = await insertGroup(db, ACCOUNT, 'crew', { members: [user] });
    await insertGroup(db, ACCOUNT, 'others'); // not ann's
    const versioned = await managed('versioned', [doc('Allow', 'ec2:DescribeImages'), doc('Allow', 'ec2:DescribeVolumes')], 'v2');
    await inline('user', user.id, 'own', doc('Allow', 'ec2:DescribeInstances'));
    await attach('user', user.id, versioned);
    await inline('group', group.id, 'crew-inline', doc('Deny', 'ec2:TerminateInstances'));
    await attach('group', group.id, 'arn:aws:iam::aws:policy/AdministratorAccess');

    const sources = await identityPolicySources(db, { type: 'user', id: user.id });
    expect(sources.map((s) => [s.sourceType, s.sourceId, s.policy.id])).toEqual([
      ['user', 'own', 'user/ann/inline/own'],
      ['user-managed', 'versioned', versioned],
      ['group', 'crew-inline', 'group/crew/inline/crew-inline'],
      ['aws-managed', 'AdministratorAccess', 'arn:aws:iam::aws:policy/AdministratorAccess'],
    ]);
    const policies = await identityPolicies(db, { type: 'user', id: user.id });
    const decide = (action: string) => evaluate({ action, resource: '*', context: {} }, { identity: policies }).decision;
    // v2 is the default: DescribeVolumes, not v1's DescribeImages (AdministratorAccess allows both anyway).
    expect(policies[1]!.statements[0]!.action).toEqual(['ec2:DescribeVolumes']);
    expect(decide('ec2:TerminateInstances')).toBe('ExplicitDeny');
    expect(decide('ec2:RunInstances')).toBe('Allow');

    const groupOnly = await identityPolicies(db, { type: 'group', id: group.id });
    expect(groupOnly.map((p) => p.id)).toEqual(['group/crew/inline/crew-inline', 'arn:aws:iam::aws:policy/AdministratorAccess']);
    expect(await identityPolicies(db, { type: 'user', id: 'AIDANOSUCHUSER00000' })).toEqual([]);
  });

  test("a role's policies and permissions boundary; entityOfPrincipal finds a session's role", async () => {
    const boundary = await managed('bound', [doc('Allow', 'ec2:Describe*')], 'v1');
    const role = await insertRole(db, ACCOUNT, 'svc', { boundary });
    await inline('role', role.id, 'all', doc('Allow', 'ec2:*'));
    const policies = await identityPolicies(db, { type: 'role', id: role.id });
    const b = await permissionsBoundaryOf(db, { type: 'role', id: role.id });
    expect(b?.id).toBe(boundary);
    const decide = (action: string) => evaluate({ action, resource: '*', context: {} }, { identity: policies, boundary: b }).decision;
    expect([decide('ec2:DescribeVpcs'), decide('ec2:RunInstances')]).toEqual(['Allow', 'ImplicitDeny']);
    expect(await permissionsBoundaryOf(db, { type: 'group', id: 'AGPAANY' })).toBeUndefined();

    const session = {
      kind: 'assumed-role' as const,
      accountId: ACCOUNT,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/svc/s1`,
      userId: `${role.id}:s1`,
      accessKeyId: 'ASIAEXAMPLE',
      session: { roleArn: role.arn, sessionName: 's1', expiresAt: new Date(), issuedAt: new Date(), policies: [], policyArns: [], tags: {}, mfa: false },
    };
    expect(await entityOfPrincipal(db, session)).toEqual({ type: 'role', id: role.id });
    expect(await entityOfPrincipal(db, rootPrincipal(ACCOUNT, 'AKIAROOT'))).toBeUndefined();
    const user = await insertUser(db, ACCOUNT, 'bea');
    expect(await entityOfPrincipal(db, { kind: 'user', accountId: ACCOUNT, arn: user.arn, userId: user.id, accessKeyId: 'AKIAUSER' })).toEqual({ type: 'user', id: user.id });
  });
});
