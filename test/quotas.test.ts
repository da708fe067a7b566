// EC2's service quotas per account and region, and host admission, through @aws-sdk/client-ec2
// against a started server (fake driver): each quota answers with EC2's own error, an account's
// override raises or lowers it (in one region or all), DescribeAccountAttributes reports it, two
// accounts never share one; a host too small for a type (or full) answers
// InsufficientInstanceCapacity; a public IPv4 pool that runs dry answers InsufficientAddressCapacity.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AllocateAddressCommand,
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DescribeAccountAttributesCommand,
  DescribeInstancesCommand,
  DescribeVpcsCommand,
  EC2Client,
  ModifyVolumeCommand,
  ReleaseAddressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { setQuotaOverride } from '../src/services/ec2/quotas/store.js';
import { errorOf, startTestServer, type TestServer, minimalImage } from './harness.js';

const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };

const vcpuMessage = (limit: number) =>
  `You have requested more vCPU capacity than your current vCPU limit of ${limit} allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`;
const capacityMessage = (type: string, zone: string) =>
  `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity.`;

/** One account's client and helpers. */
function account(ec2: EC2Client, imageId: () => string) {
  const run = async (input: Partial<RunInstancesCommandInput> = {}): Promise<Instance[]> =>
    (await ec2.send(new RunInstancesCommand({ ImageId: imageId(), MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ...input }))).Instances!;
  const attributes = async (...names: string[]): Promise<Record<string, string>> => {
    const out = await ec2.send(new DescribeAccountAttributesCommand({ AttributeNames: names.length ? (names as never[]) : undefined }));
    return Object.fromEntries(out.AccountAttributes!.map((a) => [a.AttributeName!, a.AttributeValues![0]!.AttributeValue!]));
  };
  const stop = async (id: string) => {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [id] });
  };
  const terminate = async (ids: string[]) => {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: ids });
  };
  const state = async (id: string) => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.State!.Name;
  return { ec2, run, attributes, stop, terminate, state };
}

describe("an account's quotas (EC2's defaults for a new account)", () => {
  let s: TestServer;
  let imageId: string;
  let alice: ReturnType<typeof account>;
  let bob: ReturnType<typeof account>;
  let aliceId: string;
  const set = (name: string, value: number | null, region?: string) => setQuotaOverride(s.app.db, aliceId, region, name, value);

  beforeAll(async () => {
    s = await startTestServer({ awsQuotas: true });
    const a = await s.app.accounts.create('alice');
    const b = await s.app.accounts.create('bob');
    aliceId = a.accountId;
    alice = account(s.ec2({ credentials: a }), () => imageId);
    bob = account(s.ec2({ credentials: b }), () => imageId);
    imageId = await minimalImage(alice.ec2);
  });
  afterAll(async () => {
    await s?.stop();
  });

  test('DescribeAccountAttributes reports the quotas, and its AttributeName filter keeps working', async () => {
    expect(await alice.attributes()).toMatchObject({
      'supported-platforms': 'VPC',
      'max-instances': '5',
      'max-elastic-ips': '5',
      'vpc-max-elastic-ips': '5',
      'vpc-max-security-groups-per-interface': '5',
      'default-vpc': expect.stringMatching(/^vpc-/),
    });
    expect(await alice.attributes('max-elastic-ips', 'max-instances')).toEqual({ 'max-elastic-ips': '5', 'max-instances': '5' });
    expect((await errorOf(alice.attributes('max-everything'))).name).toBe('InvalidParameterValue');
  });

  test('Standard vCPUs: 5 on a new account; VcpuLimitExceeded names the limit; MaxCount is cut to what fits', async () => {
    // Two t3.micro of 2 vCPUs each: 4 of 5. A third does not fit.
    const two = await alice.run({ MinCount: 2, MaxCount: 2 });
    expect(two).toHaveLength(2);
    const e = await errorOf(alice.run());
    expect([e.name, e.$metadata.httpStatusCode, e.message]).toEqual(['VcpuLimitExceeded', 400, vcpuMessage(5)]);
    // MaxCount is a ceiling: one 1-vCPU m1.small of the three asked for fits.
    expect(await alice.run({ InstanceType: 'm1.small', MinCount: 1, MaxCount: 3 })).toHaveLength(1);
    expect((await errorOf(alice.run({ InstanceType: 'm1.small' }))).name).toBe('VcpuLimitExceeded');
    // A DryRun answers what the real request would: the quota, not DryRunOperation.
    expect((await errorOf(alice.run({ DryRun: true }))).name).toBe('VcpuLimitExceeded');
    // GPU instances have a bucket of their own, at 0 on a new account.
    const g = await errorOf(alice.run({ InstanceType: 'g5.xlarge' }));
    expect([g.name, g.message]).toEqual(['VcpuLimitExceeded', vcpuMessage(0)]);
    // Nothing was left behind by the refusals: three instances.
    const all = (await alice.ec2.send(new DescribeInstancesCommand({}))).Reservations!.flatMap((r) => r.Instances!);
    expect(all).toHaveLength(3);
    // Bob's quota is his own.
    expect(await bob.run({ MinCount: 2, MaxCount: 2 })).toHaveLength(2);
    // A terminated instance gives its vCPUs back.
    await alice.terminate([all.find((i) => i.InstanceType === 'm1.small')!.InstanceId!]);
    expect(await alice.run({ InstanceType: 'm1.small' })).toHaveLength(1);
  });

  test('StartInstances over the quota is refused and the instance stays stopped; an override raises the quota', async () => {
    const [i] = (await alice.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-type', Values: ['t3.micro'] }] }))).Reservations!.flatMap((r) => r.Instances!);
    await waitUntilInstanceRunning({ client: alice.ec2, ...wait }, { InstanceIds: [i!.InstanceId!] });
    await alice.stop(i!.InstanceId!);
    // Its 2 vCPUs are free while it is stopped: another t3.micro takes them.
    await alice.run();
    const e = await errorOf(alice.ec2.send(new StartInstancesCommand({ InstanceIds: [i!.InstanceId!] })));
    expect([e.name, e.message]).toEqual(['VcpuLimitExceeded', vcpuMessage(5)]);
    expect(await alice.state(i!.InstanceId!)).toBe('stopped');

    await set('running-on-demand-standard-vcpus', 8);
    expect((await alice.attributes('max-instances'))['max-instances']).toBe('8');
    expect((await bob.attributes('max-instances'))['max-instances']).toBe('5');
    await alice.ec2.send(new StartInstancesCommand({ InstanceIds: [i!.InstanceId!] }));
    await waitUntilInstanceRunning({ client: alice.ec2, ...wait }, { InstanceIds: [i!.InstanceId!] });
  });

  test('an override in one region lowers the quota there only', async () => {
    // 7 of alice's 8 vCPUs are taken in us-east-1. Lowered to 1 there, eu-west-1 keeps the account's 8.
    await set('running-on-demand-standard-vcpus', 1, 'us-east-1');
    const e = await errorOf(alice.run({ InstanceType: 'm1.small' }));
    expect(e.message).toBe(vcpuMessage(1));
    const eu = account(s.ec2({ region: 'eu-west-1', credentials: (await s.app.accounts.credentialsOf('alice'))! }), () => imageId);
    expect((await eu.attributes('max-instances'))['max-instances']).toBe('8');
    expect((await alice.attributes('max-instances'))['max-instances']).toBe('1');
    const euImage = await minimalImage(eu.ec2);
    expect(await eu.run({ ImageId: euImage, MinCount: 4, MaxCount: 4 })).toHaveLength(4);
    await set('running-on-demand-standard-vcpus', null, 'us-east-1');
  });

  test('elastic IPs: 5 per region → AddressLimitExceeded; per account; an override raises it', async () => {
    const allocate = (c: EC2Client) => c.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const mine = [];
    for (let k = 0; k < 5; k++) mine.push(await allocate(alice.ec2));
    const e = await errorOf(allocate(alice.ec2));
    expect([e.name, e.$metadata.httpStatusCode, e.message]).toEqual(['AddressLimitExceeded', 400, 'The maximum number of addresses has been reached.']);
    await allocate(bob.ec2);
    await set('elastic-ips', 6);
    expect(await alice.attributes('max-elastic-ips', 'vpc-max-elastic-ips')).toEqual({ 'max-elastic-ips': '6', 'vpc-max-elastic-ips': '6' });
    await allocate(alice.ec2);
    expect((await errorOf(allocate(alice.ec2))).name).toBe('AddressLimitExceeded');
    // A released address is room again.
    await alice.ec2.send(new ReleaseAddressCommand({ AllocationId: mine[0]!.AllocationId! }));
    await allocate(alice.ec2);
  });

  test('VPCs: 5 per region, the default VPC included → VpcLimitExceeded; concurrent creates never slip past it', async () => {
    const create = (c: EC2Client, n: number) => c.send(new CreateVpcCommand({ CidrBlock: `10.${n}.0.0/16` }));
    for (let n = 1; n <= 4; n++) await create(alice.ec2, n);
    const e = await errorOf(create(alice.ec2, 5));
    expect([e.name, e.message]).toEqual(['VpcLimitExceeded', 'The maximum number of VPCs has been reached.']);
    await create(bob.ec2, 1);
    // Room for three more, asked for six at once: three succeed.
    await set('vpcs', 8);
    const results = await Promise.allSettled([10, 11, 12, 13, 14, 15].map((n) => create(alice.ec2, n)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    for (const r of results.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason.name).toBe('VpcLimitExceeded');
    expect((await alice.ec2.send(new DescribeVpcsCommand({}))).Vpcs).toHaveLength(8);
  });

  test('security groups per VPC (its default group included), rules per group each way, groups per interface and instance', async () => {
    const vpcId = (await alice.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'cidr', Values: ['10.1.0.0/16'] }] }))).Vpcs![0]!.VpcId!;
    await set('security-groups-per-vpc', 3);
    const group = (name: string) => alice.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: name, Description: name }));
    const a = (await group('a')).GroupId!;
    const b = (await group('b')).GroupId!;
    const e = await errorOf(group('c'));
    expect([e.name, e.message]).toEqual(['SecurityGroupLimitExceeded', `The maximum number of security groups for VPC '${vpcId}' has been reached.`]);

    await set('rules-per-security-group', 2);
    const port = (p: number) => ({ IpProtocol: 'tcp', FromPort: p, ToPort: p, IpRanges: [{ CidrIp: '10.0.0.0/8' }] });
    await alice.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: a, IpPermissions: [port(22), port(80)] }));
    const r = await errorOf(alice.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: a, IpPermissions: [port(443)] })));
    expect([r.name, r.message]).toEqual(['RulesPerSecurityGroupLimitExceeded', 'The maximum number of rules per security group has been reached.']);
    // Outbound rules count apart: the group's allow-all and one more.
    await alice.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: a, IpPermissions: [port(443)] }));
    expect((await errorOf(alice.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: a, IpPermissions: [port(8443)] })))).name).toBe('RulesPerSecurityGroupLimitExceeded');

    await set('security-groups-per-network-interface', 1);
    expect((await alice.attributes('vpc-max-security-groups-per-interface'))['vpc-max-security-groups-per-interface']).toBe('1');
    const subnetId = (await alice.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.1.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    const eni = await errorOf(alice.ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: [a, b] })));
    expect([eni.name, eni.message]).toEqual(['SecurityGroupsPerInterfaceLimitExceeded', 'The maximum number of security groups per interface has been reached.']);
    await set('running-on-demand-standard-vcpus', 100);
    const run = await errorOf(alice.run({ SubnetId: subnetId, SecurityGroupIds: [a, b] }));
    expect(run.name).toBe('SecurityGroupsPerInstanceLimitExceeded');
    expect(await alice.run({ SubnetId: subnetId, SecurityGroupIds: [a] })).toHaveLength(1);
    // Bob keeps EC2's five.
    expect((await bob.attributes('vpc-max-security-groups-per-interface'))['vpc-max-security-groups-per-interface']).toBe('5');
  });

  test('EBS: storage per volume type (TiB) → VolumeLimitExceeded, io1/io2 IOPS → MaxIOPSLimitExceeded, for CreateVolume, ModifyVolume and launches', async () => {
    const volume = (c: EC2Client, VolumeType: 'st1' | 'io2', Size: number, Iops?: number) =>
      c.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', VolumeType, Size, Iops }));
    await set('st1-storage-tib', 1);
    const v = await volume(alice.ec2, 'st1', 900);
    const e = await errorOf(volume(alice.ec2, 'st1', 125));
    expect([e.name, e.message]).toEqual([
      'VolumeLimitExceeded',
      'You have exceeded your maximum st1 storage limit of 1 TiB in this region. Please contact AWS Support to request an Elastic Block Store service limit increase.',
    ]);
    expect((await errorOf(alice.ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, Size: 1025 })))).name).toBe('VolumeLimitExceeded');
    await alice.ec2.send(new ModifyVolumeCommand({ VolumeId: v.VolumeId!, Size: 1024 }));
    const launch = await errorOf(alice.run({ BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeType: 'st1', VolumeSize: 125 } }] }));
    expect(launch.name).toBe('VolumeLimitExceeded');
    // Bob has EC2's 50 TiB.
    await volume(bob.ec2, 'st1', 16384);

    await set('io2-iops', 1000);
    await volume(alice.ec2, 'io2', 10, 1000);
    const iops = await errorOf(volume(alice.ec2, 'io2', 10, 100));
    expect([iops.name, iops.message]).toEqual([
      'MaxIOPSLimitExceeded',
      'You have exceeded your maximum io2 IOPS limit of 1000 in this region. Please contact AWS Support to request an Elastic Block Store service limit increase.',
    ]);
  });
});

describe('host admission: the host’s CPUs and memory, with overcommit', () => {
  let s: TestServer;
  let h: ReturnType<typeof account>;
  let imageId: string;
  beforeAll(async () => {
    // 2 CPUs × 8 = 16 vCPUs, 24 GiB × 1.
    s = await startTestServer({ env: { CUMULO_HOST_VCPUS: '2', CUMULO_HOST_MEMORY_MIB: '24576', CUMULO_CPU_OVERCOMMIT: '8', CUMULO_MEMORY_OVERCOMMIT: '1' } });
    h = account(s.ec2(), () => imageId);
    imageId = await minimalImage(h.ec2);
  });
  afterAll(async () => {
    await s?.stop();
  });

  test('an m7i.48xlarge (192 vCPUs, 768 GiB) never fits a 24 GiB host: InsufficientInstanceCapacity, a server error', async () => {
    const e = await errorOf(h.run({ InstanceType: 'm7i.48xlarge', Placement: { AvailabilityZone: 'us-east-1b' } }));
    expect([e.name, e.$metadata.httpStatusCode, e.message]).toEqual(['InsufficientInstanceCapacity', 500, capacityMessage('m7i.48xlarge', 'us-east-1b')]);
    expect((await h.ec2.send(new DescribeInstancesCommand({}))).Reservations).toEqual([]);
  });

  test('as many as fit, then none; a stopped instance starts only when there is room again', async () => {
    // 16 vCPUs: eight t3.micro of the twenty asked for.
    const got = await h.run({ MinCount: 1, MaxCount: 20 });
    expect(got).toHaveLength(8);
    const full = await errorOf(h.run({ Placement: { AvailabilityZone: 'us-east-1c' } }));
    expect([full.name, full.message]).toEqual(['InsufficientInstanceCapacity', capacityMessage('t3.micro', 'us-east-1c')]);
    expect((await errorOf(h.run({ MinCount: 2, MaxCount: 2 }))).name).toBe('InsufficientInstanceCapacity');

    const ids = got.map((i) => i.InstanceId!);
    await waitUntilInstanceRunning({ client: h.ec2, ...wait }, { InstanceIds: ids });
    await h.stop(ids[0]!);
    const [filler] = await h.run();
    const e = await errorOf(h.ec2.send(new StartInstancesCommand({ InstanceIds: [ids[0]!] })));
    expect([e.name, e.message]).toEqual(['InsufficientInstanceCapacity', capacityMessage('t3.micro', got[0]!.Placement!.AvailabilityZone!)]);
    expect(await h.state(ids[0]!)).toBe('stopped');
    await h.terminate([filler!.InstanceId!]);
    await h.ec2.send(new StartInstancesCommand({ InstanceIds: [ids[0]!] }));
    await waitUntilInstanceRunning({ client: h.ec2, ...wait }, { InstanceIds: [ids[0]!] });
    await h.terminate(ids);
  });
});

describe('a public IPv4 pool that runs dry', () => {
  let s: TestServer;
  let h: ReturnType<typeof account>;
  let imageId: string;
  beforeAll(async () => {
    // 198.18.0.0/30: the host is .1, and .2 the only address to give.
    s = await startTestServer({ env: { CUMULO_PUBLIC_IPV4_POOL: '198.18.0.0/30' } });
    h = account(s.ec2(), () => imageId);
    imageId = await minimalImage(h.ec2);
  });
  afterAll(async () => {
    await s?.stop();
  });

  test('AllocateAddress, RunInstances and StartInstances answer InsufficientAddressCapacity (500) and change nothing', async () => {
    const dry =
      'Not enough available addresses to satisfy your minimum request. Reduce the number of addresses you are requesting or wait for additional capacity to become available.';
    const [i] = await h.run();
    expect(i!.PublicIpAddress).toBe('198.18.0.2');
    const e = await errorOf(h.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' })));
    expect([e.name, e.$metadata.httpStatusCode, e.message]).toEqual(['InsufficientAddressCapacity', 500, dry]);
    const launch = await errorOf(h.run());
    expect([launch.name, launch.$metadata.httpStatusCode]).toEqual(['InsufficientAddressCapacity', 500]);
    expect((await h.ec2.send(new DescribeInstancesCommand({}))).Reservations).toHaveLength(1);

    // Stopped, the instance gives its address back; an elastic IP takes it; the start finds none.
    await waitUntilInstanceRunning({ client: h.ec2, ...wait }, { InstanceIds: [i!.InstanceId!] });
    await h.stop(i!.InstanceId!);
    const eip = await h.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const start = await errorOf(h.ec2.send(new StartInstancesCommand({ InstanceIds: [i!.InstanceId!] })));
    expect([start.name, start.$metadata.httpStatusCode]).toEqual(['InsufficientAddressCapacity', 500]);
    expect(await h.state(i!.InstanceId!)).toBe('stopped');
    await h.ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
    await h.ec2.send(new StartInstancesCommand({ InstanceIds: [i!.InstanceId!] }));
    await waitUntilInstanceRunning({ client: h.ec2, ...wait }, { InstanceIds: [i!.InstanceId!] });
  });
});
