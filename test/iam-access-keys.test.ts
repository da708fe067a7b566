// Access keys, login profiles and console sign-in through @aws-sdk/client-iam against a started
// server: a user's key signs requests until it is made Inactive or deleted, at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ChangePasswordCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountPasswordPolicyCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createCtx } from '../src/services/context.js';
import type { Principal } from '../src/services/iam/principal.js';
import { handlers as accessKeys } from '../src/services/iam/access-keys/handlers.js';
import { handlers as loginProfiles } from '../src/services/iam/login-profiles/handlers.js';
import { handlers as users } from '../src/services/iam/users/handlers.js';
import { sessionByKey } from '../src/services/sts/sessions.js';
import { errorOf, startTestServer, type TestServer } from './harness.js';

let s: TestServer;
let iam: IAMClient;
let account: string;

const client = (c: { accessKeyId: string; secretAccessKey: string }) => new IAMClient({ endpoint: s.url, region: 'us-east-1', credentials: c, maxAttempts: 1 });

beforeAll(async () => {
  s = await startTestServer();
  account = s.admin.accountId;
  iam = client(s.admin);
});
afterAll(async () => {
  await s?.stop();
});

describe('access keys', () => {
  test("CreateAccessKey answers the secret once; ListAccessKeys shows the user's keys without it", async () => {
    await iam.send(new CreateUserCommand({ UserName: 'keyed' }));
    const k = await iam.send(new CreateAccessKeyCommand({ UserName: 'keyed' }));
    expect(k.AccessKey).toMatchObject({ UserName: 'keyed', Status: 'Active' });
    expect(k.AccessKey!.AccessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(k.AccessKey!.SecretAccessKey).toHaveLength(40);
    const list = await iam.send(new ListAccessKeysCommand({ UserName: 'keyed' }));
    expect(list.AccessKeyMetadata).toEqual([{ UserName: 'keyed', AccessKeyId: k.AccessKey!.AccessKeyId, Status: 'Active', CreateDate: k.AccessKey!.CreateDate }]);
    expect(JSON.stringify(list)).not.toContain(k.AccessKey!.SecretAccessKey!);
  });

  test('two keys per user at most (LimitExceeded)', async () => {
    await iam.send(new CreateAccessKeyCommand({ UserName: 'keyed' }));
    const e = await errorOf(iam.send(new CreateAccessKeyCommand({ UserName: 'keyed' })));
    expect(e.name).toBe('LimitExceededException');
    expect(e.message).toBe('Cannot exceed quota for AccessKeysPerUser: 2');
    expect(e.$metadata.httpStatusCode).toBe(409);
  });

  test('without UserName the root user acts on its own keys: the admin key is listed', async () => {
    const list = await iam.send(new ListAccessKeysCommand({}));
    const ids = list.AccessKeyMetadata!.map((m) => m.AccessKeyId);
    expect(ids).toContain(s.admin.accessKeyId);
    expect(list.AccessKeyMetadata!.every((m) => m.UserName === undefined)).toBe(true);
  });

  test('a key signs requests; Inactive or deleted, it is refused at once; Active again, it works', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'signer' }));
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: 'signer' }))).AccessKey!;
    // GetCallerIdentity needs no permission: only the key's validity decides.
    const theirs = new STSClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! }, maxAttempts: 1 });
    const whoami = () => theirs.send(new GetCallerIdentityCommand({}));
    expect((await whoami()).Account).toBe(account);

    await iam.send(new UpdateAccessKeyCommand({ UserName: 'signer', AccessKeyId: k.AccessKeyId, Status: 'Inactive' }));
    expect((await iam.send(new ListAccessKeysCommand({ UserName: 'signer' }))).AccessKeyMetadata![0]!.Status).toBe('Inactive');
    const refused = await errorOf(whoami());
    expect(refused.name).toMatch(/^(InvalidClientTokenId|AuthFailure)$/);

    await iam.send(new UpdateAccessKeyCommand({ UserName: 'signer', AccessKeyId: k.AccessKeyId, Status: 'Active' }));
    expect((await whoami()).Account).toBe(account);

    await iam.send(new DeleteAccessKeyCommand({ UserName: 'signer', AccessKeyId: k.AccessKeyId }));
    expect((await errorOf(whoami())).name).toMatch(/^(InvalidClientTokenId|AuthFailure)$/);
    expect((await iam.send(new ListAccessKeysCommand({ UserName: 'signer' }))).AccessKeyMetadata).toEqual([]);
  });

  test('a key of another user is not found; a bad status is a ValidationError', async () => {
    const k = (await iam.send(new ListAccessKeysCommand({ UserName: 'keyed' }))).AccessKeyMetadata![0]!;
    const e = await errorOf(iam.send(new DeleteAccessKeyCommand({ UserName: 'signer', AccessKeyId: k.AccessKeyId })));
    expect(e.name).toBe('NoSuchEntityException');
    expect(e.message).toBe(`The Access Key with id ${k.AccessKeyId} cannot be found.`);
    const bad = await errorOf(iam.send(new UpdateAccessKeyCommand({ UserName: 'keyed', AccessKeyId: k.AccessKeyId, Status: 'Paused' as 'Active' })));
    expect(bad.name).toBe('ValidationError');
  });

  test("an account's admin credentials are its root user's key, never an IAM user's", async () => {
    const other = await s.app.accounts.create('keys-of-users');
    const otherIam = client(other);
    await otherIam.send(new CreateUserCommand({ UserName: 'early' }));
    await otherIam.send(new CreateAccessKeyCommand({ UserName: 'early' }));
    // The user's key is older than every root key that follows; the root's first key goes.
    await otherIam.send(new DeleteAccessKeyCommand({ AccessKeyId: other.accessKeyId }));
    expect(await s.app.accounts.credentialsOf('keys-of-users')).toBeUndefined();
    // A later root key (as the root user's CreateAccessKey makes one) is what the account's admin uses.
    const rootKeyId = 'AKIAROOTKEYLATER0001';
    await s.app.db
      .insertInto('access_keys')
      .values({
        access_key_id: rootKeyId,
        account_id: other.accountId,
        secret_access_key: s.app.secrets.wrap('s'.repeat(40), 'access-key-secret', rootKeyId),
        status: 'Active',
        created_at: new Date(Date.now() + 1000).toISOString(),
      })
      .execute();
    expect(await s.app.accounts.credentialsOf('keys-of-users')).toMatchObject({ accessKeyId: rootKeyId, secretAccessKey: 's'.repeat(40) });
  });

  test('GetAccessKeyLastUsed: N/A for a key never used, with its user', async () => {
    const k = (await iam.send(new ListAccessKeysCommand({ UserName: 'keyed' }))).AccessKeyMetadata![0]!;
    const out = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId }));
    expect(out.UserName).toBe('keyed');
    expect(out.AccessKeyLastUsed).toEqual({ ServiceName: 'N/A', Region: 'N/A' });
    await s.app.db
      .updateTable('access_keys')
      .set({ last_used_at: '2026-12-01T10:00:00.000Z', last_used_service: 'ec2', last_used_region: 'eu-west-1' })
      .where('access_key_id', '=', k.AccessKeyId!)
      .execute();
    const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId }));
    expect(used.AccessKeyLastUsed).toEqual({ LastUsedDate: new Date('2026-12-01T10:00:00.000Z'), ServiceName: 'ec2', Region: 'eu-west-1' });
  });
});

describe('login profiles', () => {
  test("CreateLoginProfile holds IAM's default password policy; the password is stored as scrypt", async () => {
    await iam.send(new CreateUserCommand({ UserName: 'console' }));
    for (const weak of ['short1A', 'alllowercaseletters', 'lowercase123']) {
      const e = await errorOf(iam.send(new CreateLoginProfileCommand({ UserName: 'console', Password: weak })));
      expect(e.name).toBe('PasswordPolicyViolationException');
      expect(e.message).toBe('Password does not conform to the account password policy.');
    }
    const out = await iam.send(new CreateLoginProfileCommand({ UserName: 'console', Password: 'Open-Sesame-42', PasswordResetRequired: true }));
    expect(out.LoginProfile).toMatchObject({ UserName: 'console', PasswordResetRequired: true });
    const row = await s.app.db.selectFrom('iam_login_profiles').selectAll().executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt:16384:8:1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(row.password_hash).not.toContain('Open-Sesame-42');
    const again = await errorOf(iam.send(new CreateLoginProfileCommand({ UserName: 'console', Password: 'Open-Sesame-42' })));
    expect(again.name).toBe('EntityAlreadyExistsException');
    await iam.send(new UpdateLoginProfileCommand({ UserName: 'console', PasswordResetRequired: false }));
    expect((await iam.send(new GetLoginProfileCommand({ UserName: 'console' }))).LoginProfile!.PasswordResetRequired).toBe(false);
    const none = await errorOf(iam.send(new GetLoginProfileCommand({ UserName: 'keyed' })));
    expect(none.name).toBe('NoSuchEntityException');
    expect(none.message).toBe('Login Profile for User keyed cannot be found.');
    const policy = await errorOf(iam.send(new GetAccountPasswordPolicyCommand({})));
    expect(policy.name).toBe('NoSuchEntityException');
  });

  async function signIn(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${s.url}/console/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  test('POST /console/sign-in: the right password gets a 12-hour session of the user; every failure is the same 401', async () => {
    const before = Date.now();
    const ok = await signIn({ account, userName: 'CONSOLE', password: 'Open-Sesame-42' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ principalArn: `arn:aws:iam::${account}:user/console`, passwordResetRequired: false });
    expect(ok.json.accessKeyId).toMatch(/^ASIA/);
    const expires = Date.parse(ok.json.expiration as string);
    expect(expires - before).toBeGreaterThan(12 * 3600_000 - 60_000);
    expect(expires - before).toBeLessThanOrEqual(12 * 3600_000 + 1000);
    const session = await sessionByKey(s.app.db, ok.json.accessKeyId as string);
    const user = (await iam.send(new GetUserCommand({ UserName: 'console' }))).User!;
    expect(session).toMatchObject({ kind: 'session-token', user_id: user.UserId, account_id: account });
    expect(user.PasswordLastUsed).toBeInstanceOf(Date);

    const failures = [
      await signIn({ account, userName: 'console', password: 'Open-Sesame-43' }),
      await signIn({ account, userName: 'keyed', password: 'Open-Sesame-42' }), // no login profile
      await signIn({ account, userName: 'nobody', password: 'Open-Sesame-42' }),
      await signIn({ account: '000000000000', userName: 'console', password: 'Open-Sesame-42' }),
    ];
    for (const f of failures) expect(f).toEqual({ status: 401, json: { message: 'Your authentication information is incorrect. Please try again.' } });
    expect((await signIn({ account })).status).toBe(400);
  });

  test('DeleteLoginProfile: the user can no longer sign in', async () => {
    await iam.send(new DeleteLoginProfileCommand({ UserName: 'console' }));
    const r = await fetch(`${s.url}/console/sign-in`, { method: 'POST', body: JSON.stringify({ account, userName: 'console', password: 'Open-Sesame-42' }) });
    expect(r.status).toBe(401);
  });
});

describe('as an IAM user (the handlers with a user principal)', () => {
  async function asUser<I, O>(name: string, handler: (ctx: ReturnType<typeof createCtx>, input: I) => Promise<O>, input: I): Promise<O> {
    const user = await s.app.db.selectFrom('iam_users').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    const principal: Principal = { kind: 'user', accountId: account, arn: user.arn, userId: user.id, accessKeyId: 'AKIAEXAMPLEEXAMPLE00', name: user.name };
    return s.app.db.transaction().execute((trx) =>
      handler(
        createCtx(
          {
            accountId: account,
            region: 'us-east-1',
            requestId: 'r',
            operation: 'Test',
            principal,
            source: { ip: '127.0.0.1', secure: true },
            db: trx,
            config: s.app.config,
            secrets: s.app.secrets,
          },
          { queued: false, after: [], before: [] },
        ),
        input,
      ),
    );
  }

  test('GetUser without a name answers the caller; CreateAccessKey without a name makes a key of the caller', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'self', Path: '/me/' }));
    const me = await asUser('self', users.GetUser, {});
    expect(me.User).toMatchObject({ UserName: 'self', Arn: `arn:aws:iam::${account}:user/me/self` });
    const k = await asUser('self', accessKeys.CreateAccessKey, {});
    expect(k.AccessKey!.UserName).toBe('self');
    expect((await iam.send(new ListAccessKeysCommand({ UserName: 'self' }))).AccessKeyMetadata!.map((m) => m.AccessKeyId)).toEqual([k.AccessKey!.AccessKeyId]);
  });

  test('ChangePassword needs the old password and holds the policy; the root user cannot call it', async () => {
    await iam.send(new CreateLoginProfileCommand({ UserName: 'self', Password: 'First-Pass-1', PasswordResetRequired: true }));
    const wrong = await asUser('self', loginProfiles.ChangePassword, { OldPassword: 'nope', NewPassword: 'Second-Pass-2' }).catch((e: Error & { code?: string }) => e);
    expect(wrong).toMatchObject({ code: 'InvalidInput' });
    const weak = await asUser('self', loginProfiles.ChangePassword, { OldPassword: 'First-Pass-1', NewPassword: 'weak' }).catch((e: Error & { code?: string }) => e);
    expect(weak).toMatchObject({ code: 'PasswordPolicyViolation' });
    await asUser('self', loginProfiles.ChangePassword, { OldPassword: 'First-Pass-1', NewPassword: 'Second-Pass-2' });
    expect((await iam.send(new GetLoginProfileCommand({ UserName: 'self' }))).LoginProfile!.PasswordResetRequired).toBe(false);
    const r = await fetch(`${s.url}/console/sign-in`, { method: 'POST', body: JSON.stringify({ account, userName: 'self', password: 'Second-Pass-2' }) });
    expect(r.status).toBe(200);
    const root = await errorOf(iam.send(new ChangePasswordCommand({ OldPassword: 'a', NewPassword: 'b' })));
    expect(root.name).toBe('InvalidUserTypeException');
  });
});

describe("the admin's root key", () => {
  test('deleted through IAM, the next start gives the admin account a fresh root key instead of failing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cumulo-iam-admin-'));
    try {
      let t = await startTestServer({ home });
      const first = t.admin;
      await new IAMClient({ endpoint: t.url, region: 'us-east-1', credentials: first, maxAttempts: 1 }).send(new DeleteAccessKeyCommand({ AccessKeyId: first.accessKeyId }));
      await t.stop();
      t = await startTestServer({ home });
      try {
        expect(t.admin.accountId).toBe(first.accountId);
        expect(t.admin.accessKeyId).not.toBe(first.accessKeyId);
        const keys = await new IAMClient({ endpoint: t.url, region: 'us-east-1', credentials: t.admin, maxAttempts: 1 }).send(new ListAccessKeysCommand({}));
        expect(keys.AccessKeyMetadata!.map((k) => k.AccessKeyId)).toEqual([t.admin.accessKeyId]);
      } finally {
        await t.stop();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
