import { open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** The canonical path the kernel reports (sysfs backing_file, mountinfo), even for a path that no longer exists. */
export async function realish(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(await realish(parent), basename(abs));
  }
}

/** Names that become file names: no slashes, no dot-dot. */
export function checkName(kind: string, name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) throw new Error(`invalid ${kind} ${JSON.stringify(name)}`);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** A new file of that apparent size taking no space (fails if it exists). */
export async function sparseFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}
