// The image cache's rules, with a tiny recipe (a folder with one file): one build shared by
// concurrent callers, a lock between stores, crashed builds redone, the shared cache looked at first.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { requires } from '../../../test/requires.js';
import { BuiltinImageStore, recipes, type Recipe } from './builtin-store.js';

const needs = requires({ commands: ['mkfs.ext4'] });

let dir: string;
let builds: number;
let failNext: boolean;

const tiny: Recipe = {
  builtin: 'tiny',
  sizeGiB: 1,
  sshUser: 'tiny-user',
  async build(rootfs, version, onProgress) {
    builds++;
    onProgress({ step: 'tiny: writing' });
    await new Promise((r) => setTimeout(r, 50));
    if (failNext) {
      failNext = false;
      throw new Error('recipe failed');
    }
    writeFileSync(join(rootfs, 'version'), version);
  },
};

function store(opts: { home?: string; cacheDir?: string } = {}): BuiltinImageStore {
  return new BuiltinImageStore({ home: opts.home ?? join(dir, 'home'), cacheDir: opts.cacheDir ?? join(dir, 'unused-cache'), recipes: { tiny } });
}

const src = { builtin: 'tiny', version: '20260101', sshUser: 'tiny-user' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cumulo-images-'));
  builds = 0;
  failNext = false;
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

needs.describe('BuiltinImageStore', () => {
  it('builds once, into <cache>/<builtin>-<version>, with done written last', async () => {
    const s = store();
    const steps: string[] = [];
    const a = await s.ensure(src, (e) => steps.push(e.step));
    expect(s.key(src)).toMatch(/^tiny-20260101-[0-9a-f]{8}$/);
    expect(a).toEqual({ snapshotFile: join(s.buildDir, s.key(src), 'root.ext4'), sizeGiB: 1, sshUser: 'tiny-user' });
    expect(readdirSync(join(s.buildDir, s.key(src))).sort()).toEqual(['done', 'manifest.json', 'root.ext4']);
    expect(statSync(a.snapshotFile).mode & 0o777).toBe(0o400);
    expect(steps).toContain('tiny: writing');
    expect(steps.at(-1)).toMatch(/^tiny-20260101-[0-9a-f]{8}: ready/);
    // the snapshot holds the rootfs
    expect(spawnSync('debugfs', ['-R', 'cat /version', a.snapshotFile]).stdout.toString()).toBe('20260101');
    await s.ensure(src);
    expect(builds).toBe(1);
  });

  it('shares one build between concurrent callers', async () => {
    const s = store();
    const [a, b, c] = await Promise.all([s.ensure(src), s.ensure(src), s.ensure(src)]);
    expect(builds).toBe(1);
    expect(a).toEqual(b);
    expect(b).toEqual(c);
  });

  it('lets a second store (another process) wait for the first one’s build', async () => {
    const cache = join(dir, 'shared');
    const one = store({ home: join(dir, 'h1'), cacheDir: cache });
    const two = store({ home: join(dir, 'h2'), cacheDir: cache });
    const steps: string[] = [];
    const [a, b] = await Promise.all([one.ensure(src), two.ensure(src, (e) => steps.push(e.step))]);
    expect(builds).toBe(1);
    expect(a).toEqual(b);
    expect(a.snapshotFile.startsWith(cache)).toBe(true);
  });

  it('takes over the lock of a process that died, and redoes its half-built image', async () => {
    const s = store();
    const key = s.key(src);
    mkdirSync(join(s.buildDir, `.${key}.lock`), { recursive: true });
    writeFileSync(join(s.buildDir, `.${key}.lock`, 'pid'), '2147483646'); // no such process
    mkdirSync(join(s.buildDir, `.${key}.build-2147483646-dead/rootfs`), { recursive: true });
    mkdirSync(join(s.buildDir, key)); // no done marker: never used
    writeFileSync(join(s.buildDir, key, 'root.ext4'), 'garbage');
    mkdirSync(join(s.buildDir, 'tiny-20260101-0badc0de')); // the same image with an older init
    mkdirSync(join(s.buildDir, 'tiny-20260101')); // and from before the digest
    mkdirSync(join(s.buildDir, 'tiny-20250101-0badc0de')); // another version: not ours to remove
    const a = await s.ensure(src);
    expect(builds).toBe(1);
    expect(readdirSync(s.buildDir).sort()).toEqual(['tiny-20250101-0badc0de', key]);
    expect(statSync(a.snapshotFile).size).toBe(1024 ** 3);
  });

  it('unwinds a failed build and builds again next time', async () => {
    const s = store();
    failNext = true;
    await expect(s.ensure(src)).rejects.toThrow('recipe failed');
    expect(readdirSync(s.buildDir)).toEqual([]);
    await s.ensure(src);
    expect(builds).toBe(2);
  });

  it('finds an image in the shared cache or in the home, and builds into the shared cache', async () => {
    const cache = join(dir, 'shared');
    const home = join(dir, 'home');
    const inHome = new BuiltinImageStore({ home, recipes: { tiny }, cacheDir: join(dir, 'elsewhere') });
    expect(inHome.buildDir).toBe(join(dir, 'elsewhere'));
    const withShared = store({ home, cacheDir: cache });
    expect(withShared.find(src)).toBeUndefined();
    await withShared.ensure(src);
    expect(existsSync(join(cache, withShared.key(src), 'done'))).toBe(true);
    expect(store({ home: join(dir, 'other-home'), cacheDir: cache }).find(src)?.snapshotFile).toBe(join(cache, withShared.key(src), 'root.ext4'));
  });

  it("a recipe's inputs (its package list) are in the key: a changed list is a new build, the same list the same", () => {
    const withInputs = (inputs?: string[]) => new BuiltinImageStore({ home: join(dir, 'home'), recipes: { tiny: { ...tiny, ...(inputs ? { inputs } : {}) } } }).key(src);
    expect(withInputs(['a', 'b'])).toMatch(/^tiny-20260101-[0-9a-f]{8}$/);
    expect(withInputs(['a', 'b'])).toBe(withInputs(['a', 'b']));
    expect(withInputs(['a', 'b'])).not.toBe(withInputs(['a', 'b', 'c']));
    expect(withInputs(['a', 'b'])).not.toBe(withInputs(['ab']));
    expect(withInputs(['a'])).not.toBe(withInputs());
    expect(withInputs([])).toBe(withInputs()); // no inputs: the guest files' digest alone
    expect(recipes['debian-12']!.inputs).toContain('python3-boto3');
  });

  it('refuses odd versions and unknown images', () => {
    const s = store();
    expect(() => s.key({ builtin: 'tiny', version: '../../etc' })).toThrow(/bad image version/);
    expect(() => s.key({ builtin: 'windows', version: '1' })).toThrow(/no built-in image/);
  });
});
