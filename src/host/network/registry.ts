// The network parts by name: the host's (linux: namespaces, veth, nftables) and the fake one
// (tests). The host's is made where the stack is assembled (src/host/stack.ts).
import { FakeNetwork } from './fake.js';
import { LinuxHostNetwork } from './linux.js';

export const networkParts = {
  linux: { description: 'VPC data plane of namespaces, veth pairs, routes and nftables', make: LinuxHostNetwork },
  fake: { description: 'records VPC specs in memory; runs no network', make: FakeNetwork },
} as const;
