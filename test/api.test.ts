import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CreateKeyPairCommand,
  DescribeKeyPairsCommand,
  DescribeVpcsCommand,
  DescribeRegionsCommand,
  DescribeAvailabilityZonesCommand,
  CreateFleetCommand,
} from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
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

describe('permissive authentication (CUMULO_AUTH=permissive)', () => {
  let p: TestServer;
  beforeAll(async () => {
    p = await startTestServer({ env: { CUMULO_AUTH: 'permissive' } });
  });
  afterAll(async () => {
    await p?.stop();
  });

  test('a 12-digit key id is the account; any secret goes', async () => {
    const c = p.ec2({ credentials: { accessKeyId: '111122223333', secretAccessKey: 'anything' } });
    const vpcs = await c.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
    expect(vpcs.Vpcs?.[0]?.OwnerId).toBe('111122223333');
    const sts = new STSClient({ endpoint: p.url, region: 'us-east-1', credentials: { accessKeyId: '111122223333', secretAccessKey: 'x' } });
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe('111122223333');
  });

  test('accounts stay apart, and any other key is the admin account', async () => {
    const a = p.ec2({ credentials: { accessKeyId: '444455556666', secretAccessKey: 'x' } });
    await a.send(new CreateKeyPairCommand({ KeyName: 'only-mine' }));
    const b = p.ec2({ credentials: { accessKeyId: 'AKIAANYTHINGATALL000', secretAccessKey: 'y' } });
    const keys = await b.send(new DescribeKeyPairsCommand({}));
    expect(keys.KeyPairs?.map((k) => k.KeyName)).not.toContain('only-mine');
    const vpcs = await b.send(new DescribeVpcsCommand({}));
    expect(vpcs.Vpcs?.[0]?.OwnerId).toBe(p.admin.accountId);
  });
});
