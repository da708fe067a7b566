// Every service's handlers, by the signing name of the service (the credential scope's).
// A family adds itself here with one import and one spread.
import type { Ctx, HandlerMap } from './context.js';
import { handlers as regions } from './ec2/regions/handlers.js';
import { handlers as images } from './ec2/images/handlers.js';
import { handlers as instanceTypes } from './ec2/instance-types/handlers.js';
import { handlers as tags } from './ec2/tags/handlers.js';
import { handlers as securityGroups } from './ec2/security-groups/handlers.js';
import { handlers as keyPairs } from './ec2/key-pairs/handlers.js';
import { handlers as sts } from './sts/handlers.js';
import { handlers as instances } from './ec2/instances/handlers.js';
import { handlers as volumes } from './ec2/volumes/handlers.js';
import { handlers as networkInterfaces } from './ec2/network-interfaces/handlers.js';
import { handlers as addresses } from './ec2/addresses/handlers.js';
import { handlers as snapshots } from './ec2/snapshots/handlers.js';
import { createDefaultVpc } from './ec2/vpcs/default-vpc.js';
import { handlers as vpcs } from './ec2/vpcs/handlers.js';
import { handlers as prefixLists } from './ec2/prefix-lists/handlers.js';

export function serviceHandlers(): Map<string, HandlerMap> {
  return new Map<string, HandlerMap>([
    ['ec2', { ...regions, ...tags, ...images, ...instanceTypes, ...securityGroups, ...keyPairs, ...vpcs, ...instances, ...volumes, ...networkInterfaces, ...addresses, ...snapshots, ...prefixLists }],
    ['sts', { ...sts }],
  ]);
}

/** A fresh (account, region): the default VPC and its companions. */
export async function setupRegion(ctx: Ctx): Promise<void> {
  await createDefaultVpc(ctx);
}
