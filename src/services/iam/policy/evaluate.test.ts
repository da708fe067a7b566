import { describe, expect, it } from 'vitest';
import { parsePolicy } from './document.js';
import { evaluate, evaluateTrust } from './evaluate.js';
import type { AuthzRequest, ContextValue, Decision, Policy, TrustCaller } from './types.js';

const ACCOUNT = '123456789012';
const INSTANCE = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0123456789abcdef0`;
const VOLUME = `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/vol-0123456789abcdef0`;

let seq = 0;
/** A parsed identity policy of the given statements (Effect defaults to Allow). */
function policy(statements: object[], version: string | null = '2012-10-17', kind: 'identity' | 'trust' = 'identity'): Policy {
  const doc = { ...(version && { Version: version }), Statement: statements.map((s) => ({ Effect: 'Allow', ...s })) };
  return parsePolicy(JSON.stringify(doc), kind, `p${++seq}`);
}

const req = (action: string, resource: string, context: Record<string, ContextValue> = {}): AuthzRequest => ({ action, resource, context });
const decide = (statements: object[], r: AuthzRequest, version?: string | null): Decision => evaluate(r, { identity: [policy(statements, version)] }).decision;

describe('Action and NotAction', () => {
  it.each<[string, object, string, Decision]>([
    ['an exact action', { Action: 'ec2:RunInstances' }, 'ec2:RunInstances', 'Allow'],
    ['case-insensitively', { Action: 'EC2:runinstances' }, 'ec2:RunInstances', 'Allow'],
    ['a prefix wildcard', { Action: 'ec2:Describe*' }, 'ec2:DescribeInstances', 'Allow'],
    ['a prefix wildcard, another action', { Action: 'ec2:Describe*' }, 'ec2:RunInstances', 'ImplicitDeny'],
    ['a suffix wildcard', { Action: 'ec2:*Instances' }, 'ec2:StopInstances', 'Allow'],
    ['a service wildcard, another service', { Action: 'ec2:*' }, 'iam:GetUser', 'ImplicitDeny'],
    ['everything', { Action: '*' }, 'sts:GetCallerIdentity', 'Allow'],
    ['? for one character', { Action: 'ec2:Describe?nstances' }, 'ec2:DescribeInstances', 'Allow'],
    ['? for exactly one character', { Action: 'ec2:Run?nstances' }, 'ec2:RunXXnstances', 'ImplicitDeny'],
    ['the second of a list', { Action: ['iam:GetUser', 'ec2:CreateTags'] }, 'ec2:CreateTags', 'Allow'],
    ['NotAction: any other action', { NotAction: 'iam:*' }, 'ec2:RunInstances', 'Allow'],
    ['NotAction: the action it names', { NotAction: 'iam:*' }, 'iam:CreateUser', 'ImplicitDeny'],
  ])('%s', (_name, statement, action, decision) => {
    expect(decide([{ Resource: '*', ...statement }], req(action, INSTANCE))).toBe(decision);
  });
});

describe('Resource and NotResource', () => {
  it.each<[string, object, string, Decision]>([
    ['* matches any ARN', { Resource: '*' }, INSTANCE, 'Allow'],
    ['* matches the resource * of an action without resource-level permissions', { Resource: '*' }, '*', 'Allow'],
    ['an ARN pattern does not match the resource *', { Resource: 'arn:aws:ec2:*:*:instance/*' }, '*', 'ImplicitDeny'],
    ['an instance pattern matches an instance', { Resource: 'arn:aws:ec2:*:*:instance/*' }, INSTANCE, 'Allow'],
    ['an instance pattern does not match a volume', { Resource: 'arn:aws:ec2:*:*:instance/*' }, VOLUME, 'ImplicitDeny'],
    ['a wildcard within the region part', { Resource: `arn:aws:ec2:us-*:${ACCOUNT}:instance/*` }, INSTANCE, 'Allow'],
    ['another account', { Resource: 'arn:aws:ec2:*:210987654321:instance/*' }, INSTANCE, 'ImplicitDeny'],
    ['a wildcard does not cross a colon before the resource part', { Resource: 'arn:aws:ec2:*:instance/*' }, INSTANCE, 'ImplicitDeny'],
    ['a short pattern ending in * covers the rest', { Resource: 'arn:aws:ec2:*' }, INSTANCE, 'Allow'],
    ['resource parts may hold colons', { Resource: 'arn:aws:logs:*:*:log-group:web:*' }, `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:web:log-stream:a`, 'Allow'],
    ['ARNs match case-sensitively', { Resource: 'arn:aws:ec2:*:*:instance/I-*' }, INSTANCE, 'ImplicitDeny'],
    ['? in a resource', { Resource: `arn:aws:ec2:us-east-?:${ACCOUNT}:instance/*` }, INSTANCE, 'Allow'],
    ['the second of a list', { Resource: ['arn:aws:ec2:*:*:volume/*', 'arn:aws:ec2:*:*:instance/*'] }, INSTANCE, 'Allow'],
    ['NotResource: another resource', { Resource: undefined, NotResource: 'arn:aws:ec2:*:*:instance/*' }, VOLUME, 'Allow'],
    ['NotResource: the resource it names', { Resource: undefined, NotResource: 'arn:aws:ec2:*:*:instance/*' }, INSTANCE, 'ImplicitDeny'],
    ['NotResource: the resource *', { Resource: undefined, NotResource: 'arn:aws:ec2:*:*:instance/*' }, '*', 'Allow'],
  ])('%s', (_name, statement, resource, decision) => {
    expect(decide([{ Action: 'ec2:*', Resource: '*', ...statement }], req('ec2:TerminateInstances', resource))).toBe(decision);
  });
});

describe('policy variables', () => {
  const user = (name: string) => `arn:aws:iam::${ACCOUNT}:user/${name}`;
  it.each<[string, object, AuthzRequest, Decision, (string | null)?]>([
    ['${aws:username} in a resource', { Resource: user('${aws:username}') }, req('iam:GetUser', user('alice'), { 'aws:username': 'alice' }), 'Allow'],
    ['${aws:username} for another user', { Resource: user('${aws:username}') }, req('iam:GetUser', user('bob'), { 'aws:username': 'alice' }), 'ImplicitDeny'],
    ['variable names are case-insensitive', { Resource: user('${AWS:UserName}') }, req('iam:GetUser', user('alice'), { 'aws:username': 'alice' }), 'Allow'],
    ['a variable with no value: the statement does not apply', { Resource: user('${aws:username}') }, req('iam:GetUser', user(''), {}), 'ImplicitDeny'],
    ["a default value: ${aws:username, 'guest'}", { Resource: user("${aws:username, 'guest'}") }, req('iam:GetUser', user('guest'), {}), 'Allow'],
    [
      'a default is not used when the key has a value',
      { Resource: user("${aws:username, 'guest'}") },
      req('iam:GetUser', user('guest'), { 'aws:username': 'alice' }),
      'ImplicitDeny',
    ],
    ['a value is literal, not a wildcard', { Resource: user('${aws:username}') }, req('iam:GetUser', user('abc'), { 'aws:username': 'a*' }), 'ImplicitDeny'],
    ['${*} is a literal *', { Resource: 'arn:aws:s3:::bucket/${*}' }, req('s3:GetObject', 'arn:aws:s3:::bucket/*'), 'Allow'],
    ['${*} is not a wildcard', { Resource: 'arn:aws:s3:::bucket/${*}' }, req('s3:GetObject', 'arn:aws:s3:::bucket/x'), 'ImplicitDeny'],
    ['${?} is a literal ?', { Resource: '*', Condition: { StringLike: { 's3:prefix': 'a${?}' } } }, req('s3:ListBucket', '*', { 's3:prefix': 'a?' }), 'Allow'],
    [
      '${?} does not match another character',
      { Resource: '*', Condition: { StringLike: { 's3:prefix': 'a${?}' } } },
      req('s3:ListBucket', '*', { 's3:prefix': 'ab' }),
      'ImplicitDeny',
    ],
    ['${$} is a literal $', { Resource: '*', Condition: { StringEquals: { 's3:prefix': 'cost${$}' } } }, req('s3:ListBucket', '*', { 's3:prefix': 'cost$' }), 'Allow'],
    [
      'in version 2008-10-17 a variable is literal text',
      { Resource: user('${aws:username}') },
      req('iam:GetUser', user('alice'), { 'aws:username': 'alice' }),
      'ImplicitDeny',
      '2008-10-17',
    ],
    ['… and matches itself', { Resource: user('${aws:username}') }, req('iam:GetUser', user('${aws:username}'), { 'aws:username': 'alice' }), 'Allow', null],
    ['a multivalued key cannot be a variable', { Resource: user('${aws:TagKeys}') }, req('iam:GetUser', user('a'), { 'aws:TagKeys': ['a'] }), 'ImplicitDeny'],
    [
      '${ec2:SourceInstanceARN} in ArnEquals',
      { Resource: '*', Condition: { ArnEquals: { 'aws:SourceArn': '${ec2:SourceInstanceARN}' } } },
      req('ec2:CreateTags', INSTANCE, { 'ec2:SourceInstanceARN': INSTANCE, 'aws:SourceArn': INSTANCE }),
      'Allow',
    ],
    [
      '${ec2:SourceInstanceARN}, another instance',
      { Resource: '*', Condition: { ArnEquals: { 'aws:SourceArn': '${ec2:SourceInstanceARN}' } } },
      req('ec2:CreateTags', INSTANCE, { 'ec2:SourceInstanceARN': INSTANCE.replace('i-0', 'i-9'), 'aws:SourceArn': INSTANCE }),
      'ImplicitDeny',
    ],
    [
      '${aws:PrincipalTag/team} against a resource tag',
      { Resource: '*', Condition: { StringEquals: { 'ec2:ResourceTag/team': '${aws:PrincipalTag/team}' } } },
      req('ec2:CreateTags', INSTANCE, { 'aws:PrincipalTag/team': 'web', 'ec2:ResourceTag/team': 'web' }),
      'Allow',
    ],
    [
      '${aws:PrincipalTag/team}, another team',
      { Resource: '*', Condition: { StringEquals: { 'ec2:ResourceTag/team': '${aws:PrincipalTag/team}' } } },
      req('ec2:CreateTags', INSTANCE, { 'aws:PrincipalTag/team': 'web', 'ec2:ResourceTag/team': 'db' }),
      'ImplicitDeny',
    ],
    [
      '${aws:userid} in StringLike',
      { Resource: '*', Condition: { StringLike: { 's3:prefix': 'home/${aws:userid}/*' } } },
      req('s3:ListBucket', '*', { 'aws:userid': 'AIDAEXAMPLE', 's3:prefix': 'home/AIDAEXAMPLE/x' }),
      'Allow',
    ],
  ])('%s', (_name, statement, r, decision, version = '2012-10-17') => {
    expect(decide([{ Action: '*', ...statement }], r, version)).toBe(decision);
  });

  it('keeps answering right past the bounded RegExp cache (more users than it holds)', () => {
    const p = policy([{ Action: 's3:*', Resource: 'arn:aws:s3:::home/${aws:username}/*' }]);
    for (let i = 0; i < 5000; i++) {
      const name = `user${i}`;
      expect(evaluate(req('s3:GetObject', `arn:aws:s3:::home/${name}/a`, { 'aws:username': name }), { identity: [p] }).decision).toBe('Allow');
      expect(evaluate(req('s3:GetObject', `arn:aws:s3:::home/${name}x/a`, { 'aws:username': name }), { identity: [p] }).decision).toBe('ImplicitDeny');
    }
  });

  it('a Deny whose variable has no value does not apply', () => {
    const p = policy([
      { Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: '*', Resource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}` },
    ]);
    expect(evaluate(req('iam:GetUser', `arn:aws:iam::${ACCOUNT}:user/alice`), { identity: [p] }).decision).toBe('Allow');
    expect(evaluate(req('iam:GetUser', `arn:aws:iam::${ACCOUNT}:user/alice`, { 'aws:username': 'alice' }), { identity: [p] }).decision).toBe('ExplicitDeny');
  });
});

describe('condition operators', () => {
  const T = '2026-12-03T18:00:00Z';
  it.each<[string, object, Record<string, ContextValue>, boolean]>([
    ['StringEquals: equal', { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } }, { 'aws:RequestedRegion': 'us-east-1' }, true],
    ['StringEquals: different', { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } }, { 'aws:RequestedRegion': 'eu-west-1' }, false],
    ['StringEquals: case matters', { StringEquals: { 'ec2:InstanceType': 't3.micro' } }, { 'ec2:InstanceType': 'T3.micro' }, false],
    ['StringEquals: key absent', { StringEquals: { 'ec2:InstanceType': 't3.micro' } }, {}, false],
    ['StringEquals: values are ORed', { StringEquals: { 'ec2:InstanceType': ['t3.nano', 't3.micro'] } }, { 'ec2:InstanceType': 't3.micro' }, true],
    ['StringEquals: * is literal', { StringEquals: { 'ec2:InstanceType': 't3.*' } }, { 'ec2:InstanceType': 't3.micro' }, false],
    ['StringNotEquals: different', { StringNotEquals: { 'ec2:InstanceType': 't3.micro' } }, { 'ec2:InstanceType': 'm5.large' }, true],
    ['StringNotEquals: equal to one of the values', { StringNotEquals: { 'ec2:InstanceType': ['t3.nano', 't3.micro'] } }, { 'ec2:InstanceType': 't3.micro' }, false],
    ['StringNotEquals: key absent', { StringNotEquals: { 'ec2:InstanceType': 't3.micro' } }, {}, true],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'aws:PrincipalTag/team': 'WEB' } }, { 'aws:PrincipalTag/team': 'web' }, true],
    ['StringEqualsIgnoreCase: different', { StringEqualsIgnoreCase: { 'aws:PrincipalTag/team': 'WEB' } }, { 'aws:PrincipalTag/team': 'db' }, false],
    ['StringNotEqualsIgnoreCase', { StringNotEqualsIgnoreCase: { 'aws:PrincipalTag/team': 'WEB' } }, { 'aws:PrincipalTag/team': 'web' }, false],
    ['StringLike: *', { StringLike: { 'ec2:InstanceType': 't3.*' } }, { 'ec2:InstanceType': 't3.micro' }, true],
    ['StringLike: ?', { StringLike: { 'ec2:InstanceType': 't?.micro' } }, { 'ec2:InstanceType': 't3.micro' }, true],
    ['StringLike: no match', { StringLike: { 'ec2:InstanceType': 't3.*' } }, { 'ec2:InstanceType': 'm5.large' }, false],
    ['StringNotLike', { StringNotLike: { 'ec2:InstanceType': ['*.metal', 'p*'] } }, { 'ec2:InstanceType': 't3.micro' }, true],
    ['StringNotLike: matches one', { StringNotLike: { 'ec2:InstanceType': ['*.metal', 'p*'] } }, { 'ec2:InstanceType': 'p4d.24xlarge' }, false],
    ['NumericEquals', { NumericEquals: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '100' }, true],
    ['NumericEquals: 100 and 100.0', { NumericEquals: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '100.0' }, true],
    ['NumericNotEquals', { NumericNotEquals: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '100' }, false],
    ['NumericLessThan: below', { NumericLessThan: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '99' }, true],
    ['NumericLessThan: equal', { NumericLessThan: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '100' }, false],
    ['NumericLessThanEquals: equal', { NumericLessThanEquals: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '100' }, true],
    ['NumericGreaterThan: equal', { NumericGreaterThan: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '100' }, false],
    ['NumericGreaterThan: above', { NumericGreaterThan: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '1000' }, true],
    ['NumericGreaterThanEquals: equal', { NumericGreaterThanEquals: { 'ec2:VolumeSize': 100 } }, { 'ec2:VolumeSize': '100' }, true],
    ['Numeric: a request value that is no number', { NumericLessThan: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': 'ten' }, false],
    ['DateEquals: the same instant in another zone', { DateEquals: { 'aws:CurrentTime': '2026-12-03T19:00:00+01:00' } }, { 'aws:CurrentTime': T }, true],
    ['DateNotEquals', { DateNotEquals: { 'aws:CurrentTime': T } }, { 'aws:CurrentTime': T }, false],
    ['DateLessThan: before', { DateLessThan: { 'aws:CurrentTime': '2027-01-01T00:00:00Z' } }, { 'aws:CurrentTime': T }, true],
    ['DateLessThan: after', { DateLessThan: { 'aws:CurrentTime': '2026-01-01' } }, { 'aws:CurrentTime': T }, false],
    ['DateLessThanEquals: equal', { DateLessThanEquals: { 'aws:CurrentTime': T } }, { 'aws:CurrentTime': T }, true],
    ['DateGreaterThan: epoch seconds in the policy', { DateGreaterThan: { 'aws:CurrentTime': '1764720000' } }, { 'aws:CurrentTime': T }, true],
    ['DateGreaterThanEquals: epoch seconds in the request', { DateGreaterThanEquals: { 'aws:EpochTime': T } }, { 'aws:EpochTime': String(Date.parse(T) / 1000) }, true],
    ['Bool true', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'true' }, true],
    ['Bool false against true', { Bool: { 'aws:MultiFactorAuthPresent': false } }, { 'aws:MultiFactorAuthPresent': 'true' }, false],
    ['Bool: key absent', { Bool: { 'aws:MultiFactorAuthPresent': 'true' } }, {}, false],
    ['BinaryEquals', { BinaryEquals: { 'x:key': 'QmluYXJ5VmFsdWU=' } }, { 'x:key': 'QmluYXJ5VmFsdWU=' }, true],
    ['BinaryEquals: different', { BinaryEquals: { 'x:key': 'QmluYXJ5VmFsdWU=' } }, { 'x:key': 'b3RoZXI=' }, false],
    ['IpAddress: inside an IPv4 block', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.7' }, true],
    ['IpAddress: outside', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '198.51.100.7' }, false],
    ['IpAddress: a single address', { IpAddress: { 'aws:SourceIp': '198.51.100.7' } }, { 'aws:SourceIp': '198.51.100.7' }, true],
    ['IpAddress: IPv6', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db8:1::5' }, true],
    ['IpAddress: an IPv4-mapped IPv6 peer against an IPv4 block', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '::ffff:203.0.113.7' }, true],
    ['IpAddress: not an address', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': 'localhost' }, false],
    ['IpAddress: IPv4 against an IPv6 block', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '203.0.113.7' }, false],
    ['NotIpAddress: outside every block', { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } }, { 'aws:SourceIp': '203.0.113.7' }, true],
    ['NotIpAddress: inside one', { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } }, { 'aws:SourceIp': '10.1.2.3' }, false],
    ['ArnEquals', { ArnEquals: { 'aws:SourceArn': INSTANCE } }, { 'aws:SourceArn': INSTANCE }, true],
    ['ArnLike: wildcards per part', { ArnLike: { 'aws:SourceArn': 'arn:aws:ec2:*:*:instance/*' } }, { 'aws:SourceArn': INSTANCE }, true],
    ['ArnLike: another resource type', { ArnLike: { 'aws:SourceArn': 'arn:aws:ec2:*:*:instance/*' } }, { 'aws:SourceArn': VOLUME }, false],
    ['ArnNotEquals', { ArnNotEquals: { 'aws:SourceArn': INSTANCE } }, { 'aws:SourceArn': VOLUME }, true],
    ['ArnNotLike: matches', { ArnNotLike: { 'aws:SourceArn': 'arn:aws:ec2:*:*:instance/*' } }, { 'aws:SourceArn': INSTANCE }, false],
    ['Null true: key absent', { Null: { 'aws:TokenIssueTime': 'true' } }, {}, true],
    ['Null true: key present', { Null: { 'aws:TokenIssueTime': 'true' } }, { 'aws:TokenIssueTime': T }, false],
    ['Null false: key present', { Null: { 'aws:TokenIssueTime': false } }, { 'aws:TokenIssueTime': T }, true],
    ['IfExists: key absent', { StringEqualsIfExists: { 'ec2:InstanceType': 't3.micro' } }, {}, true],
    ['IfExists: key present and different', { StringEqualsIfExists: { 'ec2:InstanceType': 't3.micro' } }, { 'ec2:InstanceType': 'm5.large' }, false],
    ['NumericLessThanIfExists: present', { NumericLessThanIfExists: { 'ec2:VolumeSize': '100' } }, { 'ec2:VolumeSize': '50' }, true],
    ['BoolIfExists: absent', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, {}, true],
    ['IpAddressIfExists: present, outside', { IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '203.0.113.7' }, false],
    [
      'keys of one operator are ANDed',
      { StringEquals: { 'ec2:InstanceType': 't3.micro', 'aws:RequestedRegion': 'us-east-1' } },
      { 'ec2:InstanceType': 't3.micro', 'aws:RequestedRegion': 'eu-west-1' },
      false,
    ],
    [
      'operators are ANDed',
      { StringEquals: { 'ec2:InstanceType': 't3.micro' }, Bool: { 'aws:SecureTransport': 'true' } },
      { 'ec2:InstanceType': 't3.micro', 'aws:SecureTransport': 'true' },
      true,
    ],
    [
      '… one failing fails the block',
      { StringEquals: { 'ec2:InstanceType': 't3.micro' }, Bool: { 'aws:SecureTransport': 'true' } },
      { 'ec2:InstanceType': 't3.micro', 'aws:SecureTransport': 'false' },
      false,
    ],
    ['condition key names are case-insensitive', { StringEquals: { 'AWS:RequestedRegion': 'us-east-1' } }, { 'aws:requestedregion': 'us-east-1' }, true],
    ['… the tag key part too', { StringEquals: { 'ec2:ResourceTag/Team': 'web' } }, { 'ec2:ResourceTag/team': 'web' }, true],
    // The IAM User Guide's multivalued context key examples (aws:TagKeys).
    ['ForAllValues: every request tag is allowed', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } }, { 'aws:TagKeys': ['environment'] }, true],
    ['ForAllValues: one request tag is not', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } }, { 'aws:TagKeys': ['environment', 'dept'] }, false],
    ['ForAllValues: key absent', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['environment'] } }, {}, true],
    ['ForAllValues: empty list', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['environment'] } }, { 'aws:TagKeys': [] }, true],
    ['ForAnyValue: one request tag matches', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } }, { 'aws:TagKeys': ['environment', 'dept'] }, true],
    ['ForAnyValue: none matches', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } }, { 'aws:TagKeys': ['dept'] }, false],
    ['ForAnyValue: key absent', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment'] } }, {}, false],
    ['ForAllValues:StringLike', { 'ForAllValues:StringLike': { 'aws:TagKeys': 'team-*' } }, { 'aws:TagKeys': ['team-a', 'team-b'] }, true],
    ['ForAllValues:StringNotEquals: no request tag is forbidden', { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['owner'] } }, { 'aws:TagKeys': ['team', 'env'] }, true],
    ['ForAllValues:StringNotEquals: one is', { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['owner'] } }, { 'aws:TagKeys': ['team', 'owner'] }, false],
    ['ForAnyValue:StringNotEquals: one tag is not forbidden', { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['owner'] } }, { 'aws:TagKeys': ['owner', 'team'] }, true],
    ['ForAnyValue:StringNotEquals: all are', { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['owner'] } }, { 'aws:TagKeys': ['owner'] }, false],
    ['ForAnyValue:StringEqualsIfExists: absent', { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['owner'] } }, {}, true],
    ['ForAnyValue:StringEqualsIfExists: present, no match', { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['owner'] } }, { 'aws:TagKeys': ['team'] }, false],
    ['a single-valued operator on a multivalued key: any value', { StringEquals: { 'aws:TagKeys': 'team' } }, { 'aws:TagKeys': ['env', 'team'] }, true],
  ])('%s', (_name, condition, context, holds) => {
    expect(decide([{ Action: '*', Resource: '*', Condition: condition }], req('ec2:RunInstances', INSTANCE, context))).toBe(holds ? 'Allow' : 'ImplicitDeny');
  });
});

describe('policy layers', () => {
  const allowAll = policy([{ Sid: 'All', Action: '*', Resource: '*' }]);
  const allowEc2 = policy([{ Sid: 'Ec2', Action: 'ec2:*', Resource: '*' }]);
  const allowDescribe = policy([{ Sid: 'Describe', Action: 'ec2:Describe*', Resource: '*' }]);
  const denyTerminate = policy([{ Sid: 'NoTerminate', Effect: 'Deny', Action: 'ec2:TerminateInstances', Resource: '*' }]);
  const run = req('ec2:RunInstances', INSTANCE);
  const terminate = req('ec2:TerminateInstances', INSTANCE);

  it.each<[string, Parameters<typeof evaluate>[1], AuthzRequest, Decision, string?]>([
    ['an identity allow', { identity: [allowEc2] }, run, 'Allow'],
    ['no policy at all', { identity: [] }, run, 'ImplicitDeny', 'identity'],
    ['a Deny beats an Allow in another policy', { identity: [allowAll, denyTerminate] }, terminate, 'ExplicitDeny'],
    [
      'a Deny beats an Allow in the same policy',
      {
        identity: [
          policy([
            { Action: '*', Resource: '*' },
            { Effect: 'Deny', Action: 'ec2:Terminate*', Resource: '*' },
          ]),
        ],
      },
      terminate,
      'ExplicitDeny',
    ],
    ['a Deny for another action does not apply', { identity: [allowAll, denyTerminate] }, run, 'Allow'],
    ['the boundary allows too', { identity: [allowAll], boundary: allowEc2 }, run, 'Allow'],
    ['the boundary caps identity', { identity: [allowAll], boundary: allowEc2 }, req('iam:CreateUser', '*'), 'ImplicitDeny', 'boundary'],
    ['a boundary grants nothing alone', { identity: [allowDescribe], boundary: allowAll }, run, 'ImplicitDeny', 'identity'],
    [
      'a Deny in the boundary wins',
      {
        identity: [allowAll],
        boundary: policy([
          { Action: '*', Resource: '*' },
          { Effect: 'Deny', Action: 'ec2:Terminate*', Resource: '*' },
        ]),
      },
      terminate,
      'ExplicitDeny',
    ],
    ['a session policy caps identity', { identity: [allowAll], session: [allowDescribe] }, run, 'ImplicitDeny', 'session'],
    ['a session policy grants nothing alone', { identity: [allowDescribe], session: [allowAll] }, run, 'ImplicitDeny', 'identity'],
    ['one of several session policies allows', { identity: [allowAll], session: [allowDescribe, allowEc2] }, run, 'Allow'],
    ['a Deny in a session policy wins', { identity: [allowAll], session: [allowAll, denyTerminate] }, terminate, 'ExplicitDeny'],
    ['identity, boundary and session all allow', { identity: [allowEc2], boundary: allowEc2, session: [allowAll] }, run, 'Allow'],
    ['identity is named before boundary and session', { identity: [allowDescribe], boundary: allowDescribe, session: [allowDescribe] }, run, 'ImplicitDeny', 'identity'],
    ['the boundary is named before session policies', { identity: [allowAll], boundary: allowDescribe, session: [allowDescribe] }, run, 'ImplicitDeny', 'boundary'],
    ['an empty session policy list is no session policy', { identity: [allowAll], session: [] }, run, 'Allow'],
  ])('%s', (_name, set, r, decision, missing) => {
    const result = evaluate(r, set);
    expect(result.decision).toBe(decision);
    expect(result.missing).toBe(missing);
  });

  it('names the statements that decided', () => {
    expect(evaluate(terminate, { identity: [allowAll, denyTerminate] }).matched).toEqual([{ policyId: denyTerminate.id, sid: 'NoTerminate', effect: 'Deny' }]);
    expect(evaluate(run, { identity: [allowAll, allowEc2, allowDescribe] }).matched).toEqual([
      { policyId: allowAll.id, sid: 'All', effect: 'Allow' },
      { policyId: allowEc2.id, sid: 'Ec2', effect: 'Allow' },
    ]);
  });

  it('gives the same answer when asked again (compiled statements and contexts are cached)', () => {
    const p = policy([{ Action: 'ec2:*', Resource: 'arn:aws:ec2:*:*:instance/*', Condition: { StringEquals: { 'ec2:ResourceTag/team': 'web' } } }]);
    const web = req('ec2:CreateTags', INSTANCE, { 'ec2:ResourceTag/team': 'web' });
    const db = req('ec2:CreateTags', INSTANCE, { 'ec2:ResourceTag/team': 'db' });
    for (let i = 0; i < 3; i++) {
      expect(evaluate(web, { identity: [p] }).decision).toBe('Allow');
      expect(evaluate(db, { identity: [p] }).decision).toBe('ImplicitDeny');
    }
  });
});

describe('trust policies', () => {
  const alice: TrustCaller = { arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT };
  const bob: TrustCaller = { arn: `arn:aws:iam::${ACCOUNT}:user/bob`, accountId: ACCOUNT };
  const stranger: TrustCaller = { arn: 'arn:aws:iam::210987654321:user/eve', accountId: '210987654321' };
  const ec2: TrustCaller = { arn: '', accountId: ACCOUNT, service: 'ec2.amazonaws.com' };
  const session: TrustCaller = { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ops/alice`, accountId: ACCOUNT, roleArn: `arn:aws:iam::${ACCOUNT}:role/ops` };
  const assume = req('sts:AssumeRole', `arn:aws:iam::${ACCOUNT}:role/web`);
  const trust = (statements: object[]) => policy(statements, '2012-10-17', 'trust');
  const allowing = (principal: unknown, extra: object = {}) => trust([{ Principal: principal, Action: 'sts:AssumeRole', ...extra }]);

  it.each<[string, Policy, TrustCaller, Decision, AuthzRequest?]>([
    ['a service principal: the service', allowing({ Service: 'ec2.amazonaws.com' }), ec2, 'Allow'],
    ['a service principal: a user', allowing({ Service: 'ec2.amazonaws.com' }), alice, 'ImplicitDeny'],
    ['an account id: a user of that account', allowing({ AWS: ACCOUNT }), alice, 'Allow'],
    ['an account id: another account', allowing({ AWS: ACCOUNT }), stranger, 'ImplicitDeny'],
    ['an account root ARN: any principal of that account', allowing({ AWS: `arn:aws:iam::${ACCOUNT}:root` }), session, 'Allow'],
    ['a user ARN: that user', allowing({ AWS: alice.arn }), alice, 'Allow'],
    ['a user ARN: another user', allowing({ AWS: alice.arn }), bob, 'ImplicitDeny'],
    ['a role ARN: a session of that role', allowing({ AWS: `arn:aws:iam::${ACCOUNT}:role/ops` }), session, 'Allow'],
    ['a session ARN: that session', allowing({ AWS: session.arn }), session, 'Allow'],
    ['*: anyone', allowing('*'), stranger, 'Allow'],
    ['AWS *: anyone', allowing({ AWS: '*' }), stranger, 'Allow'],
    ['one of a list', allowing({ AWS: [bob.arn, alice.arn] }), alice, 'Allow'],
    ['another action than the one allowed', allowing({ AWS: ACCOUNT }), alice, 'ImplicitDeny', req('sts:TagSession', assume.resource)],
    [
      'ExternalId as required',
      allowing({ AWS: ACCOUNT }, { Condition: { StringEquals: { 'sts:ExternalId': 'x-1' } } }),
      alice,
      'Allow',
      req('sts:AssumeRole', assume.resource, { 'sts:ExternalId': 'x-1' }),
    ],
    ['ExternalId missing', allowing({ AWS: ACCOUNT }, { Condition: { StringEquals: { 'sts:ExternalId': 'x-1' } } }), alice, 'ImplicitDeny'],
    [
      'a Deny naming the caller wins',
      trust([
        { Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole' },
        { Effect: 'Deny', Principal: { AWS: bob.arn }, Action: 'sts:*' },
      ]),
      bob,
      'ExplicitDeny',
    ],
    [
      'a Deny with NotPrincipal spares who it names',
      trust([
        { Principal: '*', Action: 'sts:AssumeRole' },
        { Effect: 'Deny', NotPrincipal: { AWS: alice.arn }, Action: 'sts:AssumeRole' },
      ]),
      alice,
      'Allow',
    ],
    [
      '… and denies everyone else',
      trust([
        { Principal: '*', Action: 'sts:AssumeRole' },
        { Effect: 'Deny', NotPrincipal: { AWS: alice.arn }, Action: 'sts:AssumeRole' },
      ]),
      bob,
      'ExplicitDeny',
    ],
  ])('%s', (_name, p, caller, decision, r = assume) => {
    const result = evaluateTrust(r, p, caller);
    expect(result.decision).toBe(decision);
    if (decision === 'ImplicitDeny') expect(result.missing).toBe('resource');
  });
});

// The scenarios, with AWS's own managed policy documents (as IAM's GetPolicyVersion gives them).
describe('AWS managed policies and the issue scenario', () => {
  const ec2ReadOnly = parsePolicy(
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","ec2:GetSecurityGroupsForVpc"],"Resource":"*"},{"Effect":"Allow","Action":"elasticloadbalancing:Describe*","Resource":"*"},{"Effect":"Allow","Action":["cloudwatch:ListMetrics","cloudwatch:GetMetricStatistics","cloudwatch:Describe*"],"Resource":"*"},{"Effect":"Allow","Action":"autoscaling:Describe*","Resource":"*"}]}',
    'identity',
    'arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess',
    { requireCurrentVersion: true },
  );
  const powerUser = parsePolicy(
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["account:GetAccountInformation","account:GetPrimaryEmail","account:ListRegions","iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization"],"Resource":"*"}]}',
    'identity',
    'arn:aws:iam::aws:policy/PowerUserAccess',
    { requireCurrentVersion: true },
  );
  const web = policy([
    { Action: 'ec2:DescribeInstances', Resource: '*' },
    { Action: 'ec2:CreateTags', Resource: 'arn:aws:ec2:*:*:instance/*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'web' } } },
  ]);
  const tagged = (team: string) => ({ 'aws:ResourceTag/team': team, 'ec2:ResourceTag/team': team });

  it.each<[string, Policy, AuthzRequest, Decision]>([
    ['AmazonEC2ReadOnlyAccess: DescribeInstances', ec2ReadOnly, req('ec2:DescribeInstances', '*'), 'Allow'],
    ['AmazonEC2ReadOnlyAccess: DescribeLoadBalancers', ec2ReadOnly, req('elasticloadbalancing:DescribeLoadBalancers', '*'), 'Allow'],
    ['AmazonEC2ReadOnlyAccess: RunInstances', ec2ReadOnly, req('ec2:RunInstances', INSTANCE), 'ImplicitDeny'],
    ['PowerUserAccess: RunInstances', powerUser, req('ec2:RunInstances', INSTANCE), 'Allow'],
    ['PowerUserAccess: iam:CreateUser', powerUser, req('iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/x`), 'ImplicitDeny'],
    ['PowerUserAccess: iam:ListRoles', powerUser, req('iam:ListRoles', '*'), 'Allow'],
    ['role web: DescribeInstances', web, req('ec2:DescribeInstances', '*'), 'Allow'],
    ['role web: tagging an instance tagged team=web', web, req('ec2:CreateTags', INSTANCE, tagged('web')), 'Allow'],
    ['role web: tagging an instance tagged team=db', web, req('ec2:CreateTags', INSTANCE, tagged('db')), 'ImplicitDeny'],
    ['role web: tagging an untagged instance', web, req('ec2:CreateTags', INSTANCE), 'ImplicitDeny'],
    ['role web: TerminateInstances', web, req('ec2:TerminateInstances', INSTANCE, tagged('web')), 'ImplicitDeny'],
  ])('%s', (_name, p, r, decision) => {
    expect(evaluate(r, { identity: [p] }).decision).toBe(decision);
  });
});
