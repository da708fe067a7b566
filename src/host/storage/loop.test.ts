import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canUseDirectIo, ext4BlockSize } from './loop.js';

const dir = mkdtempSync(join(tmpdir(), 'cumulo-loop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ext4(name: string, size: string): string {
  const file = join(dir, name);
  execFileSync('mkfs.ext4', ['-q', '-F', file, size]);
  return file;
}

describe('ext4BlockSize / canUseDirectIo', () => {
  it.each([
    ['1 GiB ext4: 4 KiB blocks', () => ext4('big.raw', '1G'), 4096, true],
    ['100 MiB ext4: 1 KiB blocks, which a direct-I/O loop on XFS cannot carry', () => ext4('small.raw', '100M'), 1024, false],
    [
      'a raw volume (zeros)',
      () => {
        const f = join(dir, 'raw');
        writeFileSync(f, '');
        truncateSync(f, 1 << 20);
        return f;
      },
      undefined,
      true,
    ],
    [
      'a file too short to hold a superblock',
      () => {
        const f = join(dir, 'short');
        writeFileSync(f, 'x');
        return f;
      },
      undefined,
      true,
    ],
  ])('%s', async (_, make, bs, dio) => {
    const file = make();
    expect(await ext4BlockSize(file)).toBe(bs);
    expect(await canUseDirectIo(file)).toBe(dio);
  });
});
