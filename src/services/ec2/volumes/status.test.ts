import { describe, expect, test } from 'vitest';
import { volumeStatusOf } from './handlers.js';

const now = Date.parse('2026-01-01T00:10:00Z');
const vol = (state: string) => ({ id: 'vol-0123456789abcdef0', availability_zone: 'us-east-1a', state });
const check = (status: string, since: string | null = null) => ({ status, failed_since: since, checked_at: new Date(now - 1000).toISOString() });

describe('volumeStatusOf', () => {
  test('error (its build failed): impaired, io-enabled failed', () => {
    expect(volumeStatusOf(vol('error'), undefined, now).VolumeStatus).toEqual({
      Status: 'impaired',
      Details: [
        { Name: 'io-enabled', Status: 'failed' },
        { Name: 'io-performance', Status: 'not-applicable' },
      ],
    });
  });
  test('a backing the host found broken: impaired, with an event since the failure', () => {
    const s = volumeStatusOf(vol('in-use'), check('failed', '2026-01-01T00:02:00.000Z'), now);
    expect(s.VolumeStatus!.Status).toBe('impaired');
    expect(s.VolumeStatus!.Details![0]).toEqual({ Name: 'io-enabled', Status: 'failed' });
    expect(s.Events).toMatchObject([{ EventType: 'potential-data-inconsistency', NotBefore: new Date('2026-01-01T00:02:00.000Z') }]);
  });
  test('found whole: ok; creating, unchecked, stale or unknown: insufficient-data', () => {
    expect(volumeStatusOf(vol('available'), check('passed'), now).VolumeStatus!.Status).toBe('ok');
    expect(volumeStatusOf(vol('creating'), undefined, now).VolumeStatus!.Status).toBe('insufficient-data');
    expect(volumeStatusOf(vol('available'), undefined, now).VolumeStatus!.Status).toBe('insufficient-data');
    expect(volumeStatusOf(vol('available'), check('insufficient-data'), now).VolumeStatus!.Status).toBe('insufficient-data');
    expect(volumeStatusOf(vol('available'), { ...check('passed'), checked_at: '2025-01-01T00:00:00.000Z' }, now).VolumeStatus!.Status).toBe('insufficient-data');
  });
});
