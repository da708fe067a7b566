// HTTPS on the API's port: the state folder's CA, made on first start and kept across restarts,
// verified by the real clients (the SDK with the CA as its trust, the AWS CLI with AWS_CA_BUNDLE)
// and refused by them without it; the operator's own certificate used as given; and plain HTTP on
// the same port as before.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EndpointListener } from '../src/host/endpoint.js';
import { serverTls } from '../src/host/tls/certificates.js';
import { startTestServer, type TestServer } from './harness.js';
import { awsEnv } from './aws-cli.js';

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** An EC2 client for `url` that trusts only `ca` (or Node's default roots when ca is undefined). */
function client(s: TestServer, url: string, ca?: Buffer): EC2Client {
  return new EC2Client({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: s.admin.accessKeyId, secretAccessKey: s.admin.secretAccessKey },
    maxAttempts: 1,
    requestHandler: { httpsAgent: new HttpsAgent({ ca, keepAlive: true }) },
  });
}

/** The certificate chain a TLS client is shown, and whether it verified against `ca` for `servername`. */
function handshake(port: number, servername: string, ca: Buffer): Promise<{ authorized: boolean; error?: string; leaf: X509Certificate }> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false }, () => {
      const leaf = sock.getPeerX509Certificate()!;
      // Verified chain and the name, as a rejecting client would check them.
      const error = sock.authorizationError ? String(sock.authorizationError) : leaf.checkHost(servername) || leaf.checkIP(servername) ? undefined : `not valid for ${servername}`;
      sock.end();
      resolve({ authorized: sock.authorized && !error, error, leaf });
    });
    sock.on('error', reject);
  });
}

describe('the state folder’s own CA', () => {
  let home: string;
  let s: TestServer;
  let ca: Buffer;
  beforeAll(async () => {
    home = tempDir('cumulo-tls-');
    s = await startTestServer({ home });
    ca = readFileSync(join(home, 'tls', 'ca.pem'));
  });
  afterAll(async () => {
    await s?.stop();
  });

  test('tls/ holds the CA and the server certificate; the keys are 0600; the certificate names 127.0.0.1, ::1 and localhost', () => {
    expect(s.app.tls.caFile).toBe(join(home, 'tls', 'ca.pem'));
    expect(statSync(join(home, 'tls', 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'tls', 'server.key')).mode & 0o777).toBe(0o600);
    const leaf = new X509Certificate(readFileSync(join(home, 'tls', 'server.pem')));
    const caCert = new X509Certificate(ca);
    expect(caCert.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(leaf.subjectAltName).toContain('DNS:localhost');
    expect(leaf.checkIP('::1')).toBe('::1');
  });

  test('the SDK verifies https:// with the CA, and refuses it without (self-signed)', async () => {
    const out = await client(s, s.app.httpsUrl, ca).send(new DescribeRegionsCommand({}));
    expect(out.Regions?.map((r) => r.RegionName)).toContain('us-east-1');
    const byName = await client(s, `https://localhost:${s.app.address.port}`, ca).send(new DescribeRegionsCommand({}));
    expect(byName.Regions?.length).toBe(out.Regions?.length);
    const refused = await client(s, s.app.httpsUrl)
      .send(new DescribeRegionsCommand({}))
      .then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
    expect(refused?.code).toBe('SELF_SIGNED_CERT_IN_CHAIN');
  });

  test("the certificate covers the names instances reach the API by: each region's services, and IAM's and STS's global names", async () => {
    const regions = s.app.config.regions.map((r) => r.name);
    expect(regions.length).toBeGreaterThan(1);
    const leaf = new X509Certificate(readFileSync(join(home, 'tls', 'server.pem')));
    for (const r of regions) expect(leaf.subjectAltName).toContain(`DNS:*.${r}.amazonaws.com`);
    for (const name of [
      `ec2.${regions[0]}.amazonaws.com`,
      `sts.${regions.at(-1)}.amazonaws.com`,
      `monitoring.${regions[1]}.amazonaws.com`,
      'iam.amazonaws.com',
      'sts.amazonaws.com',
    ]) {
      const shown = await handshake(s.app.address.port, name, ca);
      expect([name, shown.error]).toEqual([name, undefined]);
      expect(shown.authorized).toBe(true);
    }
    // A wildcard covers one label; other amazonaws.com names are not ours.
    for (const name of [`a.ec2.${regions[0]}.amazonaws.com`, 's3.amazonaws.com', 'ec2.ap-nowhere-9.amazonaws.com']) {
      expect([name, (await handshake(s.app.address.port, name, ca)).authorized]).toEqual([name, false]);
    }
  });

  test('the endpoint instances reach (a listener handed to the API’s TLS side) serves the API over HTTPS only', async () => {
    const endpoint = new EndpointListener((socket) => s.app.server.acceptTls(socket));
    const port = await endpoint.listen(0, '127.0.0.1');
    try {
      const out = await client(s, `https://localhost:${port}`, ca).send(new DescribeRegionsCommand({}));
      expect(out.Regions?.map((r) => r.RegionName)).toContain('us-east-1');
      expect((await handshake(port, 'ec2.us-east-1.amazonaws.com', ca)).authorized).toBe(true);
      // Plain HTTP is not spoken there: the request gets no answer.
      const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        (e: Error) => e.message,
      );
      expect(plain).toBe('fetch failed');
    } finally {
      await endpoint.close();
    }
  });

  test('plain http:// on the same port works as before', async () => {
    const out = await s.ec2().send(new DescribeRegionsCommand({}));
    expect(out.Regions?.map((r) => r.RegionName)).toContain('us-east-1');
    const health = await fetch(`${s.app.url}/healthz`);
    expect(health.status).toBe(200);
  });

  test('the AWS CLI verifies the https:// endpoint with AWS_CA_BUNDLE, and refuses it without', async () => {
    const args = ['ec2', 'describe-regions', '--endpoint-url', s.app.httpsUrl, '--output', 'json'];
    const ok = await run('aws', args, awsEnv(s, { AWS_CA_BUNDLE: join(home, 'tls', 'ca.pem') }));
    expect(ok.code, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { Regions: { RegionName: string }[] }).Regions.map((r) => r.RegionName)).toContain('us-east-1');
    const byName = await run(
      'aws',
      ['ec2', 'describe-regions', '--endpoint-url', `https://localhost:${s.app.address.port}`, '--output', 'json'],
      awsEnv(s, { AWS_CA_BUNDLE: join(home, 'tls', 'ca.pem') }),
    );
    expect(byName.code, byName.stderr).toBe(0);
    const refused = await run('aws', args, awsEnv(s, {}));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/CERTIFICATE_VERIFY_FAILED|self[- ]signed certificate/i);
  });

  test('a connection that sends garbage instead of a handshake, or nothing, does not stop the port', async () => {
    const { connect } = await import('node:net');
    const silent = connect(s.app.address.port, '127.0.0.1');
    const garbage = connect(s.app.address.port, '127.0.0.1');
    await new Promise((r) => garbage.once('connect', r));
    // A whole TLS record of type handshake whose content is not a ClientHello.
    garbage.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef]));
    const closed = await new Promise<boolean>((r) => {
      garbage.once('close', () => r(true));
      garbage.on('error', () => undefined);
      // Read what the server answers (a TLS alert), so the end of the stream is seen.
      garbage.resume();
    });
    expect(closed).toBe(true);
    const out = await client(s, s.app.httpsUrl, ca).send(new DescribeRegionsCommand({}));
    expect(out.Regions?.length).toBeGreaterThan(0);
    silent.destroy();
  });
});

describe('across restarts', () => {
  test('the CA and the server certificate persist; new names get a new server certificate from the same CA', async () => {
    const home = tempDir('cumulo-tls-restart-');
    const first = await startTestServer({ home });
    const ca = readFileSync(join(home, 'tls', 'ca.pem'));
    const caKey = readFileSync(join(home, 'tls', 'ca.key'));
    const leaf = readFileSync(join(home, 'tls', 'server.pem'));
    await first.stop();

    const second = await startTestServer({ home });
    try {
      expect(readFileSync(join(home, 'tls', 'ca.pem')).equals(ca)).toBe(true);
      expect(readFileSync(join(home, 'tls', 'ca.key')).equals(caKey)).toBe(true);
      expect(readFileSync(join(home, 'tls', 'server.pem')).equals(leaf)).toBe(true);
      // A client set up against the first start still verifies the second.
      const out = await client(second, second.app.httpsUrl, ca).send(new DescribeRegionsCommand({}));
      expect(out.Regions?.length).toBeGreaterThan(0);
    } finally {
      await second.stop();
    }

    const third = await startTestServer({ home, env: { CUMULO_TLS_NAMES: 'api.cumulo.test,10.9.8.7' } });
    try {
      expect(readFileSync(join(home, 'tls', 'ca.pem')).equals(ca)).toBe(true);
      expect(readFileSync(join(home, 'tls', 'server.pem')).equals(leaf)).toBe(false);
      const shown = await handshake(third.app.address.port, 'api.cumulo.test', ca);
      expect(shown.error).toBeUndefined();
      expect(shown.authorized).toBe(true);
      expect(shown.leaf.subjectAltName).toContain('DNS:api.cumulo.test');
      expect(shown.leaf.subjectAltName).toContain('IP Address:10.9.8.7');
      // A name the certificate does not carry is not verified.
      expect((await handshake(third.app.address.port, 'other.cumulo.test', ca)).authorized).toBe(false);
    } finally {
      await third.stop();
    }
  });

  test('a server certificate made before the endpoint names (a state folder of an older version) is made again, by the same CA', async () => {
    const home = tempDir('cumulo-tls-endpoint-');
    const first = await startTestServer({ home });
    await first.stop();
    const ca = readFileSync(join(home, 'tls', 'ca.pem'));
    // What an older version left: the same CA, a server certificate for the local names only.
    rmSync(join(home, 'tls', 'server.pem'));
    rmSync(join(home, 'tls', 'server.key'));
    await serverTls({ home, names: ['127.0.0.1', '::1', 'localhost'] });
    const old = readFileSync(join(home, 'tls', 'server.pem'));
    expect(new X509Certificate(old).subjectAltName).not.toContain('amazonaws.com');
    const second = await startTestServer({ home });
    try {
      expect(readFileSync(join(home, 'tls', 'ca.pem')).equals(ca)).toBe(true);
      expect(readFileSync(join(home, 'tls', 'server.pem')).equals(old)).toBe(false);
      const shown = await handshake(second.app.address.port, 'ec2.us-east-1.amazonaws.com', ca);
      expect(shown.error).toBeUndefined();
      expect(shown.authorized).toBe(true);
      expect((await handshake(second.app.address.port, 'localhost', ca)).authorized).toBe(true);
    } finally {
      await second.stop();
    }
  });

  test('a server certificate that does not match its key is made again', async () => {
    const home = tempDir('cumulo-tls-broken-');
    const first = await startTestServer({ home });
    await first.stop();
    const old = readFileSync(join(home, 'tls', 'server.pem'));
    // The CA's key in place of the server's: the pair no longer matches.
    writeFileSync(join(home, 'tls', 'server.key'), readFileSync(join(home, 'tls', 'ca.key')));
    const second = await startTestServer({ home });
    try {
      expect(readFileSync(join(home, 'tls', 'server.pem')).equals(old)).toBe(false);
      const out = await client(second, second.app.httpsUrl, readFileSync(join(home, 'tls', 'ca.pem'))).send(new DescribeRegionsCommand({}));
      expect(out.Regions?.length).toBeGreaterThan(0);
    } finally {
      await second.stop();
    }
  });
});

describe('the operator’s own certificate', () => {
  let work: string;
  let opCa: Buffer;
  beforeAll(async () => {
    // An operator's CA and a certificate for their host name, made the way an operator would.
    work = tempDir('cumulo-tls-operator-');
    const o = (args: string[]) => run('openssl', args).then((r) => expect(r.code, r.stderr).toBe(0));
    await o([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(work, 'op-ca.key'),
      '-out',
      join(work, 'op-ca.pem'),
      '-days',
      '30',
      '-subj',
      '/CN=Operator Test CA',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]);
    await o(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(work, 'api.key'), '-out', join(work, 'api.csr'), '-subj', '/CN=cloud.operator.test']);
    writeFileSync(join(work, 'ext.cnf'), 'subjectAltName = DNS:cloud.operator.test, IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n');
    await o([
      'x509',
      '-req',
      '-in',
      join(work, 'api.csr'),
      '-CA',
      join(work, 'op-ca.pem'),
      '-CAkey',
      join(work, 'op-ca.key'),
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      join(work, 'ext.cnf'),
      '-out',
      join(work, 'api.pem'),
    ]);
    opCa = readFileSync(join(work, 'op-ca.pem'));
  });

  test('CUMULO_TLS_CERT and CUMULO_TLS_KEY are served as given; no CA is made in the state folder', async () => {
    const home = tempDir('cumulo-tls-op-home-');
    const s = await startTestServer({ home, env: { CUMULO_TLS_CERT: join(work, 'api.pem'), CUMULO_TLS_KEY: join(work, 'api.key') } });
    try {
      expect(existsSync(join(home, 'tls', 'ca.pem'))).toBe(false);
      expect(s.app.tls.caFile).toBeUndefined();
      const shown = await handshake(s.app.address.port, 'cloud.operator.test', opCa);
      expect(shown.authorized).toBe(true);
      expect(shown.leaf.fingerprint256).toBe(new X509Certificate(readFileSync(join(work, 'api.pem'))).fingerprint256);
      const out = await client(s, s.app.httpsUrl, opCa).send(new DescribeRegionsCommand({}));
      expect(out.Regions?.length).toBeGreaterThan(0);
      const cli = await run('aws', ['ec2', 'describe-regions', '--endpoint-url', s.app.httpsUrl, '--output', 'json'], awsEnv(s, { AWS_CA_BUNDLE: join(work, 'op-ca.pem') }));
      expect(cli.code, cli.stderr).toBe(0);
    } finally {
      await s.stop();
    }
  });

  test('a key that is not the certificate’s, or only one of the two, stops the start with a clear error', async () => {
    const home = tempDir('cumulo-tls-op-bad-');
    await expect(startTestServer({ home, env: { CUMULO_TLS_CERT: join(work, 'api.pem'), CUMULO_TLS_KEY: join(work, 'op-ca.key') } })).rejects.toThrow(
      /CUMULO_TLS_KEY .* is not the key of the certificate in CUMULO_TLS_CERT/,
    );
    await expect(startTestServer({ home, env: { CUMULO_TLS_CERT: join(work, 'api.pem') } })).rejects.toThrow(/CUMULO_TLS_CERT and CUMULO_TLS_KEY go together/);
  });
});
