// Encrypted volumes' images and their plaintext exports (luks.ts). The root part runs real
// qemu-img and qemu-storage-daemon processes in a temporary folder.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires } from '../../../test/requires.js';
import { createLuks, growLuks, isLuks, luksSize, LuksExports, passphraseOf } from './luks.js';

const needs = requires({ root: true, commands: ['qemu-storage-daemon', 'qemu-img', 'losetup'] });

describe('encrypted volume images', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cumulo-luks-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('derives a passphrase per key, never the key itself; refuses keys that are not 32 bytes', () => {
    const a = passphraseOf(Buffer.alloc(32, 1));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(passphraseOf(Buffer.alloc(32, 1)));
    expect(a).not.toBe(passphraseOf(Buffer.alloc(32, 2)));
    expect(a).not.toContain(Buffer.alloc(32, 1).toString('hex'));
    expect(() => passphraseOf(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('tells an encrypted image (qcow2, crypt method LUKS) from a raw file or a plain qcow2 header', async () => {
    const raw = join(dir, 'raw');
    writeFileSync(raw, Buffer.alloc(4096));
    expect(await isLuks(raw)).toBe(false);
    const header = Buffer.alloc(4096);
    Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(header, 0);
    header.writeBigUInt64BE(5n * 2n ** 30n, 24);
    const plain = join(dir, 'plain.qcow2');
    writeFileSync(plain, header);
    expect(await isLuks(plain)).toBe(false); // crypt_method 0
    header.writeUInt32BE(2, 32);
    const enc = join(dir, 'enc.qcow2');
    writeFileSync(enc, header);
    expect(await isLuks(enc)).toBe(true);
    expect(await luksSize(enc)).toBe(5 * 2 ** 30);
    writeFileSync(join(dir, 'short'), 'QFI');
    expect(await isLuks(join(dir, 'short'))).toBe(false);
  });
});

needs.describe('plaintext exports (root, qemu-storage-daemon)', () => {
  let dir: string;
  let exports: LuksExports;
  const key = Buffer.alloc(32, 3);
  const keySource = () => Promise.resolve(key);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cumulo-luks-'));
    exports = new LuksExports(join(dir, 'luks'));
  });
  afterAll(async () => {
    try {
      await exports.closeAll();
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates, exports, adopts, recovers from a killed daemon, grows closed, and a wrong key does not open it', async () => {
    const img = join(dir, 'v.img');
    await createLuks(img, 64 * 2 ** 20, key);
    await expect(createLuks(img, 64 * 2 ** 20, key)).rejects.toThrow(/already exists/);
    expect(await isLuks(img)).toBe(true);
    expect(await luksSize(img)).toBe(64 * 2 ** 20);
    const plain = await exports.open('v', img, keySource);
    expect(statSync(plain).size).toBe(64 * 2 ** 20);
    writeFileSync(plain, Buffer.from('hello-through-the-export'), { flag: 'r+' });
    const pid = (await exports.pidOf('v'))!;
    expect(pid).toBeGreaterThan(1);
    // Open again: the running daemon is adopted, the key is not asked for.
    await exports.open('v', img, () => Promise.reject(new Error('not asked')));
    expect(await exports.pidOf('v')).toBe(pid);
    // A daemon killed hard leaves a dead FUSE mount: the next open clears it and starts another.
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && (await exports.pidOf('v')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await exports.isOpen('v')).toBe(false);
    await exports.open('v', img, keySource);
    expect(await exports.pidOf('v')).not.toBe(pid);
    expect(readFileSync(plain).subarray(0, 24).toString()).toBe('hello-through-the-export');
    await exports.close('v');
    expect(readdirSync(exports.dir)).toEqual([]);
    // Grown closed, with the key; the data stays.
    await growLuks(img, 128 * 2 ** 20, key);
    expect(await luksSize(img)).toBe(128 * 2 ** 20);
    // The wrong key: refused, nothing left.
    await expect(exports.open('v', img, () => Promise.resolve(Buffer.alloc(32, 4)))).rejects.toThrow();
    expect(await exports.list()).toEqual([]);
    const again = await exports.open('v', img, keySource, { readOnly: true });
    expect(statSync(again).size).toBe(128 * 2 ** 20);
    expect(readFileSync(again).subarray(0, 24).toString()).toBe('hello-through-the-export');
    expect(() => writeFileSync(again, 'x', { flag: 'r+' })).toThrow();
  });
});
