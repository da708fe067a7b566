// What every handler gets: who is asking, where, and the store to read and write in.
// Handlers are transport-free: typed input in, typed output out, errors thrown as ApiError.
import type { Config } from '../config.js';
import type { Db, Tx } from '../store/db.js';
import type { JobKind, JobPayloads, PayloadArgs } from '../store/job-kinds.js';
import { insertJobOf } from '../store/jobs.js';

export interface Ctx {
  readonly accountId: string;
  readonly region: string;
  readonly requestId: string;
  readonly operation: string;
  /** The store. Inside a mutating operation this is the operation's one transaction. */
  readonly db: Tx;
  readonly config: Config;
  /** The request's clock: every timestamp a handler writes uses it. */
  readonly now: Date;
  /** Queue work for the controllers, in the same transaction as the handler's writes. */
  enqueue<K extends JobKind>(kind: K, resourceId: string, ...args: PayloadArgs<JobPayloads, K>): Promise<void>;
  /** Run after the transaction commits (never if it rolls back), e.g. to wake a controller. */
  afterCommit(fn: () => void): void;
  /**
   * Run inside the transaction once the handler has returned, before it commits; never for a
   * DryRun. A throw rolls the request back. For host work that is part of the request's effect
   * (a snapshot's point in time).
   */
  beforeCommit(fn: () => Promise<void>): void;
  /** The host's point-in-time copies of volumes; absent when the driver keeps no volume data. */
  readonly captures?: VolumeCaptures;
}

/**
 * A volume's point-in-time copy for a snapshot, taken by the host inside the request (app.ts wires
 * it to the driver): the snapshot is of this instant, whenever its data is stored.
 */
export interface VolumeCaptures {
  capture(o: { volumeId: string; snapshotId: string }): Promise<void>;
}

export type Handler<I = any, O = any> = (ctx: Ctx, input: I) => Promise<O>;
export type HandlerMap = Record<string, Handler>;

/** Read-only operations run without a transaction; all others run in exactly one. */
export function isReadOnly(operation: string): boolean {
  return /^(Describe|Get|List)/.test(operation);
}

export interface CtxDeps {
  db: Db;
  config: Config;
  /** Wakes the controllers when jobs were queued. */
  wake: () => void;
  /**
   * Called once per (account, region) before its first EC2 request: makes the default VPC and
   * whatever else a fresh region has. Runs in its own transaction.
   */
  setupRegion?: (ctx: Ctx) => Promise<void>;
  captures?: VolumeCaptures;
}

/** What a request's handler leaves for around its transaction; the dispatcher fires them. */
export interface CtxEffects {
  /** Set once a job was queued: the controllers are woken after the commit. */
  queued: boolean;
  after: (() => void)[];
  before: (() => Promise<void>)[];
}

/**
 * The one place a handler's context is built: jobs go into the store through services, in the
 * transaction `db` is (the API layer never writes the store itself).
 */
export function createCtx(
  o: { accountId: string; region: string; requestId: string; operation: string; db: Tx; config: Config; captures?: VolumeCaptures },
  effects: CtxEffects,
): Ctx {
  const { accountId, region, db } = o;
  return {
    accountId,
    region,
    requestId: o.requestId,
    operation: o.operation,
    db,
    config: o.config,
    now: new Date(),
    async enqueue(kind, resourceId, ...[payload, runAt]) {
      await insertJobOf<JobPayloads, typeof kind>(db, { kind, resourceId, accountId, region, payload, runAt });
      effects.queued = true;
    },
    afterCommit(fn) {
      effects.after.push(fn);
    },
    beforeCommit(fn) {
      effects.before.push(fn);
    },
    captures: o.captures,
  };
}
