// The VPC family's operations: VPCs and DHCP options, subnets, internet gateways, route tables and
// network ACLs, each in its own file.
import type { Ec2Handlers } from '../../context.js';
import { handlers as internetGateways } from './internet-gateways.js';
import { handlers as networkAcls } from './network-acls.js';
import { handlers as routeTables } from './route-tables.js';
import { handlers as subnets } from './subnets.js';
import { handlers as vpcs } from './vpcs.js';

export const handlers = {
  ...vpcs,
  ...subnets,
  ...internetGateways,
  ...routeTables,
  ...networkAcls,
} satisfies Ec2Handlers;
