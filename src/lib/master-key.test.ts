import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createMasterKey, readMasterKey } from './master-key.js';

let dir: string;
let umask: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cumulo-key-'));
  umask = process.umask(0o022); // a common login umask: the key must not follow it
});
afterEach(() => {
  process.umask(umask);
  rmSync(dir, { recursive: true, force: true });
});

it('is made once: 32 random bytes, 0600, nothing else left in the folder', () => {
  const file = join(dir, 'master.key');
  expect(readMasterKey(file)).toBeUndefined();
  const key = createMasterKey(file);
  expect(key).toHaveLength(32);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(readFileSync(file).equals(key)).toBe(true);
  expect(readMasterKey(file)!.equals(key)).toBe(true);
  expect(readdirSync(dir)).toEqual(['master.key']);
});

it('never overwrites a key that is there: the one in the file wins', () => {
  const file = join(dir, 'master.key');
  const first = createMasterKey(file);
  const second = createMasterKey(file);
  expect(second.equals(first)).toBe(true);
  expect(readFileSync(file).equals(first)).toBe(true);
  expect(readdirSync(dir)).toEqual(['master.key']);
});

it('makes the folder of a key file elsewhere (CUMULO_MASTER_KEY_FILE), 0700', () => {
  const file = join(dir, 'shared', 'fleet.key');
  createMasterKey(file);
  expect(statSync(join(dir, 'shared')).mode & 0o777).toBe(0o700);
});

it('refuses a key others may read, or of the wrong size', () => {
  const loose = join(dir, 'loose.key');
  writeFileSync(loose, randomBytes(32));
  chmodSync(loose, 0o644);
  expect(() => readMasterKey(loose)).toThrow(/readable by others \(mode 0644\): chmod 600/);
  const short = join(dir, 'short.key');
  writeFileSync(short, randomBytes(16), { mode: 0o600 });
  expect(() => readMasterKey(short)).toThrow(/holds 16 bytes, not 32/);
});
