// The host's master key: 32 random bytes in a file of its own (0600), never in the database, so a
// copy of the store alone opens no secret. $CUMULO_HOME/master.key by default; CUMULO_MASTER_KEY_FILE
// puts it elsewhere (hosts sharing one PostgreSQL store must share the key).
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MASTER_KEY_BYTES } from './secrets.js';

/** The key in `file`, or undefined when there is no such file. Refuses a file others may read. */
export function readMasterKey(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`the master key ${file} is not a regular file`);
    if (st.mode & 0o077) {
      throw new Error(`the master key ${file} is readable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it`);
    }
    if (st.size !== MASTER_KEY_BYTES) throw new Error(`the master key ${file} holds ${st.size} bytes, not ${MASTER_KEY_BYTES}`);
    const key = Buffer.alloc(MASTER_KEY_BYTES);
    if (readSync(fd, key, 0, MASTER_KEY_BYTES, 0) !== MASTER_KEY_BYTES) throw new Error(`the master key ${file} could not be read whole`);
    return key;
  } finally {
    closeSync(fd);
  }
}

/**
 * Make a new key at `file`, atomically and never over an existing one: written whole to a temp file
 * (0600, fsynced), then linked into place (link fails where rename would overwrite a key another
 * process made at the same moment; theirs is then the key). Returns the key now in `file`.
 */
export function createMasterKey(file: string): Buffer {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const key = randomBytes(MASTER_KEY_BYTES);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    try {
      linkSync(tmp, file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return readMasterKey(file)!;
      // A filesystem without hard links: rename, having looked first (a narrower race than none).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
      const other = readMasterKey(file);
      if (other) return other;
      renameSync(tmp, file);
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // renamed
    }
  }
  // The name is on disk too, not only the bytes.
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return key;
}
