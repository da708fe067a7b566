// Every reconciler, by job kind.
import type { Runner } from './runner.js';

export function registerControllers(runner: Runner): void {
  void runner;
}
