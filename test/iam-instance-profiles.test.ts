// Instance profiles on instances through the SDK (fake driver): RunInstances IamInstanceProfile,
// Associate/Replace/Disassociate/DescribeIamInstanceProfileAssociations and their errors, the role
// credentials the metadata service is told (issued, served again, refreshed, refused), and the
// iam:PassRole requests the authorizer asks. IAM rows come from a small fixture (IAM's own handlers
// are another part of the work).
import { randomBytes } from 'node:crypto';
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, IAMClient, RemoveRoleFromInstanceProfileCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AssociateIamInstanceProfileCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  DisassociateIamInstanceProfileCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceTerminated,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { describeInstance, errorOf, minimalImage, startTestServer, type TestServer } from './harness.js';
import { insertProfile, type ProfileOptions } from './iam-fixtures.js';
import { hostFacts } from '../src/host-facts.js';
import { loadInstanceMetadata } from '../src/host/imds/lookup.js';
import { resolvePath } from '../src/host/imds/metadata.js';
import type { Ctx } from '../src/services/context.js';
import { SecretBox } from '../src/lib/secrets.js';
import { passRoleRequests } from '../src/services/ec2/iam-instance-profiles/pass-role.js';
import { sessionByKey, tokenDigest } from '../src/services/sts/sessions.js';

let s: TestServer;
let account: string;
let imageId: string;
const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };

const lambdaTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
const profile = (name: string, opts: ProfileOptions = {}) => insertProfile(s.app.db, account, name, opts);

async function launch(extra: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const r = await s.ec2().send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...extra }));
  return r.Instances![0]!.InstanceId!;
}

async function running(extra: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const id = await launch(extra);
  await waitUntilInstanceRunning({ client: s.ec2(), ...wait }, { InstanceIds: [id] });
  return id;
}

const describeAssociations = (input: ConstructorParameters<typeof DescribeIamInstanceProfileAssociationsCommand>[0] = {}) =>
  s.ec2().send(new DescribeIamInstanceProfileAssociationsCommand(input));
const ofInstance = async (id: string) => (await describeAssociations({ Filters: [{ Name: 'instance-id', Values: [id] }] })).IamInstanceProfileAssociations ?? [];

beforeAll(async () => {
  s = await startTestServer();
  account = s.admin.accountId;
  imageId = await minimalImage(s.ec2());
});
afterAll(() => s?.stop());

describe('RunInstances IamInstanceProfile', () => {
  test('by name or ARN: the instance carries the profile, and an association is listed', async () => {
    const web = await profile('web');
    const byName = await launch({ IamInstanceProfile: { Name: 'WEB' } });
    expect((await describeInstance(s.ec2(), byName)).IamInstanceProfile).toEqual({ Arn: web.arn, Id: web.id });
    const [assoc] = await ofInstance(byName);
    expect(assoc).toMatchObject({ InstanceId: byName, IamInstanceProfile: { Arn: web.arn, Id: web.id }, State: 'associated' });
    expect(assoc!.AssociationId).toMatch(/^iip-assoc-[0-9a-f]{17}$/);
    expect(assoc!.Timestamp).toBeInstanceOf(Date);

    const byArn = await launch({ IamInstanceProfile: { Arn: web.arn } });
    expect((await describeInstance(s.ec2(), byArn)).IamInstanceProfile).toEqual({ Arn: web.arn, Id: web.id });
    // RunInstances' own answer shows it too.
    const answer = await s.ec2().send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 2, MaxCount: 2, IamInstanceProfile: { Name: 'web' } }));
    expect(answer.Instances!.map((i) => i.IamInstanceProfile)).toEqual([
      { Arn: web.arn, Id: web.id },
      { Arn: web.arn, Id: web.id },
    ]);
    const both = answer.Instances!.map((i) => i.InstanceId!);
    // DescribeInstances' filters see it.
    const byFilter = await s.ec2().send(new DescribeInstancesCommand({ Filters: [{ Name: 'iam-instance-profile.arn', Values: [web.arn] }] }));
    expect(byFilter.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId)).sort()).toEqual([byName, byArn, ...both].sort());
    const filtered = await describeAssociations({ Filters: [{ Name: 'instance-id', Values: [byName, byArn] }] });
    expect(filtered.IamInstanceProfileAssociations!.map((a) => a.InstanceId).sort()).toEqual([byName, byArn].sort());
  });

  test("EC2's errors: an unknown profile, one of another account, one without a role", async () => {
    const unknown = await errorOf(launch({ IamInstanceProfile: { Name: 'nope' } }));
    expect([unknown.name, unknown.message]).toEqual(['InvalidParameterValue', 'Value (nope) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name']);
    const foreign = 'arn:aws:iam::210987654321:instance-profile/web';
    const other = await errorOf(launch({ IamInstanceProfile: { Arn: foreign } }));
    expect([other.name, other.message]).toEqual(['InvalidParameterValue', `Value (${foreign}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN`]);
    const empty = await profile('empty', { roleName: null });
    const noRole = await errorOf(launch({ IamInstanceProfile: { Name: 'empty' } }));
    expect([noRole.name, noRole.message]).toEqual(['InvalidParameterValue', `IAM Instance Profile "${empty.arn}" has no associated IAM Roles`]);
  });
});

describe('associations', () => {
  test('associate, replace, disassociate: DescribeInstances and the association list stay in step', async () => {
    const a = await profile('assoc-a');
    const b = await profile('assoc-b');
    const id = await running();
    expect((await describeInstance(s.ec2(), id)).IamInstanceProfile).toBeUndefined();

    const assoc = (await s.ec2().send(new AssociateIamInstanceProfileCommand({ InstanceId: id, IamInstanceProfile: { Name: 'assoc-a' } }))).IamInstanceProfileAssociation!;
    expect(assoc).toMatchObject({ InstanceId: id, IamInstanceProfile: { Arn: a.arn, Id: a.id }, State: 'associating' });
    expect((await ofInstance(id)).map((x) => [x.AssociationId, x.State])).toEqual([[assoc.AssociationId, 'associated']]);
    expect((await describeInstance(s.ec2(), id)).IamInstanceProfile).toEqual({ Arn: a.arn, Id: a.id });

    const again = await errorOf(s.ec2().send(new AssociateIamInstanceProfileCommand({ InstanceId: id, IamInstanceProfile: { Name: 'assoc-b' } })));
    expect([again.name, again.message]).toEqual(['IncorrectState', `There is an existing association for instance ${id}`]);

    const replaced = (await s.ec2().send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: assoc.AssociationId, IamInstanceProfile: { Arn: b.arn } })))
      .IamInstanceProfileAssociation!;
    expect(replaced).toMatchObject({ InstanceId: id, IamInstanceProfile: { Arn: b.arn, Id: b.id }, State: 'associating' });
    expect(replaced.AssociationId).not.toBe(assoc.AssociationId);
    expect((await ofInstance(id)).map((x) => x.AssociationId)).toEqual([replaced.AssociationId]);
    expect((await describeInstance(s.ec2(), id)).IamInstanceProfile).toEqual({ Arn: b.arn, Id: b.id });
    const gone = await errorOf(describeAssociations({ AssociationIds: [assoc.AssociationId!] }));
    expect([gone.name, gone.message]).toEqual(['InvalidAssociationID.NotFound', `The association ID '${assoc.AssociationId}' does not exist`]);

    const ended = (await s.ec2().send(new DisassociateIamInstanceProfileCommand({ AssociationId: replaced.AssociationId }))).IamInstanceProfileAssociation!;
    expect(ended).toMatchObject({ AssociationId: replaced.AssociationId, InstanceId: id, State: 'disassociating' });
    expect(await ofInstance(id)).toEqual([]);
    expect((await describeInstance(s.ec2(), id)).IamInstanceProfile).toBeUndefined();
    // Ended associations are listed only when asked for by state.
    const history = await describeAssociations({
      Filters: [
        { Name: 'instance-id', Values: [id] },
        { Name: 'state', Values: ['disassociated'] },
      ],
    });
    expect(history.IamInstanceProfileAssociations!.map((x) => x.AssociationId).sort()).toEqual([assoc.AssociationId, replaced.AssociationId].sort());
    const twice = await errorOf(s.ec2().send(new DisassociateIamInstanceProfileCommand({ AssociationId: replaced.AssociationId })));
    expect(twice.name).toBe('InvalidAssociationID.NotFound');

    // Free again: a new association is allowed.
    const next = await s.ec2().send(new AssociateIamInstanceProfileCommand({ InstanceId: id, IamInstanceProfile: { Name: 'assoc-a' } }));
    expect(next.IamInstanceProfileAssociation!.State).toBe('associating');
  });

  test("EC2's errors for associations", async () => {
    await profile('errs');
    const id = await running();
    const missing = await errorOf(s.ec2().send(new AssociateIamInstanceProfileCommand({ InstanceId: 'i-0123456789abcdef0', IamInstanceProfile: { Name: 'errs' } })));
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
    const malformed = await errorOf(s.ec2().send(new AssociateIamInstanceProfileCommand({ InstanceId: 'i-nope', IamInstanceProfile: { Name: 'errs' } })));
    expect(malformed.name).toBe('InvalidInstanceID.Malformed');
    const unknown = await errorOf(s.ec2().send(new AssociateIamInstanceProfileCommand({ InstanceId: id, IamInstanceProfile: { Name: 'nope' } })));
    expect([unknown.name, unknown.message]).toEqual(['InvalidParameterValue', 'Value (nope) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name']);
    const noSpec = await errorOf(s.ec2().send(new AssociateIamInstanceProfileCommand({ InstanceId: id, IamInstanceProfile: {} })));
    expect(noSpec.name).toBe('MissingParameter');
    const badId = await errorOf(s.ec2().send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: id, IamInstanceProfile: { Name: 'errs' } })));
    expect([badId.name, badId.message]).toEqual(['InvalidParameterValue', 'Invalid value for associationId.']);
    const noSuch = await errorOf(s.ec2().send(new DisassociateIamInstanceProfileCommand({ AssociationId: 'iip-assoc-0123456789abcdef0' })));
    expect([noSuch.name, noSuch.message]).toEqual(['InvalidAssociationID.NotFound', "The association ID 'iip-assoc-0123456789abcdef0' does not exist"]);
    const filter = await errorOf(describeAssociations({ Filters: [{ Name: 'profile', Values: ['x'] }] }));
    expect(filter.name).toBe('InvalidParameterValue');

    // Only a running or stopped instance takes a profile.
    const gone = await running();
    await s.ec2().send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
    await waitUntilInstanceTerminated({ client: s.ec2(), ...wait }, { InstanceIds: [gone] });
    const late = await errorOf(s.ec2().send(new AssociateIamInstanceProfileCommand({ InstanceId: gone, IamInstanceProfile: { Name: 'errs' } })));
    expect([late.name, late.message]).toEqual(['IncorrectInstanceState', `The instance '${gone}' is not in the 'running' or 'stopped' states.`]);
  });

  test('paging: MaxResults 5..1000 and NextToken', async () => {
    await profile('pages');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await launch({ IamInstanceProfile: { Name: 'pages' } }));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await describeAssociations({ MaxResults: 5, NextToken: token });
      expect(page.IamInstanceProfileAssociations!.length).toBeLessThanOrEqual(5);
      seen.push(...page.IamInstanceProfileAssociations!.map((a) => a.InstanceId!));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(pages).toBeGreaterThan(1);
    for (const id of ids) expect(seen).toContain(id);
    expect(new Set(seen).size).toBe(seen.length);
    expect((await errorOf(describeAssociations({ MaxResults: 4 }))).name).toBe('InvalidParameterValue');
  });

  test('terminating the instance ends its association', async () => {
    await profile('short');
    const id = await running({ IamInstanceProfile: { Name: 'short' } });
    expect(await ofInstance(id)).toHaveLength(1);
    await s.ec2().send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceTerminated({ client: s.ec2(), ...wait }, { InstanceIds: [id] });
    expect(await ofInstance(id)).toEqual([]);
    expect(await hostFacts(s.app.db, s.app.secrets).metadata.credentials(id, new Date())).toBeUndefined();
  });
});

const facts = () => hostFacts(s.app.db, s.app.secrets).metadata;

describe('role credentials for the metadata service', () => {
  test('a session of the role named after the instance, served again until 15 minutes before expiry, then refreshed', async () => {
    const p = await profile('creds', { roleName: 'creds-role' });
    const id = await launch({ IamInstanceProfile: { Name: 'creds' } });
    const t0 = new Date();
    const first = await facts().credentials(id, t0);
    if (first?.code !== 'Success') throw new Error(`no credentials: ${JSON.stringify(first)}`);
    expect(first.roleName).toBe('creds-role');
    expect(first.accessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(first.expiration.getTime() - Math.floor(t0.getTime() / 1000) * 1000).toBe(6 * 3600 * 1000);
    // The STS session behind them: the role's, named after the instance, keyed by this token.
    const session = (await sessionByKey(s.app.db, first.accessKeyId))!;
    expect(session).toMatchObject({ kind: 'assumed-role', role_arn: p.roleArn, role_id: p.roleId, session_name: id, issued_for: id, account_id: account });
    expect(session.token_sha256).toBe(tokenDigest(first.sessionToken));

    // The same credentials an hour later, and with 15 minutes left.
    const later = await facts().credentials(id, new Date(t0.getTime() + 3600_000));
    expect(later).toEqual(first);
    const edge = await facts().credentials(id, new Date(first.expiration.getTime() - 15 * 60_000));
    expect(edge).toEqual(first);
    // Less than 15 minutes left: a new session (the old one keeps working until it expires).
    const refreshAt = new Date(first.expiration.getTime() - 14 * 60_000);
    const fresh = await facts().credentials(id, refreshAt);
    if (fresh?.code !== 'Success') throw new Error('no fresh credentials');
    expect(fresh.accessKeyId).not.toBe(first.accessKeyId);
    expect(fresh.sessionToken).not.toBe(first.sessionToken);
    expect(fresh.lastUpdated).toEqual(refreshAt);
    expect(await sessionByKey(s.app.db, first.accessKeyId)).toBeDefined();
    expect((await sessionByKey(s.app.db, fresh.accessKeyId))!.token_sha256).toBe(tokenDigest(fresh.sessionToken));

    // What the instance reads: iam/info and the credentials document.
    const m = (await loadInstanceMetadata(facts(), id, refreshAt))!;
    const get = (path: string) => {
      const r = resolvePath(m, path);
      return r.status === 200 ? r.body.toString() : r.status;
    };
    expect(get('/latest/meta-data/iam/security-credentials/')).toBe('creds-role');
    expect(JSON.parse(get('/latest/meta-data/iam/security-credentials/creds-role') as string)).toEqual({
      Code: 'Success',
      LastUpdated: refreshAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Type: 'AWS-HMAC',
      AccessKeyId: fresh.accessKeyId,
      SecretAccessKey: fresh.secretAccessKey,
      Token: fresh.sessionToken,
      Expiration: fresh.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    expect(JSON.parse(get('/latest/meta-data/iam/info') as string)).toMatchObject({ Code: 'Success', InstanceProfileArn: p.arn, InstanceProfileId: p.id });
  });

  test('credentials that no longer unwrap (another master key wrapped them) are replaced, not served or failed', async () => {
    await profile('rekeyed');
    const id = await launch({ IamInstanceProfile: { Name: 'rekeyed' } });
    const first = await facts().credentials(id, new Date());
    if (first?.code !== 'Success') throw new Error('no credentials');
    const other = new SecretBox(randomBytes(32));
    await s.app.db
      .updateTable('instance_role_credentials')
      .set({ session_token: other.wrap(first.sessionToken, 'instance-role-token', first.accessKeyId) })
      .where('access_key_id', '=', first.accessKeyId)
      .execute();
    const next = await facts().credentials(id, new Date());
    if (next?.code !== 'Success') throw new Error('no credentials');
    expect(next.accessKeyId).not.toBe(first.accessKeyId);
    expect((await sessionByKey(s.app.db, next.accessKeyId))!.token_sha256).toBe(tokenDigest(next.sessionToken));
  });

  test('a role whose trust policy does not name ec2.amazonaws.com: AssumeRoleUnauthorizedAccess, no session', async () => {
    await profile('lambda-only', { trust: lambdaTrust });
    const id = await launch({ IamInstanceProfile: { Name: 'lambda-only' } });
    const c = await facts().credentials(id, new Date());
    expect(c).toMatchObject({ code: 'AssumeRoleUnauthorizedAccess', roleName: 'lambda-only-role' });
    expect(c).not.toHaveProperty('accessKeyId');
    const sessions = await s.app.db.selectFrom('sts_sessions').select('access_key_id').where('issued_for', '=', id).execute();
    expect(sessions).toEqual([]);
  });

  test("replacing or removing the profile stops serving the old role's credentials", async () => {
    await profile('first');
    await profile('second');
    const id = await running({ IamInstanceProfile: { Name: 'first' } });
    const before = await facts().credentials(id, new Date());
    expect(before).toMatchObject({ code: 'Success', roleName: 'first-role' });
    const [assoc] = await ofInstance(id);
    const replaced = await s.ec2().send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: assoc!.AssociationId, IamInstanceProfile: { Name: 'second' } }));
    const after = await facts().credentials(id, new Date());
    expect(after).toMatchObject({ code: 'Success', roleName: 'second-role' });
    expect(after?.code === 'Success' && before?.code === 'Success' && after.accessKeyId !== before.accessKeyId).toBe(true);
    await s.ec2().send(new DisassociateIamInstanceProfileCommand({ AssociationId: replaced.IamInstanceProfileAssociation!.AssociationId }));
    expect(await facts().credentials(id, new Date())).toBeUndefined();
    const m = (await loadInstanceMetadata(facts(), id, new Date()))!;
    expect(resolvePath(m, '/latest/meta-data/iam/info').status).toBe(404);
    // The sessions handed out stay valid until they expire, as on AWS.
    if (before?.code === 'Success') expect(await sessionByKey(s.app.db, before.accessKeyId)).toBeDefined();
  });
});

describe("with IAM's own API", () => {
  test('a role and instance profile made through IAM: the instance gets the role, its credentials follow the profile', async () => {
    const iam = new IAMClient({
      endpoint: s.url,
      region: 'us-east-1',
      credentials: { accessKeyId: s.admin.accessKeyId, secretAccessKey: s.admin.secretAccessKey },
      maxAttempts: 1,
    });
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    const role = (await iam.send(new CreateRoleCommand({ RoleName: 'api-web', AssumeRolePolicyDocument: trust }))).Role!;
    const ip = (await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'api-web' }))).InstanceProfile!;
    // No role in it yet: EC2 refuses it.
    const empty = await errorOf(launch({ IamInstanceProfile: { Arn: ip.Arn } }));
    expect([empty.name, empty.message]).toEqual(['InvalidParameterValue', `IAM Instance Profile "${ip.Arn}" has no associated IAM Roles`]);
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'api-web', RoleName: 'api-web' }));
    const id = await launch({ IamInstanceProfile: { Arn: ip.Arn } });
    expect((await describeInstance(s.ec2(), id)).IamInstanceProfile).toEqual({ Arn: ip.Arn, Id: ip.InstanceProfileId });
    const c = await facts().credentials(id, new Date());
    expect(c).toMatchObject({ code: 'Success', roleName: 'api-web' });
    if (c?.code === 'Success') expect((await sessionByKey(s.app.db, c.accessKeyId))!.role_arn).toBe(role.Arn);
    // The role taken out of the profile: nothing to serve.
    await iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: 'api-web', RoleName: 'api-web' }));
    expect(await facts().credentials(id, new Date())).toBeUndefined();
  });
});

describe('iam:PassRole', () => {
  const ctx = () => ({ db: s.app.db, accountId: account, region: 'us-east-1' }) as unknown as Ctx;

  test('RunInstances, Associate and Replace with a profile pass its role to EC2; nothing else does', async () => {
    const p = await profile('passed', { roleName: 'passed-role' });
    expect(await passRoleRequests(ctx(), 'RunInstances', { ImageId: imageId, IamInstanceProfile: { Name: 'passed' } })).toEqual([
      { action: 'iam:PassRole', resource: p.roleArn, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    ]);
    const instanceArn = (id: string) => `arn:aws:ec2:us-east-1:${account}:instance/${id}`;
    expect(await passRoleRequests(ctx(), 'AssociateIamInstanceProfile', { InstanceId: 'i-0123456789abcdef0', IamInstanceProfile: { Arn: p.arn } })).toEqual([
      {
        action: 'iam:PassRole',
        resource: p.roleArn,
        context: { 'iam:PassedToService': 'ec2.amazonaws.com', 'iam:AssociatedResourceArn': instanceArn('i-0123456789abcdef0') },
      },
    ]);
    const id = await launch({ IamInstanceProfile: { Name: 'passed' } });
    const [assoc] = await ofInstance(id);
    expect(await passRoleRequests(ctx(), 'ReplaceIamInstanceProfileAssociation', { AssociationId: assoc!.AssociationId, IamInstanceProfile: { Name: 'passed' } })).toEqual([
      { action: 'iam:PassRole', resource: p.roleArn, context: { 'iam:PassedToService': 'ec2.amazonaws.com', 'iam:AssociatedResourceArn': instanceArn(id) } },
    ]);
    // No profile, an unknown one, one without a role, another operation: nothing to pass.
    await profile('roleless', { roleName: null });
    expect(await passRoleRequests(ctx(), 'RunInstances', { ImageId: imageId })).toEqual([]);
    expect(await passRoleRequests(ctx(), 'RunInstances', { IamInstanceProfile: { Name: 'nope' } })).toEqual([]);
    expect(await passRoleRequests(ctx(), 'RunInstances', { IamInstanceProfile: { Name: 'roleless' } })).toEqual([]);
    expect(await passRoleRequests(ctx(), 'DisassociateIamInstanceProfile', { AssociationId: assoc!.AssociationId })).toEqual([]);
    expect(await passRoleRequests(ctx(), 'DescribeInstances', { IamInstanceProfile: { Name: 'passed' } })).toEqual([]);
  });
});
