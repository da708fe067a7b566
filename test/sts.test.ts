// STS through @aws-sdk/client-sts and the AWS CLI against a started server, signed with the admin
// account's key (the account's root user). Roles are inserted as rows (IAM's handlers are another
// part's); what the temporary credentials can then do needs the API layer's session-token
// authentication and is tested with it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AssumeRoleCommand,
  DecodeAuthorizationMessageCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  InvalidAuthorizationMessageException,
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
  STSServiceException,
  type STSClient,
} from '@aws-sdk/client-sts';
import { newAccountId } from '../src/lib/ids.js';
import { encodeAuthorizationMessage, type AuthorizationMessage } from '../src/services/sts/authorization-message.js';
import { sessionByKey } from '../src/services/sts/sessions.js';
import { insertRole, trustOf } from '../src/services/sts/sts.fixture.js';
import { startTestServer, type TestServer } from './harness.js';

let s: TestServer;
let sts: STSClient;
let account: string;

beforeAll(async () => {
  s = await startTestServer();
  sts = s.sts();
  account = s.admin.accountId;
});
afterAll(async () => {
  await s?.stop();
});

async function stsError(p: Promise<unknown>): Promise<STSServiceException> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(STSServiceException);
    return e as STSServiceException;
  }
  throw new Error('expected an error');
}

describe('GetCallerIdentity', () => {
  test("the admin key is the account's root user", async () => {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    expect({ UserId: out.UserId, Account: out.Account, Arn: out.Arn }).toEqual({ UserId: account, Account: account, Arn: `arn:aws:iam::${account}:root` });
  });
});

describe('AssumeRole', () => {
  test('a role trusting the account: credentials, the assumed-role user, session policy and tags sized', async () => {
    const role = await insertRole(s.app.db, account, 'sdk-web', trustOf({ AWS: `arn:aws:iam::${account}:root` }, ['sts:AssumeRole', 'sts:TagSession']), {
      maxSessionDuration: 7200,
    });
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] });
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: role.arn,
        RoleSessionName: 'sdk',
        DurationSeconds: 7200,
        Policy: policy,
        Tags: [{ Key: 'team', Value: 'web' }],
        TransitiveTagKeys: ['team'],
      }),
    );
    const c = out.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(c.SecretAccessKey).toHaveLength(40);
    expect(c.SessionToken!.length).toBeGreaterThanOrEqual(128);
    expect(out.AssumedRoleUser).toEqual({ AssumedRoleId: `${role.id}:sdk`, Arn: `arn:aws:sts::${account}:assumed-role/sdk-web/sdk` });
    expect(out.PackedPolicySize).toBeGreaterThan(0);
    expect(out.PackedPolicySize).toBeLessThanOrEqual(100);
    expect(out.SessionTokenSize).toBe(c.SessionToken!.length);

    const row = (await sessionByKey(s.app.db, c.AccessKeyId!))!;
    expect(new Date(row.expires_at)).toEqual(c.Expiration);
    expect(new Date(row.expires_at).getTime() - new Date(row.created_at).getTime()).toBe(7200_000 - (new Date(row.created_at).getTime() % 1000));
    expect(JSON.parse(row.policies)).toEqual([policy]);
    expect(JSON.parse(row.tags)).toEqual({ team: 'web' });
    expect(row.issued_for).toBe(`arn:aws:iam::${account}:root`);
  });

  test('a role of another account trusting this one: a session in that account', async () => {
    const other = newAccountId();
    const role = await insertRole(s.app.db, other, 'partner', trustOf({ AWS: account }, 'sts:AssumeRole', { StringEquals: { 'sts:ExternalId': 'shared-secret-1' } }));
    const e = await stsError(sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'x1' })));
    expect(e.name).toBe('AccessDenied');
    const out = await sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'x1', ExternalId: 'shared-secret-1' }));
    expect(out.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${other}:assumed-role/partner/x1`);
  });

  test("a role whose trust names someone else: AccessDenied with STS's message, 403", async () => {
    const role = await insertRole(s.app.db, account, 'sdk-ec2only', trustOf({ Service: 'ec2.amazonaws.com' }));
    const e = await stsError(sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'sdk' })));
    expect(e.name).toBe('AccessDenied');
    expect(e.$metadata.httpStatusCode).toBe(403);
    expect(e.message).toBe(`User: arn:aws:iam::${account}:root is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`);
  });

  test("STS's own errors reach the SDK as its exception classes", async () => {
    const role = await insertRole(s.app.db, account, 'sdk-errors', trustOf({ AWS: account }, ['sts:AssumeRole', 'sts:TagSession']));
    const bad = await stsError(sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'sdk', Policy: '{"Statement":' })));
    expect(bad).toBeInstanceOf(MalformedPolicyDocumentException);
    expect(bad.message).toBe('Syntax errors in policy.');

    // 50 tags of incompressible values: far past the packed limit.
    const tags = Array.from({ length: 50 }, (_, i) => ({ Key: `key-${i}`, Value: randomBytes(128).toString('hex') }));
    const big = await stsError(sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'sdk', Tags: tags })));
    expect(big).toBeInstanceOf(PackedPolicyTooLargeException);

    const long = await stsError(sts.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'sdk', DurationSeconds: 7200 })));
    expect(long.name).toBe('ValidationError');
    expect(long.message).toBe('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  });
});

describe('GetSessionToken', () => {
  test("the root user's session token: an hour at most, acting as root", async () => {
    const out = await sts.send(new GetSessionTokenCommand({ DurationSeconds: 7200 }));
    const row = (await sessionByKey(s.app.db, out.Credentials!.AccessKeyId!))!;
    expect(row.kind).toBe('session-token');
    expect(row.user_id).toBeNull();
    expect(new Date(row.expires_at)).toEqual(out.Credentials!.Expiration);
    expect(Math.round((new Date(row.expires_at).getTime() - new Date(row.created_at).getTime()) / 1000)).toBeLessThanOrEqual(3600);
    expect(Math.round((new Date(row.expires_at).getTime() - new Date(row.created_at).getTime()) / 1000)).toBeGreaterThan(3598);
  });

  test('an MFA serial number is refused: there is no MFA device to validate it', async () => {
    const e = await stsError(sts.send(new GetSessionTokenCommand({ SerialNumber: `arn:aws:iam::${account}:mfa/root`, TokenCode: '123456' })));
    expect(e.name).toBe('AccessDenied');
  });
});

describe('DecodeAuthorizationMessage', () => {
  const message = (acct: string): AuthorizationMessage => ({
    allowed: false,
    explicitDeny: false,
    matchedStatements: { items: [] },
    failures: { items: [] },
    context: {
      principal: { id: acct, arn: `arn:aws:iam::${acct}:root` },
      action: 'ec2:TerminateInstances',
      resource: `arn:aws:ec2:us-east-1:${acct}:instance/i-0123456789abcdef0`,
      conditions: { items: [{ key: 'ec2:ResourceTag/team', values: { items: [{ value: 'db' }] } }] },
    },
  });

  test("decodes this account's message and refuses another's", async () => {
    const out = await sts.send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encodeAuthorizationMessage(s.app.secrets, message(account)) }));
    expect(JSON.parse(out.DecodedMessage!)).toEqual(message(account));
    const e = await stsError(sts.send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encodeAuthorizationMessage(s.app.secrets, message(newAccountId())) })));
    expect(e).toBeInstanceOf(InvalidAuthorizationMessageException);
    expect(e.$metadata.httpStatusCode).toBe(400);
  });
});

describe('the AWS CLI', () => {
  function aws(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
    Object.assign(env, {
      AWS_ACCESS_KEY_ID: s.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s.admin.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(s.app.config.home, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(s.app.config.home, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
      AWS_PAGER: '',
    });
    return new Promise((resolve) => {
      execFile('aws', [...args, '--endpoint-url', s.url, '--output', 'json'], { env, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }),
      );
    });
  }

  test('aws sts get-caller-identity, assume-role and decode-authorization-message', async () => {
    const who = await aws(['sts', 'get-caller-identity']);
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toEqual({ UserId: account, Account: account, Arn: `arn:aws:iam::${account}:root` });

    const role = await insertRole(s.app.db, account, 'cli-role', trustOf({ AWS: account }));
    const assumed = await aws(['sts', 'assume-role', '--role-arn', role.arn, '--role-session-name', 'cli', '--duration-seconds', '900']);
    expect(assumed.code, assumed.stderr).toBe(0);
    const out = JSON.parse(assumed.stdout) as { Credentials: { AccessKeyId: string }; AssumedRoleUser: { Arn: string } };
    expect(out.Credentials.AccessKeyId).toMatch(/^ASIA/);
    expect(out.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${account}:assumed-role/cli-role/cli`);

    const denied = await aws(['sts', 'assume-role', '--role-arn', `arn:aws:iam::${account}:role/nope`, '--role-session-name', 'cli']);
    expect([254, 255]).toContain(denied.code);
    expect(denied.stderr).toContain(
      `An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::${account}:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${account}:role/nope`,
    );

    const m: AuthorizationMessage = {
      allowed: false,
      explicitDeny: true,
      matchedStatements: { items: [] },
      failures: { items: [] },
      context: { principal: { id: account, arn: `arn:aws:iam::${account}:root` }, action: 'ec2:RunInstances', resource: '*', conditions: { items: [] } },
    };
    const decoded = await aws(['sts', 'decode-authorization-message', '--encoded-message', encodeAuthorizationMessage(s.app.secrets, m)]);
    expect(decoded.code, decoded.stderr).toBe(0);
    expect(JSON.parse((JSON.parse(decoded.stdout) as { DecodedMessage: string }).DecodedMessage)).toEqual(m);
  });
});
