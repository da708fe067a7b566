// System test (root): the VPC data plane with real instances (minimal image, t3.nano), through the
// SDK against one server with the runc driver. The reachability matrix of issue 4: security groups
// (same group, different groups, a group reference, a rule added then revoked), two VPCs with the
// same CIDR, network ACLs (deny before allow; stateless replies), a private subnet, public IPs on
// stop/start, an elastic IP, a hot-attached interface, DNS, egress off, DependencyViolation, and
// what terminate and a server stop leave behind (nothing).
//
// The host plays the internet: it reaches instances only at their public IPs, and its own address
// is the first of the public pool. "From inside instance X" is a host command run in X's network
// namespace (inInstance): its packets leave X's eth0 with X's addresses. Every instance serves a
// page naming itself (busybox httpd from its user data), so a reply says who answered.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AttachNetworkInterfaceCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateNetworkAclEntryCommand,
  CreateNetworkInterfaceCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteNetworkAclEntryCommand,
  DeleteVpcCommand,
  DetachNetworkInterfaceCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Instance,
  type IpPermission,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorOf } from './harness.js';
import {
  needsInstances,
  dataPlaneNames,
  describe1,
  hostRun,
  httpGet,
  inInstance,
  pageFrom,
  portOpen,
  publicPoolFor,
  routedToUplink,
  startRuncServer,
  until,
  waitState,
  type RuncServer,
} from './runc-harness.js';

process.env.CUMULO_INSTANCE_POLL_MS = '1000';
// Built images are shared by every state folder of the machine.
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

interface Net {
  vpcId: string;
  igw: string;
  /** A public subnet (0.0.0.0/0 to the gateway, MapPublicIpOnLaunch). */
  pub: string;
  /** The VPC's default security group (admits its own members only). */
  def: string;
}

needsInstances.describe('the VPC data plane with real instances (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-vpc-dataplane-'));
  const names = dataPlaneNames(home);
  // Public IPs of its own: the host routes them, so parallel suites must not share a pool.
  const pool = publicPoolFor(150 + (process.pid % 50));
  const inPool = (ip: string | undefined) => !!ip && ip.startsWith(pool.split('.').slice(0, 3).join('.') + '.');
  const env = { CUMULO_PUBLIC_IPV4_POOL: pool };
  // Both VPCs: private addresses are never routed on the host, so two VPCs may share a CIDR.
  const CIDR = '10.20.0.0/16';
  const DNS = '10.20.0.2';
  let server: RuncServer | undefined;
  let ec2: EC2Client;
  let ami = '';
  let v1: Net;
  let v2: Net;
  let priv = ''; // VPC 1's private subnet: its route table has the local route only
  let sgWeb = ''; // VPC 1: tcp 22 and 80 from the pool (the host, the internet)
  let sgA = ''; // VPC 1: no inbound rule
  let sgB = ''; // VPC 1: no inbound rule (until the group reference)
  /** The instances by label: its page says the label. */
  const i: Record<string, Instance> = {};
  const ids = () => Object.values(i).map((x) => x.InstanceId!);
  /** Host ends of uplinks seen during the run (their ip rules must go with them). */
  const uplinkAddresses = new Set<string>();

  const id = (label: string) => i[label]!.InstanceId!;
  const priv4 = (label: string) => i[label]!.PrivateIpAddress!;
  const pub4 = (label: string) => i[label]!.PublicIpAddress!;
  const refresh = async (label: string) => (i[label] = await describe1(ec2, id(label)));
  /** The page from `from`'s namespace at ip (or ip:port), or undefined. */
  const page = (from: string, ip: string, timeoutS = 2) => pageFrom(home, id(from), ip, timeoutS);
  /** Does `from` get an answer to a ping of ip? (The host answers instances' pings and nothing else.) */
  const pings = async (from: string, ip: string) => (await inInstance(home, id(from), `busybox ping -c 1 -W 1 ${ip}`)).code === 0;
  /** The page at the public IP, from the host. */
  const hostPage = async (ip: string, timeoutMs = 2000) => (await httpGet(ip, '/', 80, timeoutMs))?.body.trim();
  /**
   * Nothing answers at ip:port from the host. Probed only when the host routes the address into one
   * of our uplinks: an address with no route would follow the default route off the machine.
   */
  const hostUnreachable = async (ip: string, port = 80) => !routedToUplink(home, ip) || !(await portOpen(ip, port, 1000));

  async function makeVpc(): Promise<Net> {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: CIDR }))).Vpc!.VpcId!;
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
    const main = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'association.main', Values: ['true'] },
        ],
      }),
    );
    await ec2.send(new CreateRouteCommand({ RouteTableId: main.RouteTables![0]!.RouteTableId!, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    const pub = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.20.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: pub, MapPublicIpOnLaunch: { Value: true } }));
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'group-name', Values: ['default'] },
        ],
      }),
    );
    return { vpcId, igw, pub, def: groups.SecurityGroups![0]!.GroupId! };
  }

  const tcpFrom = (port: number, cidr: string): IpPermission => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: cidr }] });

  async function launch(label: string, input: Partial<RunInstancesCommandInput>): Promise<void> {
    const userData = `#!/bin/sh\nmkdir -p /www && echo ${label} > /www/index.html && busybox httpd -p 80 -h /www\n`;
    const r = await ec2.send(
      new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, UserData: Buffer.from(userData).toString('base64'), ...input }),
    );
    i[label] = r.Instances![0]!;
  }

  function uplinkAddressesOf(vpcId: string): string[] {
    try {
      const out = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'dev', names.uplink(vpcId)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
    } catch {
      return [];
    }
  }
  function noteUplink(vpcId: string): void {
    for (const a of uplinkAddressesOf(vpcId)) if (a.startsWith('169.254.')) uplinkAddresses.add(a);
  }
  /** The host as the internet sees it: the pool's first address, on every uplink's host end. */
  function hostInternetAddress(): string {
    const a = uplinkAddressesOf(v1.vpcId).find((x) => inPool(x));
    if (!a) throw new Error(`no address of the pool ${pool} on ${names.uplink(v1.vpcId)}`);
    return a;
  }

  /** The addresses a busybox nslookup answered with (the server's own lines left out). */
  async function lookup(from: string, name: string, server = DNS): Promise<string[]> {
    const r = await inInstance(home, id(from), `busybox nslookup ${name} ${server}`);
    const answer = r.stdout
      .split(/\n\s*\n/)
      .slice(1)
      .join('\n');
    return [...answer.matchAll(/^Address(?:\s+\d+)?:\s*([0-9.]+)\s*$/gm)].map((m) => m[1]!);
  }

  beforeAll(async () => {
    server = await startRuncServer(home, { env });
    ec2 = server.ec2;
    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
    ami = images.Images![0]!.ImageId!;

    v1 = await makeVpc();
    v2 = await makeVpc();
    priv = (await ec2.send(new CreateSubnetCommand({ VpcId: v1.vpcId, CidrBlock: '10.20.2.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    const rt = (await ec2.send(new CreateRouteTableCommand({ VpcId: v1.vpcId }))).RouteTable!.RouteTableId!;
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rt, SubnetId: priv }));
    const group = async (name: string) => (await ec2.send(new CreateSecurityGroupCommand({ VpcId: v1.vpcId, GroupName: name, Description: name }))).GroupId!;
    [sgWeb, sgA, sgB] = [await group('web'), await group('a'), await group('b')];
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sgWeb, IpPermissions: [tcpFrom(22, pool), tcpFrom(80, pool)] }));
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: v2.def, IpPermissions: [tcpFrom(22, pool), tcpFrom(80, pool)] }));

    // The first launch may build the image: one first, then the others at once.
    await launch('i1', { SubnetId: v1.pub, SecurityGroupIds: [v1.def, sgWeb] });
    await waitState(ec2, id('i1'), 'running', 300_000);
    await Promise.all([
      launch('i2', { SubnetId: v1.pub, SecurityGroupIds: [v1.def, sgWeb] }),
      launch('i3', { SubnetId: v1.pub, SecurityGroupIds: [sgA] }),
      launch('i4', { SubnetId: v1.pub, SecurityGroupIds: [sgB] }),
      launch('p', { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: priv, Groups: [v1.def, sgWeb], AssociatePublicIpAddress: true }] }),
      launch('y', { SubnetId: v2.pub, SecurityGroupIds: [v2.def] }),
    ]);
    for (const label of Object.keys(i)) {
      await waitState(ec2, id(label), 'running', 120_000);
      await refresh(label);
      // Its web server is up (asked from its own namespace: no group or ACL in the way).
      await until(`${label}'s web server`, async () => (await page(label, priv4(label), 1)) === label, 30_000, 100);
    }
    noteUplink(v1.vpcId);
    noteUplink(v2.vpcId);
  }, 600_000);

  afterAll(async () => {
    if (server) await server.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
    // Whatever happened above, a server on this home with cleanup removes every instance and host object.
    const cleaner = await startRuncServer(home, { env });
    await cleaner.stop();
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 300_000);

  test('the host reaches an instance at its public IP when one of its groups allows it (groups add up)', async () => {
    for (const label of ['i1', 'i2', 'i3', 'i4', 'y']) expect(inPool(i[label]!.PublicIpAddress), `${label}: ${i[label]!.PublicIpAddress}`).toBe(true);
    expect(new Set(['i1', 'i2', 'i3', 'i4', 'y'].map(pub4)).size).toBe(5);
    // i1 is in the default group (itself only) and web (the pool): web lets the host in.
    expect(await until('i1 at its public IP', async () => (await hostPage(pub4('i1'))) === 'i1', 10_000, 100)).toBe(true);
    // i3's only group has no inbound rule: routed to its VPC, dropped there.
    expect(routedToUplink(home, pub4('i3'))).toBe(true);
    expect(await hostPage(pub4('i3'))).toBeUndefined();
  });

  test('the same group: members reach each other at their private addresses', async () => {
    expect(await page('i1', priv4('i2'))).toBe('i2');
    expect(await page('i2', priv4('i1'))).toBe('i1');
  });

  test('different groups: denied (the default group admits only its own members)', async () => {
    expect(await page('i3', priv4('i1'))).toBeUndefined(); // sgA is not in i1's default group
    expect(await page('i1', priv4('i3'))).toBeUndefined(); // sgA admits no one
    expect(await page('i1', priv4('i4'))).toBeUndefined(); // sgB admits no one (yet)
  });

  test('a group reference: B admits members of A, and only them', async () => {
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: sgB, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: sgA }] }] }),
    );
    expect(await until('i3 (in A) to reach i4 (in B)', async () => (await page('i3', priv4('i4'), 1)) === 'i4', 5_000, 100)).toBe(true);
    expect(await page('i1', priv4('i4'))).toBeUndefined();
    expect(await page('i2', priv4('i4'))).toBeUndefined();
  });

  // How soon is bench:net's (a).
  test('an ingress rule reaches a running instance; after its revocation new connections fail', async () => {
    const ip = pub4('i3');
    expect(routedToUplink(home, ip)).toBe(true);
    expect(await hostPage(ip, 500)).toBeUndefined();
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sgA, IpPermissions: [tcpFrom(80, pool)] }));
    // A fresh connection every few ms (a dropped SYN would be retried only after a second).
    await until('the new rule to let the host in', async () => (await hostPage(ip, 100)) === 'i3', 5_000, 5);
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: sgA, IpPermissions: [tcpFrom(80, pool)] }));
    await until('the revocation to shut new connections out', async () => (await hostPage(ip, 200)) === undefined, 5_000, 5);
    for (let k = 0; k < 3; k++) expect(await hostPage(ip, 500)).toBeUndefined();
  });

  test('two VPCs with the same CIDR: each instance answers at its public IP; no private traffic crosses', async () => {
    const vpcs = await ec2.send(new DescribeVpcsCommand({ VpcIds: [v1.vpcId, v2.vpcId] }));
    expect(vpcs.Vpcs!.map((v) => v.CidrBlock)).toEqual([CIDR, CIDR]);
    expect(await hostPage(pub4('y'))).toBe('y');
    expect(await hostPage(pub4('i1'))).toBe('i1');
    // y's private address means something else (or nothing) in VPC 1 — it may even be i1's own.
    expect(await page('i1', priv4('y'))).not.toBe('y');
    expect(await page('y', priv4('i1'))).not.toBe('i1');
    expect(await page('i2', priv4('y'))).not.toBe('y');
  });

  test('an instance reaches an instance of another VPC at its public IP (through the internet: the host)', async () => {
    expect(await page('i1', pub4('y'))).toBe('y'); // i1 leaves as its public IP, which is in the pool y admits
    expect(await page('y', pub4('i1'))).toBe('i1');
  });

  describe('network ACLs (VPC 1’s default ACL)', () => {
    let acl = '';
    beforeAll(async () => {
      const r = await ec2.send(
        new DescribeNetworkAclsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [v1.vpcId] },
            { Name: 'default', Values: ['true'] },
          ],
        }),
      );
      acl = r.NetworkAcls![0]!.NetworkAclId!;
    });
    const remove = (egress: boolean) => ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: acl, RuleNumber: 50, Egress: egress })).catch(() => undefined);

    test('a deny entry numbered before the allow blocks at the subnet boundary; removing it restores', async () => {
      expect(await hostPage(pub4('i1'))).toBe('i1');
      try {
        await ec2.send(
          new CreateNetworkAclEntryCommand({
            NetworkAclId: acl,
            RuleNumber: 50,
            Egress: false,
            Protocol: '6',
            RuleAction: 'deny',
            CidrBlock: '0.0.0.0/0',
            PortRange: { From: 80, To: 80 },
          }),
        );
        expect(await until('the deny entry to block the host', async () => (await hostPage(pub4('i1'), 300)) === undefined, 5_000, 50)).toBe(true);
        // p is in another subnet: its packets cross the boundary too.
        expect(await page('p', priv4('i1'))).toBeUndefined();
        // Within a subnet there is no boundary (EC2 evaluates ACLs only between subnets).
        expect(await page('i2', priv4('i1'))).toBe('i1');
        await remove(false);
        expect(await until('the host to get in again', async () => (await hostPage(pub4('i1'), 300)) === 'i1', 5_000, 50)).toBe(true);
        expect(await page('p', priv4('i1'))).toBe('i1');
      } finally {
        await remove(false);
      }
    });

    test('ACLs are stateless: an egress deny of the ephemeral ports breaks the replies', async () => {
      expect(await hostPage(pub4('i1'))).toBe('i1');
      try {
        // Requests to port 80 are still allowed in; the replies go to the host's ephemeral port.
        await ec2.send(
          new CreateNetworkAclEntryCommand({
            NetworkAclId: acl,
            RuleNumber: 50,
            Egress: true,
            Protocol: '6',
            RuleAction: 'deny',
            CidrBlock: '0.0.0.0/0',
            PortRange: { From: 1024, To: 65535 },
          }),
        );
        expect(await until('the replies to be dropped', async () => (await hostPage(pub4('i1'), 300)) === undefined, 5_000, 50)).toBe(true);
        await remove(true);
        expect(await until('the replies to pass again', async () => (await hostPage(pub4('i1'), 300)) === 'i1', 5_000, 50)).toBe(true);
      } finally {
        await remove(true);
      }
    });
  });

  test('a private subnet: not reachable from outside, no way out to the host; its VPC reaches it privately', async () => {
    const host = hostInternetAddress();
    expect(await pings('i1', host)).toBe(true); // a public subnet's instance reaches the host
    expect(await pings('p', host)).toBe(false); // no route to the gateway
    // AssociatePublicIpAddress gave it a public IP, and web admits the pool, but its subnet is private.
    expect(inPool(i.p!.PublicIpAddress)).toBe(true);
    expect(await hostUnreachable(pub4('p'))).toBe(true);
    expect(await page('i1', priv4('p'))).toBe('p'); // across subnets through the VPC's local route
  });

  let eip: { PublicIp?: string; AllocationId?: string } = {};
  test('a public IP changes on stop/start: the new one answers, the old one is gone', async () => {
    const old = pub4('i2');
    expect(await portOpen(old, 22, 1000)).toBe(true);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id('i2')] }));
    const stopped = await waitState(ec2, id('i2'), 'stopped');
    expect(stopped.PublicIpAddress).toBeUndefined();
    expect(await until('the old public IP to go', () => hostUnreachable(old, 22), 5_000, 100)).toBe(true);
    // The pool hands out its lowest free address: the elastic IP of the next test, allocated now,
    // takes the one just released, as another customer would on EC2 (not associated: not routed).
    eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id('i2')] }));
    await waitState(ec2, id('i2'), 'running');
    const now = (await refresh('i2')).PublicIpAddress;
    expect(inPool(now)).toBe(true);
    expect(now).not.toBe(old);
    expect(await until('SSH at the new public IP', () => portOpen(now!, 22, 500), 20_000, 100)).toBe(true);
    expect(await hostUnreachable(old, 22)).toBe(true);
  }, 120_000);

  test('an elastic IP replaces the public IP and stays with its instance across stop/start', async () => {
    const eph = pub4('i2');
    expect(inPool(eip.PublicIp)).toBe(true);
    await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: id('i2') }));
    expect((await refresh('i2')).PublicIpAddress).toBe(eip.PublicIp);
    expect(await until('SSH at the elastic IP', () => portOpen(eip.PublicIp!, 22, 500), 10_000, 100)).toBe(true);
    expect(await until('the ephemeral public IP to go', () => hostUnreachable(eph, 22), 5_000, 100)).toBe(true);

    await ec2.send(new StopInstancesCommand({ InstanceIds: [id('i2')] }));
    expect((await waitState(ec2, id('i2'), 'stopped')).PublicIpAddress).toBe(eip.PublicIp);
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id('i2')] }));
    expect((await waitState(ec2, id('i2'), 'running')).PublicIpAddress).toBe(eip.PublicIp);
    expect(await until('SSH at the elastic IP after the start', () => portOpen(eip.PublicIp!, 22, 500), 20_000, 100)).toBe(true);
    const addr = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }));
    expect(addr.Addresses![0]).toMatchObject({ PublicIp: eip.PublicIp, InstanceId: id('i2'), PrivateIpAddress: priv4('i2') });
    await refresh('i2');
  }, 120_000);

  test('a second interface hot-attached to a running instance: eth1 appears inside, its private IPs answer; detached, it goes', async () => {
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: v1.pub, Groups: [v1.def], SecondaryPrivateIpAddressCount: 1 }))).NetworkInterface!;
    const primary = eni.PrivateIpAddress!;
    const secondary = eni.PrivateIpAddresses!.find((a) => !a.Primary)!.PrivateIpAddress!;
    const { AttachmentId } = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, InstanceId: id('i1'), DeviceIndex: 1 }));
    const addrs = await until(
      'eth1 inside i1',
      async () => {
        const r = await hostRun(['ip', '-n', names.instanceNetns(id('i1')), '-o', '-4', 'addr', 'show', 'dev', 'eth1']);
        return r.code === 0 && r.stdout.includes(`inet ${primary}/`) ? r.stdout : undefined;
      },
      10_000,
      100,
    );
    expect(addrs).toContain(`inet ${secondary}/`);
    expect((await hostRun(['ip', '-n', names.vpcNetns(v1.vpcId), 'link', 'show', 'dev', names.eniLink(eni.NetworkInterfaceId!)])).code).toBe(0);
    // p is in the default group, which the interface is in: both addresses answer with i1's page.
    expect(await until('the interface’s primary address', async () => (await page('p', primary, 1)) === 'i1', 5_000, 100)).toBe(true);
    expect(await page('p', secondary)).toBe('i1');

    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
    await until(
      'eth1 and its veth to go',
      async () => {
        const inside = await hostRun(['ip', '-n', names.instanceNetns(id('i1')), 'link', 'show', 'dev', 'eth1']);
        const router = await hostRun(['ip', '-n', names.vpcNetns(v1.vpcId), 'link', 'show', 'dev', names.eniLink(eni.NetworkInterfaceId!)]);
        return inside.code !== 0 && router.code !== 0;
      },
      10_000,
      100,
    );
    expect(await page('p', primary)).toBeUndefined();
    expect(await page('p', priv4('i1'))).toBe('i1'); // eth0 is untouched
  });

  test('DNS: private names resolve to private IPs, another VPC’s public names to public IPs, nothing outside', async () => {
    expect(i.i2!.PrivateDnsName).toBe(`ip-${priv4('i2').replaceAll('.', '-')}.ec2.internal`);
    expect(await lookup('i1', i.i2!.PrivateDnsName!)).toContain(priv4('i2'));
    expect(await lookup('i1', i.i2!.PrivateDnsName!, '169.254.169.253')).toContain(priv4('i2'));
    const yName = i.y!.PublicDnsName || `ec2-${pub4('y').replaceAll('.', '-')}.compute-1.amazonaws.com`;
    expect(await lookup('i1', yName)).toContain(pub4('y'));
    // Egress is off: the resolver has no way to the outside world.
    expect(await lookup('i1', 'example.com')).toEqual([]);
  });

  test('egress off: nothing an instance sends leaves the machine', async () => {
    expect(await pings('i1', hostInternetAddress())).toBe(true); // its way out works up to the host
    const r = await inInstance(home, id('i1'), 'busybox nc -w 2 192.0.2.1 80 </dev/null'); // TEST-NET-1
    expect(r.code).not.toBe(0);
  });

  test('DeleteVpc with dependents: DependencyViolation', async () => {
    const e = await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: v1.vpcId })));
    expect(e.name).toBe('DependencyViolation');
  });

  test('terminate removes the instance’s namespace and veths; the last instance of a VPC takes the VPC’s with it', async () => {
    const ns4 = names.instanceNetns(id('i4'));
    const link4 = names.eniLink(i.i4!.NetworkInterfaces![0]!.NetworkInterfaceId!);
    const vpcNs1 = names.vpcNetns(v1.vpcId);
    expect(existsSync(`/run/netns/${ns4}`)).toBe(true);
    expect((await hostRun(['ip', '-n', vpcNs1, 'link', 'show', 'dev', link4])).code).toBe(0);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id('i4')] }));
    await waitState(ec2, id('i4'), 'terminated');
    await until(
      'i4’s namespace and veth to go',
      async () => !existsSync(`/run/netns/${ns4}`) && (await hostRun(['ip', '-n', vpcNs1, 'link', 'show', 'dev', link4])).code !== 0,
      10_000,
      100,
    );
    expect(existsSync(`/run/netns/${vpcNs1}`)).toBe(true); // VPC 1 still has instances

    // y is VPC 2's only instance: its namespace, uplink, ip rule and public route go with it.
    noteUplink(v2.vpcId);
    const up2 = uplinkAddressesOf(v2.vpcId).filter((a) => a.startsWith('169.254.'));
    expect(up2.length).toBeGreaterThan(0);
    const ipY = pub4('y');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id('y')] }));
    await waitState(ec2, id('y'), 'terminated');
    await until(
      'VPC 2’s data plane to go',
      async () => !existsSync(`/run/netns/${names.vpcNetns(v2.vpcId)}`) && !existsSync(`/sys/class/net/${names.uplink(v2.vpcId)}`),
      10_000,
      100,
    );
    const rules = execFileSync('ip', ['-4', 'rule', 'show'], { encoding: 'utf8' });
    for (const a of up2) expect(rules).not.toMatch(new RegExp(`from ${a.replaceAll('.', '\\.')}\\b`));
    expect(routedToUplink(home, ipY)).toBe(false);
  });

  test('a stopped server (with cleanup) leaves no namespace, link, nftables table, ip rule or route of its own', async () => {
    noteUplink(v1.vpcId);
    expect(uplinkAddresses.size).toBeGreaterThan(0);
    expect(ids().length).toBeGreaterThan(0);
    await server!.stop();
    server = undefined;
    const tag = names.tag;
    expect(readdirSync('/run/netns').filter((n) => n.startsWith(`cu-${tag}-`))).toEqual([]);
    expect(readdirSync('/sys/class/net').filter((n) => new RegExp(`^c[uv]${tag}`).test(n))).toEqual([]);
    expect(
      execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`_${tag}`) || l.trim().endsWith(tag)),
    ).toEqual([]);
    const rules = execFileSync('ip', ['-4', 'rule', 'show'], { encoding: 'utf8' });
    for (const a of uplinkAddresses) expect(rules).not.toMatch(new RegExp(`from ${a.replaceAll('.', '\\.')}\\b`));
    const prefix = pool.split('.').slice(0, 3).join('.') + '.';
    const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).split('\n');
    expect(routes.filter((l) => l.includes(prefix) || l.includes(`cv${tag}`))).toEqual([]);
  }, 120_000);
});
