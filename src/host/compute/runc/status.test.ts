import { describe, expect, test } from 'vitest';
import { deadState, initOutcome, linkState, procState } from './status.js';

describe('procState', () => {
  test('the letter after the command name, whatever the name holds', () => {
    expect(procState('1234 (init) S 0 1234 1234 0 -1')).toBe('S');
    expect(procState('1234 (my (odd) name) T 0 1 1')).toBe('T');
    expect(procState('garbage')).toBeUndefined();
  });
});

describe('deadState', () => {
  test('running and sleeping inits are alive; stopped, zombie and gone ones are not', () => {
    for (const s of ['R', 'S', 'D', 'I']) expect(deadState(s)).toBeUndefined();
    expect(deadState('T')).toMatch(/stopped/);
    expect(deadState('t')).toMatch(/stopped/);
    expect(deadState('Z')).toMatch(/exited/);
    expect(deadState(undefined)).toMatch(/gone/);
  });
});

describe('linkState', () => {
  test('ip -json link show: up, carrier, or missing', () => {
    expect(linkState('[{"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"]}]')).toEqual({ exists: true, up: true, carrier: true });
    expect(linkState('[{"ifname":"e1","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP"]}]')).toEqual({ exists: true, up: true, carrier: false });
    expect(linkState('[{"ifname":"eth0","flags":["BROADCAST","MULTICAST"]}]')).toEqual({ exists: true, up: false, carrier: false });
    expect(linkState('[]')).toEqual({ exists: false, up: false, carrier: false });
    expect(linkState('not json')).toEqual({ exists: false, up: false, carrier: false });
  });
});

describe('initOutcome', () => {
  const stat = (state: string) => `42 (init) ${state} 0 42 42 0 -1`;
  test('a running container whose init runs or sleeps passes', () => {
    expect(initOutcome({ status: 'running', pid: 42 }, stat('S'))).toEqual({ status: 'passed' });
  });
  test('made but never started, frozen, stopped, gone, or its init stopped: failed', () => {
    expect(initOutcome({ status: 'created', pid: 42 }, stat('S'))).toMatchObject({ status: 'failed', reason: expect.stringMatching(/never started/) });
    expect(initOutcome({ status: 'paused', pid: 42 }, stat('D'))).toMatchObject({ status: 'failed', reason: expect.stringMatching(/frozen/) });
    expect(initOutcome({ status: 'stopped', pid: 0 }, '')).toMatchObject({ status: 'failed' });
    expect(initOutcome(undefined, '')).toMatchObject({ status: 'failed' });
    expect(initOutcome({ status: 'running', pid: 42 }, '')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/gone/) });
    expect(initOutcome({ status: 'running', pid: 42 }, stat('T'))).toMatchObject({ status: 'failed', reason: expect.stringMatching(/stopped by a signal/) });
  });
});
