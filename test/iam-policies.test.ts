// IAM's managed policies, attachments and inline policies through @aws-sdk/client-iam.
import {
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  type IAMClient,
  ListPoliciesCommand,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  SetDefaultPolicyVersionCommand,
  TagPolicyCommand,
  UntagPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorOf, startTestServer, type TestServer } from './harness.js';
import { iamClient } from './iam-fixtures.js';

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

describe('managed policies', () => {
  test('CreatePolicy, GetPolicy and GetPolicyVersion answer the policy and its URL-encoded document', async () => {
    const text = doc(['ec2:Describe*', 'ec2:CreateTags']);
    const created = await iam.send(
      new CreatePolicyCommand({ PolicyName: 'web-read', PolicyDocument: text, Path: '/team/', Description: 'read EC2', Tags: [{ Key: 'team', Value: 'web' }] }),
    );
    const p = created.Policy!;
    expect(p.Arn).toBe(`arn:aws:iam::${account}:policy/team/web-read`);
    expect(p.PolicyId).toMatch(/^ANPA[A-Z2-7]{16}$/);
    expect(p).toMatchObject({ PolicyName: 'web-read', Path: '/team/', DefaultVersionId: 'v1', AttachmentCount: 0, IsAttachable: true, Tags: [{ Key: 'team', Value: 'web' }] });
    expect(p.CreateDate).toBeInstanceOf(Date);

    const got = (await iam.send(new GetPolicyCommand({ PolicyArn: p.Arn }))).Policy!;
    expect(got).toMatchObject({ PolicyName: 'web-read', Description: 'read EC2', DefaultVersionId: 'v1', AttachmentCount: 0, PermissionsBoundaryUsageCount: 0 });

    const v = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: p.Arn, VersionId: 'v1' }))).PolicyVersion!;
    expect(v).toMatchObject({ VersionId: 'v1', IsDefaultVersion: true });
    // IAM answers documents URL-encoded (RFC 3986: '*' is %2A); the SDK hands them over as sent.
    expect(v.Document).toBe(encodeURIComponent(text).replaceAll('*', '%2A'));
    expect(v.Document).toContain('%22Resource%22%3A%22%2A%22');
    expect(JSON.parse(decodeURIComponent(v.Document!))).toEqual(JSON.parse(text));
  });

  test('CreatePolicy refuses a duplicate name, a malformed document, an old version and an oversized one', async () => {
    await iam.send(new CreatePolicyCommand({ PolicyName: 'dup', PolicyDocument: doc('ec2:*') }));
    const dup = await errorOf(iam.send(new CreatePolicyCommand({ PolicyName: 'DUP', PolicyDocument: doc('ec2:*') })));
    expect(dup.name).toBe('EntityAlreadyExistsException');
    expect(dup.message).toBe('A policy called DUP already exists. Duplicate names are not allowed.');

    const bad = await errorOf(iam.send(new CreatePolicyCommand({ PolicyName: 'bad', PolicyDocument: '{"Version":"2012-10-17","Statement":' })));
    expect(bad.name).toBe('MalformedPolicyDocumentException');
    expect(bad.message).toBe('Syntax errors in policy.');

    const old = await errorOf(
      iam.send(
        new CreatePolicyCommand({ PolicyName: 'old', PolicyDocument: JSON.stringify({ Version: '2008-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }] }) }),
      ),
    );
    expect(old.name).toBe('MalformedPolicyDocumentException');
    expect(old.message).toBe('Policy document must be version 2012-10-17 or greater.');

    // 6,144 characters without whitespace: padding with spaces does not count, more actions do.
    const actions = Array.from({ length: 400 }, (_, i) => `ec2:DescribeThing${i}`);
    const big = await errorOf(iam.send(new CreatePolicyCommand({ PolicyName: 'big', PolicyDocument: doc(actions) })));
    expect(big.name).toBe('LimitExceededException');
    expect(big.message).toBe('Cannot exceed quota for PolicySize: 6144');
    const spaced = JSON.stringify(JSON.parse(doc(actions.slice(0, 200))), null, 8);
    expect(spaced.length).toBeGreaterThan(6144);
    await iam.send(new CreatePolicyCommand({ PolicyName: 'spaced', PolicyDocument: spaced }));

    // Requests creating one name at once: one wins, the others answer EntityAlreadyExists.
    const raced = await Promise.allSettled([1, 2, 3].map(() => iam.send(new CreatePolicyCommand({ PolicyName: 'raced', PolicyDocument: doc('ec2:*') }))));
    expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(raced.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).name] : []))).toEqual(['EntityAlreadyExistsException', 'EntityAlreadyExistsException']);

    const name = await errorOf(iam.send(new CreatePolicyCommand({ PolicyName: 'a b', PolicyDocument: doc('ec2:*') })));
    expect(name.name).toBe('ValidationError');
  });

  test('versions: up to five, SetAsDefault, SetDefaultPolicyVersion, the default cannot be deleted, DeletePolicy wants one version', async () => {
    const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: 'versioned', PolicyDocument: doc('ec2:DescribeInstances') }))).Policy!.Arn!;
    const v2 = (await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc('ec2:DescribeVolumes') }))).PolicyVersion!;
    expect(v2).toMatchObject({ VersionId: 'v2', IsDefaultVersion: false });
    expect(v2.Document).toBeUndefined();
    const v3 = (await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc('ec2:DescribeImages'), SetAsDefault: true }))).PolicyVersion!;
    expect(v3).toMatchObject({ VersionId: 'v3', IsDefaultVersion: true });
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!.DefaultVersionId).toBe('v3');
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc('ec2:DescribeVpcs') }));
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc('ec2:DescribeSubnets') }));
    const sixth = await errorOf(iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc('ec2:DescribeTags') })));
    expect(sixth.name).toBe('LimitExceededException');
    expect(sixth.message).toBe('A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.');

    const listed = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
    expect(listed.Versions!.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
      ['v5', false],
      ['v4', false],
      ['v3', true],
      ['v2', false],
      ['v1', false],
    ]);

    const delDefault = await errorOf(iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v3' })));
    expect(delDefault.name).toBe('DeleteConflictException');
    expect(delDefault.message).toBe('Cannot delete the default version of a policy.');
    const missing = await errorOf(iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v9' })));
    expect(missing.name).toBe('NoSuchEntityException');

    const many = await errorOf(iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
    expect(many.name).toBe('DeleteConflictException');
    expect(many.message).toBe(
      "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
    );

    await iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v5' }));
    for (const v of ['v1', 'v2', 'v3', 'v4']) await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: v }));
    const only = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v5' }));
    expect(decodeURIComponent(only.PolicyVersion!.Document!)).toBe(doc('ec2:DescribeSubnets'));
    await iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
    const gone = await errorOf(iam.send(new GetPolicyCommand({ PolicyArn: arn })));
    expect(gone.name).toBe('NoSuchEntityException');
    expect(gone.message).toBe(`Policy ${arn} was not found.`);
  });

  test('AWS managed policies are read from the catalog and cannot be changed', async () => {
    const arn = 'arn:aws:iam::aws:policy/AdministratorAccess';
    const p = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!;
    expect(p).toMatchObject({ PolicyName: 'AdministratorAccess', Arn: arn, Path: '/', IsAttachable: true });
    const v = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: p.DefaultVersionId }))).PolicyVersion!;
    expect(JSON.parse(decodeURIComponent(v.Document!)).Statement[0]).toMatchObject({ Effect: 'Allow', Action: '*', Resource: '*' });
    for (const op of [
      new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc('ec2:*') }),
      new DeletePolicyCommand({ PolicyArn: arn }),
      new TagPolicyCommand({ PolicyArn: arn, Tags: [{ Key: 'a', Value: 'b' }] }),
    ]) {
      const e = await errorOf(iam.send(op as never));
      expect(e.name).toBe('AccessDenied');
      expect(e.message).toContain(`on resource: policy ${arn}`);
    }
    const malformed = await errorOf(iam.send(new GetPolicyCommand({ PolicyArn: 'arn:aws:iam::aws:notapolicy/x' })));
    expect(malformed.name).toBe('InvalidInputException');
    expect(malformed.message).toBe('ARN arn:aws:iam::aws:notapolicy/x is not valid.');
  });

  test('ListPolicies: Scope, PathPrefix and paging with Marker/MaxItems', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await iam.send(new CreatePolicyCommand({ PolicyName: n, Path: '/paging/', PolicyDocument: doc('ec2:DescribeRegions') }));
    const local = await iam.send(new ListPoliciesCommand({ Scope: 'Local', PathPrefix: '/paging/' }));
    expect(local.Policies!.map((p) => p.PolicyName)).toEqual(['page-a', 'page-b', 'page-c']);
    expect(local.IsTruncated).toBe(false);
    const first = await iam.send(new ListPoliciesCommand({ Scope: 'Local', PathPrefix: '/paging/', MaxItems: 2 }));
    expect(first.Policies!.map((p) => p.PolicyName)).toEqual(['page-a', 'page-b']);
    expect(first.IsTruncated).toBe(true);
    const second = await iam.send(new ListPoliciesCommand({ Scope: 'Local', PathPrefix: '/paging/', MaxItems: 2, Marker: first.Marker }));
    expect(second.Policies!.map((p) => p.PolicyName)).toEqual(['page-c']);
    expect(second.IsTruncated).toBe(false);
    const aws = await iam.send(new ListPoliciesCommand({ Scope: 'AWS' }));
    expect(aws.Policies!.every((p) => p.Arn!.startsWith('arn:aws:iam::aws:policy/'))).toBe(true);
    expect(aws.Policies!.map((p) => p.PolicyName)).toContain('AdministratorAccess');
    const all = await iam.send(new ListPoliciesCommand({ MaxItems: 1000 }));
    expect(all.Policies!.some((p) => p.PolicyName === 'AdministratorAccess')).toBe(true);
    expect(all.Policies!.some((p) => p.PolicyName === 'page-a')).toBe(true);
    const none = await iam.send(new ListPoliciesCommand({ Scope: 'Local', PathPrefix: '/paging/', OnlyAttached: true }));
    expect(none.Policies).toEqual([]);
  });

  test('TagPolicy, UntagPolicy and ListPolicyTags (keys are case-insensitive)', async () => {
    const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: 'tagged', PolicyDocument: doc('ec2:*') }))).Policy!.Arn!;
    await iam.send(
      new TagPolicyCommand({
        PolicyArn: arn,
        Tags: [
          { Key: 'Team', Value: 'web' },
          { Key: 'env', Value: 'prod' },
        ],
      }),
    );
    await iam.send(new TagPolicyCommand({ PolicyArn: arn, Tags: [{ Key: 'team', Value: 'api' }] }));
    expect((await iam.send(new ListPolicyTagsCommand({ PolicyArn: arn }))).Tags).toEqual([
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'api' },
    ]);
    await iam.send(new UntagPolicyCommand({ PolicyArn: arn, TagKeys: ['ENV'] }));
    expect((await iam.send(new ListPolicyTagsCommand({ PolicyArn: arn }))).Tags).toEqual([{ Key: 'team', Value: 'api' }]);
    const dup = await errorOf(
      iam.send(
        new TagPolicyCommand({
          PolicyArn: arn,
          Tags: [
            { Key: 'a', Value: '1' },
            { Key: 'A', Value: '2' },
          ],
        }),
      ),
    );
    expect(dup.name).toBe('InvalidInputException');
    const tooMany = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const over = await errorOf(iam.send(new TagPolicyCommand({ PolicyArn: arn, Tags: tooMany })));
    expect(over.name).toBe('LimitExceededException');
  });
});
