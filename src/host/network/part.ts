// The network part of a host: the VPC data plane. The vpc.sync controller gives it each VPC's
// desired state whenever groups, rules, ACLs, routes, addresses or interfaces change.
import type { HostPart } from '../part.js';
import type { VpcSpec } from './vpc-spec.js';

export interface VpcNetwork extends HostPart {
  /** A VPC's data plane to `spec`: groups, ACLs, routes, NAT, hot attach and detach (idempotent). */
  applyVpc(spec: VpcSpec): Promise<void>;
  /** Remove a VPC's data plane (idempotent). */
  removeVpc(vpcId: string): Promise<void>;
  /** VPCs with a data plane on this host (adoption: those with no instance up are removed). */
  vpcsPresent(): Promise<string[]>;
}
