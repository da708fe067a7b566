// Changes that reach a VPC's data plane (groups, rules, ACLs, routes, gateways, addresses,
// interfaces, instance states) queue one `vpc.sync` job for that VPC in the same transaction; the
// controller (src/controllers/network.ts) rebuilds the VPC's desired state from the store and hands
// it to the driver. Requests that land while a job is waiting share it.
import type { Tx } from '../../../store/db.js';
import { insertJob } from '../../../store/jobs.js';
import type { Ctx } from '../../context.js';
import { vpcsRoutingThroughInstance } from '../vpcs/store/route-tables.js';

export const VPC_SYNC = 'vpc.sync';

/**
 * Handlers pass their `ctx` (not `ctx.db`): a job queued through it wakes the controllers when the
 * request commits, instead of at their next poll (up to a second later). Controllers pass their
 * transaction (the runner polls again as soon as a job ends).
 */
export async function queueVpcSync(db: Tx | Ctx, vpc: { vpcId: string; accountId: string; region: string }): Promise<void> {
  const ctx = 'enqueue' in db ? db : undefined;
  const tx = ctx ? ctx.db : (db as Tx);
  const waiting = await tx.selectFrom('jobs').select('id').where('kind', '=', VPC_SYNC).where('resource_id', '=', vpc.vpcId).where('locked_by', 'is', null).executeTakeFirst();
  if (waiting) return;
  if (ctx && ctx.accountId === vpc.accountId && ctx.region === vpc.region) await ctx.enqueue(VPC_SYNC, vpc.vpcId);
  else await insertJob(tx, { kind: VPC_SYNC, resourceId: vpc.vpcId, accountId: vpc.accountId, region: vpc.region });
}

/**
 * An instance came up (or went): the VPCs with a route to it or to one of its interfaces forward
 * through it now (or drop), so their data plane follows.
 */
export async function queueSyncOfRoutesThrough(db: Tx, instance: { id: string; account_id: string; region: string }): Promise<void> {
  for (const vpcId of await vpcsRoutingThroughInstance(db, instance.id)) await queueVpcSync(db, { vpcId, accountId: instance.account_id, region: instance.region });
}
