// `aws iam …` of the AWS CLI against a started server: users, access keys and roles as the CLI
// sends and reads them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';
import { awsCli } from './aws-cli.js';

let s: TestServer;

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

const aws = (args: string[], creds = s.admin) => awsCli(s, args, { creds });

describe('aws iam', () => {
  test('create-user, list-users, create-access-key; the new key then signs requests', async () => {
    const created = await aws(['iam', 'create-user', '--user-name', 'cli-user', '--path', '/cli/']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).User).toMatchObject({ UserName: 'cli-user', Path: '/cli/', Arn: `arn:aws:iam::${s.admin.accountId}:user/cli/cli-user` });

    const listed = await aws(['iam', 'list-users', '--path-prefix', '/cli/']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).Users.map((u: { UserName: string }) => u.UserName)).toEqual(['cli-user']);

    const key = await aws(['iam', 'create-access-key', '--user-name', 'cli-user']);
    expect(key.code, key.stderr).toBe(0);
    const k = JSON.parse(key.stdout).AccessKey as { AccessKeyId: string; SecretAccessKey: string; UserName: string; Status: string };
    expect(k).toMatchObject({ UserName: 'cli-user', Status: 'Active' });
    // The new key signs: GetCallerIdentity needs no permission, only a valid key.
    const who = await aws(['sts', 'get-caller-identity'], { ...s.admin, accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey });
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout).Account).toBe(s.admin.accountId);
    const keys = await aws(['iam', 'list-access-keys', '--user-name', 'cli-user']);
    expect(keys.code, keys.stderr).toBe(0);
    expect(JSON.parse(keys.stdout).AccessKeyMetadata.map((m: { AccessKeyId: string }) => m.AccessKeyId)).toEqual([k.AccessKeyId]);
  });

  test('create-role with a trust policy; get-role answers the document the CLI decodes back to JSON', async () => {
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    const created = await aws(['iam', 'create-role', '--role-name', 'cli-role', '--assume-role-policy-document', JSON.stringify(trust)]);
    expect(created.code, created.stderr).toBe(0);
    const got = await aws(['iam', 'get-role', '--role-name', 'cli-role']);
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout).Role.AssumeRolePolicyDocument).toEqual(trust);
  });

  test('an IAM error reaches the CLI with its code and message', async () => {
    const r = await aws(['iam', 'delete-user', '--user-name', 'cli-user']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('An error occurred (DeleteConflict) when calling the DeleteUser operation: Cannot delete entity, must delete access keys first.');
  });
});
