import { describe, expect, test } from 'vitest';
import { checkSummaries, ebsSummary, staleAfterMs } from './status.js';

const now = Date.parse('2026-01-01T00:10:00Z');
const check = (o: Partial<Parameters<typeof checkSummaries>[1] & object> = {}) => ({
  instance_id: 'i-0123456789abcdef0',
  account_id: '111122223333',
  region: 'us-east-1',
  boot: 1,
  system_status: 'passed' as const,
  system_failed_since: null,
  instance_status: 'passed' as const,
  instance_failed_since: null,
  checked_at: new Date(now - 1000).toISOString(),
  ...o,
});

describe('checkSummaries', () => {
  test('not running: not-applicable', () => {
    expect(checkSummaries({ state: 'stopped', boots: 1 }, check(), now)).toEqual({ system: { Status: 'not-applicable' }, instance: { Status: 'not-applicable' } });
  });
  test("no check of this boot: initializing (an older boot's do not count)", () => {
    const init = { Status: 'initializing', Details: [{ Name: 'reachability', Status: 'initializing' }] };
    expect(checkSummaries({ state: 'running', boots: 1 }, undefined, now)).toEqual({ system: init, instance: init });
    expect(checkSummaries({ state: 'running', boots: 2 }, check({ instance_status: 'failed' }), now)).toEqual({ system: init, instance: init });
  });
  test('passed: ok; failed: impaired since the first failure; unknown: insufficient-data', () => {
    const r = checkSummaries(
      { state: 'running', boots: 1 },
      check({ instance_status: 'failed', instance_failed_since: '2026-01-01T00:05:00.000Z', system_status: 'insufficient-data' }),
      now,
    );
    expect(r.instance).toEqual({ Status: 'impaired', Details: [{ Name: 'reachability', Status: 'failed', ImpairedSince: new Date('2026-01-01T00:05:00.000Z') }] });
    expect(r.system).toEqual({ Status: 'insufficient-data', Details: [{ Name: 'reachability', Status: 'insufficient-data' }] });
    expect(checkSummaries({ state: 'running', boots: 1 }, check(), now).system).toEqual({ Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] });
  });
  test('a check the host stopped renewing says nothing now', () => {
    const old = check({ checked_at: new Date(now - staleAfterMs() - 1).toISOString() });
    expect(checkSummaries({ state: 'running', boots: 1 }, old, now).instance.Status).toBe('insufficient-data');
  });
});

describe('ebsSummary', () => {
  const vc = (status: 'passed' | 'failed' | 'insufficient-data', since: string | null = null) => ({
    volume_id: 'vol-1',
    status,
    failed_since: since,
    checked_at: new Date(now - 1000).toISOString(),
  });
  test('not running or nothing attached: not-applicable', () => {
    expect(ebsSummary(false, [{ volumeId: 'vol-1', check: vc('passed') }], now)).toEqual({ Status: 'not-applicable' });
    expect(ebsSummary(true, [], now)).toEqual({ Status: 'not-applicable' });
  });
  test('one failed volume impairs it, since the earliest failure', () => {
    const r = ebsSummary(
      true,
      [
        { volumeId: 'vol-1', check: vc('passed') },
        { volumeId: 'vol-2', check: vc('failed', '2026-01-01T00:01:00.000Z') },
        { volumeId: 'vol-3', check: vc('failed', '2026-01-01T00:03:00.000Z') },
      ],
      now,
    );
    expect(r).toEqual({ Status: 'impaired', Details: [{ Name: 'reachability', Status: 'failed', ImpairedSince: new Date('2026-01-01T00:01:00.000Z') }] });
  });
  test('all passed: ok; one not checked yet: initializing; one unknown: insufficient-data', () => {
    expect(ebsSummary(true, [{ volumeId: 'vol-1', check: vc('passed') }], now).Status).toBe('ok');
    expect(ebsSummary(true, [{ volumeId: 'vol-1', check: vc('passed') }, { volumeId: 'vol-2' }], now).Status).toBe('initializing');
    expect(ebsSummary(true, [{ volumeId: 'vol-1', check: vc('insufficient-data') }], now).Status).toBe('insufficient-data');
  });
});
