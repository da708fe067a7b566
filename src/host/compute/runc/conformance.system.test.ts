// System test (root): the compute contract against the runc driver, on the host's storage and
// network parts, booting a tiny busybox image (tiny-image.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requires } from '../../../../test/requires.js';
import { conformance } from '../../conformance.js';
import type { ImageStore } from '../../images/store.js';
import { LinuxHostNetwork } from '../../network/linux.js';
import { EbsStorage } from '../../storage/ebs.js';
import { InstanceStoreDisks } from '../../storage/instance-store.js';
import { XfsVolumeStore } from '../../storage/xfs-store.js';
import { computeCases, type ComputeHarness } from '../conformance.js';
import type { InstanceSpec } from '../driver.js';
import { RuncDriver } from './driver.js';
import { tinyImage } from './tiny-image.js';

const needs = requires({ root: true, commands: ['runc', 'conmon', 'ip', 'nft', 'mkfs.ext4', 'mkfs.xfs', 'busybox'] });
const VPC = 'vpc-0f0000000000000f0';
const hex = (n: number, len: number) => String(n).padStart(len, '0');

// Addresses, ids and uid slots of this suite's own (host routes and uid ranges are host-wide).
const spec = (n: number): InstanceSpec => ({
  instanceId: `i-0f${hex(n, 15)}`,
  accountId: '123456789012',
  region: 'us-east-1',
  availabilityZone: 'us-east-1a',
  imageId: 'ami-0123456789abcdef0',
  instanceType: 't3.nano',
  vcpus: 2,
  memoryMiB: 256,
  hostname: `ip-10-216-0-${10 + n}.ec2.internal`,
  privateIp: `10.216.0.${10 + n}`,
  macAddress: `02:00:00:00:0f:${hex(10 + n, 2)}`,
  subnetCidr: '10.216.0.0/24',
  publicKeys: [],
  imageSource: { builtin: 'minimal', version: 'test', sshUser: 'ec2-user' },
  rootVolume: { volumeId: `vol-0f${hex(n, 15)}`, deviceName: '/dev/xvda', sizeGiB: 1 },
  vpcId: VPC,
  interfaces: [
    {
      eniId: `eni-0f${hex(n, 15)}`,
      instanceId: `i-0f${hex(n, 15)}`,
      deviceIndex: 0,
      subnetId: 'subnet-0f0000000000000f0',
      subnetCidr: '10.216.0.0/24',
      macAddress: `02:00:00:00:0f:${hex(10 + n, 2)}`,
      privateIps: [`10.216.0.${10 + n}`],
      groups: ['sg-0f0000000000000f0'],
      publicIps: [],
      sourceDestCheck: true,
      metadataHopLimit: 1,
    },
  ],
  uidBase: 2 ** 30 + (40100 + n) * 65536,
});

conformance<ComputeHarness>(
  'compute',
  computeCases,
  {
    name: 'runc',
    make: async () => {
      const home = mkdtempSync(join(tmpdir(), 'cumulo-compute-conf-'));
      const snapshot = tinyImage(home);
      const images: ImageStore = { ensure: async () => ({ snapshotFile: snapshot, sizeGiB: 1, sshUser: 'ec2-user' }) };
      const volumes = new XfsVolumeStore({ home, sizeGiB: 8 });
      const storage = new EbsStorage({ volumes, instanceStore: new InstanceStoreDisks({ home }), keyOf: async () => Buffer.alloc(32, 5) });
      const network = new LinuxHostNetwork({ home, imdsPort: 9, dnsPort: 9, apiPort: 9, publicPool: `198.19.${240 + (process.pid % 5)}.0/24`, egress: false });
      const driver = new RuncDriver({ home, images, storage, network, stopTimeoutMs: 5_000 });
      storage.useQuiescer(driver);
      await driver.init();
      return {
        name: 'runc',
        driver,
        spec,
        volume: async (n) => {
          const volumeId = `vol-0f1${hex(n, 14)}`;
          await storage.createVolume({ volumeId, accountId: '123456789012', region: 'us-east-1', sizeGiB: 1, encrypted: false });
          return volumeId;
        },
        close: async () => {
          const errors: unknown[] = [];
          await driver.close({ cleanup: true }).catch((e) => errors.push(e));
          await network.close({ cleanup: true }).catch((e) => errors.push(e));
          await storage.close({ cleanup: true }).catch((e) => errors.push(e));
          rmSync(home, { recursive: true, force: true });
          if (errors.length) throw errors[0];
        },
      };
    },
  },
  needs.describe,
);
