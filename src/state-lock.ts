// One server per state folder: two would drive the same instances and fight over the store.
import { openSync, closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from './lib/process.js';

/** The pid of the live server that holds the folder, if one does (a stale pid file names none). */
export function lockHolder(home: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(home, 'server.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}

/** Take the folder for this process, or fail naming the server that has it. Returns the release. */
export function lockStateFolder(home: string): () => void {
  const file = join(home, 'server.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new Error(`another cumulo server (pid ${pid}) is using ${home}; stop it first, or set CUMULO_HOME to another folder`);
      }
      // Left by a server that died (SIGKILL, power loss): take it over.
      unlinkSync(file);
    }
  }
  throw new Error(`could not take ${file}`);
}
