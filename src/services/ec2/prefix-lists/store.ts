// The prefix lists' repository: lists of the caller, their entries at a version, and who refers to
// them (rules and routes, whose VPCs' data planes hold the entries).
import type { Tx } from '../../../store/db.js';
import type { NewRow, Row, RowUpdate } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';
import { prefixListNotFound } from '../common/unsupported.js';
import { ApiError } from '../../errors.js';
import { chunks } from '../vpcs/store.js';

// For the handlers.

/** The MaxEntries of each of these prefix lists. */
export async function prefixListMaxEntries(db: Tx, ids: string[]): Promise<Map<string, number>> {
  const rows = await db.selectFrom('managed_prefix_lists').select(['id', 'max_entries']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.max_entries]));
}

/** A prefix list by id, whoever owns it. */
export async function prefixListRow(db: Tx, id: string): Promise<PrefixListRow | undefined> {
  return db.selectFrom('managed_prefix_lists').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every prefix list of the account in the region. */
export async function prefixListsOf(db: Tx, accountId: string, region: string): Promise<PrefixListRow[]> {
  return db.selectFrom('managed_prefix_lists').selectAll().where('account_id', '=', accountId).where('region', '=', region).execute();
}

export async function insertPrefixList(db: Tx, row: NewRow<'managed_prefix_lists'>): Promise<void> {
  await db.insertInto('managed_prefix_lists').values(row).execute();
}

export async function updatePrefixList(db: Tx, id: string, set: RowUpdate<'managed_prefix_lists'>): Promise<void> {
  await db.updateTable('managed_prefix_lists').set(set).where('id', '=', id).execute();
}

/** Entries added at `version`. */
export async function insertEntries(db: Tx, id: string, version: number, entries: { cidr: string; description: string | null }[]): Promise<void> {
  if (!entries.length) return;
  await db
    .insertInto('managed_prefix_list_entries')
    .values(entries.map((e) => ({ prefix_list_id: id, cidr: e.cidr, description: e.description, added_version: version, removed_version: null })))
    .execute();
}

/** The current entry for this CIDR is removed as of `version`. */
export async function removeEntry(db: Tx, id: string, cidr: string, version: number): Promise<void> {
  await db
    .updateTable('managed_prefix_list_entries')
    .set({ removed_version: version })
    .where('prefix_list_id', '=', id)
    .where('cidr', '=', cidr)
    .where('removed_version', 'is', null)
    .execute();
}

/** A prefix list and all its entries' versions. */
export async function deletePrefixListRecords(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('managed_prefix_list_entries').where('prefix_list_id', '=', id).execute();
  await db.deleteFrom('managed_prefix_lists').where('id', '=', id).execute();
}

export type PrefixListRow = Row<'managed_prefix_lists'>;
export type EntryRow = Row<'managed_prefix_list_entries'>;

const PREFIX_LIST_ID = /^pl-([0-9a-f]{8}|[0-9a-f]{17})$/;

export function checkPrefixListId(id: string): void {
  if (!PREFIX_LIST_ID.test(id)) throw new ApiError('InvalidPrefixListId.Malformed', `Invalid id: "${id}" (expecting "pl-...")`);
}

/** One of the caller's prefix lists, or EC2's NotFound. */
export async function getPrefixList(ctx: Ctx, id: string | undefined): Promise<PrefixListRow> {
  if (!id) throw new ApiError('MissingParameter', 'The request must contain the parameter PrefixListId');
  checkPrefixListId(id);
  const row = await ctx.db
    .selectFrom('managed_prefix_lists')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .executeTakeFirst();
  if (!row) throw prefixListNotFound(id);
  return row;
}

/** Entries in the list at `version` (the current one when absent), by CIDR. */
export async function entriesAt(db: Tx, id: string, version?: number): Promise<EntryRow[]> {
  let q = db.selectFrom('managed_prefix_list_entries').selectAll().where('prefix_list_id', '=', id);
  if (version === undefined) q = q.where('removed_version', 'is', null);
  else q = q.where('added_version', '<=', version).where((eb) => eb.or([eb('removed_version', 'is', null), eb('removed_version', '>', version)]));
  const rows = await q.execute();
  return rows.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0)); // the pagination key's order
}

/** The current CIDRs of each list (the data plane's view), by list id. */
export async function currentCidrs(db: Tx, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const chunk of chunks([...new Set(ids)], 500)) {
    const rows = await db
      .selectFrom('managed_prefix_list_entries')
      .select(['prefix_list_id', 'cidr'])
      .where('prefix_list_id', 'in', chunk)
      .where('removed_version', 'is', null)
      .execute();
    for (const r of rows) out.get(r.prefix_list_id)?.push(r.cidr);
  }
  for (const list of out.values()) list.sort();
  return out;
}

/** The VPCs whose data plane holds the list: through a security group rule or a route. */
export async function vpcsReferencing(db: Tx, id: string): Promise<string[]> {
  const byRules = await db
    .selectFrom('security_group_rules')
    .innerJoin('security_groups', 'security_groups.id', 'security_group_rules.group_id')
    .select('security_groups.vpc_id')
    .where('security_group_rules.prefix_list_id', '=', id)
    .distinct()
    .execute();
  const byRoutes = await db
    .selectFrom('routes')
    .innerJoin('route_tables', 'route_tables.id', 'routes.route_table_id')
    .select('route_tables.vpc_id')
    .where('routes.destination', '=', id)
    .distinct()
    .execute();
  return [...new Set([...byRules, ...byRoutes].map((r) => r.vpc_id).filter((v): v is string => !!v))].sort();
}
