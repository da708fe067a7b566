// Every reconciler, by job kind.
import type { Runner } from './runner.js';
import { registerInstanceControllers } from './instances.js';
import { registerHostControllers } from './host.js';
import { registerNetworkControllers } from './network.js';
import { registerVolumeControllers } from './volumes.js';
import { registerSnapshotControllers } from './snapshots.js';
import { registerImageControllers } from './images.js';
import { registerStatusCheckControllers } from './status-checks.js';
import { registerCleanupControllers } from './cleanup.js';

export function registerControllers(runner: Runner): void {
  registerInstanceControllers(runner);
  registerHostControllers(runner);
  registerNetworkControllers(runner);
  registerVolumeControllers(runner);
  registerSnapshotControllers(runner);
  registerImageControllers(runner);
  registerStatusCheckControllers(runner);
  registerCleanupControllers(runner);
}
