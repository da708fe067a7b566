// From a parsed, authenticated request to a typed handler and back: one transaction per mutating
// operation, DryRun answered uniformly, and the answer rendered from the model.
import { ApiError, Errors, isApiError } from '../services/errors.js';
import type { ServiceModel } from '../models/index.js';
import { createCtx, isReadOnly, type Ctx, type CtxDeps, type CtxEffects, type HandlerMap, type RequestSource } from '../services/context.js';
import { rootPrincipal, type Principal } from '../services/iam/principal.js';
import type { ServiceAuthorization } from '../services/iam/authorize.js';

/** What the dispatcher needs of a registered service (services/registry.ts), by signing name. */
export interface ServiceEntry {
  handlers: HandlerMap;
  /** How its calls are authorized (services/iam/authorize.ts). */
  authorization?: ServiceAuthorization;
  setupRegion?: (ctx: Ctx) => Promise<void>;
  model?: () => ServiceModel | undefined;
}

export interface Invocation {
  model: ServiceModel;
  operation: string;
  input: Record<string, unknown>;
  accountId: string;
  region: string;
  requestId: string;
  /** Who signed the request; absent: the account's root user (in-process callers, tests). */
  principal?: Principal;
  /** Where it came from; absent: loopback over TLS (in-process callers, tests). */
  source?: RequestSource;
}

export class Dispatcher {
  constructor(
    private deps: CtxDeps,
    private services: ReadonlyMap<string, ServiceEntry>,
  ) {}

  /** The model of a registered service; undefined for a service cumulo does not serve. */
  model(service: string): ServiceModel | undefined {
    return this.services.get(service)?.model?.();
  }

  implemented(service: string): string[] {
    return Object.keys(this.services.get(service)?.handlers ?? {}).sort();
  }

  has(service: string, operation: string): boolean {
    return Object.hasOwn(this.services.get(service)?.handlers ?? {}, operation);
  }

  private ready = new Map<string, Promise<void>>();

  // The setup is the region's, not the request's: its own transaction, jobs and hooks, so they
  // commit and fire even when the request that triggered it is a Describe, a DryRun or fails.
  private setupRegion(inv: Invocation, setup: (ctx: Ctx) => Promise<void>): Promise<void> {
    const key = `${inv.model.signingName}:${inv.accountId}:${inv.region}`;
    let p = this.ready.get(key);
    if (!p) {
      const effects = new Effects();
      p = this.deps.db
        .transaction()
        .execute((trx) => setup(this.ctx(inv, trx, effects)))
        .then(() => effects.fire(this.deps.wake));
      this.ready.set(key, p);
      p.catch(() => this.ready.delete(key));
    }
    return p;
  }

  async invoke(inv: Invocation): Promise<unknown> {
    const service = this.services.get(inv.model.signingName);
    if (!service || !this.has(inv.model.signingName, inv.operation)) throw Errors.notImplemented(inv.operation);
    const handler = service.handlers[inv.operation]!;
    const dryRun = inv.input.DryRun === true;

    if (service.setupRegion) await this.setupRegion(inv, service.setupRegion);

    const effects = new Effects();
    // Every call is authorized before it runs (a DryRun too: it answers DryRunOperation only when allowed).
    const { authorizer } = this.deps;
    if (authorizer && service.authorization) {
      await authorizer.authorize(this.ctx(inv, this.deps.db, effects), service.authorization, inv.operation, inv.input);
      if (service.authorization.changesPolicies) effects.after.push(() => authorizer.invalidate());
    }
    if (isReadOnly(inv.operation)) {
      const out = await handler(this.ctx(inv, this.deps.db, effects), inv.input);
      if (dryRun) throw Errors.dryRun();
      effects.fire(this.deps.wake);
      return out;
    }
    // A DryRun runs the whole handler, validation included, then rolls its writes back: EC2
    // answers DryRunOperation only when the real request would have succeeded.
    const rollback = new DryRunRollback();
    let out: unknown;
    try {
      out = await this.deps.db.transaction().execute(async (trx) => {
        const result = await handler(this.ctx(inv, trx, effects), inv.input);
        if (dryRun) throw rollback;
        for (const fn of effects.before) await fn();
        return result;
      });
    } catch (e) {
      if (e === rollback) throw Errors.dryRun();
      throw e;
    }
    effects.fire(this.deps.wake);
    return out;
  }

  private ctx(inv: Invocation, db: Ctx['db'], effects: Effects): Ctx {
    const { accountId, region, requestId, operation } = inv;
    const principal = inv.principal ?? rootPrincipal(accountId, '');
    const source = inv.source ?? { ip: '127.0.0.1', secure: true };
    return createCtx(
      { accountId, region, requestId, operation, principal, source, db, config: this.deps.config, secrets: this.deps.secrets, captures: this.deps.captures },
      effects,
    );
  }
}

/** What a transaction leaves to do once it has committed. */
class Effects implements CtxEffects {
  queued = false;
  after: (() => void)[] = [];
  /** Run in the transaction, after the handler (not for a DryRun). */
  before: (() => Promise<void>)[] = [];

  fire(wake: () => void): void {
    if (this.queued) wake();
    for (const fn of this.after) {
      try {
        // A hook may be async despite its type: keep its rejection from going unhandled.
        const r: unknown = fn();
        if (r instanceof Promise) r.catch(() => {});
      } catch {
        // After-commit hooks are notifications; the request has already succeeded.
      }
    }
  }
}

class DryRunRollback extends Error {}

export function toApiError(e: unknown): ApiError {
  if (isApiError(e)) return e;
  return Errors.internal();
}
