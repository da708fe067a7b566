// The compute contract against the fake driver (runc's is runc/conformance.system.test.ts).
import { conformance } from '../conformance.js';
import { FakeStorage } from '../storage/fake.js';
import { computeCases, type ComputeHarness } from './conformance.js';
import type { InstanceSpec } from './driver.js';
import { FakeDriver } from './fake.js';

const spec = (n: number): InstanceSpec => ({
  instanceId: `i-0f${String(n).padStart(15, '0')}`,
  accountId: '123456789012',
  region: 'us-east-1',
  availabilityZone: 'us-east-1a',
  imageId: 'ami-0123456789abcdef0',
  instanceType: 't3.nano',
  vcpus: 2,
  memoryMiB: 512,
  hostname: `ip-10-215-0-${10 + n}.ec2.internal`,
  privateIp: `10.215.0.${10 + n}`,
  macAddress: `02:00:00:00:0f:${String(n).padStart(2, '0')}`,
  subnetCidr: '10.215.0.0/24',
  publicKeys: [],
  rootVolume: { volumeId: `vol-0f${String(n).padStart(15, '0')}`, deviceName: '/dev/xvda', sizeGiB: 1 },
});

conformance<ComputeHarness>('compute', computeCases, {
  name: 'fake',
  make: async () => {
    const storage = new FakeStorage();
    const driver = new FakeDriver();
    driver.useStorage(storage);
    return {
      name: 'fake',
      driver,
      spec,
      volume: async (n) => {
        const volumeId = `vol-0f1${String(n).padStart(14, '0')}`;
        await storage.createVolume({ volumeId, accountId: '123456789012', region: 'us-east-1', sizeGiB: 1, encrypted: false });
        return volumeId;
      },
    };
  },
});
