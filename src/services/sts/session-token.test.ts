// GetSessionToken and GetCallerIdentity against a real store, for every kind of principal.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretBox } from '../../lib/secrets.js';
import { openStore, type Db } from '../../store/db.js';
import type { ApiError } from '../errors.js';
import type { Principal } from '../iam/principal.js';
import { assumeRole } from './assume-role.js';
import { getCallerIdentity } from './caller-identity.js';
import { sessionByKey } from './sessions.js';
import { getSessionToken } from './session-token.js';
import { ACCOUNT, ctxOf, insertRole, insertUser, newBox, root, sessionPrincipal, trustOf, userPrincipal } from './sts.fixture.js';

let db: Db;
let box: SecretBox;
beforeEach(async () => {
  db = await openStore({ file: ':memory:' });
  box = newBox();
});
afterEach(async () => {
  await db.destroy();
});

const NOW = new Date('2026-12-03T12:00:00.000Z');
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const token = (p: Principal, input: Parameters<typeof getSessionToken>[1] = {}) => getSessionToken(ctxOf(db, box, p, NOW), input);
const identity = (p: Principal) => getCallerIdentity(ctxOf(db, box, p, NOW));

async function errorOf(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected an error');
}

describe('GetSessionToken', () => {
  it("an IAM user's session: 12 hours by default, up to 36, acting as the user", async () => {
    const alice = await insertUser(db, ACCOUNT, 'alice');
    const out = await token(userPrincipal(alice));
    expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA/);
    expect(out.Credentials!.Expiration).toEqual(at(43200));
    expect(out.SessionTokenSize).toBe(out.Credentials!.SessionToken!.length);
    const row = (await sessionByKey(db, out.Credentials!.AccessKeyId!))!;
    expect(row).toMatchObject({ kind: 'session-token', account_id: ACCOUNT, user_id: alice.id, role_id: null, issued_for: alice.arn, mfa: 0 });
    expect((await token(userPrincipal(alice), { DurationSeconds: 129600 })).Credentials!.Expiration).toEqual(at(129600));
    expect((await token(userPrincipal(alice), { DurationSeconds: 900 })).Credentials!.Expiration).toEqual(at(900));
  });

  it("the root user's sessions last an hour at most, as on AWS", async () => {
    expect((await token(root())).Credentials!.Expiration).toEqual(at(3600));
    expect((await token(root(), { DurationSeconds: 7200 })).Credentials!.Expiration).toEqual(at(3600));
    expect((await token(root(), { DurationSeconds: 1800 })).Credentials!.Expiration).toEqual(at(1800));
    const out = await token(root());
    expect((await sessionByKey(db, out.Credentials!.AccessKeyId!))!.user_id).toBeNull();
  });

  it("durations outside 900…129600 are STS's constraint errors", async () => {
    const alice = userPrincipal(await insertUser(db, ACCOUNT, 'alice'));
    const low = await errorOf(token(alice, { DurationSeconds: 899 }));
    expect(low.code).toBe('ValidationError');
    expect(low.message).toBe("1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900");
    expect((await errorOf(token(alice, { DurationSeconds: 129601 }))).message).toBe(
      "1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600",
    );
  });

  it('callers with temporary credentials are refused: role sessions and session tokens alike', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const dev = userPrincipal(await insertUser(db, ACCOUNT, 'dev'));
    const assumed = await assumeRole(ctxOf(db, box, dev, NOW), { RoleArn: role.arn, RoleSessionName: 'sess' });
    const session = await sessionPrincipal(db, assumed.Credentials!.AccessKeyId!);
    const e = await errorOf(token(session));
    expect(e.code).toBe('AccessDenied');
    expect(e.status).toBe(403);
    expect(e.message).toBe('Cannot call GetSessionToken with session credentials');

    const alice = await insertUser(db, ACCOUNT, 'alice');
    const st = await sessionPrincipal(db, (await token(userPrincipal(alice))).Credentials!.AccessKeyId!);
    expect((await errorOf(token(st))).message).toBe('Cannot call GetSessionToken with session credentials');
  });

  it('SerialNumber and TokenCode are refused: cumulo has no MFA devices to validate them against', async () => {
    const alice = userPrincipal(await insertUser(db, ACCOUNT, 'alice'));
    const e = await errorOf(token(alice, { SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/alice`, TokenCode: '123456' }));
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toBe('MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.');
    expect((await errorOf(token(alice, { TokenCode: '12345' }))).message).toBe(
      "1 validation error detected: Value '12345' at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6",
    );
  });

  it('MinimumSessionTokenSize lengthens the token', async () => {
    const out = await token(root(), { MinimumSessionTokenSize: 3000 });
    expect(out.Credentials!.SessionToken!.length).toBeGreaterThanOrEqual(3000);
    expect(out.SessionTokenUtilization).toBe(Math.ceil((out.SessionTokenSize! * 100) / 4096));
  });
});

describe('GetCallerIdentity', () => {
  it('root: the account id as UserId and the root ARN', async () => {
    expect(await identity(root())).toEqual({ UserId: ACCOUNT, Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root` });
  });

  it('an IAM user: its AIDA id and its ARN with the path', async () => {
    const u = await insertUser(db, ACCOUNT, 'alice', {}, '/eng/');
    expect(await identity(userPrincipal(u))).toEqual({ UserId: u.id, Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/eng/alice` });
  });

  it("a role session: role id and session name, and the assumed-role ARN in the role's account", async () => {
    const role = await insertRole(db, '444455556666', 'audit', trustOf({ AWS: ACCOUNT }), { path: '/ops/' });
    const dev = userPrincipal(await insertUser(db, ACCOUNT, 'dev'));
    const out = await assumeRole(ctxOf(db, box, dev, NOW), { RoleArn: role.arn, RoleSessionName: 'night' });
    const who = await identity(await sessionPrincipal(db, out.Credentials!.AccessKeyId!));
    expect(who).toEqual({ UserId: `${role.id}:night`, Account: '444455556666', Arn: 'arn:aws:sts::444455556666:assumed-role/audit/night' });
    expect(who.UserId).toBe(out.AssumedRoleUser!.AssumedRoleId);
    expect(who.Arn).toBe(out.AssumedRoleUser!.Arn);
  });

  it('a GetSessionToken session acts as its user, and as root for root', async () => {
    const u = await insertUser(db, ACCOUNT, 'alice');
    const s = await sessionPrincipal(db, (await token(userPrincipal(u))).Credentials!.AccessKeyId!);
    expect(await identity(s)).toEqual({ UserId: u.id, Account: ACCOUNT, Arn: u.arn });
    const r = await sessionPrincipal(db, (await token(root())).Credentials!.AccessKeyId!);
    expect(await identity(r)).toEqual({ UserId: ACCOUNT, Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root` });
  });
});
