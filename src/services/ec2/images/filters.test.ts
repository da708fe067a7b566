import { describe, expect, it } from 'vitest';
import { applyFilters } from '../common/filters.js';
import { builtinImageRow, builtinImages } from './builtin.js';
import { imageFilters } from './filters.js';
import { imageToEc2 } from './store.js';

const images = builtinImages.map((b) => imageToEc2(builtinImageRow('us-east-1', b) as Parameters<typeof imageToEc2>[0]));

describe('image filters', () => {
  it('covers every filter EC2 documents for DescribeImages', () => {
    for (const name of [
      'architecture',
      'block-device-mapping.delete-on-termination',
      'block-device-mapping.device-name',
      'block-device-mapping.snapshot-id',
      'block-device-mapping.volume-size',
      'block-device-mapping.volume-type',
      'block-device-mapping.encrypted',
      'boot-mode',
      'creation-date',
      'description',
      'ena-support',
      'free-tier-eligible',
      'hypervisor',
      'image-allowed',
      'image-id',
      'image-type',
      'is-public',
      'kernel-id',
      'manifest-location',
      'name',
      'owner-alias',
      'owner-id',
      'platform',
      'platform-details',
      'product-code',
      'product-code.type',
      'ramdisk-id',
      'root-device-name',
      'root-device-type',
      'source-image-id',
      'source-image-region',
      'source-instance-id',
      'state',
      'state-reason-code',
      'state-reason-message',
      'sriov-net-support',
      'usage-operation',
      'virtualization-type',
    ]) {
      expect(imageFilters[name], name).toBeDefined();
      for (const i of images) expect(() => imageFilters[name]!(i)).not.toThrow();
    }
  });

  it('matches values as EC2 prints them', () => {
    const names = (name: string, values: string[]) => applyFilters(images, [{ Name: name, Values: values }], imageFilters).map((i) => i.Name);
    expect(names('block-device-mapping.delete-on-termination', ['true'])).toHaveLength(2);
    expect(names('block-device-mapping.encrypted', ['false'])).toHaveLength(2);
    expect(names('block-device-mapping.volume-size', ['1'])).toEqual([builtinImages[0]!.name]);
    expect(names('ena-support', ['true'])).toHaveLength(2);
    expect(names('owner-id', ['136693071363'])).toEqual([builtinImages[1]!.name]);
    expect(names('kernel-id', ['*'])).toEqual([]);
    expect(names('name', ['debian-1?-amd64-*'])).toEqual([builtinImages[1]!.name]);
  });
});
