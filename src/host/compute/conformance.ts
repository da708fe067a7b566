// The compute part's contract, run against every implementation (fake.conformance.test.ts,
// runc/conformance.system.test.ts).
import { expect } from 'vitest';
import type { ConformanceCase } from '../conformance.js';
import type { InstanceDriver, InstanceSpec } from './driver.js';

export interface ComputeHarness {
  driver: InstanceDriver;
  name: string;
  /** A bootable instance's spec, the n-th of the suite. */
  spec(n: number): InstanceSpec;
  /** A data volume made in the host's storage, its id. */
  volume(n: number): Promise<string>;
}

const running = async (h: ComputeHarness, n: number) => {
  const s = h.spec(n);
  await h.driver.create(s);
  await h.driver.start(s.instanceId);
  return s.instanceId;
};

export const computeCases: ConformanceCase<ComputeHarness>[] = [
  {
    name: 'info() names the driver and its isolation',
    run: async (h) => {
      const info = h.driver.info();
      expect(info.name).toBe(h.name);
      expect(['container', 'vm', 'none']).toContain(info.isolation);
      expect(info.description).not.toBe('');
    },
  },
  {
    name: 'create is idempotent and boots nothing; start runs it, listed, with a boot id and its console',
    timeout: 120_000,
    run: async (h) => {
      const s = h.spec(1);
      await h.driver.create(s);
      await h.driver.create(s);
      expect((await h.driver.inspect(s.instanceId)).state).not.toBe('running');
      await h.driver.start(s.instanceId);
      const seen = await h.driver.inspect(s.instanceId);
      expect(seen.state).toBe('running');
      expect(seen.bootId).toBeTruthy();
      expect(await h.driver.list()).toContain(s.instanceId);
      expect((await h.driver.consoleOutput(s.instanceId)).toString()).toContain(s.instanceId);
      await h.driver.delete(s.instanceId);
    },
  },
  {
    name: 'reboot: running again, a new boot',
    timeout: 120_000,
    run: async (h) => {
      const id = await running(h, 2);
      const before = (await h.driver.inspect(id)).bootId;
      await h.driver.reboot(id);
      const after = await h.driver.inspect(id);
      expect(after.state).toBe('running');
      expect(after.bootId).not.toBe(before);
      await h.driver.delete(id);
    },
  },
  {
    name: 'stop: stopped and still held; a second stop is done already; start boots it again',
    timeout: 120_000,
    run: async (h) => {
      const id = await running(h, 3);
      await h.driver.stop(id, { timeoutMs: 5_000 });
      expect((await h.driver.inspect(id)).state).toBe('stopped');
      await h.driver.stop(id);
      expect(await h.driver.list()).toContain(id);
      await h.driver.start(id);
      expect((await h.driver.inspect(id)).state).toBe('running');
      await h.driver.delete(id);
    },
  },
  {
    name: 'delete: missing and not listed; deleting again succeeds; its system check fails',
    timeout: 120_000,
    run: async (h) => {
      const id = await running(h, 4);
      await h.driver.delete(id);
      expect((await h.driver.inspect(id)).state).toBe('missing');
      expect(await h.driver.list()).not.toContain(id);
      await h.driver.delete(id);
      expect((await h.driver.checkStatus(id)).system.status).toBe('failed');
    },
  },
  {
    name: 'volumes: attached under a device, a taken device refused, limits set, detach idempotent',
    timeout: 120_000,
    run: async (h) => {
      const id = await running(h, 5);
      const [v1, v2] = [await h.volume(1), await h.volume(2)];
      await h.driver.attachVolume(id, { volumeId: v1, device: '/dev/sdf', limits: { iops: 3000 } });
      await expect(h.driver.attachVolume(id, { volumeId: v2, device: '/dev/sdf', limits: {} })).rejects.toThrow(/taken/);
      await h.driver.setVolumeLimits(id, v1, { iops: 100 });
      await expect(h.driver.setVolumeLimits(id, v2, {})).rejects.toThrow(/not attached/);
      await h.driver.detachVolume(id, v1);
      await h.driver.detachVolume(id, v1);
      await expect(h.driver.setVolumeLimits(id, v1, {})).rejects.toThrow(/not attached/);
      await h.driver.delete(id);
      // The instance gone: detaching from it is done already.
      await h.driver.detachVolume(id, v1);
    },
  },
];
