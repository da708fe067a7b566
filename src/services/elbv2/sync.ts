// Changes that reach a load balancer's data plane queue one `elb.sync` job for it (resource id: its
// ARN) in the same transaction; the controller (src/controllers/load-balancers.ts) rebuilds its
// desired state from the store and hands it to the host. Requests that land while a job is waiting
// share it.
import type { Tx } from '../../store/db.js';
import { insertJob } from '../../store/jobs.js';
import type { Ctx } from '../context.js';

export const ELB_SYNC = 'elb.sync';

export async function queueElbSync(db: Tx | Ctx, lb: { arn: string; accountId: string; region: string }): Promise<void> {
  const ctx = 'enqueue' in db ? db : undefined;
  const tx = ctx ? ctx.db : (db as Tx);
  const waiting = await tx.selectFrom('jobs').select('id').where('kind', '=', ELB_SYNC).where('resource_id', '=', lb.arn).where('locked_by', 'is', null).executeTakeFirst();
  if (waiting) return;
  if (ctx && ctx.accountId === lb.accountId && ctx.region === lb.region) await ctx.enqueue(ELB_SYNC, lb.arn);
  else await insertJob(tx, { kind: ELB_SYNC, resourceId: lb.arn, accountId: lb.accountId, region: lb.region });
}

/** Every load balancer with a listener or rule that forwards to the target group: their data plane follows the group. */
export async function queueSyncOfGroup(ctx: Ctx, targetGroupArn: string): Promise<void> {
  const like = `%${targetGroupArn}%`;
  const viaListeners = await ctx.db.selectFrom('elbv2_listeners').select('load_balancer_arn').where('default_actions', 'like', like).execute();
  const viaRules = await ctx.db
    .selectFrom('elbv2_rules')
    .innerJoin('elbv2_listeners', 'elbv2_listeners.arn', 'elbv2_rules.listener_arn')
    .select('elbv2_listeners.load_balancer_arn')
    .where('elbv2_rules.actions', 'like', like)
    .execute();
  for (const arn of new Set([...viaListeners, ...viaRules].map((r) => r.load_balancer_arn))) await queueElbSync(ctx, { arn, accountId: ctx.accountId, region: ctx.region });
}
