// What every handler gets: who is asking, where, and the store to read and write in.
// Handlers are transport-free: typed input in, typed output out, errors thrown as ApiError.
import type { Config } from '../config.js';
import type { SecretBox } from '../lib/secrets.js';
import type { Principal } from './iam/principal.js';
import type { Authorizer } from './iam/authorize.js';
import type { Db, Tx } from '../store/db.js';
import type { JobKind, JobPayloads, PayloadArgs } from '../store/job-kinds.js';
import { insertJobOf } from '../store/jobs.js';

export interface Ctx {
  readonly accountId: string;
  readonly region: string;
  readonly requestId: string;
  readonly operation: string;
  /** Who is asking: the account's root user, an IAM user, or a role's session. */
  readonly principal: Principal;
  /** Where the request came from, for IAM's global condition keys and STS's messages. */
  readonly source: RequestSource;
  /** Wraps secrets at rest (access keys, session credentials) under the host's master key. */
  readonly secrets: SecretBox;
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

export type Handler<I, O> = (ctx: Ctx, input: I) => Promise<O>;

/**
 * A handler as the dispatcher holds it: the input is what the protocol parsed against the service
 * model, which the SDK's types describe (services/registry.ts is where typed maps are erased to it).
 */
export type OperationHandler = (ctx: Ctx, input: Record<string, unknown>) => Promise<unknown>;
export type HandlerMap = Readonly<Record<string, OperationHandler>>;

/** A typed handler of some operation: whatever it takes, it is given what was parsed for it. */
export type TypedHandler = Handler<never, unknown>;

/**
 * A typed handler map as the dispatcher holds it. The one erasure of handler types: the protocol
 * parses each input against the service model, whose shapes the SDK's types are generated from.
 */
export function handlerMap(handlers: Readonly<Record<string, TypedHandler | undefined>>): HandlerMap {
  return handlers as unknown as HandlerMap;
}

/**
 * Every operation of an SDK v3 client package (`typeof import('@aws-sdk/client-…')`), from its
 * `XCommand` classes: the input it takes and the output it answers (without `$metadata`, which the
 * SDK adds itself). Types only: no SDK code runs in the server.
 */
export type OperationsOf<Client> = {
  // The key filter is names only, so a map's check resolves just the operations it names.
  [K in keyof Client as K extends `$${string}` ? never : K extends `${infer Op}Command` ? Op : never]: IoOf<Client[K]>;
};

// An SDK v3 command's instance: what it sends, and what its middleware answers.
type IoOf<C> = C extends new (...args: never) => {
  readonly input: infer I;
  resolveMiddleware(...args: never): (args: never) => Promise<{ output: infer O }>;
}
  ? { input: I; output: Omit<O, '$metadata'> }
  : never;

/** What a service's handler map may hold: any of its operations, each typed from the SDK. */
export type HandlersOf<Ops extends Record<string, { input: object; output: object }>> = {
  [Op in keyof Ops]?: Handler<Ops[Op]['input'], Ops[Op]['output']>;
};

export type Ec2Operations = OperationsOf<typeof import('@aws-sdk/client-ec2')>;
export type StsOperations = OperationsOf<typeof import('@aws-sdk/client-sts')>;
export type IamOperations = OperationsOf<typeof import('@aws-sdk/client-iam')>;
export type Elbv2Operations = OperationsOf<typeof import('@aws-sdk/client-elastic-load-balancing-v2')>;
export type AutoScalingOperations = OperationsOf<typeof import('@aws-sdk/client-auto-scaling')>;
export type CloudWatchOperations = OperationsOf<typeof import('@aws-sdk/client-cloudwatch')>;
export type Ec2Handlers = HandlersOf<Ec2Operations>;
export type StsHandlers = HandlersOf<StsOperations>;
export type IamHandlers = HandlersOf<IamOperations>;
export type Elbv2Handlers = HandlersOf<Elbv2Operations>;
export type AutoScalingHandlers = HandlersOf<AutoScalingOperations>;
export type CloudWatchHandlers = HandlersOf<CloudWatchOperations>;

// Members a declared type has that another lacks (an index signature counts as none).
type Extra<D, E> = string extends keyof D ? never : Exclude<keyof D, keyof E>;

/**
 * The operations of a handler map whose handler declares an input or output member its operation
 * does not have. Assignability alone lets one through: the SDK's shapes are all-optional, so
 * `{ Vpcs?, NextToken? }` is assignable to `{ Tags?, NextToken? }`. Must be `never`.
 */
export type Mismatched<H, Ops extends Record<string, { input: object; output: object }>> = {
  [K in keyof H]: K extends keyof Ops
    ? H[K] extends (ctx: Ctx, input: infer D) => Promise<infer R>
      ? [Extra<D, Ops[K]['input']> | Extra<R, Ops[K]['output']>] extends [never]
        ? never
        : K
      : K
    : K;
}[keyof H];

/** Fails to compile unless T is never: `type _ = NoMismatch<Mismatched<…>>`. */
export type NoMismatch<T extends never> = T;

/** Read-only operations run without a transaction; all others run in exactly one. */
export function isReadOnly(operation: string): boolean {
  return /^(Describe|Get|List)/.test(operation);
}

/** The network side of a request. */
export interface RequestSource {
  /** The client's address (aws:SourceIp). */
  readonly ip: string;
  /** Whether it came over TLS (aws:SecureTransport). */
  readonly secure: boolean;
}

export interface CtxDeps {
  db: Db;
  config: Config;
  secrets: SecretBox;
  /** IAM policy enforcement; absent: every principal may do everything (in-process tests of handlers). */
  authorizer?: Authorizer;
  /** Wakes the controllers when jobs were queued. */
  wake: () => void;
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
  o: {
    accountId: string;
    region: string;
    requestId: string;
    operation: string;
    principal: Principal;
    source: RequestSource;
    db: Tx;
    config: Config;
    secrets: SecretBox;
    captures?: VolumeCaptures;
  },
  effects: CtxEffects,
): Ctx {
  const { accountId, region, db } = o;
  return {
    accountId,
    region,
    requestId: o.requestId,
    operation: o.operation,
    principal: o.principal,
    source: o.source,
    secrets: o.secrets,
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
