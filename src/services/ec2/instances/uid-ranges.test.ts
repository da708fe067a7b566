import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { openWithDialect, sqliteDialect, type Db } from '../../../store/db.js';
import { pgliteDialect } from '../../../store/pglite.js';
import { allocateUidRange, firstFreeSlot, releaseUidRange, uidBaseOfSlot, uidRangeOf, UID_RANGE_FIRST, UID_RANGE_SIZE, UID_RANGE_SLOTS } from './uid-ranges.js';

describe('uid ranges', () => {
  it.each([
    [[], 0],
    [[0], 1],
    [[0, 1, 2], 3],
    [[1, 2], 0],
    [[0, 2, 3], 1],
    [[0, 1, 5], 2],
  ])('first free slot of %j is %i', (taken, want) => {
    expect(firstFreeSlot(taken)).toBe(want);
  });

  it('aligns every range to its size, above the host users, below the invalid uid', () => {
    expect(uidBaseOfSlot(0)).toBe(UID_RANGE_FIRST);
    expect(uidBaseOfSlot(3) % UID_RANGE_SIZE).toBe(0);
    const last = uidBaseOfSlot(UID_RANGE_SLOTS - 1);
    expect(last + UID_RANGE_SIZE - 1).toBeLessThan(2 ** 32 - 1);
    expect(() => uidBaseOfSlot(UID_RANGE_SLOTS)).toThrow();
    expect(() => uidBaseOfSlot(-1)).toThrow();
  });

  it('refuses when every slot is taken', () => {
    expect(() => firstFreeSlot(Array.from({ length: UID_RANGE_SLOTS }, (_, i) => i))).toThrow(/no uid range/);
  });
});

describe.each([
  { name: 'sqlite', open: () => openWithDialect(sqliteDialect(':memory:')) },
  { name: 'postgresql (pglite)', open: () => openWithDialect(pgliteDialect(new PGlite())) },
])('uid_ranges on $name', ({ open }) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db.destroy();
  });

  test('launches at once never share a range; a range is kept, released, then given again', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => `i-${String(i).padStart(17, '0')}`);
    const bases = await Promise.all(ids.map((id) => allocateUidRange(db, id)));
    expect(new Set(bases).size).toBe(ids.length);
    expect(bases.every((b) => b >= UID_RANGE_FIRST && b % UID_RANGE_SIZE === 0)).toBe(true);
    // The same instance asks again (a restart, a start after a stop): the same range.
    expect(await allocateUidRange(db, ids[3]!)).toBe(bases[3]);
    expect(await uidRangeOf(db, ids[3]!)).toBe(bases[3]);
    await releaseUidRange(db, ids[3]!);
    expect(await uidRangeOf(db, ids[3]!)).toBeUndefined();
    // The lowest free slot goes to the next one.
    expect(await allocateUidRange(db, 'i-0ffffffffffffffff')).toBe(bases[3]);
  });
});
