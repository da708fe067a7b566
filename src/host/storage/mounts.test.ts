import { describe, expect, it } from 'vitest';
import { isUnder, mountsToUnmount, parseMountInfo } from './mounts.js';

const sample = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '36 22 7:0 / /var/lib/cumulo/volumes rw,relatime shared:20 - xfs /dev/loop0 rw,discard',
  '37 36 7:1 / /var/lib/cumulo/instances/i-1/root\\040fs rw,relatime - ext4 /dev/loop1 rw',
  '38 37 7:2 / /var/lib/cumulo/instances/i-1/root\\040fs/mnt rw,relatime shared:3 master:2 - ext4 /dev/loop2 rw',
  '39 22 0:50 / /var/lib/cumulo/volumes-other rw - tmpfs tmpfs rw',
  '',
].join('\n');

describe('parseMountInfo', () => {
  const mounts = parseMountInfo(sample);
  it.each([
    [0, { id: 22, parentId: 1, devNo: '254:0', mountPoint: '/', fsType: 'ext4', source: '/dev/vda' }],
    [1, { id: 36, parentId: 22, devNo: '7:0', mountPoint: '/var/lib/cumulo/volumes', fsType: 'xfs', source: '/dev/loop0' }],
    // octal escapes decoded; optional fields (shared:, master:) skipped up to the "-"
    [3, { id: 38, parentId: 37, devNo: '7:2', mountPoint: '/var/lib/cumulo/instances/i-1/root fs/mnt', fsType: 'ext4', source: '/dev/loop2' }],
    [4, { id: 39, parentId: 22, devNo: '0:50', mountPoint: '/var/lib/cumulo/volumes-other', fsType: 'tmpfs', source: 'tmpfs' }],
  ])('entry %i', (i, want) => expect(mounts[i]).toEqual(want));
  it('skips blank and malformed lines', () => {
    expect(mounts).toHaveLength(5);
    expect(parseMountInfo('garbage\n1 2 3\n')).toEqual([]);
  });
});

describe('isUnder', () => {
  it.each([
    ['/a/b', '/a', true],
    ['/a', '/a', true],
    ['/ab', '/a', false],
    ['/a/b', '/a/', true],
    ['/x', '/', true],
  ])('%s under %s: %s', (p, d, want) => expect(isUnder(p, d)).toBe(want));
});

describe('mountsToUnmount', () => {
  const mounts = parseMountInfo(sample);
  it.each([
    [['/var/lib/cumulo/instances/i-1/root fs'], ['/var/lib/cumulo/instances/i-1/root fs/mnt', '/var/lib/cumulo/instances/i-1/root fs']],
    [['/var/lib/cumulo/volumes'], ['/var/lib/cumulo/volumes']], // not volumes-other: a sibling, not a child
    [['/nowhere'], []],
    [[], []],
  ])('%j → children first %j', (points, want) => {
    expect(mountsToUnmount(mounts, points).map((m) => m.mountPoint)).toEqual(want);
  });
});
