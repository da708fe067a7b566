// STS through @aws-sdk/client-sts and the AWS CLI against a started server, signed with the admin
// account's key (the account's root user). Roles are inserted as rows (IAM's handlers are another
// part's); what the temporary credentials can then do needs the API layer's session-token
// authentication and is tested with it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AssumeRoleCommand,
  DecodeAuthorizationMessageCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  InvalidAuthorizationMessageException,
  STSServiceException,
  type STSClient,
} from '@aws-sdk/client-sts';
import { newAccountId } from '../src/lib/ids.js';
import { encodeAuthorizationMessage, type AuthorizationMessage } from '../src/services/sts/authorization-message.js';
import { sessionByKey } from '../src/services/sts/sessions.js';
import { insertRole, trustOf } from '../src/services/sts/sts.fixture.js';
import { startTestServer, type TestServer } from './harness.js';
import { awsCli } from './aws-cli.js';

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

// What an IAM user's key or a session's credentials can do through AssumeRole needs the API layer's
// authentication of those keys; the handler tests (src/services/sts/assume-role.test.ts) cover it.
describe('AssumeRole', () => {
  test('the root user assumes no role, even one whose trust policy names it, as on AWS: AccessDenied, 403', async () => {
    const role = await insertRole(s.app.db, account, 'sdk-web', trustOf({ AWS: `arn:aws:iam::${account}:root` }));
    const open = await insertRole(s.app.db, account, 'sdk-open', trustOf('*'));
    for (const arn of [role.arn, open.arn, `arn:aws:iam::${account}:role/nope`]) {
      const e = await stsError(sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'sdk' })));
      expect(e.name).toBe('AccessDenied');
      expect(e.$metadata.httpStatusCode).toBe(403);
      expect(e.message).toBe('Roles may not be assumed by root accounts.');
    }
    expect((await s.app.db.selectFrom('sts_sessions').select('access_key_id').where('role_id', '=', role.id).execute()).length).toBe(0);
  });

  test("STS's constraint errors reach the SDK as ValidationError, all of them in one message", async () => {
    const e = await stsError(sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/sdk-web`, RoleSessionName: 'x', DurationSeconds: 100 })));
    expect(e.name).toBe('ValidationError');
    expect(e.$metadata.httpStatusCode).toBe(400);
    expect(e.message).toBe(
      "2 validation errors detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
  });

  test('an MFA serial number is refused: there is no MFA device to validate it', async () => {
    const e = await stsError(
      sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/sdk-web`, RoleSessionName: 'sdk', SerialNumber: 'GAHT12345678', TokenCode: '123456' })),
    );
    expect(e.name).toBe('AccessDenied');
    expect(e.message).toBe('MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.');
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
  const aws = (args: string[]) => awsCli(s, args);

  test('aws sts get-caller-identity, assume-role, get-session-token and decode-authorization-message', async () => {
    const who = await aws(['sts', 'get-caller-identity']);
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toEqual({ UserId: account, Account: account, Arn: `arn:aws:iam::${account}:root` });

    const role = await insertRole(s.app.db, account, 'cli-role', trustOf({ AWS: account }));
    const refused = await aws(['sts', 'assume-role', '--role-arn', role.arn, '--role-session-name', 'cli']);
    expect([254, 255]).toContain(refused.code);
    expect(refused.stderr).toContain('An error occurred (AccessDenied) when calling the AssumeRole operation: Roles may not be assumed by root accounts.');

    const session = await aws(['sts', 'get-session-token', '--duration-seconds', '900']);
    expect(session.code, session.stderr).toBe(0);
    expect((JSON.parse(session.stdout) as { Credentials: { AccessKeyId: string } }).Credentials.AccessKeyId).toMatch(/^ASIA/);

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
