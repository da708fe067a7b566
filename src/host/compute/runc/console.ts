// An instance's console log (conmon writes what its init prints): its tail as EC2 returns it, and
// a cap on its size on the host.
import { open, stat, writeFile } from 'node:fs/promises';

/** EC2 keeps the last 64 KiB of console output; the file is cut back to that when it grows past this. */
const CONSOLE_KEEP = 64 * 1024;
const CONSOLE_MAX = 1024 * 1024;

export async function consoleTail(file: string): Promise<Buffer> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, CONSOLE_KEEP);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf;
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw e;
  }
}

/** A chatty guest must not fill the host's disk: keep the last 64 KiB once the file passes 1 MiB. */
export async function trimConsole(file: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (!st || st.size <= CONSOLE_MAX) return;
  const tail = await consoleTail(file);
  await writeFile(file, tail);
}
