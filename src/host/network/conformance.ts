// The network part's contract, run against every implementation (fake.conformance.test.ts,
// linux.conformance.system.test.ts).
import { expect } from 'vitest';
import type { ConformanceCase } from '../conformance.js';
import type { VpcNetwork } from './part.js';
import type { InterfaceSpec, VpcSpec } from './vpc-spec.js';

export interface NetworkHarness {
  network: VpcNetwork;
  name: string;
}

// Addresses of this suite's own (host routes are host-wide): 10.214.0.0/16.
const vpcOf = (n: number) => `vpc-0e${String(n).padStart(15, '0')}`;
const nic = (n: number): InterfaceSpec => ({
  eniId: `eni-0e${String(n).padStart(15, '0')}`,
  instanceId: `i-0e${String(n).padStart(15, '0')}`,
  deviceIndex: 0,
  subnetId: `subnet-0e${String(n).padStart(15, '0')}`,
  subnetCidr: `10.214.${n}.0/24`,
  macAddress: `02:00:00:00:0e:${String(n).padStart(2, '0')}`,
  privateIps: [`10.214.${n}.10`],
  groups: [`sg-0e${String(n).padStart(15, '0')}`],
  publicIps: [],
  sourceDestCheck: true,
  metadataHopLimit: 1,
});

export function vpcSpecFor(n: number, interfaces: InterfaceSpec[] = [nic(n)]): VpcSpec {
  const id = (p: string) => `${p}-0e${String(n).padStart(15, '0')}`;
  return {
    vpcId: vpcOf(n),
    accountId: '123456789012',
    region: 'us-east-1',
    cidrs: [`10.214.${n}.0/24`],
    dnsSupport: true,
    subnets: [
      {
        subnetId: id('subnet'),
        cidr: `10.214.${n}.0/24`,
        routes: [{ destination: `10.214.${n}.0/24`, target: 'local', targetId: 'local' }],
        networkAcl: {
          networkAclId: id('acl'),
          entries: [
            { ruleNumber: 100, egress: false, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
            { ruleNumber: 100, egress: true, protocol: -1, action: 'allow', cidr: '0.0.0.0/0' },
          ],
        },
      },
    ],
    securityGroups: [{ groupId: id('sg'), ingress: [], egress: [{ protocol: 'all', cidr: '0.0.0.0/0' }] }],
    interfaces,
  };
}

export const networkCases: ConformanceCase<NetworkHarness>[] = [
  {
    name: 'info() names the part and lists what it supports',
    run: async (h) => {
      const info = h.network.info();
      expect(info.name).toBe(h.name);
      expect(info.description).not.toBe('');
      expect(Array.isArray(info.features)).toBe(true);
    },
  },
  {
    name: 'applyVpc makes the VPC present; applying it again changes nothing',
    run: async (h) => {
      await h.network.applyVpc(vpcSpecFor(1));
      expect(await h.network.vpcsPresent()).toContain(vpcOf(1));
      await h.network.applyVpc(vpcSpecFor(1));
      expect((await h.network.vpcsPresent()).filter((v) => v === vpcOf(1))).toHaveLength(1);
      await h.network.removeVpc(vpcOf(1));
    },
  },
  {
    name: 'a spec with no interfaces removes the VPC',
    run: async (h) => {
      await h.network.applyVpc(vpcSpecFor(2));
      await h.network.applyVpc(vpcSpecFor(2, []));
      expect(await h.network.vpcsPresent()).not.toContain(vpcOf(2));
    },
  },
  {
    name: 'removeVpc removes only that VPC and is idempotent',
    run: async (h) => {
      await h.network.applyVpc(vpcSpecFor(3));
      await h.network.applyVpc(vpcSpecFor(4));
      await h.network.removeVpc(vpcOf(3));
      await h.network.removeVpc(vpcOf(3));
      const present = await h.network.vpcsPresent();
      expect(present).not.toContain(vpcOf(3));
      expect(present).toContain(vpcOf(4));
      expect([...present].sort()).toEqual(present);
      await h.network.removeVpc(vpcOf(4));
    },
  },
];
