// The compute drivers by name. `CUMULO_DRIVER` picks one (runc by default); `npm start` says which
// runs. A driver that runs instances on this host is made on the host's storage and network parts
// (src/host/stack.ts); the fake runs nothing and needs neither.
import type { ImageStore } from '../images/store.js';
import type { LinuxHostNetwork } from '../network/linux.js';
import type { EbsStorage } from '../storage/ebs.js';
import type { RootQuiescer } from '../storage/part.js';
import type { InstanceDriver } from './driver.js';
import { FakeDriver } from './fake.js';
import { RuncDriver } from './runc/driver.js';

export interface HostDriverOptions {
  home: string;
  log?: (line: string) => void;
  images: ImageStore;
  storage: EbsStorage;
  network: LinuxHostNetwork;
  /** The API's CA certificate, which instances trust (absent with an operator's certificate). */
  caFile?: string;
}

export type ComputeDriverEntry =
  /** Runs instances here, on the host's storage and network; holds their roots still for a snapshot's instant. */
  | { onHost: true; description: string; create: (o: HostDriverOptions) => InstanceDriver & RootQuiescer }
  /** Runs nothing (tests): the fake stack. */
  | { onHost: false; description: string; create: () => InstanceDriver };

export const computeDrivers: Record<string, ComputeDriverEntry> = {
  runc: { onHost: true, description: 'OCI containers (runc + conmon)', create: (o) => new RuncDriver(o) },
  fake: { onHost: false, description: 'records instance states in memory; runs nothing', create: () => new FakeDriver() },
};

/** Does this driver run instances on this host (and so need its images, storage and network)? */
export function runsOnHost(name: string): boolean {
  const d = computeDrivers[name];
  if (!d) throw new Error(`unknown instance driver '${name}' (known: ${Object.keys(computeDrivers).join(', ')})`);
  return d.onHost;
}
