// Snapshots from outside the volume store (images on the host's ext4) copied into it once, where
// volumes can be reflinked from them.
import { createHash } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from './exec.js';
import { e2fsck } from './image-files.js';
import { ext4BlockSize } from './loop.js';
import { exists, realish } from './paths.js';
import type { XfsVolumeStoreOptions } from './xfs-store.js';

export class SnapshotImports {
  private readonly imports = new Map<string, Promise<string>>();

  constructor(
    private readonly snapshotsDir: string,
    private readonly onProgress: NonNullable<XfsVolumeStoreOptions['onProgress']>,
  ) {}

  /**
   * The snapshot as a file inside the store (whose device is storeDev), where it can be reflinked. A
   * file already on the store is used as it is; another (an image under $CUMULO_HOME/images, on the
   * host's ext4) is copied in once, sparse, and its filesystem checked once, so that growing a clone
   * never needs e2fsck again (resize2fs trusts a filesystem checked since it was last mounted).
   */
  async storeCopyOf(snapshotFile: string, storeDev: number): Promise<string> {
    let st;
    try {
      st = await stat(snapshotFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`snapshot file ${snapshotFile} does not exist`);
      throw e;
    }
    if (!st.isFile()) throw new Error(`snapshot ${snapshotFile} is not a regular file`);
    if (st.dev === storeDev) return snapshotFile;
    // Same path, size, inode and mtime: the same snapshot. A rebuilt image gets a new copy.
    const path = await realish(snapshotFile);
    const key = createHash('sha256').update(`${path}\0${st.size}\0${st.ino}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
    const stem = basename(path)
      .replace(/\.(raw|img|ext4)$/, '')
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 64);
    const dest = join(this.snapshotsDir, `${stem}-${key}.raw`);
    let pending = this.imports.get(dest);
    if (!pending) {
      pending = this.importSnapshot(snapshotFile, dest, st.size).finally(() => this.imports.delete(dest));
      this.imports.set(dest, pending);
    }
    return pending;
  }

  private async importSnapshot(from: string, dest: string, size: number): Promise<string> {
    if (await exists(dest)) return dest;
    const tmp = `${dest}.tmp`;
    const step = `copying snapshot ${basename(from)} into the volume store`;
    try {
      this.onProgress({ step, done: 0, total: size });
      await run('cp', ['--sparse=always', from, tmp]);
      if ((await ext4BlockSize(tmp)) !== undefined) await e2fsck(tmp);
      await rename(tmp, dest);
      this.onProgress({ step, done: size, total: size });
      return dest;
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}
