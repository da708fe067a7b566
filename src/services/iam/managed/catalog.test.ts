import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, parsePolicy, type Decision } from '../policy/index.js';
import { awsManagedPolicies, awsManagedPolicy, catalogDir, fromFile, parsedAwsManagedPolicy, type AwsManagedPolicyFile } from './catalog.js';

const dir = catalogDir();
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as AwsManagedPolicyFile;
const INSTANCE = 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0';

/** What an AWS managed policy alone decides for one request. */
function decide(name: string, action: string, resource = '*'): Decision {
  const p = awsManagedPolicies().find((x) => x.name === name)!;
  const context = { 'aws:username': 'alice' };
  return evaluate({ action, resource, context }, { identity: [parsedAwsManagedPolicy(p)] }).decision;
}

describe('the AWS managed policy catalog', () => {
  it('holds every data file, and the policies EC2 users reach for', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(awsManagedPolicies().map((p) => `${p.name}.json`)).toEqual([...files].sort((a, b) => a.localeCompare(b)));
    for (const name of [
      'AdministratorAccess',
      'PowerUserAccess',
      'ReadOnlyAccess',
      'ViewOnlyAccess',
      'AmazonEC2FullAccess',
      'AmazonEC2ReadOnlyAccess',
      'AmazonVPCFullAccess',
      'AmazonVPCReadOnlyAccess',
      'IAMFullAccess',
      'IAMReadOnlyAccess',
      'IAMUserChangePassword',
      'ElasticLoadBalancingFullAccess',
      'ElasticLoadBalancingReadOnly',
      'AutoScalingFullAccess',
      'AutoScalingReadOnlyAccess',
      'CloudWatchFullAccess',
      'CloudWatchReadOnlyAccess',
      'AmazonSSMManagedInstanceCore',
      'AmazonEC2ContainerRegistryReadOnly',
      'SecurityAudit',
    ]) {
      expect(files, name).toContain(`${name}.json`);
    }
  });

  it.each(files)('%s: name, path and ARN agree; its facts say where they came from', (file) => {
    const f = read(file);
    const p = fromFile(f, file);
    expect(p.arn).toBe(`arn:aws:iam::aws:policy${p.path}${p.name}`);
    expect(awsManagedPolicy(p.arn)).toEqual(p);
    expect(p.policyId).toMatch(/^ANPA[A-Z0-9]{17}$/);
    expect(p.defaultVersionId).toMatch(/^v\d+$/);
    for (const d of [p.createDate, p.updateDate]) expect(d).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(p.updateDate >= p.createDate).toBe(true);
    expect(p.description.length).toBeGreaterThan(0);
    for (const fact of ['document', 'policyId', 'description']) expect(f.source[fact], fact).toMatch(/\S/);
  });

  it.each(files)('%s: the document is JSON of Version 2012-10-17 that the policy parser accepts', (file) => {
    const p = fromFile(read(file), file);
    const doc = JSON.parse(p.document) as { Version: string; Statement: unknown };
    expect(doc.Version).toBe('2012-10-17');
    expect(Array.isArray(doc.Statement) ? doc.Statement.length : typeof doc.Statement).toBeTruthy();
    const parsed = parsePolicy(p.document, 'identity', p.arn, { requireCurrentVersion: true });
    expect(parsed.id).toBe(p.arn);
    expect(parsed.statements.length).toBeGreaterThan(0);
    expect(parsedAwsManagedPolicy(p)).toEqual(parsed);
    expect(parsedAwsManagedPolicy(p)).toBe(parsedAwsManagedPolicy(awsManagedPolicy(p.arn)!));
  });

  it('gives every policy its own id and ARN', () => {
    const all = awsManagedPolicies();
    expect(new Set(all.map((p) => p.policyId)).size).toBe(all.length);
    expect(new Set(all.map((p) => p.arn)).size).toBe(all.length);
  });

  it('finds policies by ARN only, job functions under their path', () => {
    expect(awsManagedPolicy('arn:aws:iam::aws:policy/job-function/ViewOnlyAccess')?.path).toBe('/job-function/');
    expect(awsManagedPolicy('arn:aws:iam::aws:policy/ViewOnlyAccess')).toBeUndefined();
    expect(awsManagedPolicy('arn:aws:iam::aws:policy/NoSuchPolicy')).toBeUndefined();
    expect(awsManagedPolicy('arn:aws:iam::123456789012:policy/AdministratorAccess')).toBeUndefined();
    expect(awsManagedPolicy('AdministratorAccess')).toBeUndefined();
  });

  it('keeps AWS metadata, e.g. AdministratorAccess and AmazonEC2ReadOnlyAccess', () => {
    expect(awsManagedPolicy('arn:aws:iam::aws:policy/AdministratorAccess')).toMatchObject({
      policyId: 'ANPAIWMBCKSKIEE64ZLYK',
      defaultVersionId: 'v1',
      createDate: '2015-02-06T18:39:46Z',
      description: 'Provides full access to AWS services and resources.',
    });
    expect(awsManagedPolicy('arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess')).toMatchObject({ policyId: 'ANPAIGDT4SV4GSETWTBZK', path: '/' });
  });

  it('refuses a data file whose ARN, path or file name disagree', () => {
    const f = read('AmazonEC2ReadOnlyAccess.json');
    expect(() => fromFile({ ...f, arn: 'arn:aws:iam::aws:policy/AmazonEC2FullAccess' }, 'AmazonEC2ReadOnlyAccess.json')).toThrow(/ARN/);
    expect(() => fromFile({ ...f, path: '/job-function/' }, 'AmazonEC2ReadOnlyAccess.json')).toThrow(/ARN/);
    expect(() => fromFile({ ...f, path: 'job-function' }, 'AmazonEC2ReadOnlyAccess.json')).toThrow(/path/);
    expect(() => fromFile(f, 'ReadOnlyAccess.json')).toThrow(/holds AmazonEC2ReadOnlyAccess/);
    expect(() => fromFile({ ...f, policyId: 'AIDAIGDT4SV4GSETWTBZK' }, 'AmazonEC2ReadOnlyAccess.json')).toThrow(/policy id/);
  });
});

describe('the documents decide as on AWS', () => {
  it.each<[string, string, string, Decision]>([
    ['AmazonEC2ReadOnlyAccess', 'ec2:DescribeInstances', '*', 'Allow'],
    ['AmazonEC2ReadOnlyAccess', 'ec2:RunInstances', '*', 'ImplicitDeny'],
    ['AmazonEC2ReadOnlyAccess', 'ec2:TerminateInstances', INSTANCE, 'ImplicitDeny'],
    ['AmazonEC2ReadOnlyAccess', 'ec2:CreateTags', INSTANCE, 'ImplicitDeny'],
    ['AmazonEC2ReadOnlyAccess', 'iam:ListUsers', '*', 'ImplicitDeny'],
    ['AmazonEC2FullAccess', 'ec2:RunInstances', INSTANCE, 'Allow'],
    ['AmazonEC2FullAccess', 'iam:CreateUser', 'arn:aws:iam::123456789012:user/alice', 'ImplicitDeny'],
    ['AdministratorAccess', 'iam:CreateUser', 'arn:aws:iam::123456789012:user/alice', 'Allow'],
    ['PowerUserAccess', 'ec2:TerminateInstances', INSTANCE, 'Allow'],
    ['PowerUserAccess', 'iam:CreateUser', 'arn:aws:iam::123456789012:user/alice', 'ImplicitDeny'],
    ['PowerUserAccess', 'iam:ListRoles', '*', 'Allow'],
    ['ReadOnlyAccess', 'ec2:DescribeInstances', '*', 'Allow'],
    ['ReadOnlyAccess', 'ec2:RunInstances', INSTANCE, 'ImplicitDeny'],
    ['ViewOnlyAccess', 'ec2:DescribeInstances', '*', 'Allow'],
    ['ViewOnlyAccess', 'ec2:StopInstances', INSTANCE, 'ImplicitDeny'],
    ['IAMReadOnlyAccess', 'iam:GetUser', 'arn:aws:iam::123456789012:user/alice', 'Allow'],
    ['IAMReadOnlyAccess', 'iam:CreateAccessKey', 'arn:aws:iam::123456789012:user/alice', 'ImplicitDeny'],
    ['IAMUserChangePassword', 'iam:ChangePassword', 'arn:aws:iam::123456789012:user/alice', 'Allow'],
    ['IAMUserChangePassword', 'iam:ChangePassword', 'arn:aws:iam::123456789012:user/bob', 'ImplicitDeny'],
    ['IAMUserChangePassword', 'iam:CreateUser', 'arn:aws:iam::123456789012:user/alice', 'ImplicitDeny'],
  ])('%s: %s on %s → %s', (name, action, resource, decision) => {
    expect(decide(name, action, resource)).toBe(decision);
  });
});
