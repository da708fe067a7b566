import { describe, expect, test } from 'vitest';
import type { BlockDeviceMapping } from '@aws-sdk/client-ec2';
import { attachPointKey, planBlockDevices, validAttachDevice } from './store.js';

const image: BlockDeviceMapping[] = [
  {
    DeviceName: '/dev/xvda',
    Ebs: { SnapshotId: 'snap-0123456789abcdef0', VolumeSize: 8, VolumeType: 'gp3', Iops: 3000, Throughput: 125, DeleteOnTermination: true, Encrypted: false },
  },
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
      {
        device: '/dev/xvda',
        sizeGiB: 8,
        volumeType: 'gp3',
        iops: 3000,
        throughput: 125,
        snapshotId: 'snap-0123456789abcdef0',
        encrypted: false,
        kmsKeyId: null,
        deleteOnTermination: true,
        root: true,
      },
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
    const p = planBlockDevices(
      '/dev/xvda',
      [...image, { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' }],
      [
        { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 500, VolumeType: 'st1', DeleteOnTermination: false } },
        { DeviceName: '/dev/sdc', VirtualName: 'ephemeral1' },
        { DeviceName: '/dev/sdb', NoDevice: '' },
      ],
    );
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
    expect(
      code(() =>
        planBlockDevices('/dev/xvda', image, [
          { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1 } },
          { DeviceName: 'sdf', Ebs: { VolumeSize: 1 } },
        ]),
      ),
    ).toBe('InvalidBlockDeviceMapping');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1, VolumeType: 'fast' as never } }]))).toBe('InvalidParameterValue');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 0 } }]))).toBe('InvalidParameterValue');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 10, Iops: 500 } }]))).toBe('InvalidParameterCombination');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 10, VolumeType: 'io1' } }]))).toBe('MissingParameter');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', Ebs: { SnapshotId: 'snap-00000000000000000' } }]))).toBe('InvalidSnapshot.NotFound');
    expect(code(() => planBlockDevices('/dev/xvda', image, [{ DeviceName: '/dev/sdf', VirtualName: 'swap' }]))).toBe('InvalidParameterValue');
  });
});

describe('attach points', () => {
  test('attach device names', () => {
    for (const ok of ['/dev/sdf', '/dev/xvdf', 'xvdba', '/dev/sda1', '/dev/hdb']) expect(validAttachDevice(ok)).toBe(true);
    for (const bad of ['floppy', '/dev/nvme0n1', '/dev/sd', '/dev/sdf/x', '']) expect(validAttachDevice(bad)).toBe(false);
    expect(attachPointKey('/dev/sdf')).toBe(attachPointKey('sdf'));
  });
});
