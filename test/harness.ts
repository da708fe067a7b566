// Starts a real cumulo server for black-box tests: its own state folder, an ephemeral port, and
// SDK clients signed with the admin account's key.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, type EC2ServiceException, type Instance } from '@aws-sdk/client-ec2';
import { STSClient } from '@aws-sdk/client-sts';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Credentials } from '../src/services/accounts.js';
import type { InstanceDriver } from '../src/host/compute/driver.js';
import type { VpcNetwork } from '../src/host/network/part.js';
import type { SnapshotStorage, VolumeStorage } from '../src/host/storage/part.js';
import { QUOTAS } from '../src/services/ec2/quotas/catalog.js';
import { setQuotaOverride } from '../src/services/ec2/quotas/store.js';
import type { Db } from '../src/store/db.js';
import { createServer } from 'node:net';

export interface TestServer {
  app: App;
  url: string;
  admin: Credentials;
  ec2(opts?: { region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } }): EC2Client;
  sts(opts?: { region?: string }): STSClient;
  stop(): Promise<void>;
}

export async function startTestServer(
  opts: {
    env?: Record<string, string>;
    /** Parts of the fake host stack to use instead of its fakes (src/host/stack.ts's fakeStack). */
    driver?: InstanceDriver;
    storage?: VolumeStorage;
    network?: VpcNetwork;
    snapshots?: SnapshotStorage;
    /** Reuse this state folder (a restart); stop() then leaves it for the caller to remove. */
    home?: string;
    /**
     * Leave the admin account at EC2's default quotas (a new AWS account's: 5 Standard vCPUs, 5
     * VPCs, …). By default the suites' admin gets room for whatever they launch (raiseQuotas).
     */
    awsQuotas?: boolean;
  } = {},
): Promise<TestServer> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'cumulo-test-'));
  // A host big enough for every suite (host admission); a suite about admission sets its own.
  const config = loadConfig({
    CUMULO_HOME: home,
    CUMULO_PORT: '0',
    CUMULO_DRIVER: 'fake',
    CUMULO_HOST_VCPUS: '65536',
    CUMULO_HOST_MEMORY_MIB: String(64 * 1024 * 1024),
    ...opts.env,
  });
  const app = await startApp(config, { fake: { compute: opts.driver, storage: opts.storage, network: opts.network, snapshots: opts.snapshots }, log: () => {} });
  if (!opts.awsQuotas) await raiseQuotas(app.db, app.admin.accountId);
  const url = app.url;
  const admin = app.admin;
  return {
    app,
    url,
    admin,
    ec2: (o = {}) =>
      new EC2Client({
        endpoint: url,
        region: o.region ?? 'us-east-1',
        credentials: o.credentials ?? { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
        maxAttempts: 1,
      }),
    sts: (o = {}) =>
      new STSClient({
        endpoint: url,
        region: o.region ?? 'us-east-1',
        credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
        maxAttempts: 1,
      }),
    async stop() {
      await app.stop();
      if (!opts.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Room for an account's test launches, in every region: the account-wide quotas (vCPUs, elastic
 * IPs, VPCs, EBS storage and IOPS) raised far beyond what a suite uses, as overrides in the store (a
 * server started again on the same state folder keeps them). The quotas per VPC, group and
 * interface stay EC2's: suites test those.
 */
export async function raiseQuotas(db: Db, accountId: string): Promise<void> {
  for (const q of QUOTAS) {
    if (q.scope !== 'region') continue;
    await setQuotaOverride(db, accountId, undefined, q.name, q.unit === 'IOPS' ? 1_000_000_000 : 1_000_000);
  }
}

/** Sends a raw Query request, signed or not, for protocol-level tests. */
export async function rawRequest(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...headers },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** The error a call fails with; fails the test if it succeeds. */
export async function errorOf(p: Promise<unknown>): Promise<EC2ServiceException> {
  try {
    await p;
  } catch (e) {
    return e as EC2ServiceException;
  }
  throw new Error('expected an error');
}

/** A TCP port nobody listens on right now, for a server started in another process. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The built-in minimal image's AMI id, as DescribeImages lists it. */
export async function minimalImage(ec2: EC2Client): Promise<string> {
  const out = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
  return out.Images![0]!.ImageId!;
}

/** One instance as DescribeInstances shows it. */
export async function describeInstance(ec2: EC2Client, id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}
