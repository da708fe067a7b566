// The image reconcilers (issue 5: EBS). Filled in by the images work.
import type { Runner } from './runner.js';

export function registerImageControllers(_runner: Runner): void {}
