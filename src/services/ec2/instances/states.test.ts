import { describe, expect, test } from 'vitest';
import type { InstanceStateName } from '@aws-sdk/client-ec2';
import { stateCodes, transition, userInitiated, type Action } from './states.js';

const ID = 'i-0123456789abcdef0';

// current state × action → the state answered (or the error EC2 gives), and the job queued.
const table: [InstanceStateName, Action, string, string?][] = [
  ['pending', 'start', 'pending'],
  ['running', 'start', 'running'],
  ['stopping', 'start', 'IncorrectInstanceState'],
  ['stopped', 'start', 'pending', 'instance.start'],
  ['shutting-down', 'start', 'IncorrectInstanceState'],
  ['terminated', 'start', 'IncorrectInstanceState'],

  ['pending', 'stop', 'IncorrectInstanceState'], // a first launch never reached running
  ['running', 'stop', 'stopping', 'instance.stop'],
  ['stopping', 'stop', 'stopping'],
  ['stopped', 'stop', 'stopped'],
  ['shutting-down', 'stop', 'IncorrectInstanceState'],
  ['terminated', 'stop', 'IncorrectInstanceState'],

  ['pending', 'reboot', 'pending'],
  ['running', 'reboot', 'running', 'instance.reboot'],
  ['stopping', 'reboot', 'IncorrectInstanceState'],
  ['stopped', 'reboot', 'IncorrectInstanceState'],
  ['shutting-down', 'reboot', 'shutting-down'],
  ['terminated', 'reboot', 'terminated'],

  ['pending', 'terminate', 'shutting-down', 'instance.terminate'],
  ['running', 'terminate', 'shutting-down', 'instance.terminate'],
  ['stopping', 'terminate', 'shutting-down', 'instance.terminate'],
  ['stopped', 'terminate', 'shutting-down', 'instance.terminate'],
  ['shutting-down', 'terminate', 'shutting-down'],
  ['terminated', 'terminate', 'terminated'],
];

describe('instance state transitions', () => {
  test.each(table)('%s + %s → %s', (state, action, expected, job) => {
    let got: string;
    let gotJob: string | undefined;
    try {
      const t = transition({ id: ID, state, hasRun: false }, action);
      got = t.next;
      gotJob = t.job;
    } catch (e) {
      got = (e as { code: string }).code;
      expect((e as Error).message).toContain(ID);
    }
    expect(got).toBe(expected);
    expect(gotJob).toBe(job);
  });

  test('a pending instance that ran before (being started) can be stopped', () => {
    expect(transition({ id: ID, state: 'pending', hasRun: true }, 'stop')).toEqual({ next: 'stopping', desired: 'stopped', job: 'instance.stop' });
  });

  test('a forced stop of a stopping instance is queued again', () => {
    expect(transition({ id: ID, state: 'stopping', hasRun: true }, 'stop', { force: true }).job).toBe('instance.stop');
  });

  test('desired states follow the action', () => {
    expect(transition({ id: ID, state: 'stopped', hasRun: true }, 'start').desired).toBe('running');
    expect(transition({ id: ID, state: 'running', hasRun: true }, 'stop').desired).toBe('stopped');
    expect(transition({ id: ID, state: 'running', hasRun: true }, 'terminate').desired).toBe('terminated');
    expect(transition({ id: ID, state: 'running', hasRun: true }, 'reboot').desired).toBeUndefined();
  });

  test("messages are EC2's", () => {
    expect(() => transition({ id: ID, state: 'terminated', hasRun: true }, 'start')).toThrow(`The instance '${ID}' is not in a state from which it can be started.`);
    expect(() => transition({ id: ID, state: 'pending', hasRun: false }, 'stop')).toThrow(`Instance '${ID}' cannot be stopped as it has never reached the 'running' state.`);
  });

  test('state codes', () => {
    expect(stateCodes).toEqual({ pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 });
  });

  test('the user-initiated reason', () => {
    expect(userInitiated(new Date('2024-01-01T00:00:00.123Z'))).toBe('User initiated (2024-01-01 00:00:00 GMT)');
  });
});
