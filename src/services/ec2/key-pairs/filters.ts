// DescribeKeyPairs filters (tag:<key>, tag-key and tag-value come from common/filters).
import type { KeyPairInfo } from '@aws-sdk/client-ec2';
import type { FilterMap } from '../common/filters.js';

export const keyPairFilters: FilterMap<KeyPairInfo> = {
  'key-pair-id': (k) => k.KeyPairId,
  'key-name': (k) => k.KeyName,
  fingerprint: (k) => k.KeyFingerprint,
  'key-type': (k) => k.KeyType,
};
