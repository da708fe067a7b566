import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { prepareStateFolder } from './state-folder.js';

let base: string;
let umask: number;
beforeEach(() => {
  umask = process.umask(0o022);
  base = mkdtempSync(join(tmpdir(), 'cumulo-home-'));
});
afterEach(() => {
  process.umask(umask);
  rmSync(base, { recursive: true, force: true });
});

it('makes the folder 0700 and sets the umask 0077 for what follows', () => {
  const home = join(base, 'a', 'home');
  prepareStateFolder(home);
  expect(statSync(home).mode & 0o777).toBe(0o700);
  expect(process.umask()).toBe(0o077);
  writeFileSync(join(home, 'later'), 'x');
  expect(statSync(join(home, 'later')).mode & 0o777).toBe(0o600);
});

it('tightens a folder and the store files an older cumulo left readable, but not a loose master key', () => {
  const home = join(base, 'home');
  prepareStateFolder(home);
  chmodSync(home, 0o755);
  for (const f of ['cumulo.db', 'cumulo.db-wal', 'master.key']) writeFileSync(join(home, f), 'x', { mode: 0o644 });
  chmodSync(join(home, 'master.key'), 0o644);
  chmodSync(join(home, 'cumulo.db'), 0o644);
  chmodSync(join(home, 'cumulo.db-wal'), 0o644);
  prepareStateFolder(home);
  expect(statSync(home).mode & 0o777).toBe(0o700);
  expect(statSync(join(home, 'cumulo.db')).mode & 0o777).toBe(0o600);
  expect(statSync(join(home, 'cumulo.db-wal')).mode & 0o777).toBe(0o600);
  expect(statSync(join(home, 'master.key')).mode & 0o777).toBe(0o644); // refused when read, not hidden
});

it('refuses a state folder that is a file', () => {
  const file = join(base, 'file');
  writeFileSync(file, '');
  expect(() => prepareStateFolder(file)).toThrow();
});
