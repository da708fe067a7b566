// The instances table: finding, reading and updating instance rows, and the instance id errors.
import { Errors } from '../../../errors.js';
import { idPattern } from '../../../../lib/ids.js';
import type { Tx } from '../../../../store/db.js';
import type { Row, RowUpdate } from '../../../../store/schema.js';
import type { Ctx } from '../../../context.js';

/** The account's instances in the region: all, or those with these ids. */
export async function instancesOf(db: Tx, accountId: string, region: string, ids?: string[]): Promise<InstanceRow[]> {
  let q = db.selectFrom('instances').selectAll().where('account_id', '=', accountId).where('region', '=', region);
  if (ids) q = q.where('id', 'in', ids);
  return q.execute();
}

export async function updateInstance(db: Tx, id: string, set: RowUpdate<'instances'>): Promise<void> {
  await db.updateTable('instances').set(set).where('id', '=', id).execute();
}

/** Updates the instance only if it is still in `state` (a controller step may have moved it); whether it did. */
export async function updateInstanceInState(db: Tx, id: string, state: string, set: RowUpdate<'instances'>): Promise<boolean> {
  const res = await db.updateTable('instances').set(set).where('id', '=', id).where('state', '=', state).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** An instance's state and how many times it booted. */
export async function instanceStateAndBoots(db: Tx, id: string): Promise<Pick<InstanceRow, 'state' | 'boots'> | undefined> {
  return db.selectFrom('instances').select(['state', 'boots']).where('id', '=', id).executeTakeFirst();
}

/** The security_groups JSON of the account's live instances whose groups may include this one (a coarse match: check each). */
export async function liveInstanceGroupsMentioning(db: Tx, accountId: string, region: string, groupId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('instances')
    .select('security_groups')
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('state', '!=', 'terminated')
    .where('security_groups', 'like', `%${groupId}%`)
    .execute();
  return rows.map((r) => r.security_groups);
}

/** An instance's id, state and type. */
export async function instanceTypeAndState(db: Tx, id: string): Promise<Pick<InstanceRow, 'id' | 'state' | 'instance_type'> | undefined> {
  return db.selectFrom('instances').select(['id', 'state', 'instance_type']).where('id', '=', id).executeTakeFirst();
}

/** instances.security_groups: its primary interface's groups. */
export async function setInstanceSecurityGroups(db: Tx, id: string, groupsJson: string): Promise<void> {
  await db.updateTable('instances').set({ security_groups: groupsJson }).where('id', '=', id).execute();
}

/** What releasing an instance's public addresses needs of it. */
export async function instanceLifecycle(db: Tx, id: string): Promise<Pick<InstanceRow, 'id' | 'account_id' | 'region' | 'state' | 'desired_state'> | undefined> {
  return db.selectFrom('instances').select(['id', 'account_id', 'region', 'state', 'desired_state']).where('id', '=', id).executeTakeFirst();
}

/** instances.public_ip: the address of the primary interface, as DescribeInstances shows it. */
export async function setInstancePublicIp(db: Tx, id: string, ip: string | null): Promise<void> {
  await db.updateTable('instances').set({ public_ip: ip }).where('id', '=', id).execute();
}

/** The account's instance with this id (terminated ones included), as AttachVolume checks it. */
export async function findInstanceForAttach(
  db: Tx,
  accountId: string,
  region: string,
  id: string,
): Promise<Pick<InstanceRow, 'id' | 'state' | 'availability_zone' | 'root_device_name' | 'instance_type'> | undefined> {
  return db
    .selectFrom('instances')
    .select(['id', 'state', 'availability_zone', 'root_device_name', 'instance_type'])
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .executeTakeFirst();
}

/** An instance's state and root device name. */
export async function instanceRootDevice(db: Tx, id: string): Promise<Pick<InstanceRow, 'state' | 'root_device_name'> | undefined> {
  return db.selectFrom('instances').select(['state', 'root_device_name']).where('id', '=', id).executeTakeFirst();
}

/** The state and VPC of each of the account's instances with these ids. */
export async function instanceStates(db: Tx, accountId: string, ids: string[]): Promise<Map<string, { state: string; vpc_id: string }>> {
  const out = new Map<string, { state: string; vpc_id: string }>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('instances')
      .select(['id', 'state', 'vpc_id'])
      .where('id', 'in', ids.slice(i, i + 500))
      .where('account_id', '=', accountId)
      .execute();
    for (const r of rows) out.set(r.id, { state: r.state, vpc_id: r.vpc_id });
  }
  return out;
}

/** The account's instance with this id (terminated ones included), its VPC and state. */
export async function findInstanceState(db: Tx, accountId: string, region: string, id: string): Promise<Pick<InstanceRow, 'id' | 'vpc_id' | 'state'> | undefined> {
  return db.selectFrom('instances').select(['id', 'vpc_id', 'state']).where('id', '=', id).where('account_id', '=', accountId).where('region', '=', region).executeTakeFirst();
}

/** Whether an instance that is not terminated is in this VPC or subnet. */
export async function hasLiveInstanceIn(db: Tx, where: { vpcId: string } | { subnetId: string }): Promise<boolean> {
  const q = db.selectFrom('instances').select('id').where('state', '!=', 'terminated');
  return Boolean(await ('vpcId' in where ? q.where('vpc_id', '=', where.vpcId) : q.where('subnet_id', '=', where.subnetId)).executeTakeFirst());
}

export type InstanceRow = Row<'instances'>;

const INSTANCE_ID = idPattern('i');

export function isInstanceId(id: string): boolean {
  return INSTANCE_ID.test(id);
}

export function malformedInstanceId(id: string) {
  return Errors.notFound('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
}

export function instancesNotFound(ids: string[]) {
  return ids.length === 1
    ? Errors.notFound('InvalidInstanceID.NotFound', `The instance ID '${ids[0]}' does not exist`)
    : Errors.notFound('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`);
}

/** Malformed ids fail first, as on EC2. */
export function checkInstanceIds(ids: string[]): void {
  for (const id of ids) if (!isInstanceId(id)) throw malformedInstanceId(id);
}

/** The caller's instances with these ids, in the order asked; NotFound names every missing one. */
export async function getInstanceRows(ctx: Ctx, ids: string[] | undefined, param = 'InstanceId'): Promise<InstanceRow[]> {
  if (!ids?.length) throw Errors.missingParameter(param);
  checkInstanceIds(ids);
  const unique = [...new Set(ids)];
  const rows = await ctx.db.selectFrom('instances').selectAll().where('account_id', '=', ctx.accountId).where('region', '=', ctx.region).where('id', 'in', unique).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const missing = unique.filter((id) => !byId.has(id));
  if (missing.length) throw instancesNotFound(missing);
  return unique.map((id) => byId.get(id)!);
}

export async function instanceById(db: Tx, id: string): Promise<InstanceRow | undefined> {
  return db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function instanceStateOf(db: Tx, id: string): Promise<string | undefined> {
  return (await db.selectFrom('instances').select('state').where('id', '=', id).executeTakeFirst())?.state;
}

/** The states of those of these instances the store still has. */
export async function storedInstanceStates(db: Tx, ids: string[]): Promise<Map<string, string>> {
  const rows = ids.length ? await db.selectFrom('instances').select(['id', 'state']).where('id', 'in', ids).execute() : [];
  return new Map(rows.map((r) => [r.id, r.state]));
}

export async function instanceVpcOf(db: Tx, id: string): Promise<Pick<InstanceRow, 'vpc_id' | 'account_id' | 'region'> | undefined> {
  return db.selectFrom('instances').select(['vpc_id', 'account_id', 'region']).where('id', '=', id).executeTakeFirst();
}

export async function runningInstances(db: Tx): Promise<Pick<InstanceRow, 'id' | 'account_id' | 'region' | 'boots'>[]> {
  return db.selectFrom('instances').select(['id', 'account_id', 'region', 'boots']).where('state', '=', 'running').execute();
}

/** Whether any instance is up or on its way up or down. */
export async function anyInstanceUp(db: Tx): Promise<boolean> {
  const up = await db.selectFrom('instances').select('id').where('state', 'in', ['pending', 'running', 'stopping', 'shutting-down']).executeTakeFirst();
  return up !== undefined;
}
