import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { instancesPidsMax, PID_MAX_LIMIT, protectHostPids } from './pids.js';

describe('host pid space', () => {
  it('raises pid_max to the 64-bit ceiling and caps the instances at half of it', async () => {
    const t = mkdtempSync(join(tmpdir(), 'pids-'));
    mkdirSync(join(t, 'proc/sys/kernel'), { recursive: true });
    writeFileSync(join(t, 'proc/sys/kernel/pid_max'), '32768\n');
    const r = await protectHostPids('cumulo_ab12', { proc: join(t, 'proc'), cgroupRoot: join(t, 'cg') });
    expect(r).toEqual({ pidMax: PID_MAX_LIMIT, instancesMax: PID_MAX_LIMIT / 2 });
    expect(readFileSync(join(t, 'proc/sys/kernel/pid_max'), 'utf8')).toBe(String(PID_MAX_LIMIT));
    expect(readFileSync(join(t, 'cg/pids/cumulo_ab12/pids.max'), 'utf8')).toBe(String(PID_MAX_LIMIT / 2));
  });

  it('keeps a larger pid_max, and half of whatever it is for the instances', async () => {
    expect(instancesPidsMax(32768)).toBe(16384);
    expect(instancesPidsMax(PID_MAX_LIMIT)).toBe(2_097_152);
  });
});
