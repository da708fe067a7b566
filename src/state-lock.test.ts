import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { lockStateFolder } from './state-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const folder = () => {
  const d = mkdtempSync(join(tmpdir(), 'cumulo-lock-'));
  dirs.push(d);
  return d;
};

test('a second server on the same folder is refused while the first runs', () => {
  const home = folder();
  const release = lockStateFolder(home);
  expect(readFileSync(join(home, 'server.pid'), 'utf8')).toBe(String(process.pid));
  expect(() => lockStateFolder(home)).toThrow(new RegExp(`another cumulo server \\(pid ${process.pid}\\)`));
  release();
  expect(existsSync(join(home, 'server.pid'))).toBe(false);
  lockStateFolder(home)();
});

test('the lock of a server that died is taken over', () => {
  const home = folder();
  // pid_max is at most 2^22 on Linux: this pid cannot be alive.
  writeFileSync(join(home, 'server.pid'), String(2 ** 22 + 7));
  const release = lockStateFolder(home);
  expect(readFileSync(join(home, 'server.pid'), 'utf8')).toBe(String(process.pid));
  release();
});
