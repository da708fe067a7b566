// Every service's reconcilers, by the service's signing name (the names of services/registry.ts,
// which app.ts hands in: controllers do not import the handlers' registry).
import type { Runner } from './runner.js';
import { registerInstanceControllers } from './instances.js';
import { registerHostControllers } from './host.js';
import { registerNetworkControllers } from './network.js';
import { registerVolumeControllers } from './volumes.js';
import { registerSnapshotControllers } from './snapshots.js';
import { registerImageControllers } from './images.js';
import { registerStatusCheckControllers } from './status-checks.js';
import { registerCleanupControllers } from './cleanup.js';

/** A service's reconcilers: each registers its job kinds on the runner. */
export const serviceControllers: Readonly<Record<string, readonly ((runner: Runner) => void)[]>> = {
  ec2: [
    registerInstanceControllers,
    registerHostControllers,
    registerNetworkControllers,
    registerVolumeControllers,
    registerSnapshotControllers,
    registerImageControllers,
    registerStatusCheckControllers,
    registerCleanupControllers,
  ],
};

/**
 * Registers the reconcilers of the services served (app.ts passes services/registry.ts's names; by
 * default every service named here). Reconcilers of a service not served are a wiring bug.
 */
export function registerControllers(runner: Runner, services: Iterable<string> = Object.keys(serviceControllers)): void {
  const served = new Set(services);
  for (const name of Object.keys(serviceControllers)) {
    if (!served.has(name)) throw new Error(`controllers for ${name}, which is not a registered service`);
  }
  for (const name of served) for (const register of serviceControllers[name] ?? []) register(runner);
}
