// The uid_ranges table: each instance's own range of host uids and gids, mapped to 0…65535 in its
// user namespace (files on its volumes keep the guest's own ids: the driver idmaps its mounts).
// Ranges are aligned to their size, so `uid mod size` is the guest's id of a host uid. Slots start
// at 2^30: far above the host's users and the subordinate ranges of /etc/subuid.
import type { Db, Tx } from '../../../store/db.js';
import { deleteUidSlot, insertUidSlot, takenUidSlots, uidSlotOf } from './store.js';

export const UID_RANGE_SIZE = 65536;
export const UID_RANGE_FIRST = 2 ** 30;
/** The last slot whose range ends below 2^32 − 1 (the kernel's invalid uid). */
export const UID_RANGE_SLOTS = (2 ** 32 - UID_RANGE_FIRST) / UID_RANGE_SIZE - 1;

export function uidBaseOfSlot(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= UID_RANGE_SLOTS) throw new Error(`uid range slot out of bounds: ${slot}`);
  return UID_RANGE_FIRST + slot * UID_RANGE_SIZE;
}

/** The lowest slot not in `taken` (sorted ascending). */
export function firstFreeSlot(taken: number[]): number {
  let want = 0;
  for (const s of taken) {
    if (s > want) break;
    if (s === want) want++;
  }
  if (want >= UID_RANGE_SLOTS) throw new Error('no uid range left on this host');
  return want;
}

/**
 * The instance's range (its base uid), taken on first use and kept until it is released. The read
 * of the free slots and the insert are one transaction (SQLite runs one at a time); on PostgreSQL
 * a launch that lost the race for a slot to another tries again.
 */
export async function allocateUidRange(db: Db, instanceId: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        const have = await uidSlotOf(trx, instanceId);
        if (have !== undefined) return uidBaseOfSlot(have);
        const slot = firstFreeSlot(await takenUidSlots(trx));
        await insertUidSlot(trx, slot, instanceId, new Date());
        return uidBaseOfSlot(slot);
      });
    } catch (e) {
      if (attempt >= 50 || /no uid range left/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 20));
    }
  }
}

export async function uidRangeOf(db: Tx, instanceId: string): Promise<number | undefined> {
  const slot = await uidSlotOf(db, instanceId);
  return slot !== undefined ? uidBaseOfSlot(slot) : undefined;
}

/** The instance is gone from the host: its range may go to another. */
export async function releaseUidRange(db: Tx, instanceId: string): Promise<void> {
  await deleteUidSlot(db, instanceId);
}
