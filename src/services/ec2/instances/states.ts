// The instance lifecycle as EC2 answers it: which state an action moves an instance to, what the
// controllers must then do, and where EC2 refuses. Pure, so the whole table is unit-tested.
import type { InstanceStateName } from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';

/** EC2's state codes (the low byte of instance-state-code). */
export const stateCodes: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export const stateNames = Object.keys(stateCodes) as InstanceStateName[];

export function stateOf(name: string): { Code: number; Name: InstanceStateName } {
  return { Code: stateCodes[name as InstanceStateName] ?? 0, Name: name as InstanceStateName };
}

export type Action = 'start' | 'stop' | 'reboot' | 'terminate';

export interface Current {
  id: string;
  state: InstanceStateName;
  /** Whether the instance ever reached running (a first launch still pending cannot be stopped). */
  hasRun: boolean;
}

export interface Transition {
  /** The state to write now ('same' answers with the current state and changes nothing). */
  next: InstanceStateName;
  /** The state the controllers drive toward, when it changes. */
  desired?: 'running' | 'stopped' | 'terminated';
  /** The job to queue, if any. */
  job?: 'instance.start' | 'instance.stop' | 'instance.reboot' | 'instance.terminate';
}

const cannot = (id: string, verb: string) => Errors.incorrectInstanceState(`The instance '${id}' is not in a state from which it can be ${verb}.`);

/**
 * What `action` does to an instance in its current state. Throws IncorrectInstanceState where EC2
 * refuses. `force` matters only for stop and terminate: a forced stop of a stopping instance (or a
 * forced termination of one shutting down) is queued again.
 */
export function transition(cur: Current, action: Action, opts: { force?: boolean } = {}): Transition {
  const { id, state } = cur;
  switch (action) {
    case 'start':
      switch (state) {
        case 'stopped':
          return { next: 'pending', desired: 'running', job: 'instance.start' };
        case 'pending':
        case 'running':
          return { next: state };
        default:
          throw cannot(id, 'started');
      }
    case 'stop':
      switch (state) {
        case 'running':
          return { next: 'stopping', desired: 'stopped', job: 'instance.stop' };
        case 'pending':
          if (!cur.hasRun) {
            throw Errors.incorrectInstanceState(`Instance '${id}' cannot be stopped as it has never reached the 'running' state.`);
          }
          return { next: 'stopping', desired: 'stopped', job: 'instance.stop' };
        case 'stopping':
          return opts.force ? { next: 'stopping', job: 'instance.stop' } : { next: 'stopping' };
        case 'stopped':
          return { next: 'stopped' };
        default:
          throw cannot(id, 'stopped');
      }
    case 'reboot':
      switch (state) {
        case 'running':
          return { next: 'running', job: 'instance.reboot' };
        // "Requests to reboot terminated instances are ignored"; one still booting needs none.
        case 'pending':
        case 'shutting-down':
        case 'terminated':
          return { next: state };
        default:
          throw cannot(id, 'rebooted');
      }
    case 'terminate':
      switch (state) {
        case 'shutting-down':
          return opts.force ? { next: state, job: 'instance.terminate' } : { next: state };
        case 'terminated':
          return { next: state };
        default:
          return { next: 'shutting-down', desired: 'terminated', job: 'instance.terminate' };
      }
  }
}

/** "User initiated (2024-01-01 00:00:00 GMT)", EC2's StateTransitionReason for stops and terminations. */
export function userInitiated(at: Date): string {
  return `User initiated (${at.toISOString().slice(0, 19).replace('T', ' ')} GMT)`;
}

export const stateReasons = {
  pending: { Code: 'pending', Message: 'pending' },
  userShutdown: { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
  instanceShutdown: { Code: 'Client.InstanceInitiatedShutdown', Message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown' },
  internalError: { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on launch' },
  /** Refused because of what the client brought (an image or volume whose filesystem failed the host's check). */
  clientError: { Code: 'Client.InternalError', Message: 'Client.InternalError: Client error on launch' },
  startError: { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on start' },
  /** The host could not stop it cleanly (it was stopped by force, or its leftovers queued for cleanup). */
  stopError: { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on stop' },
  /** It stopped running on the host and could not be booted again. */
  recoveryError: { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on recovery' },
  /** The host's EBS storage is full. */
  volumeLimitExceeded: { Code: 'Client.VolumeLimitExceeded', Message: 'Client.VolumeLimitExceeded: Volume limit exceeded' },
  snapshotNotFound: { Code: 'Client.InvalidSnapshot.NotFound', Message: 'Client.InvalidSnapshot.NotFound: The specified snapshot was not found' },
  insufficientCapacity: { Code: 'Server.InsufficientInstanceCapacity', Message: 'Server.InsufficientInstanceCapacity: Insufficient capacity' },
} as const;

export function operationNotPermitted(message: string): ApiError {
  return new ApiError('OperationNotPermitted', message);
}
