// The host's cache of built-in images: each built once from Debian's packages, kept as a raw ext4
// image (the AMI's root snapshot) in <cache>/<builtin>-<version>-<digest of the guest init>/:
//   root.ext4      the snapshot: `mkfs.ext4 -d rootfs`, sparse, read-only
//   manifest.json  what it is (name, size, ssh user, when and how it was built)
//   done           written last: a folder without it is never used
// A build happens in a temp folder beside it and is renamed into place, under a lock folder, so
// two processes never build the same image at once and a crashed build is simply redone.
//
// Where: $CUMULO_HOME/images, and $CUMULO_IMAGE_CACHE when set (looked at first and built into):
// a machine-wide cache that every state folder shares (the test suite sets /var/cache/cumulo/images,
// so it builds the Debian image at most once per machine).
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ImageSource } from '../compute/driver.js';
import { buildDebianRootfs, DEBIAN_SSH_USER, debianPackages } from './debian.js';
import { run } from './exec.js';
import { guestAsset, guestFiles } from './guest.js';
import { buildMinimalRootfs, MINIMAL_SSH_USER } from './minimal.js';
import type { ImageArtifact, ImageStore, Progress } from './store.js';
import { processAlive } from '../../lib/process.js';

export interface Recipe {
  /** The name in the cache folder and in builtin.ts's source ('minimal', 'debian-12'). */
  builtin: string;
  sizeGiB: number;
  sshUser: string;
  /** What the build takes besides the version (Debian's package list): a change makes a new build. */
  inputs?: readonly string[];
  build(rootfs: string, version: string, onProgress: Progress): Promise<void>;
}

/** The recipes by built-in name; sizes and users match src/services/ec2/images/builtin.ts. */
export const recipes: Record<string, Recipe> = {
  minimal: { builtin: 'minimal', sizeGiB: 1, sshUser: MINIMAL_SSH_USER, build: (dir, version, p) => buildMinimalRootfs(dir, version, p) },
  'debian-12': { builtin: 'debian-12', sizeGiB: 8, sshUser: DEBIAN_SSH_USER, inputs: debianPackages, build: (dir, _version, p) => buildDebianRootfs(dir, p) },
};

/** 'debian' is what InstanceSpec's comment calls the Debian image; the images table says 'debian-12'. */
export function recipeOf(builtin: string, from: Record<string, Recipe> = recipes): Recipe {
  const r = from[builtin === 'debian' ? 'debian-12' : builtin];
  if (!r) throw new Error(`no built-in image named '${builtin}' (known: ${Object.keys(from).join(', ')})`);
  return r;
}

export interface BuiltinImageStoreOptions {
  home: string;
  /** The machine-wide cache (default: $CUMULO_IMAGE_CACHE). */
  cacheDir?: string;
  /** How long to wait for another process's build of the same image. */
  lockTimeoutMs?: number;
  /** Other recipes than the built-in ones (tests). */
  recipes?: Record<string, Recipe>;
}

interface Manifest {
  builtin: string;
  version: string;
  sizeGiB: number;
  sshUser: string;
  builtAt: string;
  buildSeconds: number;
}

const LOCK_POLL_MS = 500;

/** Mount points at or under dir (deepest first), from this process's mount table. */
function mountsUnder(dir: string): string[] {
  const d = resolve(dir);
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return points.filter((p) => p === d || p.startsWith(d + '/')).sort((a, b) => b.length - a.length);
}

/** Remove a build folder: whatever was mounted under it first (an old debootstrap's /proc), never crossing into a mount. */
async function removeBuildDir(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await run('umount', ['-l', m]).catch(() => undefined);
  await run('rm', ['-rf', '--one-file-system', dir]);
}

export class BuiltinImageStore implements ImageStore {
  readonly homeDir: string;
  readonly cacheDir: string | undefined;
  private readonly lockTimeoutMs: number;
  private readonly building = new Map<string, Promise<ImageArtifact>>();
  private readonly recipes: Record<string, Recipe>;

  constructor(opts: BuiltinImageStoreOptions) {
    this.homeDir = join(opts.home, 'images');
    const shared = opts.cacheDir ?? process.env.CUMULO_IMAGE_CACHE;
    this.cacheDir = shared ? resolve(shared) : undefined;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30 * 60_000;
    this.recipes = opts.recipes ?? recipes;
  }

  /** Where builds go: the shared cache if there is one. */
  get buildDir(): string {
    return this.cacheDir ?? this.homeDir;
  }

  /**
   * The cache folder's name: <builtin>-<version>-<guest>, where <guest> is a digest of the guest
   * files every image carries (init, shutdown commands) and of the recipe's inputs (its package
   * list): a new init or package list makes a new image even without a version bump. A recipe
   * change bumps the version too (src/services/ec2/images/builtin.ts), which renames the image.
   */
  key(source: Pick<ImageSource, 'builtin' | 'version'>): string {
    if (!/^[A-Za-z0-9._-]+$/.test(source.version)) throw new Error(`bad image version ${JSON.stringify(source.version)}`);
    return `${this.stem(source)}-${buildDigest(recipeOf(source.builtin, this.recipes).inputs)}`;
  }

  private stem(source: Pick<ImageSource, 'builtin' | 'version'>): string {
    return `${recipeOf(source.builtin, this.recipes).builtin}-${source.version}`;
  }

  /** The built image, if a cache has it (no build). */
  find(source: Pick<ImageSource, 'builtin' | 'version'>): ImageArtifact | undefined {
    const key = this.key(source);
    for (const dir of [this.cacheDir, this.homeDir]) {
      if (!dir) continue;
      const a = this.artifactAt(join(dir, key));
      if (a) return a;
    }
    return undefined;
  }

  private artifactAt(dir: string): ImageArtifact | undefined {
    if (!existsSync(join(dir, 'done'))) return undefined;
    try {
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      return { snapshotFile: join(dir, 'root.ext4'), sizeGiB: m.sizeGiB, sshUser: m.sshUser };
    } catch {
      return undefined;
    }
  }

  ensure(source: ImageSource, onProgress: Progress = () => {}): Promise<ImageArtifact> {
    const found = this.find(source);
    if (found) return Promise.resolve(found);
    const key = this.key(source);
    let p = this.building.get(key);
    if (!p) {
      p = this.buildLocked(source, key, onProgress).finally(() => this.building.delete(key));
      this.building.set(key, p);
    } else {
      onProgress({ step: `waiting for the build of ${key} already under way` });
    }
    return p;
  }

  /** Build under the lock folder <buildDir>/.<key>.lock (holding the owner's pid). */
  private async buildLocked(source: ImageSource, key: string, onProgress: Progress): Promise<ImageArtifact> {
    mkdirSync(this.buildDir, { recursive: true });
    const lock = join(this.buildDir, `.${key}.lock`);
    const started = Date.now();
    let told = false;
    for (;;) {
      try {
        mkdirSync(lock);
        writeFileSync(join(lock, 'pid'), String(process.pid));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      // Someone holds it: wait for their build, unless they are gone.
      const pid = Number(readFileSafe(join(lock, 'pid')));
      const age = Date.now() - mtimeOf(lock);
      if ((pid && !processAlive(pid)) || (!pid && age > 10_000)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      const done = this.find(source);
      if (done) return done;
      if (Date.now() - started > this.lockTimeoutMs) throw new Error(`timed out waiting for another process (pid ${pid}) building ${key}`);
      if (!told) onProgress({ step: `waiting for another process (pid ${pid}) building ${key}` });
      told = true;
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
    try {
      return this.find(source) ?? (await this.build(source, key, onProgress));
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }

  private async build(source: ImageSource, key: string, onProgress: Progress): Promise<ImageArtifact> {
    const recipe = recipeOf(source.builtin, this.recipes);
    const final = join(this.buildDir, key);
    // Leftovers of builds that died (their owner is gone: we hold the lock).
    for (const e of readdirSync(this.buildDir)) {
      if (e.startsWith(`.${key}.build-`)) await removeBuildDir(join(this.buildDir, e));
    }
    if (existsSync(final) && !this.artifactAt(final)) await removeBuildDir(final);

    const tmp = join(this.buildDir, `.${key}.build-${process.pid}-${randomBytes(4).toString('hex')}`);
    const rootfs = join(tmp, 'rootfs');
    mkdirSync(rootfs, { recursive: true, mode: 0o755 });
    chmodSync(rootfs, 0o755); // the image's / (mkfs.ext4 -d copies it): not the server's umask
    const t0 = Date.now();
    try {
      onProgress({ step: `building ${key}` });
      await recipe.build(rootfs, source.version, onProgress);
      onProgress({ step: `${key}: root snapshot (ext4, ${recipe.sizeGiB} GiB, sparse)` });
      const file = join(tmp, 'root.ext4');
      await makeSnapshot(rootfs, file, recipe.sizeGiB);
      await removeBuildDir(rootfs);
      const manifest: Manifest = {
        builtin: recipe.builtin,
        version: source.version,
        sizeGiB: recipe.sizeGiB,
        sshUser: recipe.sshUser,
        builtAt: new Date().toISOString(),
        buildSeconds: Math.round((Date.now() - t0) / 100) / 10,
      };
      writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
      // On disk before the marker says it is whole.
      const fd = openSync(file, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      writeFileSync(join(tmp, 'done'), `${manifest.builtAt}\n`);
      renameSync(tmp, final);
    } catch (e) {
      await removeBuildDir(tmp).catch(() => undefined);
      throw e;
    }
    // The same image with an older init (or from before the digest): nothing launches from it any more.
    const stem = this.stem(source);
    for (const e of readdirSync(this.buildDir)) {
      const older = e === stem || (e !== key && e.startsWith(`${stem}-`) && /^[0-9a-f]{8}$/.test(e.slice(stem.length + 1)));
      if (older) await removeBuildDir(join(this.buildDir, e)).catch(() => undefined);
    }
    onProgress({ step: `${key}: ready (${((Date.now() - t0) / 1000).toFixed(1)} s)` });
    return this.artifactAt(final)!;
  }
}

let digest: string | undefined;

/** guestDigest, with the recipe's inputs when it has any (the minimal image's key is the guest files' alone). */
export function buildDigest(inputs?: readonly string[]): string {
  if (!inputs?.length) return guestDigest();
  return createHash('sha256').update(guestDigest()).update('\0').update(inputs.join('\0')).digest('hex').slice(0, 8);
}

/** 8 hex digits of sha256 over the guest files installed into every image. */
export function guestDigest(): string {
  if (!digest) {
    const h = createHash('sha256');
    for (const f of guestFiles)
      h.update(f)
        .update('\0')
        .update(readFileSync(guestAsset(f)))
        .update('\0');
    digest = h.digest('hex').slice(0, 8);
  }
  return digest;
}

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

function mtimeOf(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** A raw ext4 image of `rootfs`: sparse, inode tables zeroed now (so no instance zeroes them later). */
export async function makeSnapshot(rootfs: string, file: string, sizeGiB: number): Promise<void> {
  closeSync(openSync(file, 'w', 0o644));
  truncateSync(file, sizeGiB * 1024 ** 3);
  await run('mkfs.ext4', ['-q', '-F', '-L', 'cloudimg-rootfs', '-E', 'lazy_itable_init=0,lazy_journal_init=1', '-d', rootfs, file]);
  chmodSync(file, 0o400); // read-only, and the host's alone like the rest of the state folder
}
