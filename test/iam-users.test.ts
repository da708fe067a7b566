// IAM users, groups and their tags through @aws-sdk/client-iam against a started server.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteGroupCommand,
  DeleteLoginProfileCommand,
  DeleteUserCommand,
  GetAccountSummaryCommand,
  GetGroupCommand,
  GetUserCommand,
  IAMClient,
  ListGroupsCommand,
  ListGroupsForUserCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  RemoveUserFromGroupCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateGroupCommand,
  UpdateUserCommand,
} from '@aws-sdk/client-iam';
import { isUniqueViolation } from '../src/services/iam/entities/store.js';
import { errorOf, startTestServer, type TestServer } from './harness.js';

let s: TestServer;
let iam: IAMClient;
let account: string;

beforeAll(async () => {
  s = await startTestServer();
  account = s.admin.accountId;
  iam = new IAMClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: s.admin.accessKeyId, secretAccessKey: s.admin.secretAccessKey }, maxAttempts: 1 });
});
afterAll(async () => {
  await s?.stop();
});

describe('users', () => {
  test('CreateUser with a path and tags; GetUser answers it with its ARN and tags', async () => {
    const out = await iam.send(new CreateUserCommand({ UserName: 'alice', Path: '/division/', Tags: [{ Key: 'team', Value: 'web' }] }));
    expect(out.User).toMatchObject({ UserName: 'alice', Path: '/division/', Arn: `arn:aws:iam::${account}:user/division/alice` });
    expect(out.User!.UserId).toMatch(/^AIDA[A-Z2-7]{16}$/);
    expect(out.User!.CreateDate).toBeInstanceOf(Date);
    const got = await iam.send(new GetUserCommand({ UserName: 'ALICE' }));
    expect(got.User).toMatchObject({ UserName: 'alice', UserId: out.User!.UserId, Tags: [{ Key: 'team', Value: 'web' }] });
  });

  test('names are unique without regard to case; bad names and paths are refused', async () => {
    const dup = await errorOf(iam.send(new CreateUserCommand({ UserName: 'Alice' })));
    expect(dup.name).toBe('EntityAlreadyExistsException');
    expect(dup.message).toBe('User with name Alice already exists.');
    expect(dup.$metadata.httpStatusCode).toBe(409);
    const bad = await errorOf(iam.send(new CreateUserCommand({ UserName: 'a b' })));
    expect(bad.name).toBe('ValidationError');
    expect(bad.message).toContain("Value 'a b' at 'userName' failed to satisfy constraint");
    const path = await errorOf(iam.send(new CreateUserCommand({ UserName: 'p', Path: 'nope' })));
    expect(path.name).toBe('ValidationError');
  });

  test("the store's unique index on names is what isUniqueViolation recognises (a race's loser answers EntityAlreadyExists)", async () => {
    const alice = await s.app.db.selectFrom('iam_users').selectAll().where('name_key', '=', 'alice').executeTakeFirstOrThrow();
    const e = await s.app.db
      .insertInto('iam_users')
      .values({ ...alice, id: 'AIDAAAAAAAAAAAAAAAAA', name: 'ALICE' })
      .execute()
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(isUniqueViolation(e)).toBe(true);
    expect(isUniqueViolation(new Error('other'))).toBe(false);
  });

  test('GetUser of an unknown user is NoSuchEntity (404); without a name it answers the root user', async () => {
    const e = await errorOf(iam.send(new GetUserCommand({ UserName: 'nobody' })));
    expect(e.name).toBe('NoSuchEntityException');
    expect(e.message).toBe('The user with name nobody cannot be found.');
    expect(e.$metadata.httpStatusCode).toBe(404);
    const root = await iam.send(new GetUserCommand({}));
    expect(root.User!.UserId).toBe(account);
    expect(root.User!.Arn).toBe(`arn:aws:iam::${account}:root`);
    expect(root.User!.UserName).toBeUndefined();
  });

  test('ListUsers pages with MaxItems and Marker, in name order, and filters by PathPrefix', async () => {
    for (const n of ['u3', 'u1', 'u2']) await iam.send(new CreateUserCommand({ UserName: n, Path: '/paged/' }));
    const first = await iam.send(new ListUsersCommand({ PathPrefix: '/paged/', MaxItems: 2 }));
    expect(first.Users!.map((u) => u.UserName)).toEqual(['u1', 'u2']);
    expect(first.IsTruncated).toBe(true);
    const rest = await iam.send(new ListUsersCommand({ PathPrefix: '/paged/', MaxItems: 2, Marker: first.Marker }));
    expect(rest.Users!.map((u) => u.UserName)).toEqual(['u3']);
    expect(rest.IsTruncated).toBe(false);
    expect(rest.Marker).toBeUndefined();
    const all = await iam.send(new ListUsersCommand({}));
    expect(all.Users!.map((u) => u.UserName)).toEqual(expect.arrayContaining(['alice', 'u1', 'u2', 'u3']));
    const bad = await errorOf(iam.send(new ListUsersCommand({ MaxItems: 0 })));
    expect(bad.name).toBe('ValidationError');
  });

  test('UpdateUser renames and moves a user: its ARN follows', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'bob' }));
    await iam.send(new UpdateUserCommand({ UserName: 'bob', NewUserName: 'robert', NewPath: '/ops/' }));
    const got = await iam.send(new GetUserCommand({ UserName: 'robert' }));
    expect(got.User!.Arn).toBe(`arn:aws:iam::${account}:user/ops/robert`);
    expect((await errorOf(iam.send(new GetUserCommand({ UserName: 'bob' })))).name).toBe('NoSuchEntityException');
    const clash = await errorOf(iam.send(new UpdateUserCommand({ UserName: 'robert', NewUserName: 'ALICE' })));
    expect(clash.name).toBe('EntityAlreadyExistsException');
  });

  test('TagUser, UntagUser and ListUserTags; a new value replaces the old, keys without regard to case', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'tagged' }));
    await iam.send(
      new TagUserCommand({
        UserName: 'tagged',
        Tags: [
          { Key: 'Env', Value: 'dev' },
          { Key: 'owner', Value: 'me' },
        ],
      }),
    );
    await iam.send(new TagUserCommand({ UserName: 'tagged', Tags: [{ Key: 'env', Value: 'prod' }] }));
    let tags = await iam.send(new ListUserTagsCommand({ UserName: 'tagged' }));
    expect(tags.Tags).toEqual([
      { Key: 'env', Value: 'prod' },
      { Key: 'owner', Value: 'me' },
    ]);
    await iam.send(new UntagUserCommand({ UserName: 'tagged', TagKeys: ['OWNER'] }));
    tags = await iam.send(new ListUserTagsCommand({ UserName: 'tagged' }));
    expect(tags.Tags).toEqual([{ Key: 'env', Value: 'prod' }]);
    const dup = await errorOf(
      iam.send(
        new TagUserCommand({
          UserName: 'tagged',
          Tags: [
            { Key: 'a', Value: '1' },
            { Key: 'A', Value: '2' },
          ],
        }),
      ),
    );
    expect(dup.name).toBe('InvalidInputException');
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const over = await errorOf(iam.send(new TagUserCommand({ UserName: 'tagged', Tags: many })));
    expect(over.name).toBe('LimitExceededException');
  });

  test('DeleteUser is a DeleteConflict while the user has access keys, a login profile or groups', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'leaving' }));
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: 'leaving' }));
    let e = await errorOf(iam.send(new DeleteUserCommand({ UserName: 'leaving' })));
    expect(e.name).toBe('DeleteConflictException');
    expect(e.message).toBe('Cannot delete entity, must delete access keys first.');
    expect(e.$metadata.httpStatusCode).toBe(409);
    await iam.send(new DeleteAccessKeyCommand({ UserName: 'leaving', AccessKeyId: key.AccessKey!.AccessKeyId }));

    await iam.send(new CreateLoginProfileCommand({ UserName: 'leaving', Password: 'Correct-Horse-9' }));
    e = await errorOf(iam.send(new DeleteUserCommand({ UserName: 'leaving' })));
    expect(e.message).toBe('Cannot delete entity, must delete login profile first.');
    await iam.send(new DeleteLoginProfileCommand({ UserName: 'leaving' }));

    await iam.send(new CreateGroupCommand({ GroupName: 'farewell' }));
    await iam.send(new AddUserToGroupCommand({ GroupName: 'farewell', UserName: 'leaving' }));
    e = await errorOf(iam.send(new DeleteUserCommand({ UserName: 'leaving' })));
    expect(e.name).toBe('DeleteConflictException');
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'farewell', UserName: 'leaving' }));

    await iam.send(new DeleteUserCommand({ UserName: 'leaving' }));
    expect((await errorOf(iam.send(new GetUserCommand({ UserName: 'leaving' })))).name).toBe('NoSuchEntityException');
  });
});

describe('policies in the way of a deletion', () => {
  // Attaching and inline policies are another family's operations: the rows are written here as they would.
  test('a user, group or role with an inline or attached policy cannot be deleted (DeleteConflict)', async () => {
    const user = (await iam.send(new CreateUserCommand({ UserName: 'with-policies' }))).User!;
    const group = (await iam.send(new CreateGroupCommand({ GroupName: 'with-policies' }))).Group!;
    for (const [id, type] of [
      [user.UserId!, 'user'],
      [group.GroupId!, 'group'],
    ] as const) {
      await s.app.db.insertInto('iam_inline_policies').values({ account_id: account, entity_type: type, entity_id: id, name: 'p', document: '{}' }).execute();
    }
    let e = await errorOf(iam.send(new DeleteUserCommand({ UserName: 'with-policies' })));
    expect(e.message).toBe('Cannot delete entity, must delete policies first.');
    e = await errorOf(iam.send(new DeleteGroupCommand({ GroupName: 'with-policies' })));
    expect(e.message).toBe('Cannot delete entity, must delete policies first.');
    await s.app.db.deleteFrom('iam_inline_policies').execute();
    const arn = 'arn:aws:iam::aws:policy/AdministratorAccess';
    await s.app.db
      .insertInto('iam_attached_policies')
      .values({ account_id: account, entity_type: 'user', entity_id: user.UserId!, policy_arn: arn, attached_at: new Date().toISOString() })
      .execute();
    e = await errorOf(iam.send(new DeleteUserCommand({ UserName: 'with-policies' })));
    expect(e.name).toBe('DeleteConflictException');
    expect(e.message).toBe('Cannot delete entity, must detach all policies first.');
    await s.app.db.deleteFrom('iam_attached_policies').execute();
    await iam.send(new DeleteUserCommand({ UserName: 'with-policies' }));
    await iam.send(new DeleteGroupCommand({ GroupName: 'with-policies' }));
  });
});

describe('groups', () => {
  test('CreateGroup, AddUserToGroup, GetGroup with its users, ListGroupsForUser', async () => {
    const g = await iam.send(new CreateGroupCommand({ GroupName: 'readers', Path: '/team/' }));
    expect(g.Group).toMatchObject({ GroupName: 'readers', Path: '/team/', Arn: `arn:aws:iam::${account}:group/team/readers` });
    expect(g.Group!.GroupId).toMatch(/^AGPA/);
    await iam.send(new CreateUserCommand({ UserName: 'reader1' }));
    await iam.send(new CreateUserCommand({ UserName: 'reader2' }));
    await iam.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: 'reader2' }));
    await iam.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: 'reader1' }));
    await iam.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: 'reader1' })); // idempotent
    const got = await iam.send(new GetGroupCommand({ GroupName: 'readers' }));
    expect(got.Users!.map((u) => u.UserName)).toEqual(['reader1', 'reader2']);
    const paged = await iam.send(new GetGroupCommand({ GroupName: 'readers', MaxItems: 1 }));
    expect(paged.IsTruncated).toBe(true);
    expect(paged.Users!.map((u) => u.UserName)).toEqual(['reader1']);
    const forUser = await iam.send(new ListGroupsForUserCommand({ UserName: 'reader1' }));
    expect(forUser.Groups!.map((x) => x.GroupName)).toEqual(['readers']);
    const listed = await iam.send(new ListGroupsCommand({ PathPrefix: '/team/' }));
    expect(listed.Groups!.map((x) => x.GroupName)).toEqual(['readers']);
  });

  test('DeleteGroup is a DeleteConflict while it has members; UpdateGroup renames it', async () => {
    const e = await errorOf(iam.send(new DeleteGroupCommand({ GroupName: 'readers' })));
    expect(e.name).toBe('DeleteConflictException');
    expect(e.message).toBe('Cannot delete entity, must remove users from group first.');
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'readers', UserName: 'reader1' }));
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'readers', UserName: 'reader2' }));
    await iam.send(new UpdateGroupCommand({ GroupName: 'readers', NewGroupName: 'viewers' }));
    expect((await iam.send(new GetGroupCommand({ GroupName: 'viewers' }))).Group!.Arn).toBe(`arn:aws:iam::${account}:group/team/viewers`);
    await iam.send(new DeleteGroupCommand({ GroupName: 'viewers' }));
    expect((await errorOf(iam.send(new GetGroupCommand({ GroupName: 'viewers' })))).name).toBe('NoSuchEntityException');
  });
});

describe('GetAccountSummary', () => {
  test("counts the account's users and groups, and states IAM's quotas", async () => {
    const before = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!;
    await iam.send(new CreateUserCommand({ UserName: 'counted' }));
    await iam.send(new CreateGroupCommand({ GroupName: 'counted' }));
    const after = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!;
    expect(after.Users).toBe(before.Users! + 1);
    expect(after.Groups).toBe(before.Groups! + 1);
    expect(after).toMatchObject({ UsersQuota: 5000, AccessKeysPerUserQuota: 2, AccountAccessKeysPresent: 1, Roles: 0 });
  });
});
