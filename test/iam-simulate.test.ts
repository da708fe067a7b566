// SimulatePrincipalPolicy and SimulateCustomPolicy through @aws-sdk/client-iam, and the AWS CLI's
// create-policy, get-policy-version and simulate-principal-policy against cumulo.
import {
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  type IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  SimulateCustomPolicyCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorOf, startTestServer, type TestServer } from './harness.js';
import { iamClient, insertGroup, insertRole, insertUser, type Entity } from './iam-fixtures.js';
import { awsCli } from './aws-cli.js';

let s: TestServer;
let iam: IAMClient;
let account: string;
let alice: Entity;
let groupPolicyArn: string;

const statement = (effect: string, action: string | string[], resource: string | string[] = '*', extra: Record<string, unknown> = {}) => ({
  Effect: effect,
  Action: action,
  Resource: resource,
  ...extra,
});
const docOf = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

beforeAll(async () => {
  s = await startTestServer();
  iam = iamClient(s);
  account = s.admin.accountId;
  alice = await insertUser(s.app.db, account, 'alice');
  await insertGroup(s.app.db, account, 'web-team', { members: [alice] });
  // alice: her own inline policy allows describing; her group's managed policy allows tagging
  // instances tagged team=web; a managed policy on her denies terminating.
  await iam.send(new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'describe', PolicyDocument: docOf(statement('Allow', 'ec2:Describe*')) }));
  groupPolicyArn = (
    await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'tag-web',
        PolicyDocument: docOf({
          Sid: 'TagWeb',
          ...statement('Allow', 'ec2:CreateTags', `arn:aws:ec2:*:${account}:instance/*`, { Condition: { StringEquals: { 'aws:ResourceTag/team': 'web' } } }),
        }),
      }),
    )
  ).Policy!.Arn!;
  await iam.send(new AttachGroupPolicyCommand({ GroupName: 'web-team', PolicyArn: groupPolicyArn }));
  const deny = (await iam.send(new CreatePolicyCommand({ PolicyName: 'no-terminate', PolicyDocument: docOf(statement('Deny', 'ec2:TerminateInstances')) }))).Policy!.Arn!;
  await iam.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: deny }));
  await iam.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }));
});
afterAll(async () => s?.stop());

describe('SimulatePrincipalPolicy', () => {
  test("a user's own, attached and group policies decide: allowed, explicitDeny, and which statements matched", async () => {
    const out = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: alice.arn, ActionNames: ['ec2:DescribeInstances', 'ec2:TerminateInstances'] }));
    const [describe, terminate] = out.EvaluationResults!;
    expect(describe).toMatchObject({ EvalActionName: 'ec2:DescribeInstances', EvalResourceName: '*', EvalDecision: 'allowed' });
    expect(describe!.MatchedStatements).toEqual(
      expect.arrayContaining([
        { SourcePolicyId: 'describe', SourcePolicyType: 'user' },
        { SourcePolicyId: 'AdministratorAccess', SourcePolicyType: 'aws-managed' },
      ]),
    );
    expect(terminate).toMatchObject({ EvalDecision: 'explicitDeny', MatchedStatements: [{ SourcePolicyId: 'no-terminate', SourcePolicyType: 'user-managed' }] });
    expect(out.IsTruncated).toBe(false);
  });

  test('conditions: ContextEntries decide, and the keys a deciding statement needs are MissingContextValues', async () => {
    // Without AdministratorAccess the group's conditional statement is all that can allow CreateTags.
    const bob = await insertUser(s.app.db, account, 'bob');
    await insertGroup(s.app.db, account, 'bob-team', { members: [bob] });
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'bob-team', PolicyArn: groupPolicyArn }));
    const instance = `arn:aws:ec2:us-east-1:${account}:instance/i-0123456789abcdef0`;
    const asked = (team?: string) =>
      iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: bob.arn,
          ActionNames: ['ec2:CreateTags'],
          ResourceArns: [instance],
          ...(team && { ContextEntries: [{ ContextKeyName: 'aws:ResourceTag/team', ContextKeyValues: [team], ContextKeyType: 'string' }] }),
        }),
      );
    const web = (await asked('web')).EvaluationResults![0]!;
    expect(web).toMatchObject({
      EvalResourceName: instance,
      EvalDecision: 'allowed',
      MatchedStatements: [{ SourcePolicyId: 'tag-web', SourcePolicyType: 'user-managed' }],
      MissingContextValues: [],
    });
    expect((await asked('db')).EvaluationResults![0]!.EvalDecision).toBe('implicitDeny');
    const none = (await asked()).EvaluationResults![0]!;
    expect(none).toMatchObject({ EvalDecision: 'implicitDeny', MatchedStatements: [], MissingContextValues: ['aws:ResourceTag/team'] });
    // Another resource type is not the statement's: nothing is missing for it.
    const vol = await iam.send(
      new SimulatePrincipalPolicyCommand({ PolicySourceArn: bob.arn, ActionNames: ['ec2:CreateTags'], ResourceArns: [`arn:aws:ec2:us-east-1:${account}:volume/vol-1`] }),
    );
    expect(vol.EvaluationResults![0]).toMatchObject({ EvalDecision: 'implicitDeny', MissingContextValues: [] });
  });

  test("a role's permissions boundary caps its policies; PolicyInputList adds documents", async () => {
    const boundary = (await iam.send(new CreatePolicyCommand({ PolicyName: 'describe-only', PolicyDocument: docOf(statement('Allow', 'ec2:Describe*')) }))).Policy!.Arn!;
    const role = await insertRole(s.app.db, account, 'capped', { boundary });
    await iam.send(new PutRolePolicyCommand({ RoleName: 'capped', PolicyName: 'all-ec2', PolicyDocument: docOf(statement('Allow', 'ec2:*')) }));
    const out = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: role.arn, ActionNames: ['ec2:DescribeVpcs', 'ec2:RunInstances'] }));
    expect(out.EvaluationResults!.map((r) => [r.EvalActionName, r.EvalDecision, r.PermissionsBoundaryDecisionDetail?.AllowedByPermissionsBoundary])).toEqual([
      ['ec2:DescribeVpcs', 'allowed', true],
      ['ec2:RunInstances', 'implicitDeny', false],
    ]);
    const added = await iam.send(
      new SimulatePrincipalPolicyCommand({ PolicySourceArn: role.arn, ActionNames: ['ec2:DescribeVpcs'], PolicyInputList: [docOf(statement('Deny', 'ec2:DescribeVpcs'))] }),
    );
    expect(added.EvaluationResults![0]).toMatchObject({ EvalDecision: 'explicitDeny', MatchedStatements: [{ SourcePolicyId: 'PolicyInputList.1', SourcePolicyType: 'none' }] });
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'capped', PolicyArn: boundary }));
  });

  test('an unknown or malformed PolicySourceArn, and resource policies, are refused', async () => {
    const missing = await errorOf(iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: `arn:aws:iam::${account}:user/nobody`, ActionNames: ['ec2:RunInstances'] })));
    expect(missing.name).toBe('NoSuchEntityException');
    expect(missing.message).toBe('The user with name nobody cannot be found.');
    const bad = await errorOf(iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: `arn:aws:iam::${account}:thing/x`, ActionNames: ['ec2:RunInstances'] })));
    expect(bad.name).toBe('InvalidInputException');
    const resource = await errorOf(
      iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: alice.arn, ActionNames: ['ec2:RunInstances'], ResourcePolicy: docOf(statement('Allow', 'ec2:*')) })),
    );
    expect(resource.name).toBe('InvalidInputException');
    expect(resource.message).toContain('ResourcePolicy');
  });
});

describe('SimulateCustomPolicy', () => {
  test('documents given: each action and resource, paged', async () => {
    const out = await iam.send(
      new SimulateCustomPolicyCommand({
        PolicyInputList: [docOf(statement('Allow', 'ec2:*')), docOf(statement('Deny', 'ec2:TerminateInstances', `arn:aws:ec2:*:${account}:instance/i-1`))],
        ActionNames: ['ec2:TerminateInstances'],
        ResourceArns: [`arn:aws:ec2:us-east-1:${account}:instance/i-1`, `arn:aws:ec2:us-east-1:${account}:instance/i-2`],
        MaxItems: 1,
      }),
    );
    expect(out.IsTruncated).toBe(true);
    expect(out.EvaluationResults![0]).toMatchObject({ EvalDecision: 'explicitDeny', MatchedStatements: [{ SourcePolicyId: 'PolicyInputList.2', SourcePolicyType: 'none' }] });
    const next = await iam.send(
      new SimulateCustomPolicyCommand({
        PolicyInputList: [docOf(statement('Allow', 'ec2:*')), docOf(statement('Deny', 'ec2:TerminateInstances', `arn:aws:ec2:*:${account}:instance/i-1`))],
        ActionNames: ['ec2:TerminateInstances'],
        ResourceArns: [`arn:aws:ec2:us-east-1:${account}:instance/i-1`, `arn:aws:ec2:us-east-1:${account}:instance/i-2`],
        MaxItems: 1,
        Marker: out.Marker,
      }),
    );
    expect(next.EvaluationResults![0]).toMatchObject({ EvalResourceName: `arn:aws:ec2:us-east-1:${account}:instance/i-2`, EvalDecision: 'allowed' });
    expect(next.IsTruncated).toBe(false);
    const typed = await iam.send(
      new SimulateCustomPolicyCommand({
        PolicyInputList: [docOf(statement('Allow', 'ec2:RunInstances', '*', { Condition: { NumericLessThan: { 'ec2:VolumeSize': '100' } } }))],
        ActionNames: ['ec2:RunInstances'],
        ContextEntries: [{ ContextKeyName: 'ec2:VolumeSize', ContextKeyValues: ['50'], ContextKeyType: 'numeric' }],
      }),
    );
    expect(typed.EvaluationResults![0]!.EvalDecision).toBe('allowed');
    const badNumber = await errorOf(
      iam.send(
        new SimulateCustomPolicyCommand({
          PolicyInputList: [docOf(statement('Allow', 'ec2:*'))],
          ActionNames: ['ec2:RunInstances'],
          ContextEntries: [{ ContextKeyName: 'ec2:VolumeSize', ContextKeyValues: ['lots'], ContextKeyType: 'numeric' }],
        }),
      ),
    );
    expect(badNumber.name).toBe('InvalidInputException');
  });
});

describe('the AWS CLI', () => {
  const aws = (args: string[]) => awsCli(s, args);

  test('create-policy, get-policy-version (the CLI decodes the document), simulate-principal-policy, and an IAM error code', async () => {
    const document = docOf(statement('Allow', ['ec2:DescribeInstances', 'ec2:DescribeImages']));
    const created = await aws(['iam', 'create-policy', '--policy-name', 'cli-read', '--policy-document', document, '--description', 'from the CLI']);
    expect(created.code, created.stderr).toBe(0);
    const policy = JSON.parse(created.stdout).Policy;
    expect(policy).toMatchObject({ PolicyName: 'cli-read', Arn: `arn:aws:iam::${account}:policy/cli-read`, DefaultVersionId: 'v1' });

    const version = await aws(['iam', 'get-policy-version', '--policy-arn', policy.Arn, '--version-id', 'v1']);
    expect(version.code, version.stderr).toBe(0);
    // The CLI URL-decodes and parses IAM's documents: a JSON object, not a string.
    expect(JSON.parse(version.stdout).PolicyVersion.Document).toEqual(JSON.parse(document));

    const sim = await aws(['iam', 'simulate-principal-policy', '--policy-source-arn', alice.arn, '--action-names', 'ec2:DescribeInstances', 'ec2:TerminateInstances']);
    expect(sim.code, sim.stderr).toBe(0);
    expect(JSON.parse(sim.stdout).EvaluationResults.map((r: { EvalActionName: string; EvalDecision: string }) => [r.EvalActionName, r.EvalDecision])).toEqual([
      ['ec2:DescribeInstances', 'allowed'],
      ['ec2:TerminateInstances', 'explicitDeny'],
    ]);

    const dup = await aws(['iam', 'create-policy', '--policy-name', 'cli-read', '--policy-document', document]);
    expect([254, 255]).toContain(dup.code);
    expect(dup.stderr).toContain(
      'An error occurred (EntityAlreadyExists) when calling the CreatePolicy operation: A policy called cli-read already exists. Duplicate names are not allowed.',
    );
  });
});
