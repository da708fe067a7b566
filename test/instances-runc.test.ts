// System test (root): real instances through the SDK, against a server with the runc driver. The
// minimal image boots in well under a second, so each behaviour gets its own instance or step:
// user data that serves a page, SSH with the key pair, the root volume across stop/start, the
// instance store across reboot and stop/start, the memory limit, the metadata service (IMDSv1,
// IMDSv2, HttpTokens=required), poweroff inside, the console, a SIGKILLed server, and one
// Debian instance end to end. Every host object goes in afterAll, even on failure.
//
// The host reaches instances as the internet does: through their public IPs (the subnet maps one at
// launch, its route table sends 0.0.0.0/0 to an attached internet gateway), on the ports the
// security group opens (22 and 80 on the VPC's default group, which otherwise admits only itself).
// A public IP changes on stop/start; the private one does not.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateKeyPairCommand,
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  GetConsoleOutputCommand,
  ModifyInstanceMetadataOptionsCommand,
  ModifySubnetAttributeCommand,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Credentials } from '../src/services/accounts.js';
import {
  needsInstances,
  killServers,
  spawnServer,
  clientFor,
  describe1,
  httpGet,
  imageAvailable,
  inInstance,
  publicPoolFor,
  ssh,
  startRuncServer,
  until,
  waitState,
  type RuncServer,
} from './runc-harness.js';

// The watcher notices a poweroff inside at once (conmon's exit file); its poll is the fallback.
process.env.CUMULO_INSTANCE_POLL_MS = '1000';
process.env.CUMULO_METRICS_INTERVAL_MS = '1000';
// Built images are shared by every state folder of the machine: Debian is built once, not per suite.
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

needsInstances.describe('real instances with the runc driver (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-runc-sdk-'));
  let server: RuncServer | undefined;
  let ec2: EC2Client;
  let admin: Credentials;
  let key = '';
  let subnetId = '';
  let minimalAmi = '';
  // Public IPs of its own: the host routes them, so parallel suites must not share a pool.
  const pool = publicPoolFor(100 + (process.pid % 50));
  const env = { CUMULO_PUBLIC_IPV4_POOL: pool };
  const net = '10.100';

  async function run(input: Partial<RunInstancesCommandInput> = {}): Promise<Instance> {
    const r = await ec2.send(
      new RunInstancesCommand({ ImageId: minimalAmi, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, KeyName: 'runc-test', SubnetId: subnetId, ...input }),
    );
    return r.Instances![0]!;
  }
  /** The instance as described now (its public IP changes on stop/start). */
  const pub = async (id: string) => (await describe1(ec2, id)).PublicIpAddress!;
  const sshOk = (ip: string, user = 'ec2-user') => until(`ssh to ${ip}`, async () => (await ssh(ip, user, key, 'true', 5_000)).code === 0, 30_000, 100);
  const sh = async (ip: string, cmd: string, user = 'ec2-user') => ssh(ip, user, key, cmd);
  const consoleOf = async (id: string) => Buffer.from((await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }))).Output ?? '', 'base64').toString();

  beforeAll(async () => {
    // keepHost: stopping it leaves instances running (the restart test); afterAll cleans up.
    server = await startRuncServer(home, { keepHost: true, env });
    ec2 = server.ec2;
    admin = server.app.admin;
    key = (await ec2.send(new CreateKeyPairCommand({ KeyName: 'runc-test', KeyType: 'ed25519' }))).KeyMaterial!;
    // A public subnet: an attached gateway, 0.0.0.0/0 to it, a public IP for every instance.
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: `${net}.0.0/16` }))).Vpc!.VpcId!;
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
    const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `${net}.1.0/24`, AvailabilityZone: 'us-east-1a' }));
    subnetId = subnet.Subnet!.SubnetId!;
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
    // The default group admits only its own members: open SSH and HTTP to the world (the host).
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'group-name', Values: ['default'] },
        ],
      }),
    );
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groups.SecurityGroups![0]!.GroupId!,
        IpPermissions: [22, 80].map((port) => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: '0.0.0.0/0' }] })),
      }),
    );
    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
    minimalAmi = images.Images![0]!.ImageId!;
  }, 600_000);

  afterAll(async () => {
    await killServers();
    // Whatever happened above, a server on this home with cleanup removes every instance and host object.
    if (server) await server.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
    const cleaner = await startRuncServer(home, { env });
    await cleaner.stop();
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 300_000);

  let web: Instance;
  test('user data starts a web server; the host fetches its page at the public IP', async () => {
    const userData = ['#!/bin/sh', 'mkdir -p /srv/www', 'echo "hello from $(hostname)" > /srv/www/index.html', 'httpd -p 80 -h /srv/www', 'echo user-data-done'].join('\n');
    web = await run({ UserData: Buffer.from(userData).toString('base64') });
    web = await waitState(ec2, web.InstanceId!, 'running', 300_000); // the first launch builds the image
    expect(web.PublicIpAddress).toMatch(new RegExp(`^198\\.19\\.${pool.split('.')[2]}\\.\\d+$`));
    const page = await until('the page', async () => {
      const r = await httpGet(web.PublicIpAddress!);
      return r?.status === 200 ? r : undefined;
    });
    expect(page.body.trim()).toBe(`hello from ${web.PrivateDnsName}`);
  }, 400_000);

  test('SSH with the key pair runs a command; ec2-user has passwordless sudo', async () => {
    await sshOk(web.PublicIpAddress!);
    const r = await sh(web.PublicIpAddress!, 'id -un; sudo -n id -u; hostname; sudo -n cat /var/log/cloud-init-output.log');
    expect(r.code).toBe(0);
    const [user, uid, host] = r.stdout.split('\n');
    expect([user, uid, host]).toEqual(['ec2-user', '0', web.PrivateDnsName]);
    expect(r.stdout).toContain('user-data-done');
  });

  test('GetConsoleOutput shows the boot and the user data', async () => {
    const out = await until('the console', async () => {
      const o = await consoleOf(web.InstanceId!);
      return o.includes('user-data-done') ? o : undefined;
    });
    expect(out).toContain('cumulo-init');
    expect(out).toContain('-----BEGIN SSH HOST KEY FINGERPRINTS-----');
  });

  test('the metadata service: IMDSv1, the IMDSv2 token flow, HttpTokens=required, the hop limit', async () => {
    const ip = web.PublicIpAddress!;
    const local = web.PrivateIpAddress!;
    // busybox's wget for GETs (-S: the status line on stderr); nc for the token PUT, its input
    // kept open a moment (a half-closed request gets no answer from Node's HTTP server).
    const req = async (method: string, path: string, headers: string[] = []) => {
      const h = headers.map((x) => `--header '${x}'`).join(' ');
      const cmd =
        method === 'GET'
          ? `wget -S -q -O /tmp/body ${h} http://169.254.169.254${path} 2>/tmp/head; grep -o 'HTTP/1.1 [0-9]*' /tmp/head | tail -1; echo; cat /tmp/body 2>/dev/null; rm -f /tmp/body`
          : `{ printf '${method} ${path} HTTP/1.0\r\n${headers.map((x) => `${x}\r\n`).join('')}\r\n'; sleep 0.3; } | nc -w 3 169.254.169.254 80 | tr -d '\r' | awk 'NR == 1 { print $1 " " $2; print ""; next } b { print } /^$/ { b = 1 }'`;
      return sh(ip, cmd);
    };
    const parse = (raw: string) => {
      const [status, ...body] = raw.split('\n');
      return { status: Number(/HTTP\/1\.[01] (\d+)/.exec(status ?? '')?.[1]), body: body.slice(1).join('\n').replace(/\n$/, '') };
    };
    const v1 = parse((await req('GET', '/latest/meta-data/instance-id')).stdout);
    expect(v1).toEqual({ status: 200, body: web.InstanceId });
    for (const [path, want] of [
      ['/latest/meta-data/local-ipv4', local],
      ['/latest/meta-data/public-ipv4', ip],
      ['/latest/meta-data/instance-type', 't3.micro'],
      ['/latest/meta-data/ami-id', minimalAmi],
      ['/latest/meta-data/placement/availability-zone', 'us-east-1a'],
    ] as const) {
      expect(parse((await req('GET', path)).stdout).body).toBe(want);
    }
    expect(parse((await req('GET', '/latest/meta-data/public-keys/0/openssh-key')).stdout).body).toMatch(/^ssh-ed25519 /);
    const doc = JSON.parse(parse((await req('GET', '/latest/dynamic/instance-identity/document')).stdout).body);
    expect(doc).toMatchObject({ instanceId: web.InstanceId, privateIp: local, region: 'us-east-1' });

    const token = parse((await req('PUT', '/latest/api/token', ['X-aws-ec2-metadata-token-ttl-seconds: 60'])).stdout);
    expect(token.status).toBe(200);
    expect(parse((await req('GET', '/latest/meta-data/instance-id', [`X-aws-ec2-metadata-token: ${token.body}`])).stdout).body).toBe(web.InstanceId);
    expect(parse((await req('GET', '/latest/meta-data/instance-id', ['X-aws-ec2-metadata-token: forged'])).stdout).status).toBe(401);

    await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: web.InstanceId, HttpTokens: 'required' }));
    expect(parse((await req('GET', '/latest/meta-data/instance-id')).stdout).status).toBe(401);
    expect(parse((await req('GET', '/latest/meta-data/instance-id', [`X-aws-ec2-metadata-token: ${token.body}`])).stdout).body).toBe(web.InstanceId);

    // The hop limit is the TTL metadata answers reach the instance with (1 by default: one hop more,
    // a container inside, and they are gone). A raw socket in the instance's namespace reads it.
    expect(await metadataTtl(web.InstanceId!)).toBe(1);
    await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: web.InstanceId, HttpPutResponseHopLimit: 3 }));
    await until('the new hop limit', async () => (await metadataTtl(web.InstanceId!)) === 3, 10_000, 200);
  });

  /** The IP TTL of the metadata service's answer as it arrives on the instance's eth0. */
  async function metadataTtl(instanceId: string): Promise<number | undefined> {
    // A raw socket sees a copy of every TCP segment the namespace receives.
    const py = [
      'import socket, struct',
      'r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP); r.settimeout(0.5)',
      "c = socket.create_connection(('169.254.169.254', 80), timeout=3)",
      "c.sendall(b'GET /latest/meta-data/ HTTP/1.0\\r\\n\\r\\n'); c.recv(65535); c.close()",
      'ttl = None',
      'try:',
      '  while ttl is None:',
      '    d, a = r.recvfrom(65535)',
      "    if a[0] == '169.254.169.254' and struct.unpack('!H', d[(d[0] & 15) * 4:][:2])[0] == 80: ttl = d[8]",
      'except socket.timeout: pass',
      'print(ttl)',
    ].join('\n');
    const r = await inInstance(home, instanceId, ['python3', '-c', py]);
    return /^\d+$/.test(r.stdout.trim()) ? Number(r.stdout.trim()) : undefined;
  }

  test('metrics: the host samples each running instance’s counters into the store', async () => {
    const rows = await until(
      'samples',
      async () => {
        const r = await server!.app.db.selectFrom('instance_metrics').selectAll().where('instance_id', '=', web.InstanceId!).execute();
        return r.length >= 2 ? r : undefined;
      },
      15_000,
      200,
    );
    const last = rows.at(-1)!;
    expect(last.cpu_us).toBeGreaterThan(0);
    expect(last.memory_bytes).toBeGreaterThan(0);
    expect(last.memory_limit_bytes).toBe(1024 * 2 ** 20); // t3.micro
    expect(last.pids).toBeGreaterThan(1);
    expect(last.net_in_bytes).toBeGreaterThan(0);
    expect(last.disk_read_bytes + last.disk_write_bytes).toBeGreaterThan(0);
    expect(rows[0]!.cpu_us).toBeLessThanOrEqual(last.cpu_us); // counters
  });

  test('the root volume: described as attached, its data survives stop and start; user data does not run again', async () => {
    const ip = web.PublicIpAddress!;
    const vols = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [web.InstanceId!] }] }));
    expect(vols.Volumes).toHaveLength(1);
    expect(vols.Volumes![0]!.Attachments![0]).toMatchObject({ Device: '/dev/xvda', State: 'attached', DeleteOnTermination: true });
    expect((await sh(ip, 'echo kept > ~/data; sync; echo ok')).stdout.trim()).toBe('ok');
    await ec2.send(new StopInstancesCommand({ InstanceIds: [web.InstanceId!] }));
    await waitState(ec2, web.InstanceId!, 'stopped');
    await ec2.send(new StartInstancesCommand({ InstanceIds: [web.InstanceId!] }));
    const again = await waitState(ec2, web.InstanceId!, 'running');
    expect(again.PrivateIpAddress).toBe(web.PrivateIpAddress);
    expect(again.PublicIpAddress).toBeDefined(); // a new public IP (EC2 gives one on every start)
    web = again;
    const ip2 = again.PublicIpAddress!;
    await sshOk(ip2);
    expect((await sh(ip2, 'cat ~/data')).stdout.trim()).toBe('kept');
    expect((await sh(ip2, 'sudo -n grep -c user-data-done /var/log/cloud-init-output.log')).stdout.trim()).toBe('1');
    expect(await httpGet(ip2)).toBeUndefined(); // the web server was the user data's: not started again
  });

  test('the instance store keeps its data across a reboot, not across stop and start', async () => {
    let i = await run({ InstanceType: 'm5d.large' });
    i = await waitState(ec2, i.InstanceId!, 'running');
    const ip = i.PublicIpAddress!;
    await sshOk(ip);
    expect((await sh(ip, 'sudo sh -c "echo ephemeral > /mnt/file; sync"; cat /mnt/file')).stdout.trim()).toBe('ephemeral');
    const booted = (await sh(ip, 'cat /proc/1/stat')).stdout;
    await ec2.send(new RebootInstancesCommand({ InstanceIds: [i.InstanceId!] }));
    await until('the reboot', async () => (await ssh(ip, 'ec2-user', key, 'cat /proc/1/stat', 5_000)).stdout !== booted, 30_000, 200);
    expect((await sh(ip, 'cat /mnt/file')).stdout.trim()).toBe('ephemeral');
    await ec2.send(new StopInstancesCommand({ InstanceIds: [i.InstanceId!] }));
    await waitState(ec2, i.InstanceId!, 'stopped');
    await ec2.send(new StartInstancesCommand({ InstanceIds: [i.InstanceId!] }));
    await waitState(ec2, i.InstanceId!, 'running');
    const ip2 = await pub(i.InstanceId!);
    await sshOk(ip2);
    expect((await sh(ip2, 'cat /mnt/file 2>/dev/null || echo gone')).stdout.trim()).toBe('gone');
    expect((await sh(ip2, 'df -k /mnt | tail -1')).stdout).toMatch(/\/mnt/);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
  });

  let nano: Instance;
  test('a process that allocates more than the type’s memory is killed; the instance lives on', async () => {
    nano = await run({ InstanceType: 't3.nano' });
    nano = await waitState(ec2, nano.InstanceId!, 'running');
    await sshOk(nano.PublicIpAddress!);
    // tail keeps a line without newlines whole: 700 MiB of zeros in a 512 MiB instance.
    const r = await sh(nano.PublicIpAddress!, 'head -c 700m /dev/zero | tail > /dev/null; echo "exit=$?"; free -m | grep Mem');
    expect(r.stdout).toMatch(/exit=137/);
    expect((await describe1(ec2, nano.InstanceId!)).State?.Name).toBe('running');
    expect((await sh(nano.PublicIpAddress!, 'echo alive')).stdout.trim()).toBe('alive');
  });

  test('poweroff inside stops the instance (InstanceInitiatedShutdownBehavior=stop)', async () => {
    await sh(nano.PublicIpAddress!, 'sudo poweroff').catch(() => undefined);
    const stopped = await waitState(ec2, nano.InstanceId!, 'stopped', 20_000);
    expect(stopped.StateReason?.Code).toBe('Client.InstanceInitiatedShutdown');
  });

  test('poweroff inside terminates it with InstanceInitiatedShutdownBehavior=terminate; its root volume goes', async () => {
    let i = await run({ InstanceInitiatedShutdownBehavior: 'terminate' });
    i = await waitState(ec2, i.InstanceId!, 'running');
    const vol = (await describe1(ec2, i.InstanceId!)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    await sshOk(i.PublicIpAddress!);
    await sh(i.PublicIpAddress!, 'sudo poweroff').catch(() => undefined);
    await waitState(ec2, i.InstanceId!, 'terminated', 30_000);
    await until('the volume to go', async () => !existsSync(join(home, 'volumes', `${vol}.raw`)), 10_000);
    const vols = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [vol] }] }));
    expect(vols.Volumes).toEqual([]);
    expect(existsSync(join(home, 'instances', i.InstanceId!))).toBe(false);
  });

  test('a SIGKILLed server: the next one adopts the running instances and finishes a launch in flight', async () => {
    // A real server leaves its instances running when it stops.
    const initPid = readFileSync(join(home, 'instances', web.InstanceId!, 'init.pid'), 'utf8');
    await server!.stop();
    server = undefined;
    // … and its data plane with them: the public IP still answers.
    const ip = web.PublicIpAddress!;
    expect((await sh(ip, 'echo still-up')).stdout.trim()).toBe('still-up');

    const child1 = await spawnServer(home, { env });
    const ec2a = clientFor(child1.url, admin);
    const launched = (
      await ec2a.send(new RunInstancesCommand({ ImageId: minimalAmi, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, KeyName: 'runc-test', SubnetId: subnetId }))
    ).Instances![0]!;
    // Killed mid-launch, perhaps mid-step: no chance to clean up anything.
    await new Promise((r) => setTimeout(r, 60));
    await child1.kill('SIGKILL');

    // A bundle whose instance the store never knew (a launch whose row was never committed).
    const orphan = join(home, 'instances', 'i-0fffffffffffffff0');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, 'spec.json'), '{}');

    const child2 = await spawnServer(home, { env });
    expect(existsSync(orphan)).toBe(false);
    const ec2b = clientFor(child2.url, admin);
    expect((await describe1(ec2b, web.InstanceId!)).State?.Name).toBe('running');
    expect(readFileSync(join(home, 'instances', web.InstanceId!, 'init.pid'), 'utf8')).toBe(initPid); // the same boot
    const done = await waitState(ec2b, launched.InstanceId!, 'running', 60_000);
    await sshOk(done.PublicIpAddress!);
    await ec2b.send(new TerminateInstancesCommand({ InstanceIds: [launched.InstanceId!] }));
    await waitState(ec2b, launched.InstanceId!, 'terminated');
    await child2.kill('SIGTERM');
    server = await startRuncServer(home, { keepHost: true, env });
    ec2 = server.ec2;
    expect((await describe1(ec2, web.InstanceId!)).State?.Name).toBe('running');
    expect((await sh(ip, 'echo adopted')).stdout.trim()).toBe('adopted');
  }, 120_000);

  test('the Debian image boots end to end: SSH as admin, sudo, python3, cloud-config user data', async () => {
    await imageAvailable(ec2, 'debian-12-amd64-*', 1_500_000); // built at the server's start where the machine's cache lacks it
    const images = await ec2.send(new DescribeImagesCommand({ Owners: ['136693071363'], Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }));
    const userData = [
      '#cloud-config',
      'write_files:',
      '  - path: /etc/motd-test',
      '    content: written-by-cloud-config',
      'runcmd:',
      '  - [sh, -c, "echo runcmd-done > /root/runcmd"]',
    ].join('\n');
    let i = await run({ ImageId: images.Images![0]!.ImageId, UserData: Buffer.from(userData).toString('base64') });
    i = await waitState(ec2, i.InstanceId!, 'running', 300_000);
    await until('ssh as admin', async () => (await ssh(i.PublicIpAddress!, 'admin', key, 'true', 5_000)).code === 0, 60_000, 200);
    // Its user data runs after sshd is up (as cloud-init's final stage does): wait for it as `cloud-init status --wait` would.
    await until('the user data', async () => (await sh(i.PublicIpAddress!, 'test -e /var/lib/cloud/instance/boot-finished', 'admin')).code === 0, 60_000, 200);
    const r = await sh(i.PublicIpAddress!, '. /etc/os-release; echo $VERSION_ID; sudo -n cat /root/runcmd; cat /etc/motd-test; echo; python3 -c "print(6*7)"', 'admin');
    expect(r.stdout.split('\n').slice(0, 4)).toEqual(['12', 'runcmd-done', 'written-by-cloud-config', '42']);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
    await waitState(ec2, i.InstanceId!, 'terminated');
  }, 1_800_000);
});
