// Customer-managed prefix lists: Create/Describe/Modify/DeleteManagedPrefixList and
// GetManagedPrefixListEntries. A list is a named set of IPv4 CIDRs that security group rules and
// routes name instead of a CIDR; the VPC data plane holds its current entries (controllers/
// network.ts expands them), so a change of the list queues a sync of every VPC that refers to it.
import type {
  AddPrefixListEntry,
  CreateManagedPrefixListRequest,
  CreateManagedPrefixListResult,
  DeleteManagedPrefixListRequest,
  DeleteManagedPrefixListResult,
  DescribeManagedPrefixListsRequest,
  DescribeManagedPrefixListsResult,
  GetManagedPrefixListEntriesRequest,
  GetManagedPrefixListEntriesResult,
  ManagedPrefixList,
  ModifyManagedPrefixListRequest,
  ModifyManagedPrefixListResult,
} from '@aws-sdk/client-ec2';
import { Errors } from '../../errors.js';
import { formatCidr, parseCidrLoose } from '../../../lib/cidr.js';
import { newId } from '../../../lib/ids.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { priorAnswer, rememberAnswer } from '../common/client-tokens.js';
import type { FilterMap } from '../common/filters.js';
import { paginate } from '../common/pagination.js';
import { queueVpcSync } from '../common/network-sync.js';
import { checkRulesQuota, holdQuotaLock } from '../quotas/check.js';
import { ipv6Unsupported, memberUnsupported, prefixListNotFound } from '../common/unsupported.js';
import { deleteAllTags, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { describe } from '../vpcs/describe.js';
import {
  checkPrefixListId,
  deletePrefixListRecords,
  entriesAt,
  getPrefixList,
  insertEntries,
  insertPrefixList,
  prefixListRow,
  prefixListsOf,
  removeEntry,
  updatePrefixList,
  vpcsReferencing,
  type PrefixListRow,
} from './store.js';
import { groupsReferencingPrefixList, ruleQuotaFieldsOf, ruleReferencingPrefixList } from '../security-groups/store.js';
import { tableRoutingTo } from '../vpcs/store/route-tables.js';

/** EC2's bound on MaxEntries of a customer-managed list. */
export const MAX_ENTRIES_LIMIT = 1000;
const NAME_MAX = 255;

function toPrefixList(row: PrefixListRow, tags: ManagedPrefixList['Tags']): ManagedPrefixList {
  return {
    PrefixListId: row.id,
    AddressFamily: row.address_family,
    State: row.state as ManagedPrefixList['State'],
    PrefixListArn: `arn:aws:ec2:${row.region}:${row.account_id}:prefix-list/${row.id}`,
    PrefixListName: row.name,
    MaxEntries: row.max_entries,
    Version: row.version,
    Tags: tags ?? [],
    OwnerId: row.account_id,
  };
}

async function shapeOf(ctx: Ctx, row: PrefixListRow): Promise<ManagedPrefixList> {
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'prefix-list', [row.id]);
  return toPrefixList(row, tags.get(row.id));
}

function checkName(name: string | undefined): string {
  if (name === undefined || name === '') throw Errors.missingParameter('PrefixListName');
  if (name.length > NAME_MAX) throw Errors.invalidParameterValue(`The prefix list name must be at most ${NAME_MAX} characters.`);
  if (name.toLowerCase().startsWith('com.amazonaws')) throw Errors.invalidParameterValue(`The prefix list name cannot start with com.amazonaws.`);
  return name;
}

function checkMaxEntries(n: number | undefined): number {
  if (n === undefined) throw Errors.missingParameter('MaxEntries');
  if (!Number.isInteger(n) || n < 1 || n > MAX_ENTRIES_LIMIT) {
    throw Errors.invalidParameterValue(`Value (${n}) for parameter maxEntries is invalid. It must be between 1 and ${MAX_ENTRIES_LIMIT}.`);
  }
  return n;
}

/** An IPv4 CIDR of an entry, canonical (host bits cleared, as EC2 stores it). */
function entryCidr(value: string | undefined): string {
  if (value === undefined || value === '') throw Errors.missingParameter('Cidr');
  const c = parseCidrLoose(value);
  if (c?.family === 6) throw ipv6Unsupported('an IPv6 Cidr');
  if (!c) throw Errors.invalidParameterValue(`Value (${value}) for parameter cidr is invalid. This is not a valid CIDR block.`);
  return formatCidr(c);
}

function checkEntries(entries: AddPrefixListEntry[] | undefined): { cidr: string; description: string | null }[] {
  const out: { cidr: string; description: string | null }[] = [];
  const seen = new Set<string>();
  for (const e of entries ?? []) {
    const cidr = entryCidr(e.Cidr);
    if (seen.has(cidr)) throw Errors.invalidParameterValue(`The CIDR ${cidr} appears more than once in the request.`);
    seen.add(cidr);
    if (e.Description !== undefined && e.Description.length > 255) throw Errors.invalidParameterValue('An entry description must be at most 255 characters.');
    out.push({ cidr, description: e.Description || null });
  }
  return out;
}

/** The VPCs whose data plane holds this list follow its change. */
async function syncReferences(ctx: Ctx, id: string): Promise<void> {
  for (const vpcId of await vpcsReferencing(ctx.db, id)) await queueVpcSync(ctx, { vpcId, accountId: ctx.accountId, region: ctx.region });
}

async function createManagedPrefixList(ctx: Ctx, input: CreateManagedPrefixListRequest): Promise<CreateManagedPrefixListResult> {
  const { token, prior } = await priorAnswer<{ PrefixListId: string }>(ctx, 'CreateManagedPrefixList', input);
  if (prior) {
    const still = await prefixListRow(ctx.db, prior.PrefixListId);
    if (still) return { PrefixList: await shapeOf(ctx, still) };
  }
  const name = checkName(input.PrefixListName);
  const maxEntries = checkMaxEntries(input.MaxEntries);
  if (input.AddressFamily === undefined) throw Errors.missingParameter('AddressFamily');
  if (input.AddressFamily === 'IPv6') throw ipv6Unsupported('AddressFamily IPv6');
  if (input.AddressFamily !== 'IPv4') throw Errors.invalidParameterValue(`Value (${input.AddressFamily}) for parameter addressFamily is invalid. Valid values are IPv4 and IPv6.`);
  const entries = checkEntries(input.Entries);
  if (entries.length > maxEntries) throw Errors.invalidParameterValue(`The number of entries (${entries.length}) exceeds the maximum entries (${maxEntries}) of the prefix list.`);
  const tags = tagsForType(input.TagSpecifications, ['prefix-list'], 'prefix-list');
  const row: PrefixListRow = {
    id: newId('pl'),
    account_id: ctx.accountId,
    region: ctx.region,
    name,
    address_family: 'IPv4',
    max_entries: maxEntries,
    version: 1,
    state: 'create-complete',
    created_at: ctx.now.toISOString(),
  };
  await insertPrefixList(ctx.db, row);
  await insertEntries(ctx.db, row.id, 1, entries);
  await putTags(ctx, 'prefix-list', row.id, tags);
  await rememberAnswer(ctx, 'CreateManagedPrefixList', token, { PrefixListId: row.id });
  return { PrefixList: toPrefixList(row, tags) };
}

const prefixListFilters: FilterMap<ManagedPrefixList> = {
  'owner-id': (p) => p.OwnerId,
  'prefix-list-id': (p) => p.PrefixListId,
  'prefix-list-name': (p) => p.PrefixListName,
};

async function describeManagedPrefixLists(ctx: Ctx, input: DescribeManagedPrefixListsRequest): Promise<DescribeManagedPrefixListsResult> {
  for (const id of input.PrefixListIds ?? []) checkPrefixListId(id);
  const rows = await prefixListsOf(ctx.db, ctx.accountId, ctx.region);
  const tags = await tagsOf(ctx.db, ctx.accountId, ctx.region, 'prefix-list');
  const page = describe(
    rows.map((r) => toPrefixList(r, tags.get(r.id))),
    {
      ids: input.PrefixListIds,
      idOf: (p) => p.PrefixListId!,
      missing: (ids) => prefixListNotFound(ids[0]!),
      filters: input.Filters,
      filterMap: prefixListFilters,
      tags: (p) => p.Tags,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
      min: 1,
      max: 100,
    },
  );
  return { PrefixLists: page.items, NextToken: page.nextToken };
}

async function getManagedPrefixListEntries(ctx: Ctx, input: GetManagedPrefixListEntriesRequest): Promise<GetManagedPrefixListEntriesResult> {
  const list = await getPrefixList(ctx, input.PrefixListId);
  const version = input.TargetVersion;
  if (version !== undefined && (!Number.isInteger(version) || version < 1 || version > list.version)) {
    throw Errors.invalidParameterValue(`The prefix list ${list.id} has no version ${version}.`);
  }
  // CIDR text order: the order of the pagination key.
  const all = await entriesAt(ctx.db, list.id, version);
  const page = paginate(all, (e) => e.cidr, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 1, max: 100 });
  return {
    Entries: page.items.map((e) => ({ Cidr: e.cidr, ...(e.description ? { Description: e.description } : {}) })),
    NextToken: page.nextToken,
  };
}

async function modifyManagedPrefixList(ctx: Ctx, input: ModifyManagedPrefixListRequest): Promise<ModifyManagedPrefixListResult> {
  const list = await getPrefixList(ctx, input.PrefixListId);
  if (input.CurrentVersion !== undefined && input.CurrentVersion !== list.version) {
    throw Errors.invalidParameterValue(`The prefix list ${list.id} is at version ${list.version}, not ${input.CurrentVersion}.`);
  }
  const adds = checkEntries(input.AddEntries);
  const removes = (input.RemoveEntries ?? []).map((e) => entryCidr(e.Cidr));
  const changesEntries = adds.length > 0 || removes.length > 0;
  if (input.MaxEntries !== undefined && changesEntries) {
    throw Errors.invalidParameterCombination('MaxEntries cannot be changed in the same request as the entries.');
  }
  // No list here is IPAM managed (cumulo has no IPAM): its sync can only be, and stay, disabled.
  const sync = input.IpamPrefixListResolverSyncEnabled;
  if (sync) throw memberUnsupported('IpamPrefixListResolverSyncEnabled', `the prefix list ${list.id} is not associated with an IPAM prefix list resolver (cumulo has no IPAM)`);
  if (!changesEntries && input.MaxEntries === undefined && input.PrefixListName === undefined && sync === undefined) throw Errors.missingParameter('an attribute to modify');
  const set: Partial<PrefixListRow> = {};
  if (input.PrefixListName !== undefined) set.name = checkName(input.PrefixListName);

  const current = await entriesAt(ctx.db, list.id);
  if (input.MaxEntries !== undefined) {
    const max = checkMaxEntries(input.MaxEntries);
    if (max < current.length) throw Errors.invalidParameterValue(`The prefix list ${list.id} has ${current.length} entries: MaxEntries cannot be less.`);
    set.max_entries = max;
    // Each group naming the list counts MaxEntries rules: it must still fit.
    if (max > list.max_entries) {
      await holdQuotaLock(ctx);
      for (const groupId of await groupsReferencingPrefixList(ctx.db, list.id)) {
        const rules = await ruleQuotaFieldsOf(ctx.db, groupId);
        for (const egress of [0, 1])
          await checkRulesQuota(
            ctx,
            rules.filter((r) => r.is_egress === egress),
            new Map([[list.id, max]]),
          );
      }
    }
  }
  if (changesEntries) {
    const have = new Map(current.map((e) => [e.cidr, e]));
    for (const cidr of removes) if (!have.has(cidr)) throw Errors.invalidParameterValue(`The CIDR ${cidr} is not an entry of the prefix list ${list.id}.`);
    const next = list.version + 1;
    // An entry added again (a new description) replaces the one there.
    const gone = new Set([...removes, ...adds.map((a) => a.cidr).filter((c) => have.has(c))]);
    const count = current.length - gone.size + adds.length;
    if (count > list.max_entries) throw Errors.invalidParameterValue(`The prefix list ${list.id} would have ${count} entries, more than its maximum (${list.max_entries}).`);
    for (const cidr of gone) {
      await removeEntry(ctx.db, list.id, cidr, next);
    }
    await insertEntries(ctx.db, list.id, next, adds);
    set.version = next;
  }
  set.state = 'modify-complete';
  await updatePrefixList(ctx.db, list.id, set);
  if (changesEntries) await syncReferences(ctx, list.id);
  return { PrefixList: await shapeOf(ctx, { ...list, ...set }) };
}

async function deleteManagedPrefixList(ctx: Ctx, input: DeleteManagedPrefixListRequest): Promise<DeleteManagedPrefixListResult> {
  const list = await getPrefixList(ctx, input.PrefixListId);
  const rule = await ruleReferencingPrefixList(ctx.db, list.id);
  const route = await tableRoutingTo(ctx.db, list.id);
  if (rule || route) {
    throw Errors.dependencyViolation(`The prefix list '${list.id}' is referenced by ${rule ? `the security group rule ${rule}` : `a route of ${route!}`} and cannot be deleted.`);
  }
  const shape = await shapeOf(ctx, list);
  await deletePrefixListRecords(ctx.db, list.id);
  await deleteAllTags(ctx, list.id);
  return { PrefixList: { ...shape, State: 'delete-complete' } };
}

export const handlers = {
  CreateManagedPrefixList: createManagedPrefixList,
  DescribeManagedPrefixLists: describeManagedPrefixLists,
  GetManagedPrefixListEntries: getManagedPrefixListEntries,
  ModifyManagedPrefixList: modifyManagedPrefixList,
  DeleteManagedPrefixList: deleteManagedPrefixList,
} satisfies Ec2Handlers;
