// Managed policies attached to users, groups and roles; inline policies; GetAccountAuthorizationDetails.
// Users, groups and roles are written into the store by test/iam-fixtures.ts.
import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetAccountAuthorizationDetailsCommand,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListPoliciesCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  AddUserToGroupCommand,
  CreateGroupCommand,
  CreateUserCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand as DeleteInlineUserPolicyCommand,
  DetachGroupPolicyCommand,
  PutUserPermissionsBoundaryCommand,
  DeleteUserPermissionsBoundaryCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorOf, startTestServer, type TestServer } from './harness.js';
import { iamClient, insertGroup, insertInstanceProfile, insertRole, insertUser, type Entity } from './iam-fixtures.js';

let s: TestServer;
let iam: IAMClient;
let account: string;

beforeAll(async () => {
  s = await startTestServer();
  iam = iamClient(s);
  account = s.admin.accountId;
});
afterAll(async () => s?.stop());

const doc = (action: string | string[], resource: string | string[] = '*', effect = 'Allow') =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: effect, Action: action, Resource: resource }] });
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';

async function policy(name: string, path = '/'): Promise<string> {
  return (await iam.send(new CreatePolicyCommand({ PolicyName: name, Path: path, PolicyDocument: doc('ec2:Describe*') }))).Policy!.Arn!;
}

describe('attachments', () => {
  let alice: Entity;
  beforeAll(async () => {
    alice = await insertUser(s.app.db, account, 'alice');
    await insertGroup(s.app.db, account, 'ops', { members: [alice] });
    await insertRole(s.app.db, account, 'web', { path: '/app/' });
  });

  test('Attach*, List*Attached*, ListEntitiesForPolicy, AttachmentCount, and DeletePolicy refuses while attached', async () => {
    const arn = await policy('describe-all', '/ro/');
    await iam.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: arn }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'ALICE', PolicyArn: arn })); // names are case-insensitive; attaching twice is no change
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'ops', PolicyArn: arn }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'web', PolicyArn: arn }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'web', PolicyArn: ADMIN }));

    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'alice' }))).AttachedPolicies).toEqual([{ PolicyName: 'describe-all', PolicyArn: arn }]);
    expect((await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: 'ops' }))).AttachedPolicies).toEqual([{ PolicyName: 'describe-all', PolicyArn: arn }]);
    const role = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'web' }));
    expect(role.AttachedPolicies!.map((p) => p.PolicyName)).toEqual(['AdministratorAccess', 'describe-all']);
    const prefixed = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'web', PathPrefix: '/ro/' }));
    expect(prefixed.AttachedPolicies!.map((p) => p.PolicyName)).toEqual(['describe-all']);

    expect((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!.AttachmentCount).toBe(3);
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: ADMIN }))).Policy!.AttachmentCount).toBe(1);

    const entities = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: arn }));
    expect(entities.PolicyUsers).toEqual([{ UserName: 'alice', UserId: alice.id }]);
    expect(entities.PolicyGroups!.map((g) => g.GroupName)).toEqual(['ops']);
    expect(entities.PolicyRoles!.map((r) => r.RoleName)).toEqual(['web']);
    const rolesOnly = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: arn, EntityFilter: 'Role' }));
    expect([rolesOnly.PolicyUsers, rolesOnly.PolicyGroups, rolesOnly.PolicyRoles!.length]).toEqual([[], [], 1]);
    const appPath = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: arn, PathPrefix: '/app/' }));
    expect(appPath.PolicyRoles!.map((r) => r.RoleName)).toEqual(['web']);
    expect(appPath.PolicyUsers).toEqual([]);

    const attachedOnly = await iam.send(new ListPoliciesCommand({ OnlyAttached: true, Scope: 'Local', PathPrefix: '/ro/' }));
    expect(attachedOnly.Policies!.map((p) => p.PolicyName)).toEqual(['describe-all']);

    const busy = await errorOf(iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
    expect(busy.name).toBe('DeleteConflictException');
    expect(busy.message).toBe('Cannot delete a policy attached to entities.');

    await iam.send(new DetachUserPolicyCommand({ UserName: 'alice', PolicyArn: arn }));
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'alice' }))).AttachedPolicies).toEqual([]);
    const again = await errorOf(iam.send(new DetachUserPolicyCommand({ UserName: 'alice', PolicyArn: arn })));
    expect(again.name).toBe('NoSuchEntityException');
    expect(again.message).toBe(`Policy ${arn} was not found.`);
  });

  test('attaching needs the entity and an attachable policy; ten managed policies per entity at most', async () => {
    const noUser = await errorOf(iam.send(new AttachUserPolicyCommand({ UserName: 'nobody', PolicyArn: ADMIN })));
    expect(noUser.name).toBe('NoSuchEntityException');
    expect(noUser.message).toBe('The user with name nobody cannot be found.');
    const missing = `arn:aws:iam::${account}:policy/missing`;
    const noPolicy = await errorOf(iam.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: missing })));
    expect(noPolicy.name).toBe('NoSuchEntityException');
    expect(noPolicy.message).toBe(`Policy ${missing} does not exist or is not attachable.`);
    const otherAccount = await errorOf(iam.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: 'arn:aws:iam::999999999999:policy/theirs' })));
    expect(otherAccount.name).toBe('NoSuchEntityException');

    await insertUser(s.app.db, account, 'busy');
    for (let i = 0; i < 10; i++) await iam.send(new AttachUserPolicyCommand({ UserName: 'busy', PolicyArn: await policy(`ten-${i}`) }));
    const eleventh = await errorOf(iam.send(new AttachUserPolicyCommand({ UserName: 'busy', PolicyArn: await policy('ten-10') })));
    expect(eleventh.name).toBe('LimitExceededException');
    expect(eleventh.message).toBe('Cannot exceed quota for PoliciesPerUser: 10');
  });
});

describe('inline policies', () => {
  beforeAll(async () => {
    await insertUser(s.app.db, account, 'bob');
    await insertGroup(s.app.db, account, 'devs');
    await insertRole(s.app.db, account, 'worker');
  });

  test('Put, Get (URL-encoded), List, replace and Delete on users, groups and roles', async () => {
    const text = doc('ec2:RunInstances', `arn:aws:ec2:us-east-1:${account}:instance/*`);
    await iam.send(new PutUserPolicyCommand({ UserName: 'bob', PolicyName: 'run', PolicyDocument: text }));
    await iam.send(new PutUserPolicyCommand({ UserName: 'bob', PolicyName: 'describe', PolicyDocument: doc('ec2:Describe*') }));
    const got = await iam.send(new GetUserPolicyCommand({ UserName: 'bob', PolicyName: 'run' }));
    expect(got).toMatchObject({ UserName: 'bob', PolicyName: 'run' });
    expect(got.PolicyDocument).toContain('%22Action%22%3A%22ec2%3ARunInstances%22');
    expect(decodeURIComponent(got.PolicyDocument!)).toBe(text);
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'bob' }))).PolicyNames).toEqual(['describe', 'run']);

    await iam.send(new PutUserPolicyCommand({ UserName: 'bob', PolicyName: 'run', PolicyDocument: doc('ec2:StartInstances') }));
    expect(decodeURIComponent((await iam.send(new GetUserPolicyCommand({ UserName: 'bob', PolicyName: 'run' }))).PolicyDocument!)).toBe(doc('ec2:StartInstances'));

    await iam.send(new PutGroupPolicyCommand({ GroupName: 'devs', PolicyName: 'g', PolicyDocument: doc('ec2:*') }));
    expect((await iam.send(new GetGroupPolicyCommand({ GroupName: 'devs', PolicyName: 'g' }))).GroupName).toBe('devs');
    await iam.send(new PutRolePolicyCommand({ RoleName: 'worker', PolicyName: 'r', PolicyDocument: doc('ec2:*') }));
    expect((await iam.send(new GetRolePolicyCommand({ RoleName: 'worker', PolicyName: 'r' }))).RoleName).toBe('worker');
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'worker', PolicyName: 'r' }));
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'worker' }))).PolicyNames).toEqual([]);

    await iam.send(new DeleteUserPolicyCommand({ UserName: 'bob', PolicyName: 'describe' }));
    const gone = await errorOf(iam.send(new GetUserPolicyCommand({ UserName: 'bob', PolicyName: 'describe' })));
    expect(gone.name).toBe('NoSuchEntityException');
    expect(gone.message).toBe('The user policy with name describe cannot be found.');
    const bad = await errorOf(iam.send(new PutUserPolicyCommand({ UserName: 'bob', PolicyName: 'x', PolicyDocument: '{"Statement":[{"Effect":"Allow"}]}' })));
    expect(bad.name).toBe('MalformedPolicyDocumentException');
  });

  test("the aggregate size of an entity's inline policies: user 2,048, group 5,120, role 10,240", async () => {
    const sized = (n: number) => doc(Array.from({ length: n }, (_, i) => `ec2:DescribeThing${String(i).padStart(4, '0')}`));
    // 2,048 across the user's documents: one of 1,283 fits, a second does not.
    await insertUser(s.app.db, account, 'carol');
    await iam.send(new PutUserPolicyCommand({ UserName: 'carol', PolicyName: 'one', PolicyDocument: sized(50) }));
    const over = await errorOf(iam.send(new PutUserPolicyCommand({ UserName: 'carol', PolicyName: 'two', PolicyDocument: sized(50) })));
    expect(over.name).toBe('LimitExceededException');
    expect(over.message).toBe('Maximum policy size of 2048 bytes exceeded for user carol');
    // Replacing a document counts the new one instead of the old.
    await iam.send(new PutUserPolicyCommand({ UserName: 'carol', PolicyName: 'one', PolicyDocument: sized(55) }));

    await insertGroup(s.app.db, account, 'big');
    // 3,683 + 1,283 fits in 5,120; 3,683 + 1,523 does not.
    await iam.send(new PutGroupPolicyCommand({ GroupName: 'big', PolicyName: 'a', PolicyDocument: sized(150) }));
    await iam.send(new PutGroupPolicyCommand({ GroupName: 'big', PolicyName: 'b', PolicyDocument: sized(50) }));
    const g = await errorOf(iam.send(new PutGroupPolicyCommand({ GroupName: 'big', PolicyName: 'b', PolicyDocument: sized(60) })));
    expect(g.message).toBe('Maximum policy size of 5120 bytes exceeded for group big');

    await insertRole(s.app.db, account, 'huge');
    // 4,883 × 2 fits in 10,240; a third of 1,283 does not.
    await iam.send(new PutRolePolicyCommand({ RoleName: 'huge', PolicyName: 'a', PolicyDocument: sized(200) }));
    await iam.send(new PutRolePolicyCommand({ RoleName: 'huge', PolicyName: 'b', PolicyDocument: sized(200) }));
    const r = await errorOf(iam.send(new PutRolePolicyCommand({ RoleName: 'huge', PolicyName: 'c', PolicyDocument: sized(50) })));
    expect(r.message).toBe('Maximum policy size of 10240 bytes exceeded for role huge');
  });
});

describe('GetAccountAuthorizationDetails', () => {
  test('users with groups and policies, groups, roles with instance profiles and trust policies, managed policies with versions; Filter and paging', async () => {
    // A fresh server: the account holds exactly what this test writes.
    const t = await startTestServer();
    try {
      const c = iamClient(t);
      const acct = t.admin.accountId;
      const dana = await insertUser(t.app.db, acct, 'dana');
      await insertGroup(t.app.db, acct, 'readers', { members: [dana] });
      const role = await insertRole(t.app.db, acct, 'app');
      await insertInstanceProfile(t.app.db, acct, 'app-profile', role);
      const arn = (await c.send(new CreatePolicyCommand({ PolicyName: 'read', PolicyDocument: doc('ec2:Describe*') }))).Policy!.Arn!;
      await c.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc('ec2:DescribeInstances'), SetAsDefault: true }));
      await c.send(new AttachGroupPolicyCommand({ GroupName: 'readers', PolicyArn: arn }));
      await c.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: ADMIN }));
      await c.send(new PutUserPolicyCommand({ UserName: 'dana', PolicyName: 'own', PolicyDocument: doc('ec2:CreateTags') }));

      const all = await c.send(new GetAccountAuthorizationDetailsCommand({}));
      expect(all.IsTruncated).toBe(false);
      const user = all.UserDetailList![0]!;
      expect(user).toMatchObject({ UserName: 'dana', UserId: dana.id, GroupList: ['readers'], AttachedManagedPolicies: [] });
      expect(user.UserPolicyList!.map((p) => [p.PolicyName, decodeURIComponent(p.PolicyDocument!)])).toEqual([['own', doc('ec2:CreateTags')]]);
      expect(all.GroupDetailList![0]).toMatchObject({ GroupName: 'readers', AttachedManagedPolicies: [{ PolicyName: 'read', PolicyArn: arn }] });
      const r = all.RoleDetailList![0]!;
      expect(r).toMatchObject({ RoleName: 'app', AttachedManagedPolicies: [{ PolicyName: 'AdministratorAccess', PolicyArn: ADMIN }] });
      expect(JSON.parse(decodeURIComponent(r.AssumeRolePolicyDocument!)).Statement[0].Principal).toEqual({ Service: 'ec2.amazonaws.com' });
      expect(r.InstanceProfileList!.map((p) => [p.InstanceProfileName, p.Roles![0]!.RoleName])).toEqual([['app-profile', 'app']]);
      const names = all.Policies!.map((p) => p.PolicyName).sort();
      expect(names).toEqual(['AdministratorAccess', 'read']);
      const read = all.Policies!.find((p) => p.PolicyName === 'read')!;
      expect(read).toMatchObject({ DefaultVersionId: 'v2', AttachmentCount: 1 });
      expect(read.PolicyVersionList!.map((v) => [v.VersionId, v.IsDefaultVersion, decodeURIComponent(v.Document!)])).toEqual([
        ['v2', true, doc('ec2:DescribeInstances')],
        ['v1', false, doc('ec2:Describe*')],
      ]);

      const rolesOnly = await c.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role', 'LocalManagedPolicy'] }));
      expect([rolesOnly.UserDetailList, rolesOnly.GroupDetailList, rolesOnly.RoleDetailList!.length, rolesOnly.Policies!.map((p) => p.PolicyName)]).toEqual([[], [], 1, ['read']]);

      const first = await c.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 2 }));
      expect(first.IsTruncated).toBe(true);
      expect([first.UserDetailList!.length, first.GroupDetailList!.length]).toEqual([1, 1]);
      const rest = await c.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 100, Marker: first.Marker }));
      expect(rest.IsTruncated).toBe(false);
      expect([rest.UserDetailList!.length, rest.RoleDetailList!.length, rest.Policies!.length]).toEqual([0, 1, 2]);
    } finally {
      await t.stop();
    }
  });
});

describe('with the identity operations', () => {
  test("CreateUser and CreateGroup's entities take policies; a boundary counts as a use; DeleteUser waits for its policies", async () => {
    const user = (await iam.send(new CreateUserCommand({ UserName: 'erin' }))).User!;
    await iam.send(new CreateGroupCommand({ GroupName: 'erin-team' }));
    await iam.send(new AddUserToGroupCommand({ GroupName: 'erin-team', UserName: 'erin' }));
    const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: 'erin-read', PolicyDocument: doc('ec2:DescribeInstances') }))).Policy!.Arn!;
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'erin-team', PolicyArn: arn }));
    await iam.send(new PutUserPolicyCommand({ UserName: 'erin', PolicyName: 'deny-run', PolicyDocument: doc('ec2:RunInstances', '*', 'Deny') }));

    const sim = await iam.send(
      new SimulatePrincipalPolicyCommand({ PolicySourceArn: user.Arn, ActionNames: ['ec2:DescribeInstances', 'ec2:RunInstances', 'ec2:DescribeVolumes'] }),
    );
    expect(sim.EvaluationResults!.map((r) => r.EvalDecision)).toEqual(['allowed', 'explicitDeny', 'implicitDeny']);
    expect(sim.EvaluationResults![0]!.MatchedStatements).toEqual([{ SourcePolicyId: 'erin-read', SourcePolicyType: 'user-managed' }]);

    // The same policy as erin's permissions boundary: a use ListEntitiesForPolicy and DeletePolicy see.
    await iam.send(new PutUserPermissionsBoundaryCommand({ UserName: 'erin', PermissionsBoundary: arn }));
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy).toMatchObject({ AttachmentCount: 1, PermissionsBoundaryUsageCount: 1 });
    const bounded = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: arn, PolicyUsageFilter: 'PermissionsBoundary' }));
    expect([bounded.PolicyUsers!.map((u) => u.UserName), bounded.PolicyGroups]).toEqual([['erin'], []]);
    const boundaries = await iam.send(new ListPoliciesCommand({ Scope: 'Local', PolicyUsageFilter: 'PermissionsBoundary' }));
    expect(boundaries.Policies!.map((p) => p.PolicyName)).toEqual(['erin-read']);
    await iam.send(new DetachGroupPolicyCommand({ GroupName: 'erin-team', PolicyArn: arn }));
    const attachedOnes = await iam.send(new ListPoliciesCommand({ Scope: 'Local', PolicyUsageFilter: 'PermissionsPolicy', MaxItems: 1000 }));
    expect(attachedOnes.Policies!.map((p) => p.PolicyName)).not.toContain('erin-read');
    expect(attachedOnes.Policies!.every((p) => p.AttachmentCount! > 0)).toBe(true);
    const stillBoundary = await errorOf(iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
    expect(stillBoundary.name).toBe('DeleteConflictException');
    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: 'erin' }));
    await iam.send(new DeletePolicyCommand({ PolicyArn: arn }));

    const busy = await errorOf(iam.send(new DeleteUserCommand({ UserName: 'erin' })));
    expect(busy.name).toBe('DeleteConflictException');
    expect(busy.message).toBe('Cannot delete entity, must delete policies first.');
    await iam.send(new DeleteInlineUserPolicyCommand({ UserName: 'erin', PolicyName: 'deny-run' }));
    const details = await iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['User'] }));
    expect(details.UserDetailList!.find((u) => u.UserName === 'erin')).toMatchObject({ GroupList: ['erin-team'], UserPolicyList: [], AttachedManagedPolicies: [] });
  });
});
