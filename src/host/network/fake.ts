// The fake network: runs no data plane, remembers the last spec applied to each VPC. For tests of
// the control plane.
import type { PartInfo } from '../part.js';
import type { VpcNetwork } from './part.js';
import type { VpcSpec } from './vpc-spec.js';

export class FakeNetwork implements VpcNetwork {
  private vpcs = new Map<string, VpcSpec>();

  info(): PartInfo {
    return { name: 'fake', description: 'records VPC specs in memory; runs no network', features: [] };
  }

  async init(): Promise<void> {}
  async close(): Promise<void> {
    this.vpcs.clear();
  }

  /** As the real data plane: a spec with no interfaces removes the VPC. */
  async applyVpc(spec: VpcSpec): Promise<void> {
    if (!spec.interfaces.length) this.vpcs.delete(spec.vpcId);
    else this.vpcs.set(spec.vpcId, spec);
  }

  async removeVpc(vpcId: string): Promise<void> {
    this.vpcs.delete(vpcId);
  }

  async vpcsPresent(): Promise<string[]> {
    return [...this.vpcs.keys()].sort();
  }

  /** Test hook: the spec last applied to the VPC. */
  specOf(vpcId: string): VpcSpec | undefined {
    return this.vpcs.get(vpcId);
  }
}
