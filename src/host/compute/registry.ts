// The drivers by name. `CUMULO_DRIVER` picks one; `npm start` says which runs.
import type { InstanceDriver } from './driver.js';
import { FakeDriver } from './fake.js';

export type DriverFactory = (opts: { home: string }) => InstanceDriver;

export const drivers: Record<string, DriverFactory> = {
  fake: () => new FakeDriver(),
};

export function createDriver(name: string, opts: { home: string }): InstanceDriver {
  const f = drivers[name];
  if (!f) throw new Error(`unknown instance driver '${name}' (known: ${Object.keys(drivers).join(', ')})`);
  return f(opts);
}
