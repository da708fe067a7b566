// Every reconciler, by job kind.
import type { Runner } from './runner.js';
import { registerInstanceControllers } from './instances.js';
import { registerHostControllers } from './host.js';

export function registerControllers(runner: Runner): void {
  registerInstanceControllers(runner);
  registerHostControllers(runner);
}
