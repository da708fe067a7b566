// DescribeIamInstanceProfileAssociations filters, as EC2 documents them.
import type { IamInstanceProfileAssociation } from '@aws-sdk/client-ec2';
import type { FilterMap } from '../common/filters.js';

export const associationFilters: FilterMap<IamInstanceProfileAssociation> = {
  'instance-id': (a) => a.InstanceId,
  state: (a) => a.State,
};
