import { describe, expect, test } from 'vitest';
import type { BlockDeviceMapping } from '@aws-sdk/client-ec2';
import { attachPointKey, planBlockDevices, validAttachDevice, volumeLimits } from './store.js';

const image: BlockDeviceMapping[] = [
  { DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0', VolumeSize: 8, VolumeType: 'gp3', Iops: 3000, Throughput: 125, DeleteOnTermination: true, Encrypted: false } },
];

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return undefined;
}

describe('block device plans', () => {
  test("the image's root volume as is", () => {
    const p = planBlockDevices('/dev/xvda', image, undefined);
    expect(p.volumes).toEqual([
      { device: '/dev/xvda', sizeGiB: 8, volumeType: 'gp3', iops: 3000, throughput: 125, snapshotId: 'snap-0123456789abcdef0', encrypted: false, kmsKeyId: null, deleteOnTermination: true, root: true },
    ]);
  });

  test('root overrides: size, type, delete on termination, encryption', () => {
    const p = planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20, VolumeType: 'gp2', DeleteOnTermination: false, Encrypted: true } }]);
    expect(p.volumes[0]).toMatchObject({ sizeGiB: 20, volumeType: 'gp2', iops: 100, throughput: null, deleteOnTermination: false, encrypted: true });
    const io = planBlockDevices('/dev/xvda', image, [{ DeviceName: 'xvda', Ebs: { VolumeType: 'io2', Iops: 5000 } }]);
    expect(io.volumes[0]).toMatchObject({ device: '/dev/xvda', volumeType: 'io2', iops: 5000 });
  });

  test('a root smaller than its snapshot is refused', () => {
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 4 } }]))).toBe('InvalidBlockDeviceMapping');
  });

  test('extra volumes, instance store and NoDevice', () => {
    const p = planBlockDevices('/dev/xvda', [...image, { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' }], [
      { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 500, VolumeType: 'st1', DeleteOnTermination: false } },
      { DeviceName: '/dev/sdc', VirtualName: 'ephemeral1' },
      { DeviceName: '/dev/sdb', NoDevice: '' },
    ]);
    expect(p.volumes.map((v) => [v.device, v.sizeGiB, v.volumeType, v.iops, v.deleteOnTermination, v.root])).toEqual([
      ['/dev/xvda', 8, 'gp3', 3000, true, true],
      ['/dev/sdf', 500, 'st1', null, false, false],
    ]);
    expect(p.ephemeral).toEqual([{ DeviceName: '/dev/sdc', VirtualName: 'ephemeral1' }]);
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 100, VolumeType: 'st1' } }]))).toBe('InvalidParameterValue');
  });

  test('bad mappings', () => {
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: {} }]))).toBe('InvalidBlockDeviceMapping');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/xvda', NoDevice: '' }]))).toBe('InvalidBlockDeviceMapping');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1 } }, { DeviceName: 'sdf', Ebs: { VolumeSize: 1 } }]))).toBe('InvalidBlockDeviceMapping');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1, VolumeType: 'fast' as never } }]))).toBe('InvalidParameterValue');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 0 } }]))).toBe('InvalidParameterValue');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 10, Iops: 500 } }]))).toBe('InvalidParameterCombination');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 10, VolumeType: 'io1' } }]))).toBe('MissingParameter');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { SnapshotId: 'snap-00000000000000000' } }]))).toBe('InvalidSnapshot.NotFound');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', VirtualName: 'swap' }]))).toBe('InvalidParameterValue');
  });
});

describe('volume limits for the block I/O controller', () => {
  const row = (volume_type: string, size_gib: number, iops: number | null = null, throughput: number | null = null) => ({ volume_type, size_gib, iops, throughput });
  test.each([
    ['gp3 defaults', row('gp3', 100), { iops: 3000, throughputMiBps: 125 }],
    ['gp3 provisioned', row('gp3', 100, 8000, 600), { iops: 8000, throughputMiBps: 600 }],
    ['gp2 small: 100 IOPS floor', row('gp2', 10, 100), { iops: 100, throughputMiBps: 250 }],
    ['gp2 3 IOPS/GiB', row('gp2', 1000, 3000), { iops: 3000, throughputMiBps: 250 }],
    ['gp2 16,000 IOPS cap', row('gp2', 16000, 16000), { iops: 16000, throughputMiBps: 250 }],
    ['gp2 follows its size, not a stale iops', row('gp2', 200, 100), { iops: 600, throughputMiBps: 250 }],
    ['io1 0.256 MiB/s per IOPS', row('io1', 100, 1000), { iops: 1000, throughputMiBps: 256 }],
    ['io1 capped at 1,000 MiB/s', row('io1', 1000, 64000), { iops: 64000, throughputMiBps: 1000 }],
    ['io2 capped at 4,000 MiB/s', row('io2', 4000, 256000), { iops: 256000, throughputMiBps: 4000 }],
    ['st1 small', row('st1', 125), { iops: 500, throughputMiBps: 30 }],
    ['st1 large: 500 MiB/s cap', row('st1', 16384), { iops: 500, throughputMiBps: 500 }],
    ['sc1', row('sc1', 1024), { iops: 250, throughputMiBps: 80 }],
    ['sc1 cap', row('sc1', 16384), { iops: 250, throughputMiBps: 250 }],
    ['standard', row('standard', 10), { iops: 200, throughputMiBps: 90 }],
  ])('%s', (_name, r, want) => {
    expect(volumeLimits(r)).toEqual(want);
  });

  test('attach device names', () => {
    for (const ok of ['/dev/sdf', '/dev/xvdf', 'xvdba', '/dev/sda1', '/dev/hdb']) expect(validAttachDevice(ok)).toBe(true);
    for (const bad of ['floppy', '/dev/nvme0n1', '/dev/sd', '/dev/sdf/x', '']) expect(validAttachDevice(bad)).toBe(false);
    expect(attachPointKey('/dev/sdf')).toBe(attachPointKey('sdf'));
  });
});
