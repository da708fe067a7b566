// The load-balancing part of a host: each load balancer's engines, in its own network namespace
// (plugged by the network part first). The elb.sync controller gives it each load balancer's desired
// state whenever the load balancer, its listeners, rules, certificates or target groups change, and
// the elb.observe controller reads back what the engines saw.
import type { HostPart } from '../part.js';
import type { LoadBalancerSpec } from './spec.js';

export interface LoadBalancing extends HostPart {
  /**
   * Take a load balancer's engines to `spec` in the namespace at `netnsPath` (idempotent): start them
   * when missing, reload a changed configuration without dropping a connection, and add, drain and
   * remove targets through the engine's runtime interface without a reload.
   */
  // close(): without cleanup the engines keep running (adopted at the next start, like instances);
  // with cleanup every engine and file goes.
  apply(spec: LoadBalancerSpec, netnsPath: string): Promise<void>;
  /** Stop a load balancer's engines and remove their files (idempotent). */
  remove(loadBalancerId: string): Promise<void>;
  /** Load balancers with engines on this host (adoption after a restart: those not in the store are removed). */
  present(): Promise<string[]>;
  /** What the engines see now: each target's health, and counters since the engines started. */
  observe(loadBalancerId: string): Promise<LoadBalancerObservation | undefined>;
}

export type TargetHealthState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused' | 'unavailable';

export interface TargetObservation {
  targetGroupArn: string;
  targetId: string;
  port: number;
  state: TargetHealthState;
  /** ELB's reason code: Elb.RegistrationInProgress, Elb.InitialHealthChecking, Target.ResponseCodeMismatch, Target.Timeout, Target.FailedHealthChecks, Target.DeregistrationInProgress, … */
  reason?: string;
  /** ELB's words for it, e.g. "Health checks failed with these codes: [503]". */
  description?: string;
  /** Requests or connections in flight to it now (draining: it may leave once 0). */
  inFlight: number;
}

/**
 * Cumulative counters since the engines started (the controller turns differences into CloudWatch
 * data points). A restarted engine starts again from 0: `since` says when.
 */
export interface Counters {
  requestCount: number;
  /** HTTP responses by class, from targets. */
  target2xx: number;
  target3xx: number;
  target4xx: number;
  target5xx: number;
  /** Responses the load balancer made itself: 4XX and 5XX (no healthy target, a target that failed). */
  elb4xx: number;
  elb5xx: number;
  /** Sum and count of target response times, seconds (TargetResponseTime's average). */
  targetResponseTimeSum: number;
  targetResponseTimeCount: number;
  /** Connections open now. */
  activeConnections: number;
  /** Connections accepted. */
  newConnections: number;
  /** Bytes in and out. */
  processedBytes: number;
}

export interface LoadBalancerObservation {
  /** When the engines started (counters count from here). */
  since: Date;
  /** The load balancer's counters. */
  counters: Counters;
  /** Each target group's counters (requests and codes of the requests it served). */
  targetGroups: { arn: string; counters: Counters }[];
  targets: TargetObservation[];
}
