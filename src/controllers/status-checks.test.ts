import { describe, expect, test } from 'vitest';
import { failedSince, statusMetrics } from './status-checks.js';

describe('failedSince', () => {
  const now = '2026-01-01T00:10:00.000Z';
  test('a failure starts now, keeps its start while it lasts, and ends when the check passes', () => {
    expect(failedSince('failed', undefined, now)).toBe(now);
    expect(failedSince('failed', { status: 'passed', since: null }, now)).toBe(now);
    expect(failedSince('failed', { status: 'failed', since: '2026-01-01T00:01:00.000Z' }, now)).toBe('2026-01-01T00:01:00.000Z');
    expect(failedSince('passed', { status: 'failed', since: '2026-01-01T00:01:00.000Z' }, now)).toBeNull();
    expect(failedSince('insufficient-data', { status: 'failed', since: '2026-01-01T00:01:00.000Z' }, now)).toBeNull();
  });
});

describe('statusMetrics', () => {
  test("EC2's StatusCheckFailed: 1 when either check failed, 0 when both passed, unknown otherwise", () => {
    expect(statusMetrics('passed', 'passed')).toEqual({ status_check_failed: 0, status_check_failed_system: 0, status_check_failed_instance: 0 });
    expect(statusMetrics('passed', 'failed')).toEqual({ status_check_failed: 1, status_check_failed_system: 0, status_check_failed_instance: 1 });
    expect(statusMetrics('failed', 'insufficient-data')).toEqual({ status_check_failed: 1, status_check_failed_system: 1, status_check_failed_instance: null });
    expect(statusMetrics('passed', 'insufficient-data')).toEqual({ status_check_failed: null, status_check_failed_system: 0, status_check_failed_instance: null });
  });
});
