// A snapshot's point in time on the host: the volume's file reflink-cloned (copy-on-write, well
// under a second) while the volume is held still, named for the snapshot once whole.
import { constants } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { run } from './exec.js';
import { syncFile } from './image-files.js';
import { loopsOf } from './loop.js';

export async function cloneForSnapshot(o: {
  /** The volume's file (its LUKS image when encrypted). */
  file: string;
  /** Where the capture goes (captures/<snapshot id>.raw). */
  target: string;
  /** Its plaintext export, when it is encrypted and open. */
  plain: string;
  encrypted: boolean;
  /** Holds a mounted root still (frozen) for the instant of the clone. */
  quiesce: <T>(fn: () => Promise<T>) => Promise<T>;
}): Promise<void> {
  const { file, target, plain, encrypted, quiesce } = o;
  const tmp = `${target}.tmp`;
  await rm(tmp, { force: true });
  const loops = await loopsOf(encrypted ? plain : file);
  let cloning: Promise<void> | undefined;
  try {
    await quiesce(async () => {
      // Inside the quiesce (what a freeze flushed is below the filesystem now): whatever the loop
      // device holds buffered reaches the file, through the plaintext export for an encrypted
      // volume (its daemon writes its image); the clone is then of the file as it is.
      for (const loop of loops) await run('blockdev', ['--flushbufs', loop.device]).catch(() => undefined);
      if (encrypted) await run('sync', [plain]).catch(() => undefined);
      await (cloning = copyFile(file, tmp, constants.COPYFILE_FICLONE_FORCE));
    });
    await syncFile(tmp);
    await rename(tmp, target);
    await syncFile(dirname(target));
  } catch (e) {
    // A quiesce that gave up (timed out) may leave the clone still being made: remove it once done.
    void (cloning ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => rm(tmp, { force: true }))
      .catch(() => undefined);
    throw e;
  }
}
