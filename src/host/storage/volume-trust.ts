// Whether the host may mount a volume's filesystem: the records beside its file (<vol-id>.raw.trusted,
// <vol-id>.raw.growfs; see xfs-store.ts) and the sandboxed check that earns the first.
import { open, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Revert } from '../revert.js';
import { checkFilesystem, growFilesystem, UntrustedFilesystemError, type FsckOptions } from './fsck.js';
import { isLuks, type LuksExports } from './luks.js';
import type { LoopDevice } from './loop.js';
import { exists } from './paths.js';
import type { KeySource } from './xfs-store.js';

/** A record beside the volume's file (<vol-id>.raw.<kind>), removed by revert if the create fails. */
export async function writeRecord(file: string, kind: 'trusted' | 'growfs', content: string, revert?: Revert): Promise<void> {
  const record = `${file}.${kind}`;
  await writeFile(record, content);
  revert?.add(() => rm(record, { force: true }));
}

export async function dropRecords(file: string): Promise<void> {
  await rm(`${file}.trusted`, { force: true });
  await rm(`${file}.growfs`, { force: true });
}

/** ensureTrusted under the volume's lock; keepOpen leaves an encrypted volume's export open (mount goes on with it). */
export async function trustVolume(o: {
  volumeId: string;
  file: string;
  key: KeySource;
  keepOpen: boolean;
  luks: LuksExports;
  fsck: FsckOptions;
  devicesOf: () => Promise<LoopDevice[]>;
}): Promise<void> {
  const { volumeId, file, key, luks } = o;
  if (await exists(`${file}.trusted`)) return;
  if (!(await exists(file))) throw new Error(`volume ${volumeId} does not exist`);
  const loops = await o.devicesOf();
  if (loops.length) throw new UntrustedFilesystemError(volumeId, `it is in use as a block device (${loops.map((l) => l.device).join(', ')}) and cannot be checked`);
  const encrypted = await isLuks(file);
  const wasOpen = encrypted && (await luks.isOpen(volumeId));
  try {
    // The plaintext, writable: preening replays the journal and clears orphans (as a boot would).
    const target = encrypted ? await luks.open(volumeId, file, key) : file;
    const checked = await checkFilesystem(target, o.fsck);
    if (!checked.ok) throw new UntrustedFilesystemError(volumeId, checked.reason);
    if (await exists(`${file}.growfs`)) {
      const grown = await growFilesystem(target, o.fsck);
      if (!grown.ok) throw new UntrustedFilesystemError(volumeId, grown.reason);
      await rm(`${file}.growfs`, { force: true });
    }
    await writeRecord(file, 'trusted', `checked ${new Date().toISOString()} in ${checked.ms} ms\n`);
  } finally {
    if (encrypted && !wasOpen && !o.keepOpen) await luks.close(volumeId);
  }
}

/**
 * The volume is about to be a block device of an instance: whatever it holds afterwards was
 * written raw. Dropped durably before the device exists (a crash leaves it untrusted, never the
 * other way round); nor is its filesystem grown for it any more: the tenant owns its layout.
 */
export async function distrust(file: string): Promise<void> {
  if (!(await exists(`${file}.trusted`)) && !(await exists(`${file}.growfs`))) return;
  await dropRecords(file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
