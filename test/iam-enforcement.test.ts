// IAM enforced on every request, through the SDKs: a role's session that may describe instances
// and tag only those tagged team=web, a user whose group holds AmazonEC2ReadOnlyAccess, an explicit
// deny that beats an allow, session policies that cap a session, and credentials that stop working
// when they expire or are switched off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTagsCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  ListUsersCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, DecodeAuthorizationMessageCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startTestServer, minimalImage, type TestServer } from './harness.js';

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

let s: TestServer;
let iam: IAMClient;
let account: string;
let image: string;
let webInstance: string;
let dbInstance: string;

const ec2As = (credentials: Keys) => new EC2Client({ endpoint: s.url, region: 'us-east-1', credentials, maxAttempts: 1 });
const stsAs = (credentials: Keys) => new STSClient({ endpoint: s.url, region: 'us-east-1', credentials, maxAttempts: 1 });
const iamAs = (credentials: Keys) => new IAMClient({ endpoint: s.url, region: 'us-east-1', credentials, maxAttempts: 1 });

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { name: string; message: string };
  }
  throw new Error('expected the call to be refused');
}

const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

beforeAll(async () => {
  s = await startTestServer();
  account = s.admin.accountId;
  iam = new IAMClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: s.admin.accessKeyId, secretAccessKey: s.admin.secretAccessKey }, maxAttempts: 1 });
  const ec2 = s.ec2();
  image = await minimalImage(ec2);
  const run = async (team: string) =>
    (
      await ec2.send(
        new RunInstancesCommand({
          ImageId: image,
          InstanceType: 't3.micro',
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'team', Value: team }] }],
        }),
      )
    ).Instances![0]!.InstanceId!;
  webInstance = await run('web');
  dbInstance = await run('db');

  // The role `web`: its trust policy lets this account's principals assume it.
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'web',
      AssumeRolePolicyDocument: doc([
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'sts:AssumeRole' },
        { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'web',
      PolicyName: 'web-instances',
      PolicyDocument: doc([
        { Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' },
        { Effect: 'Allow', Action: 'ec2:CreateTags', Resource: 'arn:aws:ec2:*:*:instance/*', Condition: { StringEquals: { 'ec2:ResourceTag/team': 'web' } } },
      ]),
    }),
  );
}, 120_000);

afterAll(async () => {
  await s?.stop();
});

// The root user cannot assume roles (as on AWS): an operator, allowed to assume `web`, does.
let operator: Keys | undefined;

async function assumeWeb(extra: { Policy?: string; DurationSeconds?: number } = {}): Promise<Keys> {
  if (!operator) {
    operator = await newUserKeys('operator');
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'operator',
        PolicyName: 'assume-web',
        PolicyDocument: doc([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${account}:role/web` }]),
      }),
    );
  }
  const out = await stsAs(operator).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/web`, RoleSessionName: 'tester', ...extra }));
  const c = out.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

async function newUserKeys(name: string): Promise<Keys> {
  await iam.send(new CreateUserCommand({ UserName: name }));
  const k = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! };
}

describe('a role session with resource-level permissions', () => {
  it('describes instances and tags the one tagged team=web; tagging another or terminating is UnauthorizedOperation with a message STS decodes', async () => {
    const keys = await assumeWeb();
    const ec2 = ec2As(keys);
    const seen = (await ec2.send(new DescribeInstancesCommand({}))).Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId));
    expect(seen).toEqual(expect.arrayContaining([webInstance, dbInstance]));

    await ec2.send(new CreateTagsCommand({ Resources: [webInstance], Tags: [{ Key: 'checked', Value: 'yes' }] }));

    const other = await failure(ec2.send(new CreateTagsCommand({ Resources: [dbInstance], Tags: [{ Key: 'checked', Value: 'yes' }] })));
    expect(other.name).toBe('UnauthorizedOperation');
    expect(other.message).toContain(
      `User: arn:aws:sts::${account}:assumed-role/web/tester is not authorized to perform: ec2:CreateTags on resource: arn:aws:ec2:us-east-1:${account}:instance/${dbInstance}`,
    );

    const terminate = await failure(ec2.send(new TerminateInstancesCommand({ InstanceIds: [webInstance] })));
    expect(terminate.name).toBe('UnauthorizedOperation');
    expect(terminate.message).toContain('because no identity-based policy allows the ec2:TerminateInstances action');
    const encoded = /Encoded authorization failure message: (\S+)$/.exec(terminate.message)?.[1];
    expect(encoded).toBeTruthy();
    const decoded = JSON.parse((await s.sts().send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded }))).DecodedMessage!);
    expect(decoded).toMatchObject({
      allowed: false,
      explicitDeny: false,
      context: { action: 'ec2:TerminateInstances', resource: `arn:aws:ec2:us-east-1:${account}:instance/${webInstance}` },
    });

    // Nothing changed where the role was refused.
    const tags = (await s.ec2().send(new DescribeInstancesCommand({ InstanceIds: [dbInstance] }))).Reservations![0]!.Instances![0]!.Tags!;
    expect(tags.map((t) => t.Key)).not.toContain('checked');
  });

  it('assuming the role needs sts:AssumeRole in the caller’s own policies too', async () => {
    const stranger = await newUserKeys('stranger');
    const e = await failure(stsAs(stranger).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/web`, RoleSessionName: 'x' })));
    expect(e.name).toBe('AccessDenied');
    expect(e.message).toBe(
      `User: arn:aws:iam::${account}:user/stranger is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${account}:role/web because no identity-based policy allows the sts:AssumeRole action`,
    );
  });

  it('GetCallerIdentity names the session; it needs no permission', async () => {
    const id = await stsAs(await assumeWeb()).send(new GetCallerIdentityCommand({}));
    expect(id.Arn).toBe(`arn:aws:sts::${account}:assumed-role/web/tester`);
    expect(id.Account).toBe(account);
    expect(id.UserId).toMatch(/^AROA[A-Z2-7]{16}:tester$/);
  });

  it('a session policy caps the session: what the role allows but the session policy does not is refused', async () => {
    const keys = await assumeWeb({ Policy: doc([{ Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' }]) });
    const ec2 = ec2As(keys);
    await ec2.send(new DescribeInstancesCommand({}));
    const e = await failure(ec2.send(new CreateTagsCommand({ Resources: [webInstance], Tags: [{ Key: 'k', Value: 'v' }] })));
    expect(e.name).toBe('UnauthorizedOperation');
    expect(e.message).toContain('because no session policy allows the ec2:CreateTags action');
  });

  it('expired session credentials are refused: EC2 says RequestExpired, STS ExpiredToken; a wrong token is refused too', async () => {
    const keys = await assumeWeb({ DurationSeconds: 900 });
    await ec2As(keys).send(new DescribeInstancesCommand({}));
    await s.app.db
      .updateTable('sts_sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('access_key_id', '=', keys.accessKeyId)
      .execute();
    // The store was changed behind the server's back (time cannot be moved): a server believes
    // what the store said of a key for a moment; its own IAM changes, and this, make it forget.
    s.app.accounts.forgetKeys();
    expect((await failure(ec2As(keys).send(new DescribeInstancesCommand({})))).name).toBe('RequestExpired');
    expect((await failure(stsAs(keys).send(new GetCallerIdentityCommand({})))).name).toBe('ExpiredToken');

    const other = await assumeWeb();
    const forged = { ...other, sessionToken: keys.sessionToken };
    expect((await failure(ec2As(forged).send(new DescribeInstancesCommand({})))).name).toBe('AuthFailure');
    expect((await failure(stsAs(forged).send(new GetCallerIdentityCommand({})))).name).toBe('InvalidClientTokenId');
  });
});

describe('IAM users', () => {
  it('a user in a group with AmazonEC2ReadOnlyAccess can describe instances and cannot run one or use IAM', async () => {
    const keys = await newUserKeys('reader');
    await iam.send(new CreateGroupCommand({ GroupName: 'readers' }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'readers', PolicyArn: 'arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess' }));
    const ec2 = ec2As(keys);
    // Not in the group yet: nothing is allowed.
    expect((await failure(ec2.send(new DescribeInstancesCommand({})))).name).toBe('UnauthorizedOperation');
    await iam.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: 'reader' }));
    await ec2.send(new DescribeInstancesCommand({}));

    const run = await failure(ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 })));
    expect(run.name).toBe('UnauthorizedOperation');
    expect(run.message).toContain(`User: arn:aws:iam::${account}:user/reader is not authorized to perform: ec2:RunInstances`);

    const list = await failure(iamAs(keys).send(new ListUsersCommand({})));
    expect(list.name).toBe('AccessDenied');
    expect(list.message).toBe(
      `User: arn:aws:iam::${account}:user/reader is not authorized to perform: iam:ListUsers because no identity-based policy allows the iam:ListUsers action`,
    );

    const who = await stsAs(keys).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:iam::${account}:user/reader`);
    expect(who.UserId).toMatch(/^AIDA/);
  });

  it('an explicit deny beats an allow', async () => {
    const keys = await newUserKeys('denied');
    await iam.send(new PutUserPolicyCommand({ UserName: 'denied', PolicyName: 'allow-all', PolicyDocument: doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]) }));
    await ec2As(keys).send(new DescribeInstancesCommand({}));
    await iam.send(new PutUserPolicyCommand({ UserName: 'denied', PolicyName: 'no-describe', PolicyDocument: doc([{ Effect: 'Deny', Action: 'ec2:Describe*', Resource: '*' }]) }));
    const e = await failure(ec2As(keys).send(new DescribeInstancesCommand({})));
    expect(e.name).toBe('UnauthorizedOperation');
    expect(e.message).toContain('is not authorized to perform: ec2:DescribeInstances with an explicit deny in an identity-based policy');
    // The rest of what allow-all allows still works.
    await iamAs(keys).send(new ListUsersCommand({}));
  });

  it('a key made Inactive stops working at once, and works again when made Active', async () => {
    const keys = await newUserKeys('switched');
    await iam.send(
      new PutUserPolicyCommand({ UserName: 'switched', PolicyName: 'describe', PolicyDocument: doc([{ Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' }]) }),
    );
    await ec2As(keys).send(new DescribeInstancesCommand({}));
    await iam.send(new UpdateAccessKeyCommand({ UserName: 'switched', AccessKeyId: keys.accessKeyId, Status: 'Inactive' }));
    expect((await failure(ec2As(keys).send(new DescribeInstancesCommand({})))).name).toBe('AuthFailure');
    await iam.send(new UpdateAccessKeyCommand({ UserName: 'switched', AccessKeyId: keys.accessKeyId, Status: 'Active' }));
    await ec2As(keys).send(new DescribeInstancesCommand({}));
  });
});
