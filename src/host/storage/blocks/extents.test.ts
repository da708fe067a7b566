// FIEMAP as xfs_io prints it, parsed and compared without a filesystem.
import { describe, expect, it } from 'vitest';
import { clip, hasData, parseFiemap, sameBlocks, type Extent } from './extents.js';

const KiB = 1024;

describe('FIEMAP', () => {
  const out = [
    'tmp/snap-1-ab.clone:',
    ' EXT: FILE-OFFSET      BLOCK-RANGE      TOTAL FLAGS',
    '   0: [0..383]:        192..575           384 0x2000',
    '   1: [384..511]:      8512..8639         128   0x0',
    '   2: [512..1023]:     704..1215          512 0x2001',
    '   3: [1024..2047]:    hole              1024',
    '   4: [2048..2175]:    9000..9127         128 0x801',
    'chunks/3f/3f00:',
    ' EXT: FILE-OFFSET      BLOCK-RANGE      TOTAL FLAGS',
    '   0: [0..383]:        192..575           384 0x2000',
    '   1: [384..511]:      8512..8639         128 0x2000',
    '[000] chunks/3f/3f00 (xfs,non-sync,non-direct,read-only)',
    'missing: No such file or directory',
  ].join('\n');

  it('parses xfs_io fiemap -v, holes left out', () => {
    const files = parseFiemap(out);
    expect([...files.keys()]).toEqual(['tmp/snap-1-ab.clone', 'chunks/3f/3f00']);
    expect(files.get('tmp/snap-1-ab.clone')).toEqual([
      { logical: 0, physical: 192 * 512, length: 384 * 512, flags: 0x2000 },
      { logical: 384 * 512, physical: 8512 * 512, length: 128 * 512, flags: 0 },
      { logical: 512 * 512, physical: 704 * 512, length: 512 * 512, flags: 0x2001 },
      { logical: 2048 * 512, physical: 9000 * 512, length: 128 * 512, flags: 0x801 },
    ]);
  });

  it('a chunk range is unchanged only when it maps the same physical blocks', () => {
    const files = parseFiemap(out);
    const clone = files.get('tmp/snap-1-ab.clone')!;
    const chunk = clip(files.get('chunks/3f/3f00')!, 0, 256 * KiB);
    expect(chunk).toEqual([
      { logical: 0, physical: 192 * 512, length: 192 * KiB, flags: 0x2000 },
      { logical: 192 * KiB, physical: 8512 * 512, length: 64 * KiB, flags: 0x2000 },
    ]);
    expect(clip(clone, 0, 256 * KiB)).toEqual([
      { logical: 0, physical: 192 * 512, length: 192 * KiB, flags: 0x2000 },
      { logical: 192 * KiB, physical: 8512 * 512, length: 64 * KiB, flags: 0 },
    ]);
    expect(sameBlocks(clip(clone, 0, 256 * KiB), chunk)).toBe(true);
    expect(sameBlocks(clip(clone, 256 * KiB, 256 * KiB), chunk)).toBe(false);
    expect(sameBlocks([], [])).toBe(false); // nothing to compare: read it
    const moved: Extent[] = chunk.map((e) => ({ ...e, physical: e.physical + 4096 }));
    expect(sameBlocks(clip(clone, 0, 256 * KiB), moved)).toBe(false);
    const delalloc: Extent[] = chunk.map((e) => ({ ...e, flags: 0x6 }));
    expect(sameBlocks(delalloc, delalloc)).toBe(false);
  });

  it('holes, and in a clone unwritten extents, are zero without reading', () => {
    const clone = parseFiemap(out).get('tmp/snap-1-ab.clone')!;
    expect(hasData(clip(clone, 512 * KiB, 512 * KiB), true)).toBe(false); // a hole
    expect(hasData(clip(clone, 1024 * KiB, 64 * KiB), true)).toBe(false); // unwritten
    expect(hasData(clip(clone, 1024 * KiB, 64 * KiB), false)).toBe(true); // unwritten, maybe with dirty pages
    expect(hasData(clip(clone, 0, 4096), true)).toBe(true);
  });
});
