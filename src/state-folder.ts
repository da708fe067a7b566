// The state folder holds the store, the master key, the metadata service's key, volumes and
// instances: it is the host's alone. The folder is 0700 (fixed at every start if it is looser), and
// the process's umask is 0077 so that whatever cumulo makes in it is 0600/0700 whatever umask it was
// started with. What is made for guests (image and instance root filesystems) sets its modes
// explicitly (src/host/images/rootfs.ts) or runs under umask 0022 (src/host/images/exec.ts).
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_UMASK = 0o077;

/**
 * Files an older cumulo may have made under a looser umask, made private again. Not master.key:
 * a key that others could read is refused (src/lib/master-key.ts), not quietly tightened.
 */
const KNOWN_FILES = ['cumulo.db', 'cumulo.db-wal', 'cumulo.db-shm', 'imds.key', 'server.pid'];

/** Owner-only permissions for everything this process creates from now on. */
export function usePrivateUmask(): void {
  try {
    process.umask(PRIVATE_UMASK);
  } catch {
    // worker threads cannot set it (their process's umask applies)
  }
}

/** Make (or tighten) the state folder: 0700, its known files 0600; the umask 0077. */
export function prepareStateFolder(home: string): void {
  usePrivateUmask();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const st = statSync(home);
  if (!st.isDirectory()) throw new Error(`CUMULO_HOME ${home} is not a folder`);
  if ((st.mode & 0o777) !== 0o700) chmodSync(home, 0o700);
  for (const f of KNOWN_FILES) {
    const p = join(home, f);
    try {
      if (statSync(p).mode & 0o077) chmodSync(p, 0o600);
    } catch {
      // not there
    }
  }
}
