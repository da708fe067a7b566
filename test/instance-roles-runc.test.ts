// A real instance (runc) launched with an instance profile fetches its role's credentials from
// 169.254.169.254 with an IMDSv2 token, from inside its own network namespace, as the SDKs do.
// Root only; run under the shared heavy lock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeImagesCommand,
  DisassociateIamInstanceProfileCommand,
  RunInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { sessionByKey, tokenDigest } from '../src/services/sts/sessions.js';
import { insertProfile, type Profile } from './iam-fixtures.js';
import { inInstance, needsInstances, publicPoolFor, startRuncServer, until, waitState, type RuncServer } from './runc-harness.js';

// Built images are shared by every state folder of the machine: Debian is built once, not per suite.
process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

needsInstances.describe('instance role credentials from the metadata service (runc, root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-runc-roles-'));
  const env = { CUMULO_PUBLIC_IPV4_POOL: publicPoolFor(150 + (process.pid % 50)) };
  let server: RuncServer | undefined;
  let ec2: EC2Client;
  let profile: Profile;
  let instanceId = '';

  /** curl inside the instance's namespace: the status line's code and the body. */
  async function imds(method: 'GET' | 'PUT', path: string, headers: string[] = []): Promise<{ status: number; body: string }> {
    const argv = ['curl', '-s', '-m', '5', '-X', method, '-w', '\n%{http_code}', ...headers.flatMap((h) => ['-H', h]), `http://169.254.169.254${path}`];
    const r = await inInstance(home, instanceId, argv, 15_000);
    const cut = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
  }

  beforeAll(async () => {
    server = await startRuncServer(home, { env });
    ec2 = server.ec2;
    profile = await insertProfile(server.app.db, server.app.admin.accountId, 'web', { roleName: 'web' });
    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
    const r = await ec2.send(
      new RunInstancesCommand({
        ImageId: images.Images![0]!.ImageId!,
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
        IamInstanceProfile: { Name: 'web' },
        MetadataOptions: { HttpTokens: 'required' },
      }),
    );
    instanceId = r.Instances![0]!.InstanceId!;
    await waitState(ec2, instanceId, 'running', 120_000);
  }, 300_000);

  afterAll(async () => {
    if (server) await server.stop().catch((e) => process.stderr.write(`stop: ${(e as Error).message}\n`));
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 300_000);

  test('IMDSv2: the role is listed, its credentials are a session of it named after the instance, served again on the next read', async () => {
    const token = await until(
      'an IMDSv2 token',
      async () => {
        const t = await imds('PUT', '/latest/api/token', ['X-aws-ec2-metadata-token-ttl-seconds: 300']);
        return t.status === 200 ? t.body : undefined;
      },
      60_000,
      200,
    );
    const auth = `X-aws-ec2-metadata-token: ${token}`;
    // HttpTokens=required: no token, no credentials.
    expect((await imds('GET', '/latest/meta-data/iam/security-credentials/web')).status).toBe(401);

    expect(await imds('GET', '/latest/meta-data/iam/security-credentials/', [auth])).toEqual({ status: 200, body: 'web' });
    const doc = await imds('GET', '/latest/meta-data/iam/security-credentials/web', [auth]);
    expect(doc.status).toBe(200);
    expect(doc.body).toMatch(/^\{\n {2}"Code" : "Success",\n {2}"LastUpdated" : "[0-9T:-]+Z",\n {2}"Type" : "AWS-HMAC",\n/);
    const c = JSON.parse(doc.body) as Record<string, string>;
    expect(c.AccessKeyId).toMatch(/^ASIA/);
    expect(Date.parse(c.Expiration!) - Date.parse(c.LastUpdated!)).toBeGreaterThanOrEqual(6 * 3600_000 - 1000);
    const session = (await sessionByKey(server!.app.db, c.AccessKeyId!))!;
    expect(session).toMatchObject({ kind: 'assumed-role', role_arn: profile.roleArn, session_name: instanceId, issued_for: instanceId });
    expect(session.token_sha256).toBe(tokenDigest(c.Token!));
    expect(JSON.parse((await imds('GET', '/latest/meta-data/iam/security-credentials/web', [auth])).body)).toEqual(c);
    const info = JSON.parse((await imds('GET', '/latest/meta-data/iam/info', [auth])).body) as Record<string, string>;
    expect(info).toMatchObject({ Code: 'Success', InstanceProfileArn: profile.arn, InstanceProfileId: profile.id });

    // Disassociated: nothing under iam/ any more.
    const assoc = await ec2.send(new DescribeIamInstanceProfileAssociationsCommand({ Filters: [{ Name: 'instance-id', Values: [instanceId] }] }));
    await ec2.send(new DisassociateIamInstanceProfileCommand({ AssociationId: assoc.IamInstanceProfileAssociations![0]!.AssociationId }));
    expect((await imds('GET', '/latest/meta-data/iam/security-credentials/web', [auth])).status).toBe(404);
  }, 120_000);
});
