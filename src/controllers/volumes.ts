// The volume reconcilers (issue 5: EBS). Filled in by the volumes work.
import type { Runner } from './runner.js';

export function registerVolumeControllers(_runner: Runner): void {}
