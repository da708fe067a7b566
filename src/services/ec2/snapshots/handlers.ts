// EBS snapshots (issue 5). Filled in by the snapshots work.
import type { HandlerMap } from '../../context.js';

export const handlers = {} satisfies HandlerMap;
