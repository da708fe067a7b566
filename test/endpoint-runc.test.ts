// System test (root): the API from inside an instance with no configuration, as an interface VPC
// endpoint with private DNS gives it on AWS. A Debian instance (python3-boto3 in the image) runs
// boto3 with only an access key in the command's environment: its region comes from ~/.aws/config
// (written by the guest init), ec2.<region>.amazonaws.com from the VPC's resolver (base+2), HTTPS
// from the API's endpoint behind base+2:443, trust from cumulo's CA (bound into the instance). The
// API's own port is reached at no address of the host: the server listens on every address here, so
// only the host's table keeps instances out.
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  AssociateIamInstanceProfileCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateKeyPairCommand,
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { imageAvailable, inInstance, needsInstances, ssh, startRuncServer, until, waitState, type RuncServer } from './runc-harness.js';

// Built images are shared by every state folder of the machine: Debian is built once, not per suite.
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

needsInstances.describe('the API from inside an instance (root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-endpoint-'));
  let server: RuncServer | undefined;
  let ec2: EC2Client;
  let key = '';
  let instance: Instance;
  const net = '10.103';
  const resolver = `${net}.0.2`;
  const sh = (cmd: string, timeoutMs = 60_000) => ssh(instance.PublicIpAddress!, 'admin', key, cmd, timeoutMs);

  beforeAll(async () => {
    // Every address of the host: the table, not the bind address, must keep instances from the API's port.
    server = await startRuncServer(home, { env: { CUMULO_HOST: '0.0.0.0' } });
    ec2 = server.ec2;
    key = (await ec2.send(new CreateKeyPairCommand({ KeyName: 'endpoint-test', KeyType: 'ed25519' }))).KeyMaterial!;
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
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `${net}.1.0/24`, AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
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
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    // Built at the server's start where the machine's cache lacks it (minutes).
    const ami = await imageAvailable(ec2, 'debian-12-amd64-*', 1_500_000);
    const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, KeyName: 'endpoint-test', SubnetId: subnetId }));
    instance = await waitState(ec2, r.Instances![0]!.InstanceId!, 'running', 300_000);
    await until('ssh as admin', async () => (await ssh(instance.PublicIpAddress!, 'admin', key, 'true', 5_000)).code === 0, 60_000, 200);
    // The CA is made trusted in the boot's background part, before user data: wait for it as `cloud-init status --wait` would.
    await until('the boot to finish', async () => (await sh('test -e /var/lib/cloud/instance/boot-finished', 10_000)).code === 0, 60_000, 200);
  }, 1_800_000);

  afterAll(async () => {
    try {
      if (instance?.InstanceId) {
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance.InstanceId] }));
        await waitState(ec2, instance.InstanceId, 'terminated');
      }
    } finally {
      await server?.stop();
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);

  test('boto3 with nothing but a key in its environment reaches EC2 over HTTPS at ec2.<region>.amazonaws.com', async () => {
    const admin = server!.app.admin;
    const py = [
      'import boto3',
      "c = boto3.client('ec2')",
      'print(c.meta.endpoint_url, c.meta.region_name)',
      "print(sorted(r['RegionName'] for r in c.describe_regions()['Regions']))",
    ].join('; ');
    const r = await sh(`AWS_ACCESS_KEY_ID=${admin.accessKeyId} AWS_SECRET_ACCESS_KEY=${admin.secretAccessKey} python3 -c "${py}"`);
    expect(r.code, r.stderr).toBe(0);
    const [endpoint, regions] = r.stdout.trim().split('\n');
    expect(endpoint).toBe('https://ec2.us-east-1.amazonaws.com us-east-1');
    expect(regions).toContain("'us-east-1'");
    expect(regions).toContain("'eu-west-1'");
    // What made it work, each written for the instance: its region, and the CA in the system's trust.
    expect((await sh('cat ~/.aws/config; sudo -n cat /root/.aws/config')).stdout).toBe('[default]\nregion = us-east-1\n[default]\nregion = us-east-1\n');
    expect((await sh('grep -c BEGIN /usr/lib/cumulo/ca.pem; test -L /etc/ssl/certs/cumulo.pem && echo trusted')).stdout.trim()).toBe('1\ntrusted');
    // A bad key is refused by the API itself (the request did reach it).
    const bad = await sh(`AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=x python3 -c "import boto3; boto3.client('ec2').describe_regions()"`);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/AuthFailure/);
  });

  test('an instance profile: inside the instance, boto3 with no configuration at all gets the role’s credentials; its policy decides (UnauthorizedOperation otherwise)', async () => {
    const admin = server!.app.admin;
    const account = admin.accountId;
    const iam = new IAMClient({ endpoint: server!.app.url, region: 'us-east-1', credentials: admin, maxAttempts: 1 });
    const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'web',
        AssumeRolePolicyDocument: doc([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'web',
        PolicyName: 'web-instances',
        PolicyDocument: doc([
          { Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' },
          { Effect: 'Allow', Action: 'ec2:CreateTags', Resource: 'arn:aws:ec2:*:*:instance/*', Condition: { StringEquals: { 'ec2:ResourceTag/team': 'web' } } },
        ]),
      }),
    );
    const profile = (await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'web' }))).InstanceProfile!;
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'web', RoleName: 'web' }));
    await ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: instance.InstanceId!, IamInstanceProfile: { Arn: profile.Arn! } }));
    // Two instances to tag: this one (team=web) and a minimal one (team=db), which the role may not touch.
    await ec2.send(new CreateTagsCommand({ Resources: [instance.InstanceId!], Tags: [{ Key: 'team', Value: 'web' }] }));
    const minimal = await imageAvailable(ec2, 'cumulo-minimal-x86_64-*');
    const other = (
      await ec2.send(
        new RunInstancesCommand({
          ImageId: minimal,
          InstanceType: 't3.nano',
          MinCount: 1,
          MaxCount: 1,
          SubnetId: instance.SubnetId!,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'team', Value: 'db' }] }],
        }),
      )
    ).Instances![0]!.InstanceId!;
    try {
      // No key, no region, no endpoint, no CA given: the metadata service, the resolver and the image supply them.
      const py = (body: string) => `python3 - <<'EOF'\nimport boto3, botocore\nc = boto3.client('ec2')\n${body}\nEOF`;
      const call = (expr: string) => py(`try:\n    ${expr}\n    print('ok')\nexcept botocore.exceptions.ClientError as e:\n    print(e.response['Error']['Code'])`);
      const who = await sh(py(`print(boto3.client('sts').get_caller_identity()['Arn'])`));
      expect(who.code, who.stderr).toBe(0);
      expect(who.stdout.trim()).toBe(`arn:aws:sts::${account}:assumed-role/web/${instance.InstanceId}`);
      const described = await sh(py(`print(sorted(i['InstanceId'] for r in c.describe_instances()['Reservations'] for i in r['Instances']))`));
      expect(described.code, described.stderr).toBe(0);
      expect(described.stdout).toContain(instance.InstanceId!);
      expect(described.stdout).toContain(other);
      const tagWeb = await sh(call(`c.create_tags(Resources=['${instance.InstanceId}'], Tags=[{'Key': 'seen', 'Value': 'yes'}])`));
      expect(tagWeb.stdout.trim(), tagWeb.stderr).toBe('ok');
      const tagDb = await sh(call(`c.create_tags(Resources=['${other}'], Tags=[{'Key': 'seen', 'Value': 'yes'}])`));
      expect(tagDb.stdout.trim(), tagDb.stderr).toBe('UnauthorizedOperation');
      const terminate = await sh(call(`c.terminate_instances(InstanceIds=['${other}'])`));
      expect(terminate.stdout.trim(), terminate.stderr).toBe('UnauthorizedOperation');
      // What the role was refused did not happen.
      const described2 = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [other] }));
      const o = described2.Reservations![0]!.Instances![0]!;
      expect(o.State!.Name).not.toMatch(/shutting-down|terminated/);
      expect((o.Tags ?? []).map((t) => t.Key)).not.toContain('seen');
    } finally {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [other] }));
      await waitState(ec2, other, 'terminated');
    }
  });

  test("the endpoint names resolve to the VPC's base+2; other names as before", async () => {
    const r = await sh('getent hosts sts.amazonaws.com; getent hosts iam.amazonaws.com; getent hosts sts.eu-west-1.amazonaws.com');
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/)),
    ).toEqual([
      [resolver, 'sts.amazonaws.com'],
      [resolver, 'iam.amazonaws.com'],
      [resolver, 'sts.eu-west-1.amazonaws.com'],
    ]);
    // Not an endpoint name: not ours (egress is off: nothing relays it).
    expect((await sh('getent hosts s3.us-east-1.amazonaws.com')).code).not.toBe(0);
  });

  test("the instance reaches the API's own port at no address of the host; only base+2:443", async () => {
    const port = server!.app.address.port;
    const hostAddrs = Object.entries(networkInterfaces())
      .filter(([name]) => name !== 'lo' && !name.startsWith('cv'))
      .flatMap(([, list]) => (list ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address));
    expect(hostAddrs.length).toBeGreaterThan(0);
    const pool = server!.app.config.publicPool.replace(/0\/\d+$/, '1'); // the host as the internet
    // The host itself reaches the API at those addresses (it listens on all of them).
    const fromHost = await fetch(`http://${hostAddrs[0]}:${port}/healthz`);
    expect(fromHost.status).toBe(200);
    const probe = (url: string, extra: string[] = []) =>
      inInstance(home, instance.InstanceId!, ['curl', '-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', ...extra, url], 10_000).then((r) => r.stdout.trim());
    for (const ip of [...hostAddrs, pool, `${net}.1.1`, resolver]) {
      expect([ip, await probe(`http://${ip}:${port}/healthz`)]).toEqual([ip, '000']);
      expect([ip, await probe(`https://${ip}:${port}/healthz`, ['-k'])]).toEqual([ip, '000']);
    }
    // The same probe sees the endpoint: HTTPS, verified for its name with the state folder's CA; plain HTTP there is not spoken.
    const ca = server!.app.tls.caFile!;
    expect(await probe('https://ec2.us-east-1.amazonaws.com/healthz', ['--cacert', ca, '--resolve', `ec2.us-east-1.amazonaws.com:443:${resolver}`])).toBe('200');
    expect(await probe(`http://${resolver}:443/healthz`)).toBe('000');
  });
});
