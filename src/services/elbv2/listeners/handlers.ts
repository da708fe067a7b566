// ELBv2 listeners: filled in by issue 13's work.
import type { Elbv2Handlers } from '../../context.js';

export const handlers = {} satisfies Elbv2Handlers;
