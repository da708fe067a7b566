import { describe, expect, it } from 'vitest';
import { PolicyDocumentError, parsePolicy, policyToJson } from './document.js';
import type { PolicyKind } from './types.js';

const V = '2012-10-17';
const allow = (extra: object = {}) => ({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::example_bucket', ...extra });
const doc = (statement: unknown, top: object = { Version: V }) => JSON.stringify({ ...top, Statement: statement });
const trustStatement = (extra: object = {}) => ({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole', ...extra });

function messageOf(text: string, kind: PolicyKind = 'identity', requireCurrentVersion = false): string {
  try {
    parsePolicy(text, kind, 'test', { requireCurrentVersion });
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyDocumentError);
    expect((e as PolicyDocumentError).code).toBe('MalformedPolicyDocument');
    return (e as Error).message;
  }
  return 'accepted';
}

// IAM's own answers to malformed documents (CreatePolicy / PutUserPolicy), in the order IAM checks.
describe('malformed identity documents', () => {
  it.each<[string, string, string]>([
    ['not JSON', 'This is not a json document', 'Syntax errors in policy.'],
    ['a JSON array', '[]', 'Syntax errors in policy.'],
    ['an unknown version', doc(allow(), { Version: '2013-10-17' }), 'Syntax errors in policy.'],
    ['no Statement', JSON.stringify({ Version: V }), 'Syntax errors in policy.'],
    ['an empty Statement array', doc([]), 'Syntax errors in policy.'],
    ['a statement that is a string', doc(['afd']), 'Syntax errors in policy.'],
    ['an unknown top-level element', JSON.stringify({ Version: V, Statement: allow(), 'Extra field': 'value' }), 'Syntax errors in policy.'],
    ['an unknown statement element', doc(allow({ 'Extra field': 'value' })), 'Syntax errors in policy.'],
    ['an Id that is an array', doc(allow(), { Version: V, Id: ['x'] }), 'Syntax errors in policy.'],
    ['an Effect that is neither Allow nor Deny', doc(allow({ Effect: 'invalid' })), 'Syntax errors in policy.'],
    ['no Effect', doc({ Action: 's3:ListBucket', Resource: '*' }), 'Syntax errors in policy.'],
    ['Resource as an object', doc(allow({ Resource: { a: 'arn:aws:s3:::b' } })), 'Syntax errors in policy.'],
    ['a Resource list holding an object', doc(allow({ Effect: 'Deny', Resource: ['adfdf', {}] })), 'Syntax errors in policy.'],
    ['both Resource and NotResource', doc(allow({ NotResource: '*' })), 'Syntax errors in policy.'],
    ['both Action and NotAction', doc(allow({ NotAction: 's3:ListBucket' })), 'Syntax errors in policy.'],
    ['an Action list holding a list', doc(allow({ Action: [[]] })), 'Syntax errors in policy.'],
    ['Condition as an array', doc(allow({ Condition: [] })), 'Syntax errors in policy.'],
    ['Condition as a string', doc(allow({ Condition: 'a' })), 'Syntax errors in policy.'],
    ['an operator holding a string', doc(allow({ Condition: { DateGreaterThan: 'b' } })), 'Syntax errors in policy.'],
    ['a condition value that is an object', doc(allow({ Condition: { DateGreaterThan: { a: {} } } })), 'Syntax errors in policy.'],
    ['an unknown operator with keys', doc(allow({ Condition: { x: { a: '1' } } })), 'Syntax errors in policy.'],
    ['a doubled prefix colon', doc(allow({ Condition: { 'ForAnyValue::StringEqualsIfExists': { a: 'asf' } } })), 'Syntax errors in policy.'],
    ['NullIfExists', doc(allow({ Condition: { NullIfExists: { 'aws:TagKeys': 'true' } } })), 'Syntax errors in policy.'],
    ['a Sid that is an object', doc(allow({ Sid: {} })), 'Syntax errors in policy.'],
    ['no Version, for a managed policy', doc(allow(), {}), 'Policy document must be version 2012-10-17 or greater.'],
    ['Version 2008-10-17, for a managed policy', doc(allow(), { Version: '2008-10-17' }), 'Policy document must be version 2012-10-17 or greater.'],
    ['an Effect in the wrong case', doc(allow({ Effect: 'denY' })), 'The policy failed legacy parsing'],
    ['a date that does not parse', doc(allow({ Condition: { DateGreaterThan: { a: 'sdfdsf' } } })), 'The policy failed legacy parsing'],
    ['a month 13', doc(allow({ Condition: { DateLessThanEquals: { a: '234-13' } } })), 'The policy failed legacy parsing'],
    ['an epoch beyond 64 bits', doc(allow({ Condition: { DateLessThan: { a: '9223372036854775808' } } })), 'The policy failed legacy parsing'],
    ['an ARN with too few parts', doc(allow({ Resource: 'arn:aws:s3::example_bucket' })), 'The policy failed legacy parsing'],
    ['an ARN with no service', doc(allow({ NotAction: 's3:ListBucket', Action: undefined, Resource: 'arn:aws::::example_bucket' })), 'The policy failed legacy parsing'],
    ['duplicate Sids', doc([allow({ Sid: 'sdf' }), allow({ Sid: 'sdf' })]), 'Statement IDs (SID) in a single policy must be unique.'],
    ['a Sid with a hyphen', doc(allow({ Sid: 'allow-list' })), 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*'],
    ['no Action', doc({ Effect: 'Allow', Resource: '*' }), 'Policy statement must contain actions.'],
    ['an empty Action list', doc(allow({ Action: [] })), 'Policy statement must contain actions.'],
    ['no Resource', doc({ Effect: 'Allow', Action: 's3:ListBucket' }), 'Policy statement must contain resources.'],
    ['an empty Resource list', doc(allow({ Resource: [] })), 'Policy statement must contain resources.'],
    ['a Principal', doc(allow({ Principal: '*' })), 'Policy document should not specify a principal.'],
    ['a NotPrincipal', doc(allow({ NotPrincipal: { AWS: '123456789012' } })), 'Policy document should not specify a principal.'],
    ['a resource that is not an ARN', doc(allow({ Resource: 'invalid resource' })), 'Resource invalid resource must be in ARN format or "*".'],
    ['an empty resource', doc(allow({ Resource: '' })), 'Resource  must be in ARN format or "*".'],
    ['an unknown partition', doc(allow({ Resource: 'a:bsdfdsafsad' })), 'Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*".'],
    ['a long unknown partition', doc(allow({ Resource: 'a:b:c:d:e:f:g:h' })), 'Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h".'],
    ['a resource without arn:', doc(allow({ Resource: 'aws:s3:::example_bucket' })), 'Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".'],
    ['a vendor missing', doc(allow({ Resource: 'arn:aws' })), 'Resource vendor must be fully qualified and cannot contain regexes.'],
    ['an IAM ARN with a region', doc(allow({ Resource: 'arn:aws:iam:us-east-1::user/x' })), 'IAM resource arn:aws:iam:us-east-1::user/x cannot contain region information.'],
    ['an action without vendor', doc(allow({ Action: 'invalid' })), 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.'],
    ['an empty NotAction', doc(allow({ Action: undefined, NotAction: '' })), 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.'],
    ['an action with two colons', doc(allow({ Action: 's3:List:Bucket' })), 'Actions/Condition can contain only one colon.'],
    ['a vendor with a space', doc(allow({ Action: 'a a:ListBucket' })), 'Vendor a a is not valid'],
  ])('%s', (_name, text, message) => {
    expect(messageOf(text, 'identity', message.startsWith('Policy document must be version'))).toBe(message);
  });
});

describe('well-formed identity documents', () => {
  it.each<[string, string]>([
    ['Statement as one object', doc(allow())],
    ['Statement as an array', doc([allow()])],
    ['no Version (an inline policy)', doc(allow(), {})],
    ['Version 2008-10-17', doc(allow(), { Version: '2008-10-17' })],
    ['Resource list with *', doc(allow({ Resource: ['arn:aws:s3:::example_bucket', '*'] }))],
    ['Action *', doc(allow({ Action: '*' }))],
    ['an empty Condition', doc(allow({ Condition: {} }))],
    ['an unknown operator with no keys', doc(allow({ Condition: { a: {} } }))],
    ['ForAllValues:StringEquals', doc(allow({ Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': 'Department' } } }))],
    ['dates as ISO and epoch', doc(allow({ Condition: { DateGreaterThan: { 'aws:CurrentTime': '2017-07-01T00:00:00Z' }, DateLessThan: { 'aws:EpochTime': '1735689600' } } }))],
    ['Bool and Numeric as JSON literals', doc(allow({ Condition: { Bool: { 'aws:SecureTransport': false }, NumericLessThan: { 's3:max-keys': 10 } } }))],
    ['an EC2 ARN with a region', doc(allow({ Resource: 'arn:aws:ec2:us-east-1:123456789012:instance/*' }))],
    ['a Deny with NotAction and NotResource', doc({ Effect: 'Deny', NotAction: 'iam:*', NotResource: 'arn:aws:iam::123456789012:user/${aws:username}' })],
    ['an Id', doc(allow(), { Version: V, Id: 'cd3a324d2343d942772346' })],
    ['an empty Sid, twice', doc([allow({ Sid: '' }), allow({ Sid: '' })])],
  ])('%s', (_name, text) => {
    expect(messageOf(text)).toBe('accepted');
  });

  it('normalises the elements: lists, strings for literals, the version defaulting to 2008-10-17', () => {
    const p = parsePolicy(doc(allow({ Sid: 'a', Condition: { Bool: { 'aws:SecureTransport': true }, NumericEquals: { n: [1, 2] } } }), {}), 'identity', 'user/alice/inline/p');
    expect(p).toEqual({
      id: 'user/alice/inline/p',
      version: '2008-10-17',
      statements: [
        {
          sid: 'a',
          effect: 'Allow',
          action: ['s3:ListBucket'],
          resource: ['arn:aws:s3:::example_bucket'],
          condition: { Bool: { 'aws:SecureTransport': ['true'] }, NumericEquals: { n: ['1', '2'] } },
        },
      ],
    });
    expect(JSON.parse(policyToJson(p))).toEqual({
      Version: '2008-10-17',
      Statement: [
        {
          Sid: 'a',
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: ['arn:aws:s3:::example_bucket'],
          Condition: { Bool: { 'aws:SecureTransport': ['true'] }, NumericEquals: { n: ['1', '2'] } },
        },
      ],
    });
  });

  it('accepts session and boundary documents as identity documents, and refuses a principal in them', () => {
    expect(parsePolicy(doc(allow()), 'session', 's').statements).toHaveLength(1);
    expect(parsePolicy(doc(allow()), 'boundary', 'b').statements).toHaveLength(1);
    expect(messageOf(doc(allow({ Principal: '*' })), 'session')).toBe('Policy document should not specify a principal.');
    expect(messageOf(doc(allow({ Principal: '*' })), 'boundary')).toBe('Policy document should not specify a principal.');
  });
});

describe('trust policies', () => {
  it.each<[string, string, string]>([
    ['no Principal', doc({ Effect: 'Allow', Action: 'sts:AssumeRole' }), 'Missing required field Principal'],
    ['a Resource', doc(trustStatement({ Resource: '*' })), 'Has prohibited field Resource'],
    ['a NotResource', doc(trustStatement({ NotResource: '*' })), 'Has prohibited field NotResource'],
    ['an EC2 action', doc(trustStatement({ Action: ['sts:AssumeRole', 'ec2:RunInstances'] })), 'AssumeRole policy may only specify STS AssumeRole actions.'],
    ['sts:GetCallerIdentity', doc(trustStatement({ Action: 'sts:GetCallerIdentity' })), 'AssumeRole policy may only specify STS AssumeRole actions.'],
    ['an account id too short', doc(trustStatement({ Principal: { AWS: '12345' } })), 'Invalid principal in policy: "AWS":"12345"'],
    ['a principal ARN of another service', doc(trustStatement({ Principal: { AWS: 'arn:aws:s3:::bucket' } })), 'Invalid principal in policy: "AWS":"arn:aws:s3:::bucket"'],
    ['a service that is not one', doc(trustStatement({ Principal: { Service: 'ec2' } })), 'Invalid principal in policy: "SERVICE":"ec2"'],
    ['an unknown principal type', doc(trustStatement({ Principal: { Foo: 'bar' } })), 'Invalid principal in policy: "Foo":"bar"'],
    ['an empty Principal', doc(trustStatement({ Principal: {} })), 'Missing required field Principal cannot be empty!'],
    ['a Principal that is an array', doc(trustStatement({ Principal: ['*'] })), 'Syntax errors in policy.'],
  ])('refuses %s', (_name, text, message) => {
    expect(messageOf(text, 'trust')).toBe(message);
  });

  it.each<[string, object]>([
    ['a service', trustStatement()],
    ['an account id', trustStatement({ Principal: { AWS: '123456789012' } })],
    [
      'an account root, a user and a role',
      trustStatement({ Principal: { AWS: ['arn:aws:iam::123456789012:root', 'arn:aws:iam::123456789012:user/alice', 'arn:aws:iam::123456789012:role/path/web'] } }),
    ],
    ['an assumed-role session', trustStatement({ Principal: { AWS: 'arn:aws:sts::123456789012:assumed-role/web/i-0123' } })],
    ['everyone', trustStatement({ Principal: '*', Condition: { StringEquals: { 'sts:ExternalId': 'x' } } })],
    ['AWS *', trustStatement({ Principal: { AWS: '*' } })],
    ['a NotPrincipal with Deny', trustStatement({ Effect: 'Deny', Principal: undefined, NotPrincipal: { AWS: '123456789012' } })],
    [
      'every trust action',
      trustStatement({ Action: ['sts:AssumeRole', 'sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity', 'sts:TagSession', 'sts:SetSourceIdentity', 'sts:SetContext'] }),
    ],
    ['sts:* and a wildcard', trustStatement({ Action: ['sts:*', 'sts:AssumeRole*'] })],
    [
      'a web identity provider',
      trustStatement({ Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com' }, Action: 'sts:AssumeRoleWithWebIdentity' }),
    ],
  ])('accepts %s', (_name, statement) => {
    const p = parsePolicy(doc(statement), 'trust', 'role/web/trust');
    expect(p.statements[0]!.principal ?? p.statements[0]!.notPrincipal).toBeDefined();
  });

  it('keeps Principal values as lists', () => {
    const p = parsePolicy(doc(trustStatement({ Principal: { AWS: '123456789012', Service: ['ec2.amazonaws.com'] } })), 'trust', 't');
    expect(p.statements[0]!.principal).toEqual({ AWS: ['123456789012'], Service: ['ec2.amazonaws.com'] });
    expect(parsePolicy(doc(trustStatement({ Principal: '*' })), 'trust', 't').statements[0]!.principal).toBe('*');
  });
});
