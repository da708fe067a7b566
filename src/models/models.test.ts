// The generated models: current (what scripts/models.ts makes from the installed @aws-sdk/client-*
// packages) and carrying what the protocols need (protocol list, JSON target, numeric kinds, enums).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { generateModel, modelPath, modelServices } from '../../scripts/models.js';
import { loadModel, serviceNames } from './index.js';

describe('src/models/data', () => {
  test('covers every service cumulo serves', () => {
    expect([...modelServices].sort()).toEqual([...serviceNames].sort());
  });

  test.each(modelServices)('%s is what the installed SDK package generates (else: npm run models)', async (name) => {
    const fresh = await generateModel(name);
    expect(readFileSync(modelPath(name), 'utf8') === fresh, `src/models/data/${name}.json is stale: run \`npm run models\``).toBe(true);
  });
});

describe('the loaded models', () => {
  test('EC2: every operation of the current model, its own Query dialect', () => {
    const m = loadModel('ec2')!;
    expect(m.operations.size).toBeGreaterThanOrEqual(765);
    expect(m.protocol).toBe('ec2');
    expect(m.protocols).toEqual(['ec2']);
    expect(m.targetPrefix).toBe('AmazonEC2');
    expect(m.awsQueryCompatible).toBe(false);
    expect(m.apiVersion).toBe('2016-11-15');
    // overlay.ts: EC2 answers with the trailing slash its model leaves out.
    expect(m.xmlNamespace).toBe('http://ec2.amazonaws.com/doc/2016-11-15/');
    expect(m.generatedFrom).toMatch(/^@aws-sdk\/client-ec2@3\.\d+\.\d+$/);
  });

  test('EC2: members of the current model, with their wire names, requiredness and kinds', () => {
    const m = loadModel('ec2')!;
    const term = m.operations.get('TerminateInstances')!.input!;
    expect(Object.keys(term.members!)).toEqual(expect.arrayContaining(['InstanceIds', 'Force', 'SkipOsShutdown', 'DryRun']));
    expect(term.required).toEqual(['InstanceIds']);
    expect(term.members!.InstanceIds!.locationName).toBe('InstanceId');
    expect(term.members!.SkipOsShutdown!.shape.type).toBe('boolean');
    const run = m.operations.get('RunInstances')!.input!;
    expect(run.required).toEqual(['MaxCount', 'MinCount']);
    expect(run.members!.MaxCount!.shape.type).toBe('integer');
    expect(run.members!.ClientToken!.idempotencyToken).toBe(true);
    expect(run.members!.InstanceType!.shape.enum).toContain('t3.micro');
    expect(run.members!.Placement!.shape.members!.AvailabilityZoneId).toBeDefined();
    expect(m.operations.get('CreateVolume')!.input!.members!.AvailabilityZoneId).toBeDefined();
    expect(m.operations.get('DeregisterImage')!.input!.members!.DeleteAssociatedSnapshots).toBeDefined();
    // A floating-point member (the SDK's schemas have one numeric kind; scripts/models.ts says which are floats).
    const info = m.operations.get('DescribeInstanceTypes')!.output!.members!.InstanceTypes!.shape.member!.shape;
    expect(info.members!.ProcessorInfo!.shape.members!.SustainedClockSpeedInGhz!.shape.type).toBe('double');
    // Smithy's default list item element is <member>, spelled out for lists without @xmlName.
    expect(info.members!.InferenceAcceleratorInfo!.shape.members!.Accelerators!.shape.member!.locationName).toBe('member');
    // EC2 output lists say <item> themselves.
    expect(info.members!.SupportedUsageClasses!.shape.member!.locationName).toBe('item');
  });

  test('STS: awsQuery, with the result wrapper and its JSON target', () => {
    const m = loadModel('sts')!;
    expect(m.protocols).toEqual(['query']);
    expect(m.targetPrefix).toBe('AWSSecurityTokenServiceV20110615');
    expect(m.operations.get('GetCallerIdentity')!.resultWrapper).toBe('GetCallerIdentityResult');
    expect(m.xmlNamespace).toBe('https://sts.amazonaws.com/doc/2011-06-15/');
  });

  test('CloudWatch: the three protocols its model lists, its JSON target, its floats', () => {
    const m = loadModel('monitoring')!;
    expect(m.protocols).toEqual(['rpcv2-cbor', 'json1.0', 'query']);
    expect(m.protocol).toBe('query');
    expect(m.awsQueryCompatible).toBe(true);
    expect(m.targetPrefix).toBe('GraniteServiceVersion20100801');
    expect(m.xmlNamespace).toBe('http://monitoring.amazonaws.com/doc/2010-08-01/');
    const datum = m.operations.get('PutMetricData')!.input!.members!.MetricData!.shape.member!.shape;
    expect(datum.members!.Value!.shape.type).toBe('double');
    expect(datum.members!.Values!.shape.member!.shape.type).toBe('double');
    expect(datum.members!.StorageResolution!.shape.type).toBe('integer');
    expect(m.operations.get('GetMetricStatistics')!.resultWrapper).toBe('GetMetricStatisticsResult');
  });

  test.each([
    ['iam', 'AWSIdentityManagementV20100508'],
    ['autoscaling', 'AutoScaling_2011_01_01'],
    ['elasticloadbalancing', 'ElasticLoadBalancing_v10'],
  ])('%s: awsQuery only', (name, target) => {
    const m = loadModel(name)!;
    expect(m.protocols).toEqual(['query']);
    expect(m.awsQueryCompatible).toBe(false);
    expect(m.targetPrefix).toBe(target);
  });

  test('a service outside the registry has no model', () => {
    expect(loadModel('s3')).toBeUndefined();
  });
});
