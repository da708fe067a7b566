// System test (root): a NAT instance. Instance A sits in a private subnet (no public IP) whose
// route table sends 0.0.0.0/0 to instance N in a public subnet; N forwards and masquerades. A
// reaches the internet (the host, as in vpc-dataplane.test.ts) through N only while N's
// source/destination check is off; with it on, the VPC router drops what N is sent for others and
// what N sends as others. The route is `active` while N runs, `blackhole` once it is stopped, and
// the kernel's route table says the same.
//
// N turns on forwarding itself, from its user data (its /proc/sys/net is its own network
// namespace's, writable). Its masquerade is set up from the host inside N's network namespace
// (inInstance, as the other data-plane tests act "from inside" an instance): the built-in images
// carry no iptables or nft.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateManagedPrefixListCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeRouteTablesCommand,
  GetConsoleOutputCommand,
  ModifyInstanceAttributeCommand,
  ModifyManagedPrefixListCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ModifySubnetAttributeCommand,
  ReplaceRouteCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { subnetTable } from '../src/host/network/ip.js';
import { needsInstances, dataPlaneNames, describe1, inInstance, publicPoolFor, startRuncServer, until, waitState, type RuncServer } from './runc-harness.js';

process.env.CUMULO_INSTANCE_POLL_MS = '1000';
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

needsInstances.describe('a NAT instance (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-nat-instance-'));
  const names = dataPlaneNames(home);
  const pool = publicPoolFor(253 + (process.pid % 3));
  const CIDR = '10.30.0.0/16';
  const PRIVATE = '10.30.2.0/24';
  let server: RuncServer | undefined;
  let ec2: EC2Client;
  let vpcId = '';
  let rtPriv = '';
  let prefixList = '';
  let a: Instance;
  let n: Instance;
  /** The host as the internet: the pool's first address (it answers pings). */
  const internet = pool.replace(/\.0\/24$/, '.1');

  const pings = async (from: Instance, ip: string) => (await inInstance(home, from.InstanceId!, `busybox ping -c 1 -W 1 ${ip}`)).code === 0;
  const routeState = async () => {
    const r = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtPriv] }));
    return r.RouteTables![0]!.Routes!.find((x) => x.DestinationCidrBlock === '0.0.0.0/0');
  };
  /** The private subnet's kernel route for 0.0.0.0/0 in the VPC router. */
  const kernelRoute = () =>
    execFileSync('ip', ['netns', 'exec', names.vpcNetns(vpcId), 'ip', '-4', 'route', 'show', 'table', String(subnetTable(PRIVATE)), 'default'], { encoding: 'utf8' }).trim();
  /** The masquerade rule's packet count inside N. */
  const masqueraded = async () => {
    const r = await inInstance(home, n.InstanceId!, 'nft list chain ip natinst post');
    return Number(/counter packets (\d+)/.exec(r.stdout)?.[1] ?? -1);
  };
  const setSourceDestCheck = (value: boolean) => ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: n.InstanceId!, SourceDestCheck: { Value: value } }));
  /** N forwards and masquerades what it forwards (what a NAT AMI's boot script does). */
  const natOn = async () => {
    const script = [
      'sysctl -q -w net.ipv4.ip_forward=1',
      'nft add table ip natinst',
      "nft add chain ip natinst post '{ type nat hook postrouting priority srcnat; }'",
      `nft add rule ip natinst post oifname eth0 ip saddr ${PRIVATE} counter masquerade`,
    ].join(' && ');
    const r = await inInstance(home, n.InstanceId!, script);
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    server = await startRuncServer(home, { env: { CUMULO_PUBLIC_IPV4_POOL: pool } });
    ec2 = server.ec2;
    const ami = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }))).Images![0]!.ImageId!;
    vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: CIDR }))).Vpc!.VpcId!;
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
    const pub = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.30.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: pub, MapPublicIpOnLaunch: { Value: true } }));
    const priv = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: PRIVATE, AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    rtPriv = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtPriv, SubnetId: priv }));
    // N admits everything from the VPC (what it forwards arrives addressed to others), named by a prefix list.
    const sgNat = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'nat', Description: 'nat' }))).GroupId!;
    prefixList = (await ec2.send(new CreateManagedPrefixListCommand({ PrefixListName: 'vpc', AddressFamily: 'IPv4', MaxEntries: 2, Entries: [{ Cidr: CIDR }] }))).PrefixList!
      .PrefixListId!;
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sgNat, IpPermissions: [{ IpProtocol: '-1', PrefixListIds: [{ PrefixListId: prefixList }] }] }));

    const run = async (subnetId: string, groups?: string[], userData?: string) =>
      (
        await ec2.send(
          new RunInstancesCommand({
            ImageId: ami,
            InstanceType: 't3.nano',
            MinCount: 1,
            MaxCount: 1,
            SubnetId: subnetId,
            ...(groups ? { SecurityGroupIds: groups } : {}),
            ...(userData ? { UserData: Buffer.from(userData).toString('base64') } : {}),
          }),
        )
      ).Instances![0]!;
    // What a NAT AMI's boot does first: forward. (Only its own network settings are its to change.)
    n = await run(pub, [sgNat], '#!/bin/sh\necho 1 > /proc/sys/net/ipv4/ip_forward\nif echo 2 > /proc/sys/vm/overcommit_memory; then echo vm-written; else echo vm-refused; fi\n');
    a = await run(priv);
    await waitState(ec2, n.InstanceId!, 'running', 300_000);
    await waitState(ec2, a.InstanceId!, 'running', 120_000);
    n = await describe1(ec2, n.InstanceId!);
    a = await describe1(ec2, a.InstanceId!);
    // The guest turned forwarding on in its own network namespace (not the host's, not A's).
    const forwarding = async (i: Instance) => (await inInstance(home, i.InstanceId!, 'cat /proc/sys/net/ipv4/ip_forward')).stdout.trim();
    await until('N forwards (its user data)', async () => (await forwarding(n)) === '1', 30_000, 100);
    expect(await forwarding(a)).toBe('0');
    const console = await until('N’s user data output', async () => {
      const out = Buffer.from((await ec2.send(new GetConsoleOutputCommand({ InstanceId: n.InstanceId! }))).Output ?? '', 'base64').toString();
      return /vm-(written|refused)/.test(out) ? out : undefined;
    });
    expect(console).toContain('vm-refused');
    await natOn();
  }, 600_000);

  afterAll(async () => {
    if (server) await server.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
    const cleaner = await startRuncServer(home, { env: { CUMULO_PUBLIC_IPV4_POOL: pool } });
    await cleaner.stop();
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 300_000);

  test('A has no public IP and no way out of its private subnet without a route', async () => {
    expect(a.PublicIpAddress).toBeUndefined();
    expect(n.PublicIpAddress).toBeDefined();
    expect(await pings(n, internet)).toBe(true); // N itself reaches the internet through the gateway
    expect(await pings(a, internet)).toBe(false);
  });

  test('a route to a running instance is active and sends the packets to its interface', async () => {
    await ec2.send(new CreateRouteCommand({ RouteTableId: rtPriv, DestinationCidrBlock: '0.0.0.0/0', InstanceId: n.InstanceId! }));
    const r = await routeState();
    expect(r).toMatchObject({ InstanceId: n.InstanceId, NetworkInterfaceId: n.NetworkInterfaces![0]!.NetworkInterfaceId, State: 'active' });
    const route = await until('the kernel route through N', async () => {
      const k = kernelRoute();
      return k.includes(`via ${n.PrivateIpAddress}`) ? k : undefined;
    });
    expect(route).toContain(`dev ${names.eniLink(n.NetworkInterfaces![0]!.NetworkInterfaceId!)}`);
  });

  test('with the source/destination check on (the default), A’s packets through N are dropped', async () => {
    expect((await describe1(ec2, n.InstanceId!)).SourceDestCheck).toBe(true);
    const before = await masqueraded();
    expect(await pings(a, internet)).toBe(false);
    // Dropped on the way in to N (not addressed to N): N never saw them to masquerade.
    expect(await masqueraded()).toBe(before);
  });

  test('with the check off, A reaches the internet through N (masqueraded), and only through N', async () => {
    await setSourceDestCheck(false);
    const before = await masqueraded();
    await until('A pings the internet through N', async () => pings(a, internet), 30_000, 200);
    expect(await masqueraded()).toBeGreaterThan(before);
    // N stops forwarding: A is cut off again (the path was N).
    expect((await inInstance(home, n.InstanceId!, 'sysctl -q -w net.ipv4.ip_forward=0')).code).toBe(0);
    expect(await pings(a, internet)).toBe(false);
    expect((await inInstance(home, n.InstanceId!, 'sysctl -q -w net.ipv4.ip_forward=1')).code).toBe(0);
    expect(await pings(a, internet)).toBe(true);
  });

  test('the check back on (on the interface): dropped again', async () => {
    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: n.NetworkInterfaces![0]!.NetworkInterfaceId!, SourceDestCheck: { Value: true } }));
    await until('A is cut off', async () => !(await pings(a, internet)), 30_000, 200);
    await setSourceDestCheck(false);
    await until('A through N again', async () => pings(a, internet), 30_000, 200);
  });

  test('N admits what it forwards through a prefix list: its entries are what the data plane filters on', async () => {
    expect(await pings(a, internet)).toBe(true);
    // The VPC's block out of the list (another in): N's group no longer admits A.
    await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: prefixList, AddEntries: [{ Cidr: '10.31.0.0/16' }], RemoveEntries: [{ Cidr: CIDR }] }));
    await until('A is cut off by N’s group', async () => !(await pings(a, internet)), 30_000, 200);
    await ec2.send(new ModifyManagedPrefixListCommand({ PrefixListId: prefixList, AddEntries: [{ Cidr: CIDR }], RemoveEntries: [{ Cidr: '10.31.0.0/16' }] }));
    await until('A through N again', async () => pings(a, internet), 30_000, 200);
  });

  test('a route to the interface works the same; N stopped: the route is a blackhole, in the API and in the kernel', async () => {
    const eniId = n.NetworkInterfaces![0]!.NetworkInterfaceId!;
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: rtPriv, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: eniId }));
    expect(await routeState()).toMatchObject({ NetworkInterfaceId: eniId, InstanceId: n.InstanceId, State: 'active' });
    expect(await pings(a, internet)).toBe(true);

    await ec2.send(new StopInstancesCommand({ InstanceIds: [n.InstanceId!] }));
    await waitState(ec2, n.InstanceId!, 'stopped', 120_000);
    expect((await routeState())?.State).toBe('blackhole');
    await until('the kernel route is a blackhole', async () => kernelRoute().startsWith('blackhole'));
    expect(await pings(a, internet)).toBe(false);

    // Started again, it forwards again (its guest's forwarding is set up anew: a new namespace).
    await ec2.send(new StartInstancesCommand({ InstanceIds: [n.InstanceId!] }));
    await waitState(ec2, n.InstanceId!, 'running', 120_000);
    expect((await routeState())?.State).toBe('active');
    await until('the kernel route goes through N again', async () => kernelRoute().includes(`via ${n.PrivateIpAddress}`));
    await natOn();
    await until('A through N after the restart', async () => pings(a, internet), 30_000, 200);
  }, 300_000);
});
