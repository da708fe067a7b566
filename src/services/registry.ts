// Every service's handlers, by the signing name of the service (the credential scope's).
// A family adds itself here with one import and one spread.
import type { Ctx, HandlerMap } from './context.js';
import { handlers as regions } from './ec2/regions/handlers.js';
import { handlers as tags } from './ec2/tags/handlers.js';
import { handlers as sts } from './sts/handlers.js';

export function serviceHandlers(): Map<string, HandlerMap> {
  return new Map<string, HandlerMap>([
    ['ec2', { ...regions, ...tags }],
    ['sts', { ...sts }],
  ]);
}

/** A fresh (account, region): the default VPC and its companions. */
export async function setupRegion(ctx: Ctx): Promise<void> {
  void ctx;
}
