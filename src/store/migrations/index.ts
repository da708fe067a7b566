// Every migration, in order. Add new ones at the end; never edit one that has shipped.
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_vpc_attributes.js';
import * as m0003 from './0003_security_group_rule_order.js';
import * as m0004 from './0004_instances.js';
import * as m0005 from './0005_images.js';
import * as m0006 from './0006_instance_metrics.js';
import * as m0007 from './0007_public_addresses.js';
import * as m0008 from './0008_ebs.js';
import * as m0009 from './0009_public_ip_cursor.js';
import * as m0010 from './0010_account_quotas.js';
import * as m0011 from './0011_wrapped_secrets.js';
import * as m0012 from './0012_uid_ranges.js';
import * as m0013 from './0013_job_failures.js';
import * as m0015 from './0015_status_checks.js';
import * as m0016 from './0016_managed_prefix_lists.js';
import * as m0017 from './0017_iam_credentials.js';
import * as m0018 from './0018_iam.js';
import * as m0019 from './0019_iam_instance_profile_associations.js';
import * as m0020 from './0020_elbv2.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_vpc_attributes': m0002,
  '0003_security_group_rule_order': m0003,
  '0004_instances': m0004,
  '0005_images': m0005,
  '0006_instance_metrics': m0006,
  '0007_public_addresses': m0007,
  '0008_ebs': m0008,
  '0009_public_ip_cursor': m0009,
  '0010_account_quotas': m0010,
  '0011_wrapped_secrets': m0011,
  '0012_uid_ranges': m0012,
  '0013_job_failures': m0013,
  '0015_status_checks': m0015,
  '0016_managed_prefix_lists': m0016,
  '0017_iam_credentials': m0017,
  '0018_iam': m0018,
  '0019_iam_instance_profile_associations': m0019,
  '0020_elbv2': m0020,
};
