import { describe, expect, it } from 'vitest';
import { parseBlockStat, parseKeyValues } from './metrics.js';

describe('metrics parsers', () => {
  it('reads /sys/block/<dev>/stat: operations, and sectors of 512 bytes', () => {
    expect(parseBlockStat('     120        3     4096       50       30        0     2048       10        0       60       60        0        0        0        0\n')).toEqual({
      readOps: 120,
      readBytes: 4096 * 512,
      writeOps: 30,
      writeBytes: 2048 * 512,
    });
    expect(parseBlockStat('')).toEqual({ readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0 });
  });

  it('reads key-value files (memory.stat, memory.oom_control)', () => {
    expect(parseKeyValues('cache 4096\nrss 8192\ntotal_rss 8192\n')).toEqual({ cache: 4096, rss: 8192, total_rss: 8192 });
    expect(parseKeyValues('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n').oom_kill).toBe(2);
    expect(parseKeyValues('bogus\nx y\n')).toEqual({});
  });
});
