// Every job kind and the payload its reconciler reads (`job.data`). Services, controllers and the
// store all queue through here, so a kind that no controller registers, or a payload member its
// reconciler does not read, is a compile error rather than a job that fails at run time.
//
// The payload is JSON in jobs.payload: members are plain data (strings, numbers, booleans, arrays).

/** A kind whose reconciler reads nothing but the job's resource id. */
export type NoPayload = Record<string, never>;

/** What a host.cleanup job undoes on the host (controllers/cleanup.ts). */
export type CleanupOp = { op: 'delete-instance' } | { op: 'stop-instance' } | { op: 'delete-volume' } | { op: 'detach-volume'; instanceId: string };

export interface JobPayloads {
  'instance.launch': NoPayload;
  'instance.start': NoPayload;
  /** force: StopInstances Force or SkipOsShutdown (the driver kills rather than asks). */
  'instance.stop': { force?: boolean };
  /** rebooting: the boot id being replaced, written by the reconciler itself before it acts. */
  'instance.reboot': { rebooting?: string };
  /** skipOsShutdown: killed at once, no graceful OS shutdown (SkipOsShutdown, or Force on one shutting down). */
  'instance.terminate': { skipOsShutdown?: boolean };
  /** boot: the instance's boot count this watcher belongs to (a newer boot has its own). */
  'instance.watch': { boot: number };
  'instance.purge': NoPayload;
  /** Queued by older servers only; now a vpc.sync of the instance's VPC. */
  'instance.metadata': NoPayload;
  'metrics.sample': NoPayload;
  'volume.check': NoPayload;
  'volume.create': NoPayload;
  'volume.delete': NoPayload;
  'volume.attach': { instanceId: string };
  /** released: the instance let go of it already (terminated); force: DetachVolume Force. */
  'volume.detach': { instanceId: string; force?: boolean; released?: boolean };
  /** startTime: the modification's StartTime (ISO 8601), which names it. */
  'volume.modify': { startTime: string };
  'snapshot.create': NoPayload;
  /** snapshotIds: the set taken at one point in time (CreateSnapshots, CreateImage); resource id is the first. */
  'snapshot.create-set': { snapshotIds: string[] };
  'snapshot.copy': NoPayload;
  /** region: the snapshot's region (the block store's key). */
  'snapshot.delete': { region: string };
  'image.create': NoPayload;
  'image.copy': NoPayload;
  'vpc.sync': NoPayload;
  /**
   * A load balancer's data plane follows the store (resource id: its ARN): any change to it, its
   * subnets or groups, listeners, rules, certificates, or a target group it forwards to (and its
   * targets) queues one; so does its deletion (then the data plane is removed).
   */
  'elb.sync': NoPayload;
  /** Observation: targets' health and the load balancer's counters, sampled into the store (resource id: its ARN). */
  'elb.observe': NoPayload;
  'host.cleanup': CleanupOp;
}

export type JobKind = keyof JobPayloads;

/** The kinds of a payload map (JobPayloads, or a test's own). */
export type KindOf<M> = keyof M & string;

/**
 * The payload member of a new job: required when the kind's payload has a required member,
 * optional otherwise (for a union of kinds: optional when one of them may omit it).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- `{} extends P`: true when every member of P is optional
export type PayloadField<M, K extends KindOf<M>> = {} extends M[K] ? { payload?: M[K] } : { payload: M[K] };

/** The same as trailing arguments: (payload, runAt). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- as above
export type PayloadArgs<M, K extends KindOf<M>> = {} extends M[K] ? [payload?: M[K], runAt?: Date] : [payload: M[K], runAt?: Date];
