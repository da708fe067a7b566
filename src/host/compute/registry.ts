// The drivers by name. `CUMULO_DRIVER` picks one (runc by default); `npm start` says which runs.
import type { HostStack } from '../stack.js';
import type { InstanceDriver } from './driver.js';
import { FakeDriver } from './fake.js';
import { RuncDriver } from './runc/driver.js';

export interface DriverOptions {
  home: string;
  log?: (line: string) => void;
  /** The host's images, volumes, network and metadata service, for drivers that run instances. */
  host?: HostStack;
}

export type DriverFactory = (opts: DriverOptions) => InstanceDriver;

export const drivers: Record<string, DriverFactory> = {
  runc: (o) => {
    if (!o.host) throw new Error('the runc driver needs the host stack (images, volumes, network)');
    const { images, volumes, network, instanceStore, snapshots, keyOf } = o.host;
    return new RuncDriver({ home: o.home, images, volumes, network, instanceStore, snapshots, keyOf, log: o.log });
  },
  fake: () => new FakeDriver(),
};

/** Drivers that run instances on this host, and so need its images, volumes and network. */
export const hostDrivers = new Set(['runc']);

export function createDriver(name: string, opts: DriverOptions): InstanceDriver {
  const f = drivers[name];
  if (!f) throw new Error(`unknown instance driver '${name}' (known: ${Object.keys(drivers).join(', ')})`);
  return f(opts);
}
