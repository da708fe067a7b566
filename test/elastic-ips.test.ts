// Elastic IPs through @aws-sdk/client-ec2 against a started server (fake driver): AllocateAddress,
// AssociateAddress, DisassociateAddress, ReleaseAddress, DescribeAddresses with EC2's errors; the
// pool shared by every account; and the public address as DescribeNetworkInterfaces shows it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AssociateAddressCommand,
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DisassociateAddressCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
  ReleaseAddressCommand,
} from '@aws-sdk/client-ec2';
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

describe('elastic IPs', () => {
  test('AllocateAddress takes a pool address; DescribeAddresses shows it with its tags', async () => {
    const eip = await h.allocate({ TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'Name', Value: 'web' }] }] });
    expect(eip.AllocationId).toMatch(/^eipalloc-[0-9a-f]{17}$/);
    expect(eip.PublicIp).toMatch(POOL);
    expect(eip).toMatchObject({ Domain: 'vpc', PublicIpv4Pool: 'amazon', NetworkBorderGroup: 'us-east-1' });
    const out = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }));
    expect(out.Addresses).toEqual([
      { AllocationId: eip.AllocationId, Domain: 'vpc', PublicIp: eip.PublicIp, PublicIpv4Pool: 'amazon', NetworkBorderGroup: 'us-east-1', Tags: [{ Key: 'Name', Value: 'web' }] },
    ]);
    const byIp = await ec2.send(new DescribeAddressesCommand({ PublicIps: [eip.PublicIp!] }));
    expect(byIp.Addresses!.map((a) => a.AllocationId)).toEqual([eip.AllocationId]);
    const row = (await h.ledger()).find((r) => r.public_ip === eip.PublicIp)!;
    expect(row).toMatchObject({ kind: 'elastic', allocation_id: eip.AllocationId, network_interface_id: null });
    // Ephemeral addresses are not Elastic IPs: DescribeAddresses leaves them out.
    const all = await ec2.send(new DescribeAddressesCommand({}));
    const ephemeral = (await h.ledger()).filter((r) => r.kind === 'ephemeral').map((r) => r.public_ip);
    expect(all.Addresses!.some((a) => ephemeral.includes(a.PublicIp!))).toBe(false);
  });

  test('AllocateAddress with Address takes that one when it is free and in the pool', async () => {
    const got = await h.allocate({ Address: '198.18.200.7' });
    expect(got.PublicIp).toBe('198.18.200.7');
    for (const ip of ['198.18.200.7', '198.18.0.1', '198.18.0.0', '10.0.0.9', '198.18.255.255']) {
      const e = await errorOf(h.allocate({ Address: ip }));
      expect([ip, e.name]).toEqual([ip, 'InvalidAddress.NotFound']);
    }
    expect((await errorOf(h.allocate({ Address: 'not-an-ip' }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(h.allocate({ Domain: 'classic' }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(h.allocate({ NetworkBorderGroup: 'us-west-2' }))).name).toBe('InvalidParameterValue');
    await ec2.send(new ReleaseAddressCommand({ AllocationId: got.AllocationId! }));
  });

  test('a DryRun allocates nothing', async () => {
    const before = (await h.ledger()).length;
    expect((await errorOf(h.allocate({ DryRun: true }))).name).toBe('DryRunOperation');
    expect((await h.ledger()).length).toBe(before);
  });

  test('associate with a running instance replaces its ephemeral address; disassociate gives one back', async () => {
    const i = await h.running();
    const eniId = i.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const ephemeral = i.PublicIpAddress!;
    expect(ephemeral).toMatch(POOL);
    const eip = await h.allocate();
    const { AssociationId } = await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: i.InstanceId! }));
    expect(AssociationId).toMatch(/^eipassoc-[0-9a-f]{17}$/);

    expect((await describe1(ec2, i.InstanceId!)).PublicIpAddress).toBe(eip.PublicIp);
    expect((await h.ledger()).map((r) => r.public_ip)).not.toContain(ephemeral);
    const [addr] = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses!;
    expect(addr).toMatchObject({
      AllocationId: eip.AllocationId,
      AssociationId,
      InstanceId: i.InstanceId,
      NetworkInterfaceId: eniId,
      NetworkInterfaceOwnerId: s.admin.accountId,
      PrivateIpAddress: i.PrivateIpAddress,
      PublicIp: eip.PublicIp,
    });
    // The same association again is no change (EC2: idempotent).
    const again = await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, NetworkInterfaceId: eniId }));
    expect(again.AssociationId).toBe(AssociationId);

    await ec2.send(new DisassociateAddressCommand({ AssociationId }));
    const after = await describe1(ec2, i.InstanceId!);
    expect(after.PublicIpAddress).toMatch(POOL);
    expect(after.PublicIpAddress).not.toBe(eip.PublicIp);
    const [free] = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses!;
    expect(free!.AssociationId).toBeUndefined();
    expect(free!.InstanceId).toBeUndefined();
    expect(free!.NetworkInterfaceId).toBeUndefined();
    expect((await errorOf(ec2.send(new DisassociateAddressCommand({ AssociationId })))).name).toBe('InvalidAssociationID.NotFound');
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
    expect((await h.ledger()).map((r) => r.public_ip)).not.toContain(eip.PublicIp);
  });

  test('DescribeAddresses filters', async () => {
    const i = await h.running();
    const eniId = i.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const used = await h.allocate({ TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'role', Value: 'front' }] }] });
    const idle = await h.allocate();
    const { AssociationId } = await ec2.send(new AssociateAddressCommand({ AllocationId: used.AllocationId!, InstanceId: i.InstanceId! }));
    const ids = async (Name: string, Values: string[]) =>
      (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [used.AllocationId!, idle.AllocationId!], Filters: [{ Name, Values }] })))
        .Addresses!.map((a) => a.AllocationId)
        .sort();
    expect(await ids('allocation-id', [idle.AllocationId!])).toEqual([idle.AllocationId]);
    expect(await ids('association-id', [AssociationId!])).toEqual([used.AllocationId]);
    expect(await ids('domain', ['vpc'])).toEqual([used.AllocationId, idle.AllocationId].sort());
    expect(await ids('instance-id', [i.InstanceId!])).toEqual([used.AllocationId]);
    expect(await ids('network-border-group', ['us-east-1'])).toHaveLength(2);
    expect(await ids('network-interface-id', [eniId])).toEqual([used.AllocationId]);
    expect(await ids('network-interface-owner-id', [s.admin.accountId])).toEqual([used.AllocationId]);
    expect(await ids('private-ip-address', [i.PrivateIpAddress!])).toEqual([used.AllocationId]);
    expect(await ids('public-ip', [idle.PublicIp!])).toEqual([idle.AllocationId]);
    expect(await ids('tag:role', ['front'])).toEqual([used.AllocationId]);
    expect(await ids('tag-key', ['role'])).toEqual([used.AllocationId]);
    expect(await ids('public-ip', ['10.*'])).toEqual([]);
    expect((await errorOf(ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })))).name).toBe('InvalidParameterValue');
    await ec2.send(new DisassociateAddressCommand({ AssociationId }));
    await ec2.send(new ReleaseAddressCommand({ AllocationId: used.AllocationId! }));
    await ec2.send(new ReleaseAddressCommand({ AllocationId: idle.AllocationId! }));
  });

  test('an elastic IP moves only with AllowReassociation; the instance it left gets an ephemeral address back', async () => {
    const a = await h.running();
    const b = await h.running();
    const eip = await h.allocate();
    await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: a.InstanceId! }));
    const taken = await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: b.InstanceId! })));
    const [first] = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses!;
    expect([taken.name, taken.message]).toEqual(['Resource.AlreadyAssociated', `resource ${eip.AllocationId} is already associated with associate-id ${first!.AssociationId}`]);
    const falseToo = await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: b.InstanceId!, AllowReassociation: false })));
    expect(falseToo.name).toBe('Resource.AlreadyAssociated');

    const moved = await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: b.InstanceId!, AllowReassociation: true }));
    expect(moved.AssociationId).not.toBe(first!.AssociationId);
    expect((await describe1(ec2, b.InstanceId!)).PublicIpAddress).toBe(eip.PublicIp);
    const aNow = (await describe1(ec2, a.InstanceId!)).PublicIpAddress;
    expect(aNow).toMatch(POOL);
    expect(aNow).not.toBe(eip.PublicIp);
    // b's ephemeral address went back to the pool.
    expect((await h.ledger()).map((r) => r.public_ip)).not.toContain(b.PublicIpAddress);

    // A second elastic IP on the same address takes its place; the first stays allocated.
    const second = await h.allocate();
    await ec2.send(new AssociateAddressCommand({ AllocationId: second.AllocationId!, InstanceId: b.InstanceId! }));
    expect((await describe1(ec2, b.InstanceId!)).PublicIpAddress).toBe(second.PublicIp);
    const [firstNow] = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses!;
    expect(firstNow!.AssociationId).toBeUndefined();
    await h.terminate(a.InstanceId!, b.InstanceId!);
  });

  test('a stopped instance takes an elastic IP, and keeps it across stop and start', async () => {
    const i = await h.running();
    await h.stop(i.InstanceId!);
    const eip = await h.allocate();
    await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: i.InstanceId! }));
    expect((await describe1(ec2, i.InstanceId!)).PublicIpAddress).toBe(eip.PublicIp);
    await h.start(i.InstanceId!);
    expect((await describe1(ec2, i.InstanceId!)).PublicIpAddress).toBe(eip.PublicIp);
    await h.stop(i.InstanceId!);
    expect((await describe1(ec2, i.InstanceId!)).PublicIpAddress).toBe(eip.PublicIp);
    await h.start(i.InstanceId!);
    expect((await describe1(ec2, i.InstanceId!)).PublicIpAddress).toBe(eip.PublicIp);
    // Only the elastic address: no ephemeral one came with the starts.
    const eniId = i.NetworkInterfaces![0]!.NetworkInterfaceId!;
    expect((await h.ledger()).filter((r) => r.network_interface_id === eniId).map((r) => r.kind)).toEqual(['elastic']);
  });

  test('terminating the instance disassociates the elastic IP of its deleted interface; the address stays allocated', async () => {
    const i = await h.running();
    const eip = await h.allocate();
    await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: i.InstanceId! }));
    await h.terminate(i.InstanceId!);
    const [addr] = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses!;
    expect(addr!.PublicIp).toBe(eip.PublicIp);
    expect(addr!.AssociationId).toBeUndefined();
    expect(addr!.InstanceId).toBeUndefined();
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
  });

  test("EC2's errors for unknown ids and missing parameters", async () => {
    const nope = 'eipalloc-0123456789abcdef0';
    const i = await h.running();
    const e1 = await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: nope, InstanceId: i.InstanceId! })));
    expect([e1.name, e1.message]).toEqual(['InvalidAllocationID.NotFound', `The allocation ID '${nope}' does not exist`]);
    expect((await errorOf(ec2.send(new DescribeAddressesCommand({ AllocationIds: [nope] })))).name).toBe('InvalidAllocationID.NotFound');
    expect((await errorOf(ec2.send(new DescribeAddressesCommand({ PublicIps: ['198.18.254.254'] })))).name).toBe('InvalidAddress.NotFound');
    expect((await errorOf(ec2.send(new ReleaseAddressCommand({ AllocationId: nope })))).name).toBe('InvalidAllocationID.NotFound');
    const e2 = await errorOf(ec2.send(new DisassociateAddressCommand({ AssociationId: 'eipassoc-0123456789abcdef0' })));
    expect([e2.name, e2.message]).toEqual(['InvalidAssociationID.NotFound', "The association ID 'eipassoc-0123456789abcdef0' does not exist"]);
    expect((await errorOf(ec2.send(new DisassociateAddressCommand({})))).name).toBe('MissingParameter');
    expect((await errorOf(ec2.send(new ReleaseAddressCommand({})))).name).toBe('MissingParameter');

    const eip = await h.allocate();
    const e3 = await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: 'i-0123456789abcdef0' })));
    expect([e3.name, e3.message]).toEqual(['InvalidInstanceID.NotFound', "The instance ID 'i-0123456789abcdef0' does not exist"]);
    expect((await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, NetworkInterfaceId: 'eni-0123456789abcdef0' })))).name).toBe(
      'InvalidNetworkInterfaceID.NotFound',
    );
    expect((await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId! })))).name).toBe('MissingParameter');
    expect(
      (
        await errorOf(
          ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: i.InstanceId!, NetworkInterfaceId: i.NetworkInterfaces![0]!.NetworkInterfaceId! })),
        )
      ).name,
    ).toBe('InvalidParameterCombination');
    const notMine = await errorOf(
      ec2.send(
        new AssociateAddressCommand({ AllocationId: eip.AllocationId!, NetworkInterfaceId: i.NetworkInterfaces![0]!.NetworkInterfaceId!, PrivateIpAddress: '172.31.255.250' }),
      ),
    );
    expect([notMine.name, notMine.message]).toEqual(['InvalidParameterValue', `172.31.255.250 is not mapped to the interface ${i.NetworkInterfaces![0]!.NetworkInterfaceId}`]);
    // Releasing by public IP alone is EC2-Classic's way; VPC addresses need their allocation id.
    const byIp = await errorOf(ec2.send(new ReleaseAddressCommand({ PublicIp: eip.PublicIp! })));
    expect([byIp.name, byIp.message]).toEqual(['InvalidParameterValue', 'You must specify an allocation id when releasing a VPC elastic IP address']);
    expect((await errorOf(ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId!, NetworkBorderGroup: 'us-west-2' })))).name).toBe('InvalidAddress.NotFound');
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
    await h.terminate(i.InstanceId!);
  });

  test('an instance that is not running or stopped cannot take an address (InvalidInstanceID)', async () => {
    const eip = await h.allocate();
    await s.app.runner.stop();
    let id: string;
    try {
      id = (await h.run())[0]!.InstanceId!;
      const e = await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: id })));
      expect([e.name, e.message]).toEqual(['InvalidInstanceID', `The pending instance '${id}' is not in a valid state for this operation.`]);
      const eniId = (await describe1(ec2, id)).NetworkInterfaces![0]!.NetworkInterfaceId!;
      const viaEni = await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, NetworkInterfaceId: eniId })));
      expect([viaEni.name, viaEni.message]).toEqual([
        'IncorrectInstanceState',
        `The pending-instance-creation instance to which '${eniId}' is attached is not in a valid state for this operation`,
      ]);
    } finally {
      s.app.runner.start();
    }
    await h.terminate(id!);
    const gone = await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: id! })));
    expect(gone.name).toBe('InvalidInstanceID');
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
  });

  test('a VPC without an internet gateway cannot map addresses (Gateway.NotAttached)', async () => {
    const { vpcId, subnetId } = await customVpc(ec2, '10.30.0.0/16', false);
    const i = await h.running({ SubnetId: subnetId });
    const eip = await h.allocate();
    const e = await errorOf(ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: i.InstanceId! })));
    expect([e.name, e.message]).toEqual(['Gateway.NotAttached', `Network ${vpcId} is not attached to any internet gateway`]);
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
    await h.terminate(i.InstanceId!);
  });

  test('release: associated in a non-default VPC is InvalidIPAddress.InUse; in the default VPC it disassociates first', async () => {
    const { subnetId } = await customVpc(ec2, '10.40.0.0/16', true);
    const custom = await h.running({ SubnetId: subnetId });
    const eip = await h.allocate();
    const { AssociationId } = await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: custom.InstanceId! }));
    const e = await errorOf(ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! })));
    expect([e.name, e.message]).toEqual(['InvalidIPAddress.InUse', `Address ${eip.PublicIp} is in use.`]);
    await ec2.send(new DisassociateAddressCommand({ AssociationId }));
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
    // The custom subnet maps no public IPs, so its instance has none once the address is gone.
    expect((await describe1(ec2, custom.InstanceId!)).PublicIpAddress).toBeUndefined();

    const inDefault = await h.running();
    const eip2 = await h.allocate();
    await ec2.send(new AssociateAddressCommand({ AllocationId: eip2.AllocationId!, InstanceId: inDefault.InstanceId! }));
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip2.AllocationId! }));
    expect((await h.ledger()).map((r) => r.public_ip)).not.toContain(eip2.PublicIp);
    const back = (await describe1(ec2, inDefault.InstanceId!)).PublicIpAddress;
    expect(back).toMatch(POOL);
    expect(back).not.toBe(eip2.PublicIp);
    await h.terminate(custom.InstanceId!, inDefault.InstanceId!);
  });

  test('every association change queues a vpc.sync for the interface’s VPC', async () => {
    const i = await h.running();
    const eip = await h.allocate();
    const syncs = () => s.app.db.selectFrom('jobs').select('id').where('kind', '=', 'vpc.sync').where('resource_id', '=', i.VpcId!).execute();
    await s.app.runner.stop();
    try {
      await s.app.db.deleteFrom('jobs').where('kind', '=', 'vpc.sync').execute();
      const { AssociationId } = await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: i.InstanceId! }));
      expect((await syncs()).length).toBe(1);
      await s.app.db.deleteFrom('jobs').where('kind', '=', 'vpc.sync').execute();
      await ec2.send(new DisassociateAddressCommand({ AssociationId }));
      expect((await syncs()).length).toBe(1);
    } finally {
      s.app.runner.start();
    }
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
    await h.terminate(i.InstanceId!);
  });

  test('accounts never share an address, and never see each other’s', async () => {
    const creds = await s.app.accounts.create('other-addresses');
    const other = s.ec2({ credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey } });
    const oh = helpers(s, other, () => imageId);
    const mine = await h.allocate();
    const theirs = await oh.allocate();
    const [theirInstance] = await oh.run();
    expect(theirs.PublicIp).not.toBe(mine.PublicIp);
    expect(theirInstance!.PublicIpAddress).toMatch(POOL);
    expect([mine.PublicIp, theirs.PublicIp]).not.toContain(theirInstance!.PublicIpAddress);
    // The whole ledger holds every address once (it is the primary key), whatever the account.
    const rows = await h.ledger();
    expect(new Set(rows.map((r) => r.public_ip)).size).toBe(rows.length);
    expect(rows.find((r) => r.public_ip === theirs.PublicIp)!.account_id).toBe(creds.accountId);

    expect((await other.send(new DescribeAddressesCommand({}))).Addresses!.map((a) => a.AllocationId)).toEqual([theirs.AllocationId]);
    expect((await errorOf(other.send(new DescribeAddressesCommand({ AllocationIds: [mine.AllocationId!] })))).name).toBe('InvalidAllocationID.NotFound');
    expect((await errorOf(other.send(new ReleaseAddressCommand({ AllocationId: mine.AllocationId! })))).name).toBe('InvalidAllocationID.NotFound');
    const i = await h.running();
    expect((await errorOf(other.send(new AssociateAddressCommand({ AllocationId: theirs.AllocationId!, InstanceId: i.InstanceId! })))).name).toBe('InvalidInstanceID.NotFound');
    await ec2.send(new ReleaseAddressCommand({ AllocationId: mine.AllocationId! }));
    await h.terminate(i.InstanceId!);
  });
});

describe('network interfaces show their public address (DescribeNetworkInterfaces builds Association)', () => {
  test('ephemeral: owner amazon and a public DNS name; elastic: the account, allocation and association ids', async () => {
    const i = await h.running();
    const eniId = i.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const eni = async () => (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces![0]!;
    const ip = i.PublicIpAddress!;
    const dns = `ec2-${ip.replace(/\./g, '-')}.compute-1.amazonaws.com`;
    expect((await eni()).Association).toEqual({ IpOwnerId: 'amazon', PublicDnsName: dns, PublicIp: ip });
    expect((await eni()).PrivateIpAddresses![0]!.Association).toEqual({ IpOwnerId: 'amazon', PublicDnsName: dns, PublicIp: ip });
    const eip = await h.allocate();
    const { AssociationId } = await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: i.InstanceId! }));
    expect((await eni()).Association).toEqual({
      AllocationId: eip.AllocationId,
      AssociationId,
      IpOwnerId: s.admin.accountId,
      PublicDnsName: `ec2-${eip.PublicIp!.replace(/\./g, '-')}.compute-1.amazonaws.com`,
      PublicIp: eip.PublicIp,
    });
    await ec2.send(new DisassociateAddressCommand({ AssociationId }));
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId! }));
    await h.terminate(i.InstanceId!);
  });

  test('no public DNS name when the VPC has DNS hostnames off', async () => {
    const { vpcId, subnetId } = await customVpc(ec2, '10.50.0.0/16', true);
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: false } }));
    const [i] = await h.run({ NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnetId, AssociatePublicIpAddress: true }] });
    const eniId = i!.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const [eni] = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces!;
    expect(eni!.Association).toEqual({ IpOwnerId: 'amazon', PublicDnsName: '', PublicIp: i!.PublicIpAddress });
  });
});
