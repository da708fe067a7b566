// From a parsed, authenticated request to a typed handler and back: one transaction per mutating
// operation, DryRun answered uniformly, and the answer rendered from the model.
import { ApiError, Errors, isApiError } from './errors.js';
import type { ServiceModel } from '../models/index.js';
import { isReadOnly, type Ctx, type CtxDeps, type HandlerMap } from '../services/context.js';

export interface Invocation {
  model: ServiceModel;
  operation: string;
  input: Record<string, unknown>;
  accountId: string;
  region: string;
  requestId: string;
}

export class Dispatcher {
  constructor(
    private deps: CtxDeps,
    private handlers: Map<string, HandlerMap>,
  ) {}

  implemented(service: string): string[] {
    return Object.keys(this.handlers.get(service) ?? {}).sort();
  }

  has(service: string, operation: string): boolean {
    return Boolean(this.handlers.get(service)?.[operation]);
  }

  private ready = new Map<string, Promise<void>>();

  private setupRegion(inv: Invocation, make: (db: Ctx['db']) => Ctx): Promise<void> {
    const key = `${inv.accountId}:${inv.region}`;
    let p = this.ready.get(key);
    if (!p) {
      const setup = this.deps.setupRegion!;
      p = this.deps.db.transaction().execute((trx) => setup(make(trx)));
      this.ready.set(key, p);
      p.catch(() => this.ready.delete(key));
    }
    return p;
  }

  async invoke(inv: Invocation): Promise<unknown> {
    const handler = this.handlers.get(inv.model.signingName)?.[inv.operation];
    if (!handler) throw Errors.notImplemented(inv.operation);
    const dryRun = inv.input.DryRun === true;
    const after: (() => void)[] = [];
    let queued = false;
    const make = (db: Ctx['db']): Ctx => ({
      accountId: inv.accountId,
      region: inv.region,
      requestId: inv.requestId,
      operation: inv.operation,
      db,
      config: this.deps.config,
      now: new Date(),
      async enqueue(kind, resourceId, payload, runAt) {
        const at = (runAt ?? new Date()).toISOString();
        await db
          .insertInto('jobs')
          .values({
            kind,
            resource_id: resourceId,
            account_id: inv.accountId,
            region: inv.region,
            payload: JSON.stringify(payload ?? {}),
            run_at: at,
            attempts: 0,
            locked_by: null,
            locked_until: null,
            last_error: null,
            created_at: new Date().toISOString(),
          })
          .execute();
        queued = true;
      },
      afterCommit(fn) {
        after.push(fn);
      },
    });

    if (inv.model.signingName === 'ec2' && this.deps.setupRegion) await this.setupRegion(inv, make);

    if (isReadOnly(inv.operation)) {
      const out = await handler(make(this.deps.db), inv.input);
      if (dryRun) throw Errors.dryRun();
      return out;
    }
    // A DryRun runs the whole handler, validation included, then rolls its writes back: EC2
    // answers DryRunOperation only when the real request would have succeeded.
    const rollback = new DryRunRollback();
    let out: unknown;
    try {
      out = await this.deps.db.transaction().execute(async (trx) => {
        const result = await handler(make(trx), inv.input);
        if (dryRun) throw rollback;
        return result;
      });
    } catch (e) {
      if (e === rollback) throw Errors.dryRun();
      throw e;
    }
    if (queued) this.deps.wake();
    for (const fn of after) {
      try {
        fn();
      } catch {
        // After-commit hooks are notifications; the request has already succeeded.
      }
    }
    return out;
  }
}

class DryRunRollback extends Error {}

export function toApiError(e: unknown): ApiError {
  if (isApiError(e)) return e;
  return Errors.internal();
}
