// Helpers of the system tests that boot real instances (root): a server with the runc driver, SSH
// with a key pair, waiting for states, fetching pages from instances.
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import ssh2 from 'ssh2';
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const { Client } = ssh2;

export const canRunInstances = process.getuid?.() === 0 && ['runc', 'conmon', 'ip', 'nft', 'mkfs.ext4', 'mkfs.xfs'].every((c) => commandExists(c));

function commandExists(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']).some((dir) => existsSync(`${dir}/${cmd}`));
}

export interface RuncServer {
  app: App;
  ec2: EC2Client;
  stop(): Promise<void>;
}

/** A server with the runc driver on `home`; stop() removes every instance and host object (unless keepHost). */
export async function startRuncServer(home: string, opts: { keepHost?: boolean; env?: Record<string, string>; log?: (l: string) => void } = {}): Promise<RuncServer> {
  const config = loadConfig({ CUMULO_HOME: home, CUMULO_PORT: '0', CUMULO_DRIVER: 'runc', ...opts.env });
  const app = await startApp(config, { log: opts.log ?? ((l) => process.stderr.write(`[server] ${l}\n`)), cleanupHost: !opts.keepHost });
  const ec2 = clientFor(app.url, app.admin);
  return { app, ec2, stop: () => app.stop() };
}

export function clientFor(url: string, admin: { accessKeyId: string; secretAccessKey: string }): EC2Client {
  return new EC2Client({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey }, maxAttempts: 1 });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(every);
  }
}

export async function describe1(ec2: EC2Client, id: string): Promise<Instance> {
  const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return r.Reservations![0]!.Instances![0]!;
}

export function waitState(ec2: EC2Client, id: string, state: string, ms = 60_000): Promise<Instance> {
  return until(`${id} to be ${state}`, async () => {
    const i = await describe1(ec2, id);
    return i.State?.Name === state ? i : undefined;
  }, ms, 100);
}

/** GET http://ip:port/path from the host; the body, or undefined if nothing answers. */
export function httpGet(ip: string, path = '/', port = 80, timeoutMs = 2000): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Run one command over SSH with the key pair; stdout, stderr and the exit code. */
export function ssh(ip: string, user: string, privateKey: string, command: string, timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const conn = new Client();
    const timer = setTimeout(() => {
      conn.end();
      reject(new Error(`ssh ${user}@${ip} ${command}: timed out`));
    }, timeoutMs);
    conn
      .on('ready', () => {
        conn.exec(command, (err, stream) => {
          if (err) {
            clearTimeout(timer);
            conn.end();
            return reject(err);
          }
          let stdout = '';
          let stderr = '';
          let code = -1;
          stream.on('data', (d: Buffer) => (stdout += d.toString()));
          stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          stream.on('exit', (c: number | null, signal?: string) => (code = c ?? (signal ? 128 : -1)));
          stream.on('close', () => {
            clearTimeout(timer);
            conn.end();
            resolve({ code, stdout, stderr });
          });
        });
      })
      .on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      })
      .connect({ host: ip, port: 22, username: user, privateKey, readyTimeout: timeoutMs });
  });
}

/** Is something listening on ip:port? */
export function portOpen(ip: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: ip, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('timeout', () => done(false));
    sock.once('error', () => done(false));
  });
}
