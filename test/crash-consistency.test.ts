// System test (root, runc): the server SIGKILLed in the middle of 30 concurrent launches, then of
// stop and start cycles (issue 10, "crash-consistent, wherever the server dies"). After each
// restart, within a minute no instance is left in a transitional state, every instance the API
// calls running has its guest's init running (not a container made and never started), a stopped
// one has nothing on the host, and runc has no container the store does not call running. At the
// end, with every instance terminated and the server stopped, nothing of this state folder is left
// on the host.
//
// The kill aims at the window the issue found: the server is SIGKILLed the moment runc shows a
// container made but not started ('created'), i.e. between `runc create` and `runc start`.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeInstancesCommand,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  DescribeImagesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Credentials } from '../src/services/accounts.js';
import { hostTag } from '../src/host/tag.js';
import { hostObjects, type HostObjects } from './host-leaks.js';
import { needsInstances, clientFor, guestRuns, publicPoolFor, runcContainers, spawnServer, startRuncServer, until, type ServerProcess } from './runc-harness.js';

process.env.CUMULO_IMAGE_CACHE ??= '/var/cache/cumulo/images';

const COUNT = 30;
const TRANSITIONAL = new Set(['pending', 'stopping', 'shutting-down']);

needsInstances.describe('a SIGKILLed server leaves no half-made instance (root, runc)', () => {
  const home = mkdtempSync(join(tmpdir(), 'cumulo-crash-'));
  const tag = hostTag(home);
  const env = { CUMULO_PUBLIC_IPV4_POOL: publicPoolFor(200 + (process.pid % 50)), CUMULO_INSTANCE_POLL_MS: '1000', CUMULO_HOST_MEMORY_MIB: String(64 * 1024) };
  let admin: Credentials;
  let imageId = '';
  let server: ServerProcess | undefined;
  let ec2: EC2Client;
  let ids: string[] = [];
  let serverNo = 0;
  const caught: string[] = [];

  async function start(): Promise<void> {
    server = await spawnServer(home, { env, logFile: join(home, `server-${++serverNo}.log`) });
    ec2 = clientFor(server.url, admin);
  }

  /** SIGKILL the server once `when` holds for runc's containers (or after maxMs, whatever they are). */
  async function killWhen(what: string, when: (cs: { id: string; status: string }[]) => boolean, maxMs = 60_000): Promise<void> {
    const end = Date.now() + maxMs;
    for (;;) {
      const cs = await runcContainers(home).catch(() => []);
      if (when(cs)) {
        server!.proc.kill('SIGKILL');
        const created = cs.filter((c) => c.status === 'created').map((c) => c.id);
        if (created.length) caught.push(`${what}: ${created.length} made but not started`);
        process.stderr.write(
          `[crash] killed ${what}: ${
            cs
              .map((c) => c.status)
              .sort()
              .join(' ') || 'no containers'
          }\n`,
        );
        break;
      }
      if (Date.now() > end) {
        server!.proc.kill('SIGKILL');
        process.stderr.write(`[crash] killed ${what} after ${maxMs} ms without the moment it waited for\n`);
        break;
      }
    }
    await server!.exited;
    server = undefined;
  }

  /** Jobs of a kind still in the server's store (read beside the running server: SQLite allows it). */
  function pendingJobs(kind: string): number {
    const db = new Database(join(home, 'cumulo.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM jobs WHERE kind = ?').get(kind) as { n: number }).n;
    } finally {
      db.close();
    }
  }

  function jobRows(): unknown[] {
    const db = new Database(join(home, 'cumulo.db'), { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare("SELECT kind, resource_id, attempts, last_error, run_at, locked_by FROM jobs WHERE kind NOT IN ('instance.watch', 'instance.purge', 'metrics.sample')")
        .all();
    } finally {
      db.close();
    }
  }

  /** Each instance's root volume (as the instances' block device mappings name them). */
  const rootVolumes = new Map<string, string>();

  async function states(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let token: string | undefined;
    do {
      const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids, NextToken: token }));
      for (const res of r.Reservations ?? []) {
        for (const i of res.Instances ?? []) {
          out.set(i.InstanceId!, i.State!.Name!);
          const root = i.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
          if (root) rootVolumes.set(i.InstanceId!, root);
        }
      }
      token = r.NextToken;
    } while (token);
    return out;
  }

  /**
   * After a restart: within a minute no instance is pending, stopping or shutting-down; then the
   * host agrees with every answer.
   */
  async function settledAndTrue(expected: (id: string) => string): Promise<void> {
    const seen = await until(
      'no instance in a transitional state',
      async () => {
        const s = await states();
        return [...s.values()].some((v) => TRANSITIONAL.has(v)) ? undefined : s;
      },
      60_000,
      250,
    ).catch(async (e: unknown) => {
      // What is stuck, and why: the jobs in the store and the end of the server's log.
      const s = await states().catch(() => new Map<string, string>());
      process.stderr.write(`[crash] still transitional: ${JSON.stringify([...s].filter(([, v]) => TRANSITIONAL.has(v)))}\n[crash] jobs: ${JSON.stringify(jobRows())}\n`);
      process.stderr.write(
        `[crash] server log:\n${readFileSync(join(home, `server-${serverNo}.log`), 'utf8')
          .split('\n')
          .slice(-80)
          .join('\n')}\n`,
      );
      throw e;
    });
    expect([...seen.entries()].filter(([id, v]) => v !== expected(id))).toEqual([]);
    const containers = await runcContainers(home);
    // No container but those of running instances, and each of those running its guest.
    expect(containers.filter((c) => seen.get(c.id) !== 'running').map((c) => `${c.id} ${c.status} (${seen.get(c.id) ?? 'unknown'})`)).toEqual([]);
    for (const [id, state] of seen) {
      if (state === 'running') expect({ id, guest: await guestRuns(home, id) }).toEqual({ id, guest: true });
      else {
        // Nothing of a stopped instance stays mounted, plugged or attached (its root volume's loop device).
        expect(existsSync(`/run/netns/cu-${tag}-${id.slice(-8)}`)).toBe(false);
        const host = hostObjects();
        expect(host.mounts.filter((m) => m.includes(`/run/cumulo/${tag}/${id}`))).toEqual([]);
        const vol = rootVolumes.get(id);
        expect(vol).toBeDefined();
        expect(host.loopDevices.filter((l) => l.includes(home) && l.includes(vol!))).toEqual([]);
      }
    }
  }

  beforeAll(async () => {
    // Account, quotas and the image, through an in-process server first (its instances: none).
    const setup = await startRuncServer(home, { keepHost: true, env });
    admin = setup.app.admin;
    const images = await setup.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
    imageId = images.Images![0]!.ImageId!;
    await setup.stop();
  }, 300_000);

  afterAll(async () => {
    if (server) {
      server.proc.kill('SIGKILL');
      await server.exited;
    }
    // Whatever happened above, a server with cleanup removes every instance and host object.
    const cleaner = await startRuncServer(home, { env });
    await cleaner.stop();
    rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    process.stderr.write(`[crash] kills inside the create→start window: ${caught.join('; ') || 'none'}\n`);
  }, 300_000);

  test(`${COUNT} concurrent launches, SIGKILLed between runc create and runc start: after a restart all run, for real`, async () => {
    await start();
    const r = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.nano', MinCount: COUNT, MaxCount: COUNT }));
    ids = r.Instances!.map((i) => i.InstanceId!);
    expect(ids).toHaveLength(COUNT);
    // Mid-way: a container made and not started while a third of the launches or more have theirs.
    await killWhen('mid-launch', (cs) => cs.length >= COUNT / 3 && cs.some((c) => c.status === 'created'), 120_000);
    // Killed mid-launch: some instances are half made. A new server finishes them.
    await start();
    await settledAndTrue(() => 'running');
  }, 400_000);

  test('stop and start cycles, SIGKILLed mid-stop and mid-start: after each restart the answers are true', async () => {
    const some = ids.slice(0, 10);
    const runningBefore = (await runcContainers(home)).length;
    for (let cycle = 0; cycle < 2; cycle++) {
      // Mid-stop: some of them stopped already, others not yet.
      await ec2.send(new StopInstancesCommand({ InstanceIds: some }));
      await killWhen(`mid-stop ${cycle}`, (cs) => cs.length < runningBefore && cs.length > runningBefore - some.length, 60_000);
      await start();
      await settledAndTrue((id) => (some.includes(id) ? 'stopped' : 'running'));
      // Mid-start: killed the moment a container is made and not started.
      await ec2.send(new StartInstancesCommand({ InstanceIds: some }));
      await killWhen(`mid-start ${cycle}`, (cs) => cs.some((c) => c.status === 'created'), 60_000);
      await start();
      await settledAndTrue(() => 'running');
    }
  }, 600_000);

  test('reboots, SIGKILLed mid-reboot: after a restart each instance rebooted exactly once', async () => {
    const some = ids.slice(10, 20);
    // Boots of the guest itself: its init says so first thing (a boot cut short before the init ran is none).
    const boots = (id: string) => readFileSync(join(home, 'instances', id, 'console.log'), 'utf8').split('cumulo-init: booting').length - 1;
    const before = new Map(some.map((id) => [id, boots(id)]));
    await ec2.send(new RebootInstancesCommand({ InstanceIds: some }));
    // Mid-way: an instance halted and not booted again yet, or booting.
    await killWhen('mid-reboot', (cs) => cs.length < COUNT || cs.some((c) => c.status !== 'running'), 60_000);
    await start();
    // The reboot jobs the dead server held run again: each finishes its reboot, or sees it done.
    await until('no reboot job left', async () => pendingJobs('instance.reboot') === 0, 60_000, 250);
    await settledAndTrue(() => 'running');
    await until('every guest booted again', async () => some.every((id) => boots(id) >= before.get(id)! + 1), 30_000, 250);
    // Not twice.
    expect(some.map((id) => boots(id) - before.get(id)!)).toEqual(some.map(() => 1));
  }, 300_000);

  test('everything terminated and the server stopped: nothing of this state folder is left on the host', async () => {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await until('every instance terminated', async () => [...(await states()).values()].every((s) => s === 'terminated'), 120_000, 250);
    expect(await runcContainers(home)).toEqual([]);
    server!.proc.kill('SIGTERM');
    expect(await server!.exited).toBe(0);
    server = undefined;
    // Host ip rules name this server's routing tables by number: 0x80000000 | tag << 15 | index.
    const ourTable = (x: string) => Number(/lookup (\d+)/.exec(x)?.[1] ?? 0) >>> 15 === (0x10000 | parseInt(tag, 16));
    const names = [`cu-${tag}-`, `cu${tag}`, `cv${tag}`, `cumulo_${tag}`, `/run/cumulo/${tag}`];
    const ours = (xs: string[]) => xs.filter((x) => x.includes(home) || names.some((n) => x.includes(n)) || ourTable(x));
    const left = hostObjects();
    const mine: Partial<HostObjects> = {};
    for (const k of Object.keys(left) as (keyof HostObjects)[]) {
      const xs = ours(left[k]);
      if (xs.length) mine[k] = xs;
    }
    expect(mine).toEqual({});
  }, 300_000);
});
