import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DescribeRegionsCommand, DescribeAvailabilityZonesCommand, CreateFleetCommand, EC2ServiceException } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startTestServer, type TestServer, errorOf } from './harness.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

describe('the API server', () => {
  test('DescribeRegions through the SDK', async () => {
    const out = await s.ec2().send(new DescribeRegionsCommand({}));
    expect(out.Regions?.map((r) => r.RegionName)).toContain('us-east-1');
    const one = await s.ec2().send(new DescribeRegionsCommand({ RegionNames: ['eu-west-1'] }));
    expect(one.Regions).toHaveLength(1);
  });

  test('zones come from the credential scope region', async () => {
    const out = await s.ec2({ region: 'eu-west-1' }).send(new DescribeAvailabilityZonesCommand({}));
    expect(out.AvailabilityZones?.map((z) => z.ZoneName)).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    const f = await s.ec2().send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone-name', Values: ['*-1b'] }] }));
    expect(f.AvailabilityZones?.map((z) => z.ZoneName)).toEqual(['us-east-1b']);
  });

  test('STS GetCallerIdentity on the same endpoint', async () => {
    const out = await s.sts().send(new GetCallerIdentityCommand({}));
    expect(out.Account).toBe(s.admin.accountId);
    expect(out.Arn).toBe(`arn:aws:iam::${s.admin.accountId}:root`);
  });

  test('a model operation that is not implemented names itself', async () => {
    const e = await errorOf(s.ec2().send(new CreateFleetCommand({ LaunchTemplateConfigs: [], TargetCapacitySpecification: { TotalTargetCapacity: 1 } })));
    expect(e.name).toBe('UnsupportedOperation');
    expect(e.message).toContain('CreateFleet');
  });

  test('a wrong secret is refused', async () => {
    const c = s.ec2({ credentials: { accessKeyId: s.admin.accessKeyId, secretAccessKey: 'wrong' } });
    const e = await errorOf(c.send(new DescribeRegionsCommand({})));
    expect(e.name).toBe('SignatureDoesNotMatch');
    const u = s.ec2({ credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' } });
    expect((await errorOf(u.send(new DescribeRegionsCommand({})))).name).toBe('AuthFailure');
  });
});
