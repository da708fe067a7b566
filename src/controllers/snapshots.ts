// The snapshot reconcilers (issue 5: EBS). Filled in by the snapshots work.
import type { Runner } from './runner.js';

export function registerSnapshotControllers(_runner: Runner): void {}
