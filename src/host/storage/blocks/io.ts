// Durable writes and whole reads.
import { open, type FileHandle } from 'node:fs/promises';
import { run } from '../exec.js';

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Make what was written under dir durable: syncfs of its filesystem, else fsync of each path given (files, or folders for renames). */
export async function syncFs(dir: string, paths: string[]): Promise<void> {
  try {
    await run('sync', ['-f', dir]);
  } catch {
    for (const p of paths) await fsyncPath(p);
  }
}

export async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
}
