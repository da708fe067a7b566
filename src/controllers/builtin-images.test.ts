// The server's builds of the built-in images, against a real SQLite store and an image store whose
// builds the test finishes (or fails) itself.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import type { ImageArtifact, ImageStore, Progress } from '../host/images/store.js';
import { builtinImages, seedBuiltinImages } from '../services/ec2/images/builtin.js';
import { openStore, type Db } from '../store/db.js';
import { BUILD_STATUS_FILE, BuiltinImageBuilds, type BuildStatus } from './builtin-images.js';

const [minimal, debian] = builtinImages;
let home: string;
let db: Db;
let logs: string[];

/** An image store with the given images built; ensure() waits until the test settles it. */
function store(built: string[]) {
  const have = new Set(built);
  const pending = new Map<string, { progress: Progress; settle: (err?: Error) => void }>();
  const images: ImageStore = {
    find: (s) => (have.has(s.builtin) ? { snapshotFile: `/x/${s.builtin}`, sizeGiB: 1, sshUser: 'u' } : undefined),
    ensure: (s, progress = () => {}) =>
      new Promise<ImageArtifact>((resolve, reject) => {
        pending.set(s.builtin, {
          progress,
          settle: (err) => {
            pending.delete(s.builtin);
            if (err) return reject(err);
            have.add(s.builtin);
            resolve({ snapshotFile: `/x/${s.builtin}`, sizeGiB: 1, sshUser: 'u' });
          },
        });
      }),
  };
  return { images, pending };
}

async function states(): Promise<Record<string, string>> {
  const rows = await db
    .selectFrom('images')
    .select(['name', 'state', 'region'])
    .where(
      'name',
      'in',
      builtinImages.map((i) => i.name),
    )
    .execute();
  const out: Record<string, string> = {};
  for (const r of rows) {
    const prev = out[r.name];
    if (prev && prev !== r.state) throw new Error(`${r.name} differs between regions`);
    out[r.name] = r.state;
  }
  return out;
}

const statusFile = () => JSON.parse(readFileSync(join(home, BUILD_STATUS_FILE), 'utf8')) as { pid: number; images: BuildStatus[] };

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
  expect(await cond()).toBe(true);
}

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'cumulo-builds-'));
  db = await openStore({ file: ':memory:' });
  await seedBuiltinImages(db, loadConfig({ CUMULO_HOME: home }));
  logs = [];
});

afterEach(async () => {
  await db.destroy();
  rmSync(home, { recursive: true, force: true });
});

describe('BuiltinImageBuilds', () => {
  it('no host image store (a driver that runs nothing): every built-in image is available', async () => {
    await db.updateTable('images').set({ state: 'pending' }).execute();
    await new BuiltinImageBuilds({ db, home, log: (l) => logs.push(l) }).mark();
    expect(Object.values(await states())).toEqual(['available', 'available']);
  });

  it('an image not built is pending, with its progress in the log and the status file, then available', async () => {
    const { images, pending } = store(['minimal']);
    const b = new BuiltinImageBuilds({ db, home, images, log: (l) => logs.push(l) });
    await b.mark();
    expect(await states()).toEqual({ [minimal!.name]: 'available', [debian!.name]: 'pending' });
    expect(statusFile().images).toEqual([expect.objectContaining({ name: debian!.name, state: 'queued' })]);
    b.start();
    await until(() => pending.has('debian-12'));
    pending.get('debian-12')!.progress({ step: 'debootstrap: installing packages', done: 25, total: 200 });
    expect(statusFile()).toMatchObject({ pid: process.pid, images: [{ name: debian!.name, state: 'building', step: 'debootstrap: installing packages', done: 25, total: 200 }] });
    expect(logs).toContain(`images: ${debian!.name}: debootstrap: installing packages (25/200)`);
    expect(await states()).toMatchObject({ [debian!.name]: 'pending' });
    pending.get('debian-12')!.settle();
    await until(async () => (await states())[debian!.name] === 'available');
    expect(statusFile().images).toEqual([expect.objectContaining({ state: 'available' })]);
    expect(logs).toContain(`images: ${debian!.name} is available`);
    b.stop();
  });

  it('a build that keeps failing ends in `failed` with a state reason, not in a loop', async () => {
    const { images, pending } = store(['minimal']);
    const b = new BuiltinImageBuilds({ db, home, images, log: (l) => logs.push(l), retryMs: 10 });
    await b.mark();
    b.start();
    for (let attempt = 0; attempt < 2; attempt++) {
      await until(() => pending.has('debian-12'));
      pending.get('debian-12')!.settle(new Error('debootstrap failed: no route to deb.debian.org'));
    }
    await until(async () => (await states())[debian!.name] === 'failed');
    const row = await db.selectFrom('images').select('state_reason').where('name', '=', debian!.name).executeTakeFirstOrThrow();
    expect(JSON.parse(row.state_reason as string)).toEqual({
      Code: 'Server.InternalError',
      Message: 'The image could not be built: debootstrap failed: no route to deb.debian.org',
    });
    expect(statusFile().images).toEqual([expect.objectContaining({ state: 'failed', error: 'debootstrap failed: no route to deb.debian.org' })]);
    expect(pending.size).toBe(0);
    // The next start tries again: pending once more.
    await new BuiltinImageBuilds({ db, home, images, log: () => undefined }).mark();
    expect((await states())[debian!.name]).toBe('pending');
    b.stop();
  });

  it("another command opening the store (seed) leaves the server's states alone", async () => {
    const { images } = store([]);
    await new BuiltinImageBuilds({ db, home, images, log: () => undefined }).mark();
    await seedBuiltinImages(db, loadConfig({ CUMULO_HOME: home }));
    expect(Object.values(await states())).toEqual(['pending', 'pending']);
  });

  it('stopped: a build that ends later writes nothing', async () => {
    const { images, pending } = store(['minimal']);
    const b = new BuiltinImageBuilds({ db, home, images, log: (l) => logs.push(l) });
    await b.mark();
    b.start();
    await until(() => pending.has('debian-12'));
    b.stop();
    pending.get('debian-12')!.settle();
    await new Promise((r) => setTimeout(r, 50));
    expect((await states())[debian!.name]).toBe('pending');
  });
});
