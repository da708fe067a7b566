// What every built-in image gets from cumulo: the guest init as PID 1, the shutdown commands that
// talk to it, and the folders the driver writes into (see guest/README.md).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { guestDir, guestSymlink, writeGuestFile } from './rootfs.js';

/**
 * A file of src/host/images/guest/, from the sources (tsx, vitest) or from the build (dist/host/images/
 * has no copy of the shell files: they are read from the clone's src/).
 */
export function guestAsset(name: string): string {
  const candidates = [new URL(`./guest/${name}`, import.meta.url), new URL(`../../../src/host/images/guest/${name}`, import.meta.url)];
  for (const u of candidates) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return p;
  }
  throw new Error(`guest file ${name} not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`);
}

/** The files of guest/ that go into every image (their digest is part of the image cache's key). */
export const guestFiles = ['init.sh', 'shutdown.sh'] as const;

export const INIT_PATH = '/usr/lib/cumulo/init';
export const SHUTDOWN_PATH = '/usr/lib/cumulo/shutdown';
export const shutdownCommands = ['poweroff', 'halt', 'reboot', 'shutdown'] as const;

/** Install the init at /usr/lib/cumulo/init (with /sbin/init to it) and the shutdown commands. */
export function installGuestInit(root: string): void {
  writeGuestFile(root, INIT_PATH, { content: readFileSync(guestAsset('init.sh')), mode: 0o755 });
  writeGuestFile(root, SHUTDOWN_PATH, { content: readFileSync(guestAsset('shutdown.sh')), mode: 0o755 });
  guestSymlink(root, '/sbin/init', INIT_PATH);
  for (const c of shutdownCommands) guestSymlink(root, `/sbin/${c}`, SHUTDOWN_PATH);
  guestDir(root, '/var/lib/cumulo', 0o700);
  guestDir(root, '/var/lib/cloud', 0o755);
  guestDir(root, '/var/lib/cloud/instance', 0o755);
  guestDir(root, '/var/lib/cloud/scripts/per-boot', 0o755);
}
