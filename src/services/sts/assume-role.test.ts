// AssumeRole against a real store: trust policies naming accounts, users, roles, services; external
// ids; durations and role chaining; session policies, managed session policies and tags; source
// identities; and the refusals, each with STS's code and message.
import { randomBytes } from 'node:crypto';
import type { AssumeRoleRequest } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretBox } from '../../lib/secrets.js';
import { openStore, type Db } from '../../store/db.js';
import type { ApiError } from '../errors.js';
import type { Principal } from '../iam/principal.js';
import { roleById } from '../iam/entities/store.js';
import { assumeRole, PACKED_POLICY_LIMIT_BYTES, packedPolicySize } from './assume-role.js';
import { getSessionToken } from './session-token.js';
import { sessionByKey } from './sessions.js';
import { ACCOUNT, ctxOf, insertPolicy, insertRole, insertUser, newBox, OTHER, root, sessionPrincipal, THIRD, trustOf, userPrincipal } from './sts.fixture.js';

let db: Db;
let box: SecretBox;
/** An IAM user of ACCOUNT: the usual caller (the root user assumes no role). */
let dev: Principal;
beforeEach(async () => {
  db = await openStore({ file: ':memory:' });
  box = newBox();
  dev = userPrincipal(await insertUser(db, ACCOUNT, 'dev'));
});
afterEach(async () => {
  await db.destroy();
});

const NOW = new Date('2026-12-03T12:00:00.000Z');
const assume = (p: Principal, input: Partial<AssumeRoleRequest> & { RoleArn: string }) => assumeRole(ctxOf(db, box, p, NOW), { RoleSessionName: 's1', ...input });

async function errorOf(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected an error');
}

const deniedMessage = (caller: string, roleArn: string, action = 'sts:AssumeRole') => `User: ${caller} is not authorized to perform: ${action} on resource: ${roleArn}`;

describe('AssumeRole: who the trust policy names', () => {
  it("a trust policy naming the account's root lets the account's principals in, with a role session of an hour", async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: `arn:aws:iam::${ACCOUNT}:root` }));
    const caller = dev;
    const out = await assume(caller, { RoleArn: role.arn, RoleSessionName: 'deploy' });
    expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials!.SecretAccessKey).toHaveLength(40);
    expect(out.Credentials!.Expiration).toEqual(new Date(NOW.getTime() + 3600_000));
    expect(out.AssumedRoleUser).toEqual({ AssumedRoleId: `${role.id}:deploy`, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/web/deploy` });
    expect(out.PackedPolicySize).toBeUndefined();
    expect(out.SessionTokenSize).toBe(out.Credentials!.SessionToken!.length);

    const row = (await sessionByKey(db, out.Credentials!.AccessKeyId!))!;
    expect(row).toMatchObject({ kind: 'assumed-role', account_id: ACCOUNT, role_id: role.id, role_arn: role.arn, session_name: 'deploy', issued_for: caller.arn, mfa: 0 });
    expect(row.token_sha256).not.toContain(out.Credentials!.SessionToken);
    const used = (await roleById(db, role.id))!;
    expect(used.last_used_at).toBe(NOW.toISOString());
    expect(used.last_used_region).toBe('us-east-1');
  });

  it('a trust policy naming the account id lets its IAM users in', async () => {
    const alice = await insertUser(db, ACCOUNT, 'alice');
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const out = await assume(userPrincipal(alice), { RoleArn: role.arn });
    expect((await sessionByKey(db, out.Credentials!.AccessKeyId!))!.issued_for).toBe(alice.arn);
  });

  it("a trust policy naming one user lets that user in and no other, with STS's message", async () => {
    const alice = await insertUser(db, ACCOUNT, 'alice');
    const bob = await insertUser(db, ACCOUNT, 'bob');
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: alice.arn }));
    await assume(userPrincipal(alice), { RoleArn: role.arn });
    const e = await errorOf(assume(userPrincipal(bob), { RoleArn: role.arn }));
    expect(e.code).toBe('AccessDenied');
    expect(e.status).toBe(403);
    expect(e.message).toBe(deniedMessage(bob.arn, role.arn));
    const r = await errorOf(assume(dev, { RoleArn: role.arn }));
    expect(r.message).toBe(deniedMessage(dev.arn, role.arn));
  });

  it('the root user assumes no role, whatever the trust policy says, as on AWS', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf('*'));
    const other = await insertRole(db, OTHER, 'audit', trustOf({ AWS: ACCOUNT }));
    for (const caller of [root(), await sessionPrincipal(db, (await getSessionToken(ctxOf(db, box, root(), NOW), {})).Credentials!.AccessKeyId!)]) {
      for (const arn of [role.arn, other.arn, `arn:aws:iam::${ACCOUNT}:role/nope`]) {
        const e = await errorOf(assume(caller, { RoleArn: arn }));
        expect(e.code).toBe('AccessDenied');
        expect(e.status).toBe(403);
        expect(e.message).toBe('Roles may not be assumed by root accounts.');
      }
    }
    // The same trust lets an IAM user in.
    await assume(dev, { RoleArn: role.arn });
  });

  it("a trust policy naming a role lets that role's sessions in (role chaining), and so does naming the session", async () => {
    const hop = await insertRole(db, ACCOUNT, 'hop', trustOf({ AWS: ACCOUNT }));
    const target = await insertRole(db, ACCOUNT, 'target', trustOf({ AWS: hop.arn }));
    const first = await assume(dev, { RoleArn: hop.arn, RoleSessionName: 'one' });
    const session = await sessionPrincipal(db, first.Credentials!.AccessKeyId!);
    const out = await assume(session, { RoleArn: target.arn, RoleSessionName: 'two' });
    expect(out.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/target/two`);
    expect((await sessionByKey(db, out.Credentials!.AccessKeyId!))!.issued_for).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/hop/one`);

    const bySession = await insertRole(db, ACCOUNT, 'bysession', trustOf({ AWS: `arn:aws:sts::${ACCOUNT}:assumed-role/hop/one` }));
    await assume(session, { RoleArn: bySession.arn });
    // The role itself is not a session of it: root is not let in by a trust naming the role.
    const e = await errorOf(assume(dev, { RoleArn: target.arn }));
    expect(e.code).toBe('AccessDenied');
  });

  it('a trust policy naming only a service lets no principal of the account in', async () => {
    const role = await insertRole(db, ACCOUNT, 'ec2role', trustOf({ Service: 'ec2.amazonaws.com' }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn }));
    expect(e.message).toBe(deniedMessage(dev.arn, role.arn));
  });

  it("cross-account: a role of another account trusting the caller's account gives a session in the role's account", async () => {
    const role = await insertRole(db, OTHER, 'audit', trustOf({ AWS: `arn:aws:iam::${ACCOUNT}:root` }));
    const alice = await insertUser(db, ACCOUNT, 'alice');
    const out = await assume(userPrincipal(alice), { RoleArn: role.arn, RoleSessionName: 'alice' });
    expect(out.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${OTHER}:assumed-role/audit/alice`);
    expect((await sessionByKey(db, out.Credentials!.AccessKeyId!))!.account_id).toBe(OTHER);
    // A third account is not named.
    const carol = userPrincipal(await insertUser(db, THIRD, 'carol'));
    const e = await errorOf(assume(carol, { RoleArn: role.arn }));
    expect(e.message).toBe(deniedMessage(carol.arn, role.arn));
  });

  it('an explicit Deny in the trust policy beats an Allow', async () => {
    const bob = await insertUser(db, ACCOUNT, 'bob');
    const trust = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole' },
        { Effect: 'Deny', Principal: { AWS: bob.arn }, Action: 'sts:AssumeRole' },
      ],
    };
    const role = await insertRole(db, ACCOUNT, 'web', trust);
    await assume(dev, { RoleArn: role.arn });
    expect((await errorOf(assume(userPrincipal(bob), { RoleArn: role.arn }))).code).toBe('AccessDenied');
  });

  it("a condition on the caller's tags (aws:PrincipalTag) and on the session name is evaluated", async () => {
    const web = await insertUser(db, ACCOUNT, 'web-dev', { team: 'web' });
    const db2 = await insertUser(db, ACCOUNT, 'db-dev', { team: 'db' });
    const role = await insertRole(
      db,
      ACCOUNT,
      'web',
      trustOf({ AWS: ACCOUNT }, 'sts:AssumeRole', { StringEquals: { 'aws:PrincipalTag/team': 'web' }, StringLike: { 'sts:RoleSessionName': '${aws:username}' } }),
    );
    await assume(userPrincipal(web), { RoleArn: role.arn, RoleSessionName: 'web-dev' });
    expect((await errorOf(assume(userPrincipal(web), { RoleArn: role.arn, RoleSessionName: 'someone-else' }))).code).toBe('AccessDenied');
    expect((await errorOf(assume(userPrincipal(db2), { RoleArn: role.arn, RoleSessionName: 'db-dev' }))).code).toBe('AccessDenied');
  });

  it("a role session's principal tags are its role's tags overlaid with its session tags", async () => {
    const hop = await insertRole(db, ACCOUNT, 'hop', trustOf({ AWS: ACCOUNT }, ['sts:AssumeRole', 'sts:TagSession']), { tags: { team: 'web', env: 'dev' } });
    const plain = await insertRole(db, ACCOUNT, 'plain', trustOf({ AWS: ACCOUNT }), { tags: { team: 'db' } });
    const target = await insertRole(
      db,
      ACCOUNT,
      'target',
      trustOf({ AWS: ACCOUNT }, 'sts:AssumeRole', {
        StringEquals: { 'aws:PrincipalTag/team': 'web', 'aws:PrincipalTag/env': 'prod', 'aws:PrincipalType': 'AssumedRole', 'aws:PrincipalArn': hop.arn },
      }),
    );
    const tagged = await sessionPrincipal(db, (await assume(dev, { RoleArn: hop.arn, Tags: [{ Key: 'ENV', Value: 'prod' }] })).Credentials!.AccessKeyId!);
    await assume(tagged, { RoleArn: target.arn });
    // Without the session tag the role's own env=dev shows through; another role's session has team=db.
    const untagged = await sessionPrincipal(db, (await assume(dev, { RoleArn: hop.arn })).Credentials!.AccessKeyId!);
    expect((await errorOf(assume(untagged, { RoleArn: target.arn }))).code).toBe('AccessDenied');
    const other = await sessionPrincipal(db, (await assume(dev, { RoleArn: plain.arn })).Credentials!.AccessKeyId!);
    expect((await errorOf(assume(other, { RoleArn: target.arn }))).message).toBe(deniedMessage(other.arn, target.arn));
  });

  it('no such role, a malformed ARN and a wrong path are all AccessDenied, naming nothing more', async () => {
    await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }), { path: '/app/' });
    for (const arn of [`arn:aws:iam::${ACCOUNT}:role/nope`, `arn:aws:iam:${ACCOUNT}:role/app/web`, `arn:aws:iam::${ACCOUNT}:role/web`, `arn:aws:iam::${ACCOUNT}:user/app/web`]) {
      const e = await errorOf(assume(dev, { RoleArn: arn }));
      expect(e.code).toBe('AccessDenied');
      expect(e.message).toBe(deniedMessage(dev.arn, arn));
    }
    const ok = await assume(dev, { RoleArn: `arn:aws:iam::${ACCOUNT}:role/app/web` });
    expect(ok.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/web/s1`);
  });
});

describe('AssumeRole: ExternalId', () => {
  it('is matched by the trust policy through sts:ExternalId', async () => {
    const role = await insertRole(db, OTHER, 'vendor', trustOf({ AWS: ACCOUNT }, 'sts:AssumeRole', { StringEquals: { 'sts:ExternalId': 'Unique-Id-1234' } }));
    expect((await errorOf(assume(dev, { RoleArn: role.arn }))).code).toBe('AccessDenied');
    expect((await errorOf(assume(dev, { RoleArn: role.arn, ExternalId: 'Unique-Id-9999' }))).code).toBe('AccessDenied');
    const out = await assume(dev, { RoleArn: role.arn, ExternalId: 'Unique-Id-1234' });
    expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA/);
  });

  it("is checked against STS's length and pattern", async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, ExternalId: 'a b' }));
    expect(e.code).toBe('ValidationError');
    expect(e.message).toBe(
      "1 validation error detected: Value 'a b' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*",
    );
  });
});

describe('AssumeRole: durations', () => {
  it("DurationSeconds from 900 up to the role's MaxSessionDuration", async () => {
    const role = await insertRole(db, ACCOUNT, 'long', trustOf({ AWS: ACCOUNT }), { maxSessionDuration: 43200 });
    expect((await assume(dev, { RoleArn: role.arn, DurationSeconds: 900 })).Credentials!.Expiration).toEqual(new Date(NOW.getTime() + 900_000));
    expect((await assume(dev, { RoleArn: role.arn, DurationSeconds: 43200 })).Credentials!.Expiration).toEqual(new Date(NOW.getTime() + 43200_000));
    const short = await insertRole(db, ACCOUNT, 'short', trustOf({ AWS: ACCOUNT }));
    const e = await errorOf(assume(dev, { RoleArn: short.arn, DurationSeconds: 3601 }));
    expect(e.code).toBe('ValidationError');
    expect(e.message).toBe('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  });

  it("outside 900…43200 is STS's constraint error, several gathered in one", async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    expect((await errorOf(assume(dev, { RoleArn: role.arn, DurationSeconds: 899 }))).message).toBe(
      "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
    expect((await errorOf(assume(dev, { RoleArn: role.arn, DurationSeconds: 43201 }))).message).toBe(
      "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
    );
    expect((await errorOf(assume(dev, { RoleArn: role.arn, DurationSeconds: 100, RoleSessionName: 'x' }))).message).toBe(
      "2 validation errors detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
  });

  it('role chaining caps a session at an hour whatever the role allows', async () => {
    const hop = await insertRole(db, ACCOUNT, 'hop', trustOf({ AWS: ACCOUNT }));
    const target = await insertRole(db, ACCOUNT, 'target', trustOf({ AWS: hop.arn }), { maxSessionDuration: 43200 });
    const session = await sessionPrincipal(db, (await assume(dev, { RoleArn: hop.arn })).Credentials!.AccessKeyId!);
    const e = await errorOf(assume(session, { RoleArn: target.arn, DurationSeconds: 3601 }));
    expect(e.code).toBe('ValidationError');
    expect(e.message).toBe('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
    expect((await assume(session, { RoleArn: target.arn, DurationSeconds: 3600 })).Credentials!.Expiration).toEqual(new Date(NOW.getTime() + 3600_000));
  });
});

describe('AssumeRole: RoleSessionName', () => {
  it.each([
    ['a', "Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"],
    ['a b', "Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"],
    ['x'.repeat(65), `Value '${'x'.repeat(65)}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64`],
  ])('%s is refused', async (name, message) => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, RoleSessionName: name }));
    expect(e.code).toBe('ValidationError');
    expect(e.message).toBe(`1 validation error detected: ${message}`);
  });

  it('an empty RoleArn fails its pattern, then its length, as STS words it', async () => {
    const e = await errorOf(assume(dev, { RoleArn: '' }));
    expect(e.message).toBe(
      "2 validation errors detected: Value '' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+; Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
    );
  });

  it('takes the characters STS allows', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const out = await assume(dev, { RoleArn: role.arn, RoleSessionName: 'a_b+c=d,e.f@g-h' });
    expect(out.AssumedRoleUser!.AssumedRoleId).toBe(`${role.id}:a_b+c=d,e.f@g-h`);
  });
});

describe('AssumeRole: session policies', () => {
  const readOnly = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] });

  it('an inline session policy is validated, kept with the session, and sized', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const out = await assume(dev, { RoleArn: role.arn, Policy: readOnly });
    expect(out.PackedPolicySize).toBeGreaterThan(0);
    expect(out.PackedPolicySize).toBeLessThanOrEqual(100);
    expect(out.PackedPolicySize).toBe(packedPolicySize(readOnly, [], {}));
    const row = (await sessionByKey(db, out.Credentials!.AccessKeyId!))!;
    expect(JSON.parse(row.policies)).toEqual([readOnly]);
  });

  it.each([
    ['{"Version":"2012-10-17",', 'Syntax errors in policy.'],
    [
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ec2:*', Resource: '*' }] }),
      'Policy document should not specify a principal.',
    ],
    [JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:*' }] }), 'Policy statement must contain resources.'],
  ])('a malformed session policy is MalformedPolicyDocument (%s)', async (policy, message) => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, Policy: policy }));
    expect(e.code).toBe('MalformedPolicyDocument');
    expect(e.status).toBe(400);
    expect(e.message).toBe(message);
  });

  it("managed session policies: AWS managed ones and the role's account's own exist; others are refused", async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const own = await insertPolicy(db, ACCOUNT, 'ReadEc2', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] });
    const elsewhere = await insertPolicy(db, OTHER, 'Theirs', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
    const arns = ['arn:aws:iam::aws:policy/AdministratorAccess', own];
    const out = await assume(dev, { RoleArn: role.arn, PolicyArns: arns.map((arn) => ({ arn })) });
    expect(JSON.parse((await sessionByKey(db, out.Credentials!.AccessKeyId!))!.policy_arns)).toEqual(arns);
    expect(out.PackedPolicySize).toBe(packedPolicySize(undefined, arns, {}));

    for (const arn of [`arn:aws:iam::${ACCOUNT}:policy/Nope`, elsewhere, 'arn:aws:iam::aws:policy/NoSuchAwsPolicy']) {
      const e = await errorOf(assume(dev, { RoleArn: role.arn, PolicyArns: [{ arn }] }));
      expect(e.code).toBe('InvalidParameterValue');
      expect(e.message).toBe(`Policy ${arn} does not exist or is not attachable.`);
    }
    const many = Array.from({ length: 11 }, () => ({ arn: 'arn:aws:iam::aws:policy/AdministratorAccess' }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, PolicyArns: many }));
    expect(e.code).toBe('ValidationError');
    expect(e.message).toMatch(/^1 validation error detected: Value '\[.*\]' at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10$/);
  });
});

describe('AssumeRole: session tags', () => {
  const tagTrust = () => trustOf({ AWS: ACCOUNT }, ['sts:AssumeRole', 'sts:TagSession']);

  it('need sts:TagSession in the trust policy', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, Tags: [{ Key: 'team', Value: 'web' }] }));
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toBe(deniedMessage(dev.arn, role.arn, 'sts:TagSession'));
  });

  it('are kept with the session, sized, and seen by the trust policy as aws:RequestTag', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole' },
        { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:TagSession', Condition: { StringEquals: { 'aws:RequestTag/team': 'web' } } },
      ],
    });
    const out = await assume(dev, {
      RoleArn: role.arn,
      Tags: [
        { Key: 'team', Value: 'web' },
        { Key: 'cost', Value: '42' },
      ],
      TransitiveTagKeys: ['team'],
    });
    const row = (await sessionByKey(db, out.Credentials!.AccessKeyId!))!;
    expect(JSON.parse(row.tags)).toEqual({ team: 'web', cost: '42' });
    expect(JSON.parse(row.transitive_tag_keys)).toEqual(['team']);
    expect(out.PackedPolicySize).toBe(packedPolicySize(undefined, [], { team: 'web', cost: '42' }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, Tags: [{ Key: 'team', Value: 'db' }] }));
    expect(e.message).toBe(deniedMessage(dev.arn, role.arn, 'sts:TagSession'));
  });

  it('keys are unique without regard to case, and transitive keys must be among them', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', tagTrust());
    const dup = await errorOf(
      assume(dev, {
        RoleArn: role.arn,
        Tags: [
          { Key: 'Team', Value: 'a' },
          { Key: 'team', Value: 'b' },
        ],
      }),
    );
    expect(dup.code).toBe('InvalidParameterValue');
    expect(dup.message).toBe('Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    const stray = await errorOf(assume(dev, { RoleArn: role.arn, Tags: [{ Key: 'team', Value: 'a' }], TransitiveTagKeys: ['cost'] }));
    expect(stray.code).toBe('InvalidParameterValue');
    expect(stray.message).toBe('The specified transitive tag key must be included in the requested tags.');
    const many = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, Tags: many }));
    expect(e.code).toBe('ValidationError');
    expect(e.message).toMatch(/at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/);
    const badKey = await errorOf(assume(dev, { RoleArn: role.arn, Tags: [{ Key: 'a*b', Value: 'x' }] }));
    expect(badKey.message).toBe(
      "1 validation error detected: Value 'a*b' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
    );
  });

  it('transitive tags pass along a role chain, cannot be overridden, and others do not pass', async () => {
    const hop = await insertRole(db, ACCOUNT, 'hop', tagTrust());
    const target = await insertRole(db, ACCOUNT, 'target', trustOf({ AWS: hop.arn }, ['sts:AssumeRole', 'sts:TagSession']));
    const first = await assume(dev, {
      RoleArn: hop.arn,
      Tags: [
        { Key: 'team', Value: 'web' },
        { Key: 'temp', Value: 'x' },
      ],
      TransitiveTagKeys: ['team'],
    });
    const session = await sessionPrincipal(db, first.Credentials!.AccessKeyId!);
    const out = await assume(session, { RoleArn: target.arn, Tags: [{ Key: 'stage', Value: 'prod' }] });
    const row = (await sessionByKey(db, out.Credentials!.AccessKeyId!))!;
    expect(JSON.parse(row.tags)).toEqual({ team: 'web', stage: 'prod' });
    expect(JSON.parse(row.transitive_tag_keys)).toEqual(['team']);
    const e = await errorOf(assume(session, { RoleArn: target.arn, Tags: [{ Key: 'TEAM', Value: 'db' }] }));
    expect(e.code).toBe('InvalidParameterValue');
    expect(e.message).toBe("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.");
    // Inherited tags alone still need sts:TagSession on the next role.
    const untagged = await insertRole(db, ACCOUNT, 'untagged', trustOf({ AWS: hop.arn }));
    expect((await errorOf(assume(session, { RoleArn: untagged.arn }))).message).toBe(deniedMessage(session.arn, untagged.arn, 'sts:TagSession'));
  });

  it('too many packed bytes are PackedPolicyTooLarge', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', tagTrust());
    const tags = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}-${randomBytes(40).toString('hex')}`.slice(0, 128), Value: randomBytes(128).toString('hex') }));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, Tags: tags }));
    expect(e.code).toBe('PackedPolicyTooLarge');
    expect(e.message).toMatch(/^Packed policy consumes (\d+)% of allotted space, please use smaller policy\.$/);
    expect(Number(/(\d+)%/.exec(e.message)![1])).toBeGreaterThan(100);
    expect(PACKED_POLICY_LIMIT_BYTES).toBe(2048);
  });
});

describe('AssumeRole: source identity', () => {
  it('needs sts:SetSourceIdentity, is answered, and persists along a role chain unchanged', async () => {
    const plain = await insertRole(db, ACCOUNT, 'plain', trustOf({ AWS: ACCOUNT }));
    expect((await errorOf(assume(dev, { RoleArn: plain.arn, SourceIdentity: 'alice' }))).message).toBe(deniedMessage(dev.arn, plain.arn, 'sts:SetSourceIdentity'));
    const hop = await insertRole(db, ACCOUNT, 'hop', trustOf({ AWS: ACCOUNT }, ['sts:AssumeRole', 'sts:SetSourceIdentity']));
    const first = await assume(dev, { RoleArn: hop.arn, SourceIdentity: 'alice' });
    expect(first.SourceIdentity).toBe('alice');
    const target = await insertRole(
      db,
      ACCOUNT,
      'target',
      trustOf({ AWS: hop.arn }, ['sts:AssumeRole', 'sts:SetSourceIdentity'], { StringEquals: { 'sts:SourceIdentity': 'alice' } }),
    );
    const session = await sessionPrincipal(db, first.Credentials!.AccessKeyId!);
    const out = await assume(session, { RoleArn: target.arn });
    expect(out.SourceIdentity).toBe('alice');
    expect((await sessionByKey(db, out.Credentials!.AccessKeyId!))!.source_identity).toBe('alice');
    expect((await errorOf(assume(session, { RoleArn: target.arn, SourceIdentity: 'mallory' }))).code).toBe('InvalidParameterValue');
  });

  it('may not use the reserved aws: prefix', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }, ['sts:AssumeRole', 'sts:SetSourceIdentity']));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, SourceIdentity: 'aws:me' }));
    expect(e.code).toBe('ValidationError');
    expect(e.message).toContain("Value 'aws:me' at 'sourceIdentity' failed to satisfy constraint");
  });
});

describe('AssumeRole: what cumulo cannot do is refused, not ignored', () => {
  it('SerialNumber/TokenCode: no MFA device exists to validate them', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    for (const mfa of [{ SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/alice`, TokenCode: '123456' }, { SerialNumber: 'GAHT12345678' }, { TokenCode: '123456' }]) {
      const e = await errorOf(assume(dev, { RoleArn: role.arn, ...mfa }));
      expect(e.code).toBe('AccessDenied');
      expect(e.message).toBe('MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.');
    }
  });

  it('ProvidedContexts: no context provider can vouch for them', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const e = await errorOf(
      assume(dev, { RoleArn: role.arn, ProvidedContexts: [{ ProviderArn: 'arn:aws:iam::aws:contextProvider/IdentityCenter', ContextAssertion: 'x'.repeat(20) }] }),
    );
    expect(e.code).toBe('InvalidParameterValue');
  });

  it('MinimumSessionTokenSize makes the token at least that long, up to 4096 bytes', async () => {
    const role = await insertRole(db, ACCOUNT, 'web', trustOf({ AWS: ACCOUNT }));
    const out = await assume(dev, { RoleArn: role.arn, MinimumSessionTokenSize: 2000 });
    expect(out.Credentials!.SessionToken!.length).toBeGreaterThanOrEqual(2000);
    expect(out.SessionTokenSize).toBe(out.Credentials!.SessionToken!.length);
    expect(out.SessionTokenUtilization).toBe(Math.ceil((out.SessionTokenSize! * 100) / 4096));
    const e = await errorOf(assume(dev, { RoleArn: role.arn, MinimumSessionTokenSize: 4097 }));
    expect(e.message).toBe(
      "1 validation error detected: Value '4097' at 'minimumSessionTokenSize' failed to satisfy constraint: Member must have value less than or equal to 4096",
    );
  });
});
