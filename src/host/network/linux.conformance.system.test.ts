// System test (root): the network contract against the Linux data plane (namespaces, veth, nftables).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requires } from '../../../test/requires.js';
import { conformance } from '../conformance.js';
import { networkCases, type NetworkHarness } from './conformance.js';
import { LinuxHostNetwork } from './linux.js';

const needs = requires({ root: true, commands: ['ip', 'nft'] });

conformance<NetworkHarness>(
  'network',
  networkCases,
  {
    name: 'linux',
    make: async () => {
      const home = mkdtempSync(join(tmpdir(), 'cumulo-network-conf-'));
      const network = new LinuxHostNetwork({ home, imdsPort: 9, dnsPort: 9, apiPort: 9, publicPool: `198.19.${245 + (process.pid % 5)}.0/24`, egress: false });
      await network.init();
      return {
        name: 'linux',
        network,
        close: async () => {
          await network.close({ cleanup: true });
          rmSync(home, { recursive: true, force: true });
        },
      };
    },
  },
  needs.describe,
);
