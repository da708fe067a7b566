// IAM roles and instance profiles through @aws-sdk/client-iam against a started server.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteUserPermissionsBoundaryCommand,
  PutRolePermissionsBoundaryCommand,
  PutUserPermissionsBoundaryCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  ListInstanceProfilesCommand,
  ListInstanceProfilesForRoleCommand,
  ListInstanceProfileTagsCommand,
  ListRolesCommand,
  ListUsersCommand,
  ListRoleTagsCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagInstanceProfileCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
  UpdateRoleDescriptionCommand,
} from '@aws-sdk/client-iam';
import { errorOf, startTestServer, type TestServer } from './harness.js';

let s: TestServer;
let iam: IAMClient;
let account: string;

const ec2Trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

beforeAll(async () => {
  s = await startTestServer();
  account = s.admin.accountId;
  iam = new IAMClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: s.admin.accessKeyId, secretAccessKey: s.admin.secretAccessKey }, maxAttempts: 1 });
});
afterAll(async () => {
  await s?.stop();
});

describe('roles', () => {
  test('CreateRole keeps its trust policy (answered URL-encoded), description, session limit and tags', async () => {
    const out = await iam.send(
      new CreateRoleCommand({
        RoleName: 'web',
        Path: '/apps/',
        AssumeRolePolicyDocument: ec2Trust,
        Description: 'for the web tier',
        MaxSessionDuration: 7200,
        Tags: [{ Key: 'team', Value: 'web' }],
      }),
    );
    expect(out.Role).toMatchObject({ RoleName: 'web', Path: '/apps/', Arn: `arn:aws:iam::${account}:role/apps/web`, Description: 'for the web tier', MaxSessionDuration: 7200 });
    expect(out.Role!.RoleId).toMatch(/^AROA/);
    expect(decodeURIComponent(out.Role!.AssumeRolePolicyDocument!)).toBe(ec2Trust);
    const got = await iam.send(new GetRoleCommand({ RoleName: 'WEB' }));
    expect(got.Role).toMatchObject({ RoleName: 'web', RoleId: out.Role!.RoleId, Tags: [{ Key: 'team', Value: 'web' }], RoleLastUsed: {} });
    expect(JSON.parse(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!))).toEqual(JSON.parse(ec2Trust));
  });

  test('a trust policy is checked as IAM checks one: MalformedPolicyDocument with its message', async () => {
    const noPrincipal = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole' }] });
    let e = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'bad', AssumeRolePolicyDocument: noPrincipal })));
    expect(e.name).toBe('MalformedPolicyDocumentException');
    expect(e.message).toBe('Missing required field Principal');
    e = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'bad', AssumeRolePolicyDocument: '{not json' })));
    expect(e.name).toBe('MalformedPolicyDocumentException');
    expect(e.message).toBe('Syntax errors in policy.');
    const ec2Action = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'ec2:RunInstances' }] });
    e = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'bad', AssumeRolePolicyDocument: ec2Action })));
    expect(e.message).toBe('AssumeRole policy may only specify STS AssumeRole actions.');
    expect((await errorOf(iam.send(new GetRoleCommand({ RoleName: 'bad' })))).name).toBe('NoSuchEntityException');
  });

  test('a trust policy may name only users and roles that exist', async () => {
    const naming = (arn: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: arn }, Action: 'sts:AssumeRole' }] });
    const ghost = `arn:aws:iam::${account}:user/ghost`;
    const e = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'trusting', AssumeRolePolicyDocument: naming(ghost) })));
    expect(e.name).toBe('MalformedPolicyDocumentException');
    expect(e.message).toBe(`Invalid principal in policy: "AWS":"${ghost}"`);
    await iam.send(new CreateUserCommand({ UserName: 'ghost' }));
    const ok = await iam.send(new CreateRoleCommand({ RoleName: 'trusting', AssumeRolePolicyDocument: naming(ghost) }));
    expect(ok.Role!.RoleName).toBe('trusting');
    await iam.send(new DeleteRoleCommand({ RoleName: 'trusting' }));
  });

  test('MaxSessionDuration must be 3600–43200; a boundary must name a policy that exists', async () => {
    let e = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'short', AssumeRolePolicyDocument: ec2Trust, MaxSessionDuration: 600 })));
    expect(e.name).toBe('ValidationError');
    expect(e.message).toContain('Member must have value greater than or equal to 3600');
    e = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'long', AssumeRolePolicyDocument: ec2Trust, MaxSessionDuration: 43201 })));
    expect(e.message).toContain('Member must have value less than or equal to 43200');
    const missing = `arn:aws:iam::${account}:policy/nope`;
    e = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'bounded', AssumeRolePolicyDocument: ec2Trust, PermissionsBoundary: missing })));
    expect(e.name).toBe('NoSuchEntityException');
    const ok = await iam.send(
      new CreateRoleCommand({ RoleName: 'bounded', AssumeRolePolicyDocument: ec2Trust, PermissionsBoundary: 'arn:aws:iam::aws:policy/AdministratorAccess' }),
    );
    expect(ok.Role!.PermissionsBoundary).toEqual({ PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: 'arn:aws:iam::aws:policy/AdministratorAccess' });
    const user = await iam.send(new CreateUserCommand({ UserName: 'bounded-user', PermissionsBoundary: 'arn:aws:iam::aws:policy/AdministratorAccess' }));
    expect(user.User!.PermissionsBoundary!.PermissionsBoundaryArn).toBe('arn:aws:iam::aws:policy/AdministratorAccess');
    expect((await iam.send(new GetUserCommand({ UserName: 'bounded-user' }))).User!.PermissionsBoundary!.PermissionsBoundaryArn).toBe(
      'arn:aws:iam::aws:policy/AdministratorAccess',
    );
    // Listings leave the boundary out, as IAM's do.
    const listed = (await iam.send(new ListUsersCommand({}))).Users!.find((u) => u.UserName === 'bounded-user')!;
    expect(listed.PermissionsBoundary).toBeUndefined();
    expect((await iam.send(new ListRolesCommand({}))).Roles!.find((r) => r.RoleName === 'bounded')!.PermissionsBoundary).toBeUndefined();
    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: 'bounded-user' }));
    expect((await iam.send(new GetUserCommand({ UserName: 'bounded-user' }))).User!.PermissionsBoundary).toBeUndefined();
    await iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'bounded' }));
    expect((await iam.send(new GetRoleCommand({ RoleName: 'bounded' }))).Role!.PermissionsBoundary).toBeUndefined();
    await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: 'bounded', PermissionsBoundary: 'arn:aws:iam::aws:policy/AdministratorAccess' }));
    expect((await iam.send(new GetRoleCommand({ RoleName: 'bounded' }))).Role!.PermissionsBoundary!.PermissionsBoundaryArn).toBe('arn:aws:iam::aws:policy/AdministratorAccess');
    const bad = await errorOf(iam.send(new PutUserPermissionsBoundaryCommand({ UserName: 'bounded-user', PermissionsBoundary: 'not-an-arn' })));
    expect(bad.name).toBe('InvalidInputException');
  });

  test('UpdateRole, UpdateRoleDescription and UpdateAssumeRolePolicy change what GetRole answers', async () => {
    await iam.send(new UpdateRoleCommand({ RoleName: 'web', MaxSessionDuration: 43200 }));
    const d = await iam.send(new UpdateRoleDescriptionCommand({ RoleName: 'web', Description: 'new words' }));
    expect(d.Role).toMatchObject({ RoleName: 'web', Description: 'new words', MaxSessionDuration: 43200 });
    const lambdaTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'sts:AssumeRole' }] });
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'web', PolicyDocument: lambdaTrust }));
    const got = await iam.send(new GetRoleCommand({ RoleName: 'web' }));
    expect(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!)).toBe(lambdaTrust);
    expect(got.Role!.Description).toBe('new words');
    const e = await errorOf(iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'web', PolicyDocument: '{}' })));
    expect(e.name).toBe('MalformedPolicyDocumentException');
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'web', PolicyDocument: ec2Trust }));
  });

  test('TagRole, UntagRole, ListRoleTags; ListRoles pages by name', async () => {
    await iam.send(new TagRoleCommand({ RoleName: 'web', Tags: [{ Key: 'cost', Value: '42' }] }));
    await iam.send(new UntagRoleCommand({ RoleName: 'web', TagKeys: ['team'] }));
    expect((await iam.send(new ListRoleTagsCommand({ RoleName: 'web' }))).Tags).toEqual([{ Key: 'cost', Value: '42' }]);
    const first = await iam.send(new ListRolesCommand({ MaxItems: 1 }));
    expect(first.Roles!.map((r) => r.RoleName)).toEqual(['bounded']);
    expect(first.IsTruncated).toBe(true);
    const next = await iam.send(new ListRolesCommand({ MaxItems: 10, Marker: first.Marker }));
    expect(next.Roles!.map((r) => r.RoleName)).toEqual(['web']);
    expect((await iam.send(new ListRolesCommand({ PathPrefix: '/apps/' }))).Roles!.map((r) => r.RoleName)).toEqual(['web']);
  });
});

describe('instance profiles', () => {
  test('one role per profile; GetInstanceProfile and ListInstanceProfilesForRole show it', async () => {
    const p = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'web-profile', Path: '/apps/', Tags: [{ Key: 'a', Value: 'b' }] }));
    expect(p.InstanceProfile).toMatchObject({ InstanceProfileName: 'web-profile', Arn: `arn:aws:iam::${account}:instance-profile/apps/web-profile`, Roles: [] });
    expect(p.InstanceProfile!.InstanceProfileId).toMatch(/^AIPA/);
    const dup = await errorOf(iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'WEB-PROFILE' })));
    expect(dup.name).toBe('EntityAlreadyExistsException');

    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'web-profile', RoleName: 'web' }));
    const full = await errorOf(iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'web-profile', RoleName: 'bounded' })));
    expect(full.name).toBe('LimitExceededException');
    expect(full.message).toBe('Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1');

    const got = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'web-profile' }));
    expect(got.InstanceProfile!.Roles!.map((r) => r.RoleName)).toEqual(['web']);
    expect(got.InstanceProfile!.Tags).toEqual([{ Key: 'a', Value: 'b' }]);
    const forRole = await iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: 'web' }));
    expect(forRole.InstanceProfiles!.map((x) => x.InstanceProfileName)).toEqual(['web-profile']);
    expect((await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles!.map((x) => x.InstanceProfileName)).toEqual(['web-profile']);
    await iam.send(new TagInstanceProfileCommand({ InstanceProfileName: 'web-profile', Tags: [{ Key: 'c', Value: 'd' }] }));
    expect((await iam.send(new ListInstanceProfileTagsCommand({ InstanceProfileName: 'web-profile' }))).Tags).toHaveLength(2);
  });

  test('a role in a profile and a profile with a role cannot be deleted (DeleteConflict) until removed', async () => {
    let e = await errorOf(iam.send(new DeleteRoleCommand({ RoleName: 'web' })));
    expect(e.name).toBe('DeleteConflictException');
    expect(e.message).toBe('Cannot delete entity, must remove roles from instance profile first.');
    e = await errorOf(iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: 'web-profile' })));
    expect(e.name).toBe('DeleteConflictException');
    await iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: 'web-profile', RoleName: 'web' }));
    await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: 'web-profile' }));
    e = await errorOf(iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'web-profile' })));
    expect(e.name).toBe('NoSuchEntityException');
    expect(e.message).toBe('Instance Profile web-profile cannot be found.');
    await iam.send(new DeleteRoleCommand({ RoleName: 'web' }));
    expect((await errorOf(iam.send(new GetRoleCommand({ RoleName: 'web' })))).message).toBe('The role with name web cannot be found.');
  });
});
