// The network contract against the fake network (the Linux data plane's is linux.conformance.system.test.ts).
import { conformance } from '../conformance.js';
import { networkCases, type NetworkHarness } from './conformance.js';
import { FakeNetwork } from './fake.js';

conformance<NetworkHarness>('network', networkCases, { name: 'fake', make: async () => ({ name: 'fake', network: new FakeNetwork() }) });
