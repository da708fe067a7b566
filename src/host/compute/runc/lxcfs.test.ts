import { describe, expect, it } from 'vitest';
import { lxcfsMounts } from './lxcfs.js';

describe('lxcfs', () => {
  it('binds its proc files read-only over the instance’s /proc', () => {
    const m = lxcfsMounts('/run/cumulo/ab12/lxcfs');
    expect(m.map((x) => x.destination)).toEqual([
      '/proc/cpuinfo',
      '/proc/diskstats',
      '/proc/loadavg',
      '/proc/meminfo',
      '/proc/stat',
      '/proc/swaps',
      '/proc/uptime',
      '/proc/slabinfo',
    ]);
    expect(m[3]).toEqual({ destination: '/proc/meminfo', type: 'bind', source: '/run/cumulo/ab12/lxcfs/proc/meminfo', options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  });
});
