// The real thing, end to end: the built server started as `cumulo start` in its own process, the
// environment taken from `cumulo env` exactly as a user would `eval` it, and the unmodified AWS CLI
// talking to it. Families are exercised when the built registry has them, so this grows with them.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from './harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'cli', 'main.js');

let home: string;
let server: ChildProcess | undefined;
let serverExit: Promise<number | null>;
let serverLog = '';
let cumuloEnv: Record<string, string>;
/** Operations the built server implements (its own registry, not the source tree's). */
let implemented: Set<string>;

/** The environment of every child: the state folder and port, and nothing from the user's AWS setup. */
function baseEnv(port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('CUMULO_')) env[k] = v;
  return {
    ...env,
    CUMULO_HOME: home,
    CUMULO_PORT: String(port),
    CUMULO_DRIVER: 'fake',
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
  };
}

let env0: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `eval "$(cumulo env)"`: each line is `export NAME=value`, the value shell-quoted when it needs to be. */
function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith("'")) v = v.slice(1, -1).replace(/'\\''/g, "'");
    out[m[1]!] = v;
  }
  return out;
}

/** Runs `aws …` with the cumulo environment (or another account's) and parses its JSON answer. */
async function aws(args: string[], creds: Record<string, string> = cumuloEnv): Promise<any> {
  const r = await run('aws', [...args, '--output', 'json'], { ...env0, ...cumuloEnv, ...creds });
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}\n--- server log ---\n${serverLog.slice(-2000)}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
}

const has = (...ops: string[]) => ops.every((op) => implemented.has(op));

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: the CLI test runs the build. Run \`npm test\` (it builds first) or \`npm run build\`.`);
  if (spawnSync('aws', ['--version'], { stdio: 'ignore' }).error) {
    throw new Error('the AWS CLI (`aws`) is not installed. `npm test` installs it (scripts/ensure.mjs, testPackages: awscli), or: apt-get install awscli');
  }
  home = mkdtempSync(join(tmpdir(), 'cumulo-cli-'));
  const port = await freePort();
  env0 = baseEnv(port);

  const registry = (await import(pathToFileURL(join(root, 'dist', 'services', 'registry.js')).href)) as {
    serviceRegistry(): Map<string, { handlers: Record<string, unknown> }>;
  };
  implemented = new Set(Object.keys(registry.serviceRegistry().get('ec2')?.handlers ?? {}));

  server = spawn(process.execPath, [main, 'start'], { env: env0, stdio: ['ignore', 'pipe', 'pipe'] });
  serverExit = new Promise((resolve) => server!.once('exit', (code) => resolve(code)));
  server.stdout!.on('data', (d: Buffer) => (serverLog += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!serverLog.includes('serving the EC2 API on')) {
    if (server.exitCode !== null) throw new Error(`cumulo start exited ${server.exitCode}:\n${serverLog}`);
    if (Date.now() > deadline) throw new Error(`cumulo start did not come up in 30 s:\n${serverLog}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  const env = await run(process.execPath, [main, 'env'], env0);
  expect(env.code, env.stderr).toBe(0);
  cumuloEnv = parseExports(env.stdout);
});

afterAll(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('the AWS CLI against `cumulo start`', () => {
  test('`cumulo env` prints the five exports, pointing at this server', () => {
    expect(Object.keys(cumuloEnv).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_CA_BUNDLE', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_SECRET_ACCESS_KEY']);
    expect(cumuloEnv.AWS_ENDPOINT_URL).toBe(`http://127.0.0.1:${env0.CUMULO_PORT}`);
    expect(cumuloEnv.AWS_CA_BUNDLE).toBe(join(home, 'tls', 'ca.pem'));
    expect(existsSync(cumuloEnv.AWS_CA_BUNDLE!)).toBe(true);
    expect(cumuloEnv.AWS_ACCESS_KEY_ID).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(cumuloEnv.AWS_DEFAULT_REGION).toBe('us-east-1');
  });

  test('aws ec2 describe-regions', async () => {
    const out = await aws(['ec2', 'describe-regions']);
    expect(out.Regions.map((r: any) => r.RegionName)).toContain('us-east-1');
    expect(out.Regions.find((r: any) => r.RegionName === 'eu-west-1')).toMatchObject({ Endpoint: expect.any(String) });
  });

  test('`cumulo env --https`: the AWS CLI verifies the https:// endpoint with AWS_CA_BUNDLE', async () => {
    const env = await run(process.execPath, [main, 'env', '--https'], env0);
    expect(env.code, env.stderr).toBe(0);
    const https = parseExports(env.stdout);
    expect(https.AWS_ENDPOINT_URL).toBe(`https://127.0.0.1:${env0.CUMULO_PORT}`);
    const r = await run('aws', ['ec2', 'describe-regions', '--output', 'json'], { ...env0, ...https });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).Regions.map((x: any) => x.RegionName)).toContain('us-east-1');
    // Without the bundle the same call is refused: the certificate is the state folder's own.
    const { AWS_CA_BUNDLE: _, ...unverified } = https;
    const refused = await run('aws', ['ec2', 'describe-regions', '--output', 'json'], { ...env0, ...unverified });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/CERTIFICATE_VERIFY_FAILED|self[- ]signed certificate/i);
  });

  test('aws ec2 describe-availability-zones --region eu-west-1', async () => {
    const out = await aws(['ec2', 'describe-availability-zones', '--region', 'eu-west-1']);
    expect(out.AvailabilityZones.map((z: any) => z.ZoneName)).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(out.AvailabilityZones[0]).toMatchObject({ RegionName: 'eu-west-1', State: 'available', ZoneId: 'euw1-az1' });
  });

  let adminAccount = '';
  test('aws sts get-caller-identity', async () => {
    const out = await aws(['sts', 'get-caller-identity']);
    expect(out.Account).toMatch(/^\d{12}$/);
    expect(out.Arn).toBe(`arn:aws:iam::${out.Account}:root`);
    adminAccount = out.Account;
  });

  // What the admin makes here must be invisible to the second account below.
  const mine = { keyName: '', vpcIds: [] as string[], instanceIds: [] as string[], groupIds: [] as string[] };

  test('key pairs: create-key-pair, describe-key-pairs', async (ctx) => {
    if (!has('CreateKeyPair', 'DescribeKeyPairs')) return ctx.skip();
    const out = await aws(['ec2', 'create-key-pair', '--key-name', 'cli-key']);
    expect(out.KeyName).toBe('cli-key');
    expect(out.KeyPairId).toMatch(/^key-[0-9a-f]{17}$/);
    expect(out.KeyMaterial).toMatch(/^-----BEGIN (RSA |OPENSSH )?PRIVATE KEY-----/);
    const list = await aws(['ec2', 'describe-key-pairs']);
    expect(list.KeyPairs.map((k: any) => k.KeyName)).toContain('cli-key');
    mine.keyName = 'cli-key';
  });

  test('VPCs: describe-vpcs shows the default VPC', async (ctx) => {
    if (!has('DescribeVpcs')) return ctx.skip();
    const out = await aws(['ec2', 'describe-vpcs']);
    const def = out.Vpcs.find((v: any) => v.IsDefault);
    expect(def).toMatchObject({ VpcId: expect.stringMatching(/^vpc-[0-9a-f]{17}$/), CidrBlock: '172.31.0.0/16', State: 'available' });
    mine.vpcIds = out.Vpcs.map((v: any) => v.VpcId);
  });

  test('security groups: describe-security-groups shows the default group', async (ctx) => {
    if (!has('DescribeSecurityGroups')) return ctx.skip();
    const out = await aws(['ec2', 'describe-security-groups']);
    expect(out.SecurityGroups.map((g: any) => g.GroupName)).toContain('default');
    mine.groupIds = out.SecurityGroups.map((g: any) => g.GroupId);
  });

  test('images: describe-images --owners 136693071363 lists Debian 12', async (ctx) => {
    if (!has('DescribeImages')) return ctx.skip();
    const out = await aws(['ec2', 'describe-images', '--owners', '136693071363']);
    expect(out.Images.length).toBeGreaterThan(0);
    for (const img of out.Images) expect(img.OwnerId).toBe('136693071363');
    expect(out.Images.some((i: any) => /^debian-12-amd64-/.test(i.Name))).toBe(true);
  });

  test('instance types: describe-instance-types --instance-types t3.micro', async (ctx) => {
    if (!has('DescribeInstanceTypes')) return ctx.skip();
    const out = await aws(['ec2', 'describe-instance-types', '--instance-types', 't3.micro']);
    expect(out.InstanceTypes).toHaveLength(1);
    expect(out.InstanceTypes[0]).toMatchObject({ InstanceType: 't3.micro', VCpuInfo: { DefaultVCpus: 2 }, MemoryInfo: { SizeInMiB: 1024 } });
  });

  test('instances: run-instances, describe-instances, terminate-instances', async (ctx) => {
    if (!has('RunInstances', 'DescribeInstances', 'TerminateInstances', 'DescribeImages')) return ctx.skip();
    const images = await aws(['ec2', 'describe-images', '--filters', 'Name=name,Values=cumulo-minimal-x86_64-*']);
    expect(images.Images.length).toBeGreaterThan(0);
    const imageId = images.Images[0].ImageId;
    const run = await aws(['ec2', 'run-instances', '--image-id', imageId, '--count', '2', '--instance-type', 't3.micro', ...(mine.keyName ? ['--key-name', mine.keyName] : [])]);
    expect(run.Instances).toHaveLength(2);
    expect(run.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    expect(run.OwnerId).toBe(adminAccount);
    for (const i of run.Instances) {
      expect(i.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
      expect(i.ImageId).toBe(imageId);
      expect(['pending', 'running']).toContain(i.State.Name);
    }
    mine.instanceIds = run.Instances.map((i: any) => i.InstanceId);

    const desc = await aws(['ec2', 'describe-instances', '--instance-ids', ...mine.instanceIds]);
    const seen = desc.Reservations.flatMap((r: any) => r.Instances.map((i: any) => i.InstanceId));
    expect(seen.sort()).toEqual([...mine.instanceIds].sort());

    const term = await aws(['ec2', 'terminate-instances', '--instance-ids', mine.instanceIds[0]]);
    expect(term.TerminatingInstances[0]).toMatchObject({ InstanceId: mine.instanceIds[0], CurrentState: { Name: expect.stringMatching(/^(shutting-down|terminated)$/) } });
  });

  test('`cumulo accounts create ci-test`: its key works with the CLI and sees none of the admin’s resources', async () => {
    const r = await run(process.execPath, [main, 'accounts', 'create', 'ci-test'], env0);
    expect(r.code, r.stderr).toBe(0);
    const acct = JSON.parse(r.stdout) as { AccountId: string; AccessKeyId: string; SecretAccessKey: string };
    const other = { AWS_ACCESS_KEY_ID: acct.AccessKeyId, AWS_SECRET_ACCESS_KEY: acct.SecretAccessKey };

    const who = await aws(['sts', 'get-caller-identity'], other);
    expect(who.Account).toBe(acct.AccountId);
    expect(who.Account).not.toBe(adminAccount);

    if (has('DescribeKeyPairs')) {
      const keys = await aws(['ec2', 'describe-key-pairs'], other);
      expect(keys.KeyPairs).toEqual([]);
    }
    if (has('DescribeVpcs')) {
      const vpcs = await aws(['ec2', 'describe-vpcs'], other);
      for (const v of vpcs.Vpcs) {
        expect(mine.vpcIds).not.toContain(v.VpcId);
        expect(v.OwnerId).toBe(acct.AccountId);
      }
    }
    if (has('DescribeSecurityGroups')) {
      const groups = await aws(['ec2', 'describe-security-groups'], other);
      for (const g of groups.SecurityGroups) expect(mine.groupIds).not.toContain(g.GroupId);
    }
    if (has('DescribeInstances')) {
      const inst = await aws(['ec2', 'describe-instances'], other);
      expect(inst.Reservations).toEqual([]);
      if (mine.instanceIds.length) {
        const r2 = await run('aws', ['ec2', 'describe-instances', '--instance-ids', mine.instanceIds[1]!, '--output', 'json'], { ...env0, ...cumuloEnv, ...other });
        expect(r2.code).not.toBe(0);
        expect(r2.stderr).toContain('InvalidInstanceID.NotFound');
      }
    }
  });

  test('`cumulo accounts limits`: an account’s quotas, an override set from the CLI, and EC2’s error at it', async (ctx) => {
    if (!has('CreateVpc', 'DescribeVpcs')) return ctx.skip();
    const made = await run(process.execPath, [main, 'accounts', 'create', 'ci-limits'], env0);
    expect(made.code, made.stderr).toBe(0);
    const acct = JSON.parse(made.stdout) as { AccountId: string; AccessKeyId: string; SecretAccessKey: string };
    const creds = { AWS_ACCESS_KEY_ID: acct.AccessKeyId, AWS_SECRET_ACCESS_KEY: acct.SecretAccessKey };
    await aws(['ec2', 'describe-vpcs'], creds); // the region's first request makes the default VPC

    const limits = await run(process.execPath, [main, 'accounts', 'limits', 'ci-limits'], env0);
    expect(limits.code, limits.stderr).toBe(0);
    expect(limits.stdout).toContain(`account ci-limits (${acct.AccountId}), region us-east-1`);
    expect(limits.stdout).toMatch(/^QUOTA\s+VALUE\s+DEFAULT\s+USAGE\s+UNIT\s+COUNTED\s+AWS CODE$/m);
    expect(limits.stdout).toMatch(/^running-on-demand-standard-vcpus\s+5\s+5\s+0\s+vCPUs\s+per region\s+L-1216C47A$/m);
    expect(limits.stdout).toMatch(/^vpcs\s+5\s+5\s+1\s+VPCs\s+per region\s+L-F678F1CE$/m);

    const set = await run(process.execPath, [main, 'accounts', 'limits', 'ci-limits', '--set', 'vpcs=1'], env0);
    expect([set.code, set.stdout.trim()], set.stderr).toEqual([0, 'vpcs = 1 for ci-limits in every region']);
    const refused = await run('aws', ['ec2', 'create-vpc', '--cidr-block', '10.42.0.0/16', '--output', 'json'], { ...env0, ...cumuloEnv, ...creds });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/An error occurred \(VpcLimitExceeded\) when calling the CreateVpc operation.*: The maximum number of VPCs has been reached\./);
    const after = await run(process.execPath, [main, 'accounts', 'limits', 'ci-limits', '--region', 'us-east-1'], env0);
    expect(after.stdout).toMatch(/^vpcs\s+1 \(all regions\)\s+5\s+1\s+VPCs/m);

    const bad = await run(process.execPath, [main, 'accounts', 'limits', 'ci-limits', '--set', 'vpcs=lots'], env0);
    expect([bad.code, bad.stderr.trim()]).toEqual([1, 'cumulo: vpcs must be a whole number of VPCs from 0 to 2147483647, not "lots"']);
    const unknown = await run(process.execPath, [main, 'accounts', 'limits', 'nobody'], env0);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([1, 'cumulo: no account named nobody']);
  });

  test('SIGTERM stops the server cleanly (exit 0)', async () => {
    server!.kill('SIGTERM');
    const code = await Promise.race([serverExit, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code, serverLog.slice(-2000)).toBe(0);
  });
});
