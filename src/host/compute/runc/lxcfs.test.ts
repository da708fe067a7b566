import { describe, expect, it } from 'vitest';
import { cpuSet, lxcfsMounts } from './lxcfs.js';

describe('lxcfs', () => {
  it('binds its proc files read-only over the instance’s /proc', () => {
    const m = lxcfsMounts('/run/cumulo/ab12/lxcfs');
    expect(m.map((x) => x.destination)).toEqual(['/proc/cpuinfo', '/proc/diskstats', '/proc/loadavg', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime', '/proc/slabinfo']);
    expect(m[3]).toEqual({ destination: '/proc/meminfo', type: 'bind', source: '/run/cumulo/ab12/lxcfs/proc/meminfo', options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  });
});

describe('cpuSet', () => {
  it('leaves an instance with as many vCPUs as the host has cores (or more) on all of them', () => {
    expect(cpuSet('i-0123456789abcdef0', 2, 2)).toBeUndefined();
    expect(cpuSet('i-0123456789abcdef0', 8, 2)).toBeUndefined();
    expect(cpuSet('i-0123456789abcdef0', 1, 1)).toBeUndefined();
  });
  it('gives a smaller instance as many cores as it has vCPUs, spread by its id', () => {
    const picks = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const s = cpuSet(`i-0123456789abcd${String(i).padStart(3, '0')}`, 2, 8)!;
      expect(s.split(',')).toHaveLength(2);
      for (const c of s.split(',')) expect(Number(c)).toBeLessThan(8);
      picks.add(s);
    }
    expect(picks.size).toBeGreaterThan(3);
    expect(cpuSet('i-0123456789abcdef0', 1, 2)).toMatch(/^[01]$/);
    expect(cpuSet('i-0123456789abcdef0', 1, 2)).toBe(cpuSet('i-0123456789abcdef0', 1, 2)); // stable across boots
  });
});
