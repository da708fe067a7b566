// Launch and lifecycle bookkeeping: uid range slots, chunked launch inserts, guarded state changes,
// console captures and the removal of terminated instances.
import type { StateReason } from '@aws-sdk/client-ec2';
import type { Tx } from '../../../../store/db.js';
import type { NewRow, RowUpdate } from '../../../../store/schema.js';
import { runtimeColumn, stateReasonColumn } from './columns.js';

/** The instance's uid range slot, if it has one. */
export async function uidSlotOf(db: Tx, instanceId: string): Promise<number | undefined> {
  return (await db.selectFrom('uid_ranges').select('slot').where('instance_id', '=', instanceId).executeTakeFirst())?.slot;
}

/** Every uid range slot taken, ascending. */
export async function takenUidSlots(db: Tx): Promise<number[]> {
  return (await db.selectFrom('uid_ranges').select('slot').orderBy('slot').execute()).map((r) => r.slot);
}

export async function insertUidSlot(db: Tx, slot: number, instanceId: string, at: Date): Promise<void> {
  await db.insertInto('uid_ranges').values({ slot, instance_id: instanceId, allocated_at: at.toISOString() }).execute();
}

export async function deleteUidSlot(db: Tx, instanceId: string): Promise<void> {
  await db.deleteFrom('uid_ranges').where('instance_id', '=', instanceId).execute();
}

/** Bounded multi-row inserts: SQLite allows at most 32766 bound parameters per statement. */
export async function insertChunks<T extends 'instances' | 'network_interfaces' | 'volumes' | 'volume_attachments' | 'tags'>(db: Tx, table: T, rows: NewRow<T>[]): Promise<void> {
  const per = Math.max(1, Math.floor(30000 / Math.max(1, Object.keys(rows[0] ?? {}).length)));
  for (let i = 0; i < rows.length; i += per) {
    await db
      .insertInto(table)
      // Kysely cannot narrow a union of tables' insert types from a generic T; NewRow<T> is that type.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      .values(rows.slice(i, i + per) as any)
      .execute();
  }
}

/** The console columns a controller captured (both or neither). */
export type ConsoleCapture = { console_output?: string; console_at?: string };

/** What a controller's guarded write changes: the columns, with state_reason and runtime typed. */
export type InstanceChange = Omit<RowUpdate<'instances'>, 'state_reason' | 'runtime'> & { state_reason?: StateReason | null; runtime?: { driver?: string } };

/**
 * Write `change` if the instance is still as the controller found it (`state`, and `desired_state`
 * when given): false when another change won meanwhile.
 */
export async function updateInstanceIf(db: Tx, id: string, guard: { state: string; desired_state?: string }, change: InstanceChange): Promise<boolean> {
  const { state_reason, runtime, ...rest } = change;
  let q = db
    .updateTable('instances')
    .set({
      ...rest,
      ...(state_reason !== undefined ? { state_reason: state_reason === null ? null : stateReasonColumn.encode(state_reason) } : {}),
      ...(runtime !== undefined ? { runtime: runtimeColumn.encode(runtime) } : {}),
    })
    .where('id', '=', id)
    .where('state', '=', guard.state);
  if (guard.desired_state !== undefined) q = q.where('desired_state', '=', guard.desired_state);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** The console as captured, and updated_at when `touched` (a reboot: the watcher posts its console while it boots). */
export async function setInstanceConsole(db: Tx, id: string, capture: ConsoleCapture, touched?: string): Promise<void> {
  const set = touched === undefined ? capture : { ...capture, updated_at: touched };
  if (!Object.keys(set).length) return;
  await db.updateTable('instances').set(set).where('id', '=', id).execute();
}

/** A terminated instance shows no public address (an elastic IP stays with its kept interface). */
export async function clearPublicIpIfTerminated(db: Tx, id: string): Promise<void> {
  await db.updateTable('instances').set({ public_ip: null }).where('id', '=', id).where('state', '=', 'terminated').execute();
}

/** The row of a terminated instance goes (purge). */
export async function deleteTerminatedInstance(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('instances').where('id', '=', id).where('state', '=', 'terminated').execute();
}
