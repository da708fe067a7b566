// Starts a real cumulo server for black-box tests: its own state folder, an ephemeral port, and
// SDK clients signed with the admin account's key.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client, type EC2ServiceException } from '@aws-sdk/client-ec2';
import { STSClient } from '@aws-sdk/client-sts';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Credentials } from '../src/services/accounts.js';
import type { InstanceDriver } from '../src/host/compute/driver.js';
import { FakeDriver } from '../src/host/compute/fake.js';
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
    driver?: InstanceDriver;
    /** Reuse this state folder (a restart); stop() then leaves it for the caller to remove. */
    home?: string;
  } = {},
): Promise<TestServer> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'cumulo-test-'));
  const config = loadConfig({ CUMULO_HOME: home, CUMULO_PORT: '0', CUMULO_DRIVER: 'fake', ...opts.env });
  const app = await startApp(config, { driver: opts.driver ?? new FakeDriver(), log: () => {} });
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
