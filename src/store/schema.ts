// The store's tables, as Kysely sees them. Every resource row is scoped by account_id and region.
// Portable types only, so the same migrations run on SQLite and PostgreSQL: text, integer (also for
// booleans: 0/1), real, and JSON kept as text. Times are ISO-8601 text in UTC.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Json = string;
type Bool = number; // 0 | 1
type Time = string; // ISO-8601

export interface AccountsTable {
  id: string; // 12 digits
  name: string;
  created_at: Time;
}

export interface AccessKeysTable {
  access_key_id: string;
  account_id: string;
  /** Wrapped under the host's master key ('v1:…', src/lib/secrets.ts): Accounts unwraps it. */
  secret_access_key: string;
  status: string; // Active | Inactive
  created_at: Time;
  /** 0017: the IAM user the key belongs to (iam_users.id); null: the account's root user. */
  user_id: ColumnType<string | null, string | null | undefined, string | null>;
  last_used_at: ColumnType<Time | null, Time | null | undefined, Time | null>;
  last_used_service: ColumnType<string | null, string | null | undefined, string | null>;
  last_used_region: ColumnType<string | null, string | null | undefined, string | null>;
}

/** 0017: temporary credentials from STS (see migrations/0017_iam_credentials.ts). */
export interface StsSessionsTable {
  access_key_id: string; // ASIA…
  account_id: string;
  secret_access_key: string; // wrapped
  token_sha256: string;
  kind: 'assumed-role' | 'session-token';
  user_id: string | null;
  role_id: string | null;
  role_arn: string | null;
  session_name: string | null;
  policies: Json; // string[]: inline session policy documents
  policy_arns: Json; // string[]
  tags: Json; // Record<string, string>
  transitive_tag_keys: Json; // string[]
  source_identity: string | null;
  mfa: Bool;
  issued_for: string | null;
  created_at: Time;
  expires_at: Time;
}

/** 0018: the columns every IAM entity has (see migrations/0018_iam.ts). */
interface IamEntity {
  id: string;
  account_id: string;
  name: string;
  /** The name lower-cased: IAM names are unique per account without regard to case. */
  name_key: string;
  path: string;
  arn: string;
  created_at: Time;
}

export interface IamUsersTable extends IamEntity {
  permissions_boundary: string | null;
  password_last_used: Time | null;
}

export type IamGroupsTable = IamEntity;

export interface IamRolesTable extends IamEntity {
  assume_role_policy: string;
  description: string | null;
  max_session_duration: number;
  permissions_boundary: string | null;
  last_used_at: Time | null;
  last_used_region: string | null;
}

/** Customer managed policies; AWS managed ones are a catalog in the code. */
export interface IamPoliciesTable extends IamEntity {
  description: string | null;
  default_version_id: string;
  next_version: number;
  updated_at: Time;
}

export interface IamInstanceProfilesTable extends IamEntity {
  role_id: string | null;
}

/** 0019: an instance profile on an instance (EC2's IamInstanceProfileAssociation). */
export interface IamInstanceProfileAssociationsTable {
  id: string;
  account_id: string;
  region: string;
  instance_id: string;
  profile_arn: string;
  profile_id: string;
  state: 'associating' | 'associated' | 'disassociating' | 'disassociated';
  created_at: Time;
  updated_at: Time;
}

/** 0019: the role credentials the metadata service serves for an association, until their refresh. */
export interface InstanceRoleCredentialsTable {
  association_id: string;
  instance_id: string;
  access_key_id: string;
  role_arn: string;
  session_token: string; // wrapped
  issued_at: Time;
  expires_at: Time;
}

export interface IamPolicyVersionsTable {
  policy_id: string;
  version_id: string;
  document: string;
  created_at: Time;
}

export interface IamGroupMembersTable {
  account_id: string;
  group_id: string;
  user_id: string;
}

export type IamEntityType = 'user' | 'group' | 'role';

export interface IamAttachedPoliciesTable {
  account_id: string;
  entity_type: IamEntityType;
  entity_id: string;
  policy_arn: string;
  attached_at: Time;
}

export interface IamInlinePoliciesTable {
  account_id: string;
  entity_type: IamEntityType;
  entity_id: string;
  name: string;
  document: string;
}

export interface IamLoginProfilesTable {
  user_id: string;
  account_id: string;
  password_hash: string;
  password_reset_required: Bool;
  created_at: Time;
}

export interface IamTagsTable {
  account_id: string;
  entity_id: string;
  key: string;
  value: string;
}

/** 0010: an account's override of one EC2 service quota, in one region or ('*') in all of them. */
export interface AccountQuotasTable {
  account_id: string;
  region: string; // a region name, or '*'
  quota_name: string; // src/services/ec2/quotas/catalog.ts
  value: number;
  updated_at: Time;
}

/** One row per (account, region) that has been set up: default VPC made, etc. */
export interface RegionSetupTable {
  account_id: string;
  region: string;
  default_vpc_id: string | null;
  created_at: Time;
}

export interface TagsTable {
  resource_id: string;
  key: string;
  value: string;
  account_id: string;
  region: string;
  resource_type: string; // EC2's resource type names: instance, vpc, security-group, …
}

/** ClientToken idempotency: the same token and parameters return the first answer. */
export interface ClientTokensTable {
  account_id: string;
  region: string;
  operation: string;
  token: string;
  request_hash: string;
  response: Json;
  created_at: Time;
}

/** The durable work queue that drives the controllers. */
export interface JobsTable {
  id: Generated<number>;
  kind: string; // e.g. 'instance.launch'
  resource_id: string;
  account_id: string;
  region: string;
  payload: Json;
  run_at: Time;
  attempts: ColumnType<number, number | undefined, number>;
  locked_by: string | null;
  locked_until: Time | null;
  last_error: string | null;
  created_at: Time;
  /** 0013: set when the job used up its attempts with no give-up hook (parked until the next start). */
  failed_at: ColumnType<Time | null, Time | null | undefined, Time | null>;
}

export interface VpcsTable {
  id: string;
  account_id: string;
  region: string;
  cidr_block: string;
  state: string; // pending | available
  is_default: Bool;
  instance_tenancy: string;
  dhcp_options_id: string;
  enable_dns_support: Bool;
  enable_dns_hostnames: Bool;
  /** Secondary IPv4 and IPv6 CIDR associations: [{AssociationId, CidrBlock, State}] */
  cidr_associations: Json;
  ipv6_cidr_associations: Json;
  created_at: Time;
  /** 0002 */
  enable_network_address_usage_metrics: ColumnType<Bool, Bool | undefined, Bool>;
}

export interface SubnetsTable {
  id: string;
  account_id: string;
  region: string;
  vpc_id: string;
  cidr_block: string;
  ipv6_cidr_associations: Json;
  availability_zone: string;
  availability_zone_id: string;
  default_for_az: Bool;
  map_public_ip_on_launch: Bool;
  assign_ipv6_on_creation: Bool;
  state: string;
  created_at: Time;
  /** 0002 */
  enable_dns64: ColumnType<Bool, Bool | undefined, Bool>;
  /** 0002: PrivateDnsNameOptionsOnLaunch */
  private_dns_name_options: ColumnType<Json, Json | undefined, Json>;
}

export interface InternetGatewaysTable {
  id: string;
  account_id: string;
  region: string;
  vpc_id: string | null; // attached VPC
  created_at: Time;
}

export interface RouteTablesTable {
  id: string;
  account_id: string;
  region: string;
  vpc_id: string;
  created_at: Time;
}

export interface RoutesTable {
  route_table_id: string;
  destination: string; // CIDR (v4 or v6) or prefix list id
  target_type: string; // local | gateway | instance | network-interface | nat-gateway | vpc-peering-connection | …
  target_id: string; // 'local' for the local route
  origin: string; // CreateRouteTable | CreateRoute | EnableVgwRoutePropagation
  state: string; // active | blackhole
}

export interface RouteTableAssociationsTable {
  id: string; // rtbassoc-…
  route_table_id: string;
  subnet_id: string | null;
  gateway_id: string | null;
  main: Bool; // the VPC's main route table association
}

export interface NetworkAclsTable {
  id: string;
  account_id: string;
  region: string;
  vpc_id: string;
  is_default: Bool;
  created_at: Time;
}

export interface NetworkAclEntriesTable {
  network_acl_id: string;
  rule_number: number;
  egress: Bool;
  protocol: string; // '-1', '6', '17', '1', …
  rule_action: string; // allow | deny
  cidr_block: string | null;
  ipv6_cidr_block: string | null;
  icmp_type: number | null;
  icmp_code: number | null;
  port_from: number | null;
  port_to: number | null;
}

export interface NetworkAclAssociationsTable {
  id: string; // aclassoc-…
  network_acl_id: string;
  subnet_id: string;
}

export interface SecurityGroupsTable {
  id: string;
  account_id: string;
  region: string;
  vpc_id: string;
  group_name: string;
  description: string;
  created_at: Time;
}

export interface SecurityGroupRulesTable {
  id: string; // sgr-…
  group_id: string;
  account_id: string;
  region: string;
  is_egress: Bool;
  ip_protocol: string; // '-1', 'tcp', 'udp', 'icmp', 'icmpv6' or a number
  from_port: number | null;
  to_port: number | null;
  cidr_ipv4: string | null;
  cidr_ipv6: string | null;
  prefix_list_id: string | null;
  referenced_group_id: string | null;
  referenced_group_owner: string | null;
  description: string | null;
  created_at: Time;
  /** 0003: order within the group, so rules written by one request keep their request order. */
  seq: ColumnType<number, number | undefined, number>;
}

export interface KeyPairsTable {
  id: string; // key-…
  account_id: string;
  region: string;
  key_name: string;
  key_type: string; // rsa | ed25519
  fingerprint: string;
  public_key: string; // OpenSSH format
  created_at: Time;
}

export interface ImagesTable {
  id: string; // ami-…
  region: string;
  owner_id: string;
  owner_alias: string | null;
  name: string;
  description: string | null;
  architecture: string;
  platform_details: string;
  root_device_name: string;
  root_device_type: string; // ebs
  virtualization_type: string; // hvm
  hypervisor: string;
  ena_support: Bool;
  boot_mode: string | null;
  state: string; // pending | available | failed | deregistered
  is_public: Bool;
  image_type: string; // machine
  /** EC2 BlockDeviceMapping[] as EC2 describes them (snapshot ids, sizes, types). */
  block_device_mappings: Json;
  /** Where the image's bits come from on the host: built-in image name, or snapshot ids. */
  source: Json;
  creation_date: Time;
  deprecation_time: Time | null;
  // 0005_images: the rest of EC2's Image fields; NULL means EC2 omits the field.
  image_location: string | null;
  usage_operation: string | null;
  platform: string | null; // 'windows' or null
  kernel_id: string | null;
  ramdisk_id: string | null;
  sriov_net_support: string | null;
  tpm_support: string | null;
  imds_support: string | null;
  uefi_data: string | null;
  deregistration_protection: string | null;
  last_launched_time: Time | null;
  state_reason: Json | null; // {Code, Message}
  source_instance_id: string | null;
  source_image_id: string | null;
  source_image_region: string | null;
  product_codes: Json | null; // ProductCode[]
}

export interface ImageLaunchPermissionsTable {
  image_id: string;
  /** An account id, or 'all' for a public image. */
  grantee: string;
}

export interface InstancesTable {
  id: string;
  account_id: string;
  region: string;
  reservation_id: string;
  ami_launch_index: number;
  image_id: string;
  instance_type: string;
  /** EC2 state name: pending | running | stopping | stopped | shutting-down | terminated */
  state: string;
  /** What the user asked for; controllers drive `state` toward it: running | stopped | terminated */
  desired_state: string;
  state_transition_reason: string;
  state_reason: Json | null; // {Code, Message}
  key_name: string | null;
  subnet_id: string;
  vpc_id: string;
  availability_zone: string;
  private_ip: string;
  public_ip: string | null;
  mac_address: string;
  client_token: string | null;
  user_data: string | null; // base64 as given
  shutdown_behavior: string; // stop | terminate
  disable_api_termination: Bool;
  disable_api_stop: Bool;
  ebs_optimized: Bool;
  monitoring: string; // disabled | enabled
  tenancy: string;
  security_groups: Json; // [{GroupId, GroupName}]
  metadata_options: Json; // InstanceMetadataOptionsResponse
  iam_instance_profile: Json | null;
  root_device_name: string;
  /** Host-side facts: driver name, host id, container id. */
  runtime: Json;
  launch_time: Time;
  updated_at: Time;
  terminated_at: Time | null;
  // 0004: what the instance was launched with, kept for its whole life.
  architecture: ColumnType<string, string | undefined, string>;
  hypervisor: ColumnType<string, string | undefined, string>;
  virtualization_type: ColumnType<string, string | undefined, string>;
  root_device_type: ColumnType<string, string | undefined, string>;
  ena_support: ColumnType<Bool, Bool | undefined, Bool>;
  boot_mode: string | null;
  platform_details: ColumnType<string, string | undefined, string>;
  /** EC2-shaped Instance fields given at launch: CpuOptions, HibernationOptions, EnclaveOptions, … */
  launch_options: ColumnType<Json, Json | undefined, Json>;
  /** The key pair's public key at launch (EC2 keeps it even if the key pair is deleted). */
  ssh_public_key: string | null;
  /** How many times the instance reached running: 0 means it never did. */
  boots: ColumnType<number, number | undefined, number>;
  /** Console output (base64) as last captured by the controllers, and when. */
  console_output: string | null;
  console_at: Time | null;
}

export interface NetworkInterfacesTable {
  id: string; // eni-…
  account_id: string;
  region: string;
  subnet_id: string;
  vpc_id: string;
  availability_zone: string;
  private_ip: string;
  mac_address: string;
  description: string;
  interface_type: string; // interface
  status: string; // available | in-use
  instance_id: string | null;
  device_index: number | null;
  attachment_id: string | null;
  delete_on_termination: Bool;
  source_dest_check: Bool;
  security_groups: Json; // [{GroupId, GroupName}]
  secondary_private_ips: Json; // string[]
  public_ip: string | null;
  created_at: Time;
  // 0004
  attach_time: Time | null;
  /** 0007: gets an ephemeral public IP whenever its instance runs. */
  auto_public_ip: ColumnType<Bool, Bool | undefined, Bool>;
  /** 0020: who made a requester-managed interface (amazon-elb for a load balancer's), and that it is one. */
  requester_id: ColumnType<string | null, string | null | undefined, string | null>;
  requester_managed: ColumnType<Bool, Bool | undefined, Bool>;
}

/** 0007: every public IPv4 address taken from the pool (see migrations/0007_public_addresses.ts). */
export interface PublicIpsTable {
  public_ip: string;
  kind: 'elastic' | 'ephemeral';
  account_id: string;
  region: string;
  allocation_id: string | null;
  association_id: string | null;
  network_interface_id: string | null;
  private_ip: string | null;
  network_border_group: string;
  public_ipv4_pool: ColumnType<string, string | undefined, string>;
  created_at: Time;
}

export interface VolumesTable {
  id: string; // vol-…
  account_id: string;
  region: string;
  availability_zone: string;
  size_gib: number;
  volume_type: string;
  iops: number | null;
  throughput: number | null;
  snapshot_id: string | null;
  encrypted: Bool;
  kms_key_id: string | null;
  multi_attach_enabled: Bool;
  state: string; // creating | available | in-use | deleting | deleted | error
  created_at: Time;
}

/** 0008: EBS snapshots (see migrations/0008_ebs.ts). */
export interface SnapshotsTable {
  id: string;
  account_id: string;
  region: string;
  volume_id: string;
  volume_size: number;
  state: string; // pending | completed | error
  progress: ColumnType<number, number | undefined, number>;
  description: ColumnType<string, string | undefined, string>;
  encrypted: ColumnType<Bool, Bool | undefined, Bool>;
  kms_key_id: string | null;
  state_message: string | null;
  start_time: Time;
  completion_time: Time | null;
  data_bytes: ColumnType<number, number | undefined, number>;
  added_bytes: ColumnType<number, number | undefined, number>;
  parent_snapshot_id: string | null;
  source_region: string | null;
  source_snapshot_id: string | null;
  created_at: Time;
}

export interface SnapshotPermissionsTable {
  snapshot_id: string;
  grantee: string; // account id | 'all'
}

export interface VolumeModificationsTable {
  volume_id: string;
  start_time: Time;
  state: string; // modifying | optimizing | completed | failed
  progress: ColumnType<number, number | undefined, number>;
  status_message: string | null;
  original: Json;
  target: Json;
  end_time: Time | null;
}

/** 0009: the next address each public pool hands out. */
export interface PublicIpPoolsTable {
  pool: string;
  next_address: string;
}

export interface EbsKeysTable {
  account_id: string;
  /** The 32-byte data key, wrapped under the host's master key ('v1:…', src/lib/secrets.ts). */
  key: string;
  created_at: Time;
}

/** Which master key wraps this store's secrets (0011_wrapped_secrets): one row, written at first start. */
export interface MasterKeyCheckTable {
  id: string;
  fingerprint: string;
  check_value: string;
  created_at: Time;
}

export interface VolumeAttachmentsTable {
  volume_id: string;
  instance_id: string;
  device: string;
  state: string; // attaching | attached | detaching | detached
  delete_on_termination: Bool;
  attach_time: Time;
}

/** 0006: counters of running instances, sampled on their host (see src/host/compute/runc/metrics.ts). */
export interface InstanceMetricsTable {
  instance_id: string;
  account_id: string;
  region: string;
  at: Time;
  cpu_us: number;
  memory_bytes: number;
  memory_rss_bytes: number;
  memory_limit_bytes: number;
  oom_kills: number;
  pids: number;
  disk_read_bytes: number;
  disk_write_bytes: number;
  disk_read_ops: number;
  disk_write_ops: number;
  net_in_bytes: number;
  net_out_bytes: number;
  net_in_packets: number;
  net_out_packets: number;
  /** EC2's StatusCheckFailed metrics at the sample's time: 0 or 1, null when no check was known. */
  status_check_failed: number | null;
  status_check_failed_system: number | null;
  status_check_failed_instance: number | null;
}

export type CheckStatus = 'passed' | 'failed' | 'insufficient-data';

/** The last status checks of an instance's boot, as its host observed them (controllers/status-checks.ts). */
export interface InstanceStatusChecksTable {
  instance_id: string;
  account_id: string;
  region: string;
  /** The instances.boots value they were taken in: an older boot's are not this boot's. */
  boot: number;
  system_status: CheckStatus;
  system_failed_since: Time | null;
  instance_status: CheckStatus;
  instance_failed_since: Time | null;
  checked_at: Time;
}

/** The last check of a volume's backing on its host. */
export interface VolumeStatusChecksTable {
  volume_id: string;
  status: CheckStatus;
  failed_since: Time | null;
  checked_at: Time;
}

/** 0020: an ELBv2 load balancer (services/elbv2/load-balancers). */
export interface Elbv2LoadBalancersTable {
  arn: string;
  id: string; // 16 hex digits, the last part of the ARN
  account_id: string;
  region: string;
  name: string;
  type: 'application' | 'network';
  scheme: 'internet-facing' | 'internal';
  ip_address_type: string;
  vpc_id: string;
  dns_name: string;
  security_groups: Json; // string[]
  attributes: Json; // {key: value}
  state: 'provisioning' | 'active' | 'active_impaired' | 'failed';
  state_reason: string | null;
  created_at: Time;
  updated_at: Time;
}

/** 0020: a subnet of a load balancer, with its requester-managed interface and addresses. */
export interface Elbv2LoadBalancerSubnetsTable {
  load_balancer_arn: string;
  subnet_id: string;
  availability_zone: string;
  network_interface_id: string;
  private_ip: string;
  public_ip: string | null;
  allocation_id: string | null;
}

/** 0020: a target group (services/elbv2/target-groups). */
export interface Elbv2TargetGroupsTable {
  arn: string;
  id: string;
  account_id: string;
  region: string;
  name: string;
  target_type: string;
  protocol: string | null;
  protocol_version: string | null;
  port: number | null;
  vpc_id: string | null;
  ip_address_type: string;
  health_check: Json; // {HealthCheckEnabled, HealthCheckProtocol, HealthCheckPort, HealthCheckPath, …, Matcher}
  attributes: Json; // {key: value}
  created_at: Time;
}

/** 0020: a registered (or draining) target; health_* as the data plane last observed it. */
export interface Elbv2TargetsTable {
  target_group_arn: string;
  target_id: string;
  port: number;
  availability_zone: string | null;
  registered_at: Time;
  deregistered_at: Time | null;
  health_state: 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';
  health_reason: string | null;
  health_description: string | null;
  health_updated_at: Time;
}

/** 0020: a listener (services/elbv2/listeners). */
export interface Elbv2ListenersTable {
  arn: string;
  load_balancer_arn: string;
  account_id: string;
  region: string;
  protocol: string;
  port: number;
  ssl_policy: string | null;
  alpn_policy: Json | null; // string[]
  default_actions: Json; // Action[]
  attributes: Json; // {key: value}
  created_at: Time;
}

export interface Elbv2ListenerCertificatesTable {
  listener_arn: string;
  certificate_arn: string;
  is_default: Bool;
}

/** 0020: a listener rule; priority null is the default rule. */
export interface Elbv2RulesTable {
  arn: string;
  listener_arn: string;
  account_id: string;
  region: string;
  priority: number | null;
  conditions: Json; // RuleCondition[]
  actions: Json; // Action[]
  created_at: Time;
}

export interface Elbv2TagsTable {
  resource_arn: string;
  account_id: string;
  region: string;
  key: string;
  value: string;
}

/** 0020: an IAM server certificate; private_key wrapped under the master key. */
export interface IamServerCertificatesTable {
  id: string;
  account_id: string;
  name: string;
  name_key: string;
  path: string;
  arn: string;
  certificate_body: string;
  certificate_chain: string | null;
  private_key: string;
  upload_date: Time;
  expiration: Time;
  tags: Json; // Tag[]
}

/** 0020: CloudWatch data points, one row per metric, dimension set and period start. */
export interface MetricDataTable {
  account_id: string;
  region: string;
  namespace: string;
  metric_name: string;
  /** Canonical JSON [[name, value], …], sorted by name. */
  dimensions: string;
  timestamp: Time;
  unit: string;
  sample_count: number;
  sum: number;
  minimum: number;
  maximum: number;
}

export interface Database {
  elbv2_load_balancers: Elbv2LoadBalancersTable;
  elbv2_load_balancer_subnets: Elbv2LoadBalancerSubnetsTable;
  elbv2_target_groups: Elbv2TargetGroupsTable;
  elbv2_targets: Elbv2TargetsTable;
  elbv2_listeners: Elbv2ListenersTable;
  elbv2_listener_certificates: Elbv2ListenerCertificatesTable;
  elbv2_rules: Elbv2RulesTable;
  elbv2_tags: Elbv2TagsTable;
  iam_server_certificates: IamServerCertificatesTable;
  metric_data: MetricDataTable;
  accounts: AccountsTable;
  access_keys: AccessKeysTable;
  sts_sessions: StsSessionsTable;
  iam_users: IamUsersTable;
  iam_groups: IamGroupsTable;
  iam_roles: IamRolesTable;
  iam_policies: IamPoliciesTable;
  iam_instance_profiles: IamInstanceProfilesTable;
  iam_instance_profile_associations: IamInstanceProfileAssociationsTable;
  instance_role_credentials: InstanceRoleCredentialsTable;
  iam_policy_versions: IamPolicyVersionsTable;
  iam_group_members: IamGroupMembersTable;
  iam_attached_policies: IamAttachedPoliciesTable;
  iam_inline_policies: IamInlinePoliciesTable;
  iam_login_profiles: IamLoginProfilesTable;
  iam_tags: IamTagsTable;
  account_quotas: AccountQuotasTable;
  region_setup: RegionSetupTable;
  tags: TagsTable;
  client_tokens: ClientTokensTable;
  jobs: JobsTable;
  vpcs: VpcsTable;
  subnets: SubnetsTable;
  internet_gateways: InternetGatewaysTable;
  route_tables: RouteTablesTable;
  routes: RoutesTable;
  route_table_associations: RouteTableAssociationsTable;
  network_acls: NetworkAclsTable;
  network_acl_entries: NetworkAclEntriesTable;
  network_acl_associations: NetworkAclAssociationsTable;
  security_groups: SecurityGroupsTable;
  security_group_rules: SecurityGroupRulesTable;
  key_pairs: KeyPairsTable;
  images: ImagesTable;
  image_launch_permissions: ImageLaunchPermissionsTable;
  instances: InstancesTable;
  network_interfaces: NetworkInterfacesTable;
  public_ips: PublicIpsTable;
  volumes: VolumesTable;
  volume_attachments: VolumeAttachmentsTable;
  snapshots: SnapshotsTable;
  snapshot_permissions: SnapshotPermissionsTable;
  volume_modifications: VolumeModificationsTable;
  ebs_keys: EbsKeysTable;
  master_key_check: MasterKeyCheckTable;
  public_ip_pools: PublicIpPoolsTable;
  instance_metrics: InstanceMetricsTable;
  uid_ranges: UidRangesTable;
  instance_status_checks: InstanceStatusChecksTable;
  volume_status_checks: VolumeStatusChecksTable;
  managed_prefix_lists: ManagedPrefixListsTable;
  managed_prefix_list_entries: ManagedPrefixListEntriesTable;
}

/** An instance's range of host uids/gids (its user namespace); see services/ec2/instances/uid-ranges.ts. */
export interface UidRangesTable {
  slot: number;
  instance_id: string;
  allocated_at: string;
}

/** A customer-managed prefix list (services/ec2/prefix-lists). */
export interface ManagedPrefixListsTable {
  id: string;
  account_id: string;
  region: string;
  name: string;
  address_family: string;
  max_entries: number;
  version: number;
  state: string;
  created_at: string;
}

/** An entry of a prefix list, in the versions [added_version, removed_version). */
export interface ManagedPrefixListEntriesTable {
  prefix_list_id: string;
  cidr: string;
  description: string | null;
  added_version: number;
  removed_version: number | null;
}

export type Row<T extends keyof Database> = Selectable<Database[T]>;
export type NewRow<T extends keyof Database> = Insertable<Database[T]>;
export type RowUpdate<T extends keyof Database> = Updateable<Database[T]>;
