// The vpc.sync controller through the API: a server with a driver that records every VPC spec it
// is given (the fake driver plus the VpcNetworking ability), so each change that reaches a VPC's
// data plane is seen arriving at the driver, and instance state changes add and drop interfaces.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteRouteCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyInstanceMetadataOptionsCommand,
  ReplaceNetworkAclAssociationCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { FakeNetwork } from '../src/host/network/fake.js';
import type { VpcSpec } from '../src/host/network/vpc-spec.js';
import { startTestServer, type TestServer, minimalImage, describeInstance } from './harness.js';

/** A network part that records what it is told (every spec, every removal). */
class RecordingDriver extends FakeNetwork {
  applied: VpcSpec[] = [];
  removed: string[] = [];
  present = new Set<string>();

  override async applyVpc(spec: VpcSpec): Promise<void> {
    this.applied.push(structuredClone(spec));
    if (spec.interfaces.length) this.present.add(spec.vpcId);
    else this.present.delete(spec.vpcId);
  }

  override async removeVpc(vpcId: string): Promise<void> {
    this.removed.push(vpcId);
    this.present.delete(vpcId);
  }

  override async vpcsPresent(): Promise<string[]> {
    return [...this.present];
  }

  /** The last spec applied for the VPC. */
  latest(vpcId: string): VpcSpec | undefined {
    return this.applied.filter((s) => s.vpcId === vpcId).at(-1);
  }
}

async function until<T>(what: string, get: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const stateOf = async (ec2: EC2Client, id: string) => (await describeInstance(ec2, id)).State!.Name;

describe('vpc.sync: the data plane follows the store', () => {
  let server: TestServer;
  let driver: RecordingDriver;
  let ec2: EC2Client;
  let ami: string;

  beforeAll(async () => {
    driver = new RecordingDriver();
    server = await startTestServer({ network: driver });
    ec2 = server.ec2();
    ami = await minimalImage(ec2);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const interfacesOf = (spec: VpcSpec | undefined, instanceId: string) => (spec?.interfaces ?? []).filter((i) => i.instanceId === instanceId);

  async function launch(opts: { SubnetId?: string; SecurityGroupIds?: string[] } = {}): Promise<Instance> {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...opts }));
    const i = out.Instances![0]!;
    await until(`${i.InstanceId} running`, async () => (await stateOf(ec2, i.InstanceId!)) === 'running');
    return describeInstance(ec2, i.InstanceId!);
  }

  test('RunInstances: the VPC spec has the interface with its groups before the instance boots', async () => {
    const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web' }));
    const out = await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SecurityGroupIds: [group.GroupId!] }));
    const id = out.Instances![0]!.InstanceId!;
    const vpcId = out.Instances![0]!.VpcId!;
    const eni = out.Instances![0]!.NetworkInterfaces![0]!;
    const spec = await until('a spec with the interface', () => driver.applied.find((s) => s.vpcId === vpcId && interfacesOf(s, id).length));
    expect(interfacesOf(spec, id)).toEqual([
      expect.objectContaining({
        eniId: eni.NetworkInterfaceId,
        instanceId: id,
        deviceIndex: 0,
        subnetId: out.Instances![0]!.SubnetId,
        macAddress: eni.MacAddress,
        privateIps: [out.Instances![0]!.PrivateIpAddress],
        groups: [group.GroupId],
        sourceDestCheck: true,
        metadataHopLimit: 1,
      }),
    ]);
    expect(spec.securityGroups.map((g) => g.groupId)).toContain(group.GroupId);
    // The default VPC's subnets map public IPs on launch: the NAT mapping is in the spec.
    await until(`${id} running`, async () => (await stateOf(ec2, id)) === 'running');
    const publicIp = (await describeInstance(ec2, id)).PublicIpAddress;
    expect(publicIp).toMatch(/^198\.18\./);
    expect(interfacesOf(driver.latest(vpcId), id)[0]!.publicIps).toEqual([{ publicIp, privateIp: out.Instances![0]!.PrivateIpAddress }]);
  });

  test('a rule authorized on a running instance’s group reaches the driver; revoked, it goes', async () => {
    const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'rules', Description: 'rules' }));
    const i = await launch({ SecurityGroupIds: [group.GroupId!] });
    const perm = { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8081, IpRanges: [{ CidrIp: '203.0.113.0/24' }] };
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: [perm] }));
    const rule = { protocol: 'tcp', fromPort: 8080, toPort: 8081, cidr: '203.0.113.0/24' };
    const ingressOf = () => driver.latest(i.VpcId!)?.securityGroups.find((g) => g.groupId === group.GroupId)?.ingress;
    await until('the rule in the spec', () => ingressOf()?.some((r) => isDeepStrictEqual(r, rule)));
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: [perm] }));
    await until('the rule gone from the spec', () => ingressOf()?.length === 0);
  });

  test('a group referenced by a member’s group comes along, with its rules', async () => {
    const a = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'ref-a', Description: 'a' }));
    const b = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'ref-b', Description: 'b' }));
    const i = await launch({ SecurityGroupIds: [a.GroupId!] });
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: a.GroupId, IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: b.GroupId }] }] }));
    const spec = await until('the referenced group', () => {
      const s = driver.latest(i.VpcId!);
      return s?.securityGroups.some((g) => g.groupId === b.GroupId) && s;
    });
    expect(spec.securityGroups.find((g) => g.groupId === a.GroupId)!.ingress).toEqual([{ protocol: 'all', groupId: b.GroupId }]);
    expect(spec.securityGroups.find((g) => g.groupId === b.GroupId)!.egress).toEqual([{ protocol: 'all', cidr: '0.0.0.0/0' }]);
  });

  test('ModifyInstanceAttribute: new groups and source/dest check reach the spec', async () => {
    const i = await launch();
    const other = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'swap', Description: 'swap' }));
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: i.InstanceId, Groups: [other.GroupId!] }));
    await until('the new group', () => interfacesOf(driver.latest(i.VpcId!), i.InstanceId!)[0]?.groups.join() === other.GroupId);
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: i.InstanceId, SourceDestCheck: { Value: false } }));
    await until('source/dest check off', () => interfacesOf(driver.latest(i.VpcId!), i.InstanceId!)[0]?.sourceDestCheck === false);
  });

  test('ModifyInstanceMetadataOptions: the hop limit reaches the spec', async () => {
    const i = await launch();
    await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: i.InstanceId, HttpPutResponseHopLimit: 3 }));
    await until('hop limit 3', () => interfacesOf(driver.latest(i.VpcId!), i.InstanceId!)[0]?.metadataHopLimit === 3);
  });

  test('stop drops the interfaces and the public IP; start brings both back; terminate drops them', async () => {
    const i = await launch();
    const id = i.InstanceId!;
    const vpcId = i.VpcId!;
    expect(interfacesOf(driver.latest(vpcId), id)).toHaveLength(1);
    expect(i.PublicIpAddress).toBeTruthy();

    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await until(`${id} stopped`, async () => (await stateOf(ec2, id)) === 'stopped');
    await until('no interface of the stopped instance', () => interfacesOf(driver.latest(vpcId), id).length === 0);
    expect((await describeInstance(ec2, id)).PublicIpAddress).toBeUndefined();
    // The address went back to the pool: nobody is mapped to it any more.
    expect(
      driver
        .latest(vpcId)!
        .interfaces.flatMap((x) => x.publicIps)
        .map((p) => p.publicIp),
    ).not.toContain(i.PublicIpAddress);

    await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    await until(`${id} running`, async () => (await stateOf(ec2, id)) === 'running');
    const started = await describeInstance(ec2, id);
    expect(started.PublicIpAddress).toMatch(/^198\.18\./);
    const back = interfacesOf(driver.latest(vpcId), id);
    expect(back).toHaveLength(1);
    expect(back[0]!.publicIps).toEqual([{ publicIp: started.PublicIpAddress, privateIp: started.PrivateIpAddress }]);

    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await until(`${id} terminated`, async () => (await stateOf(ec2, id)) === 'terminated');
    await until('no interface of the terminated instance', () => interfacesOf(driver.latest(vpcId), id).length === 0);
  });

  test('gateway, routes and ACLs of a VPC reach its spec', async () => {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
    const vpcId = vpc.Vpc!.VpcId!;
    const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.20.1.0/24', AvailabilityZone: 'us-east-1a' }));
    const subnetId = subnet.Subnet!.SubnetId!;
    const i = await launch({ SubnetId: subnetId });
    expect(i.PublicIpAddress).toBeUndefined();
    const subnetSpec = () => driver.latest(vpcId)?.subnets.find((s) => s.subnetId === subnetId);
    await until('the subnet, private', () => subnetSpec()?.routes.every((r) => r.target === 'local'));
    expect(driver.latest(vpcId)!.internetGatewayId).toBeUndefined();

    const igw = await ec2.send(new CreateInternetGatewayCommand({}));
    const igwId = igw.InternetGateway!.InternetGatewayId!;
    const tables = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
    const main = tables.RouteTables![0]!.RouteTableId!;
    // A route to a gateway that is not attached yet cannot be made; attach first.
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    await until('the gateway attached', () => driver.latest(vpcId)?.internetGatewayId === igwId);
    await ec2.send(new CreateRouteCommand({ RouteTableId: main, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igwId }));
    await until('the subnet public', () => subnetSpec()?.routes.some((r) => r.destination === '0.0.0.0/0' && r.target === 'internet-gateway'));

    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    await until('the route a blackhole', () => subnetSpec()?.routes.some((r) => r.destination === '0.0.0.0/0' && r.target === 'blackhole'));
    expect(driver.latest(vpcId)!.internetGatewayId).toBeUndefined();
    await ec2.send(new DeleteRouteCommand({ RouteTableId: main, DestinationCidrBlock: '0.0.0.0/0' }));
    await until('the route gone', () => subnetSpec()?.routes.every((r) => r.destination !== '0.0.0.0/0'));

    const acl = await ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }));
    const aclId = acl.NetworkAcl!.NetworkAclId!;
    const assoc = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }))).NetworkAcls![0]!.Associations!.find(
      (a) => a.SubnetId === subnetId,
    )!;
    await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: assoc.NetworkAclAssociationId, NetworkAclId: aclId }));
    await until('the custom ACL', () => subnetSpec()?.networkAcl.networkAclId === aclId);
    await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: aclId,
        RuleNumber: 100,
        Egress: false,
        Protocol: '6',
        RuleAction: 'allow',
        CidrBlock: '10.0.0.0/8',
        PortRange: { From: 22, To: 22 },
      }),
    );
    await until('the new entry', () =>
      subnetSpec()?.networkAcl.entries.some((e) => e.ruleNumber === 100 && !e.egress && e.protocol === 6 && e.portFrom === 22 && e.cidr === '10.0.0.0/8'),
    );
  });

  test('handlers queue one vpc.sync per VPC; requests that land while it waits share it', async () => {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }));
    const vpcId = vpc.Vpc!.VpcId!;
    const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'q', Description: 'q', VpcId: vpcId }));
    // Hold the runner so the job waits.
    await server.app.runner.stop();
    try {
      for (const port of [1, 2, 3]) {
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: group.GroupId,
            IpPermissions: [{ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }],
          }),
        );
      }
      const jobs = await server.app.db.selectFrom('jobs').select(['kind', 'account_id', 'region']).where('kind', '=', 'vpc.sync').where('resource_id', '=', vpcId).execute();
      expect(jobs).toEqual([{ kind: 'vpc.sync', account_id: server.admin.accountId, region: 'us-east-1' }]);
    } finally {
      server.app.runner.start();
    }
    // With no instance in it, the VPC's spec has no interface: the host removes it.
    await until(
      'the job done',
      async () => !(await server.app.db.selectFrom('jobs').select('id').where('kind', '=', 'vpc.sync').where('resource_id', '=', vpcId).executeTakeFirst()),
    );
    expect(driver.latest(vpcId)?.interfaces).toEqual([]);
  });
});

describe('vpc.sync at server start', () => {
  test('VPCs with instances up are synced before the server answers; stale ones are removed', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cumulo-vpc-sync-'));
    try {
      const first = new RecordingDriver();
      let server = await startTestServer({ network: first, home });
      const ec2 = server.ec2();
      const ami = await minimalImage(ec2);
      const out = await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
      const id = out.Instances![0]!.InstanceId!;
      const vpcId = out.Instances![0]!.VpcId!;
      await until(`${id} running`, async () => (await stateOf(ec2, id)) === 'running');
      await server.stop();

      const second = new RecordingDriver();
      const stale = 'vpc-0123456789abcdef0';
      second.present.add(stale);
      server = await startTestServer({ network: second, home });
      try {
        // Already there when startApp returns: adoption ran before the API answered.
        expect(second.removed).toEqual([stale]);
        const spec = second.applied.find((s) => s.vpcId === vpcId);
        expect(spec?.interfaces.map((i) => i.instanceId)).toEqual([id]);
        expect(second.applied.map((s) => s.vpcId)).not.toContain(stale);
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
