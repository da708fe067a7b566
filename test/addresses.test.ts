// Public IPv4 addresses through @aws-sdk/client-ec2 against a started server (fake driver): ephemeral
// public IPs at launch, stop and start, and a tiny pool that runs out. Elastic IPs are in
// elastic-ips.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DescribeInstancesCommand, EC2Client, ModifySubnetAttributeCommand, ReleaseAddressCommand } from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer, errorOf } from './harness.js';
import { customVpc, describe1, helpers, minimalImage, POOL } from './addresses-support.js';

let s: TestServer;
let ec2: EC2Client;
let imageId: string;
let h: ReturnType<typeof helpers>;

beforeAll(async () => {
  s = await startTestServer();
  ec2 = s.ec2();
  imageId = await minimalImage(ec2);
  h = helpers(s, ec2, () => imageId);
});
afterAll(async () => {
  await s?.stop();
});

describe('ephemeral public IPs', () => {
  test('a launch in the default VPC gets the lowest address of the pool after the host: 198.18.0.2', async () => {
    const [i] = await h.run();
    // The pool's network (.0) and first (.1, the host) addresses are never handed out.
    expect(i!.PublicIpAddress).toBe('198.18.0.2');
    const seen = await describe1(ec2, i!.InstanceId!);
    expect(seen.PublicIpAddress).toBe('198.18.0.2');
    const row = (await h.ledger()).find((r) => r.public_ip === '198.18.0.2')!;
    expect(row).toMatchObject({
      kind: 'ephemeral',
      account_id: s.admin.accountId,
      region: 'us-east-1',
      allocation_id: null,
      network_interface_id: i!.NetworkInterfaces![0]!.NetworkInterfaceId,
      private_ip: i!.PrivateIpAddress,
    });
    const eni = await s.app.db
      .selectFrom('network_interfaces')
      .select(['public_ip', 'auto_public_ip'])
      .where('id', '=', i!.NetworkInterfaces![0]!.NetworkInterfaceId!)
      .executeTakeFirstOrThrow();
    expect(eni).toEqual({ public_ip: '198.18.0.2', auto_public_ip: 1 });
    // DescribeInstances filters by it.
    const byIp = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'ip-address', Values: ['198.18.0.2'] }] }));
    expect(byIp.Reservations!.flatMap((r) => r.Instances!.map((x) => x.InstanceId))).toEqual([i!.InstanceId]);
  });

  test('several instances of one launch get distinct addresses, lowest first', async () => {
    const before = new Set((await h.ledger()).map((r) => r.public_ip));
    const out = await h.run({ MinCount: 3, MaxCount: 3 });
    const ips = out.map((i) => i.PublicIpAddress!);
    expect(new Set(ips).size).toBe(3);
    for (const ip of ips) {
      expect(ip).toMatch(POOL);
      expect(before.has(ip)).toBe(false);
    }
    expect(ips).toEqual([...ips].sort((a, b) => Number(a.split('.')[3]) - Number(b.split('.')[3])));
  });

  test('a subnet without MapPublicIpOnLaunch gives none, unless AssociatePublicIpAddress asks for one', async () => {
    const { subnetId } = await customVpc(ec2, '10.20.0.0/16', true);
    const [plain] = await h.run({ SubnetId: subnetId });
    expect(plain!.PublicIpAddress).toBeUndefined();
    expect((await describe1(ec2, plain!.InstanceId!)).PublicIpAddress).toBeUndefined();

    const [asked] = await h.run({ NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnetId, AssociatePublicIpAddress: true }] });
    expect(asked!.PublicIpAddress).toMatch(POOL);

    // MapPublicIpOnLaunch turned on: the subnet's default, which AssociatePublicIpAddress=false overrides.
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
    const [mapped] = await h.run({ SubnetId: subnetId });
    expect(mapped!.PublicIpAddress).toMatch(POOL);
    const [refused] = await h.run({ NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnetId, AssociatePublicIpAddress: false }] });
    expect(refused!.PublicIpAddress).toBeUndefined();
    const [defaultRefused] = await h.run({ NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false }] });
    expect(defaultRefused!.PublicIpAddress).toBeUndefined();
  });

  test("AssociatePublicIpAddress only on device 0 of a single new interface (EC2's errors)", async () => {
    const onSecond = await errorOf(h.run({ NetworkInterfaces: [{ DeviceIndex: 0 }, { DeviceIndex: 1, AssociatePublicIpAddress: true }] }));
    expect([onSecond.name, onSecond.message]).toEqual([
      'InvalidParameterCombination',
      'The associatePublicIPAddress parameter can only be specified for the network interface with DeviceIndex 0.',
    ]);
    const withTwo = await errorOf(h.run({ NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: true }, { DeviceIndex: 1 }] }));
    expect([withTwo.name, withTwo.message]).toEqual([
      'InvalidParameterCombination',
      'The associatePublicIPAddress parameter cannot be specified when launching with multiple network interfaces.',
    ]);
    const existing = await errorOf(h.run({ NetworkInterfaces: [{ DeviceIndex: 0, NetworkInterfaceId: 'eni-0123456789abcdef0', AssociatePublicIpAddress: true }] }));
    expect(existing.name).toBe('InvalidParameterCombination');
  });

  test('RunInstances queues a vpc.sync for the VPC it launches into', async () => {
    await s.app.runner.stop();
    try {
      const vpcId = (await describe1(ec2, (await h.run())[0]!.InstanceId!)).VpcId!;
      const jobs = await s.app.db.selectFrom('jobs').select('resource_id').where('kind', '=', 'vpc.sync').where('resource_id', '=', vpcId).execute();
      expect(jobs.length).toBe(1);
    } finally {
      s.app.runner.start();
    }
  });
});

describe('ephemeral public IPs across stop and start (released by the stop controller)', () => {
  // A server of its own, so that the pool's order is known.
  let t: TestServer;
  let c: EC2Client;
  let th: ReturnType<typeof helpers>;
  beforeAll(async () => {
    t = await startTestServer();
    c = t.ec2();
    const img = await minimalImage(c);
    th = helpers(t, c, () => img);
  });
  afterAll(async () => {
    await t?.stop();
  });

  test('stop releases the address; start gives a new one', async () => {
    const a = await th.running();
    expect(a.PublicIpAddress).toBe('198.18.0.2');
    await th.stop(a.InstanceId!);
    const stopped = await describe1(c, a.InstanceId!);
    expect(stopped.PublicIpAddress).toBeUndefined();
    expect((await th.ledger()).map((r) => r.public_ip)).not.toContain('198.18.0.2');
    const eni = await t.app.db.selectFrom('network_interfaces').select('public_ip').where('id', '=', a.NetworkInterfaces![0]!.NetworkInterfaceId!).executeTakeFirstOrThrow();
    expect(eni.public_ip).toBeNull();

    // Allocation goes round the pool: a start gets a new address, not the one just released.
    await th.start(a.InstanceId!);
    const again = await describe1(c, a.InstanceId!);
    expect(again.PublicIpAddress).toBe('198.18.0.3');
    const [b] = await th.run();
    expect(b!.PublicIpAddress).toBe('198.18.0.4');
  });

  test('terminate releases the address', async () => {
    const x = await th.running();
    const ip = x.PublicIpAddress!;
    expect(ip).toMatch(POOL);
    await th.terminate(x.InstanceId!);
    expect((await th.ledger()).map((r) => r.public_ip)).not.toContain(ip);
  });
});

describe('a pool that runs out', () => {
  let t: TestServer;
  let c: EC2Client;
  let th: ReturnType<typeof helpers>;
  beforeAll(async () => {
    // 198.18.0.0/30: .0 network, .1 the host, .3 broadcast — one address to give.
    t = await startTestServer({ env: { CUMULO_PUBLIC_IPV4_POOL: '198.18.0.0/30' } });
    c = t.ec2();
    const img = await minimalImage(c);
    th = helpers(t, c, () => img);
  });
  afterAll(async () => {
    await t?.stop();
  });

  test('InsufficientAddressCapacity (a server error) for an elastic IP and for a launch, and the address comes back', async () => {
    const eip = await th.allocate();
    expect(eip.PublicIp).toBe('198.18.0.2');
    const e = await errorOf(th.allocate());
    expect([e.name, e.$metadata.httpStatusCode, e.message]).toEqual([
      'InsufficientAddressCapacity',
      500,
      'Not enough available addresses to satisfy your minimum request. Reduce the number of addresses you are requesting or wait for additional capacity to become available.',
    ]);

    const launch = await errorOf(th.run());
    expect(launch.name).toBe('InsufficientAddressCapacity');
    // The failed launch left nothing behind.
    expect((await c.send(new DescribeInstancesCommand({}))).Reservations).toEqual([]);
    // Without a public address a launch needs none of the pool.
    const [quiet] = await th.run({ NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false }] });
    expect(quiet!.PublicIpAddress).toBeUndefined();

    await c.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
    const [i] = await th.run();
    expect(i!.PublicIpAddress).toBe('198.18.0.2');
  });
});
