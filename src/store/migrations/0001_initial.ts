// The first schema: accounts, the work queue and the core EC2 resources.
// Only portable column types (see schema.ts), so it runs on SQLite and PostgreSQL alike.
import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

type Col = [name: string, type: 'text' | 'integer' | 'real', opts?: { pk?: boolean; notNull?: boolean; auto?: boolean }];

const tables: Record<string, { cols: Col[]; pk?: string[]; indexes?: string[][]; unique?: string[][] }> = {
  accounts: {
    cols: [
      ['id', 'text', { pk: true }],
      ['name', 'text'],
      ['created_at', 'text'],
    ],
    unique: [['name']],
  },
  access_keys: {
    cols: [
      ['access_key_id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['secret_access_key', 'text'],
      ['status', 'text'],
      ['created_at', 'text'],
    ],
    indexes: [['account_id']],
  },
  region_setup: {
    cols: [
      ['account_id', 'text'],
      ['region', 'text'],
      ['default_vpc_id', 'text', { notNull: false }],
      ['created_at', 'text'],
    ],
    pk: ['account_id', 'region'],
  },
  tags: {
    cols: [
      ['resource_id', 'text'],
      ['key', 'text'],
      ['value', 'text'],
      ['account_id', 'text'],
      ['region', 'text'],
      ['resource_type', 'text'],
    ],
    pk: ['resource_id', 'key'],
    indexes: [['account_id', 'region', 'resource_type']],
  },
  client_tokens: {
    cols: [
      ['account_id', 'text'],
      ['region', 'text'],
      ['operation', 'text'],
      ['token', 'text'],
      ['request_hash', 'text'],
      ['response', 'text'],
      ['created_at', 'text'],
    ],
    pk: ['account_id', 'region', 'operation', 'token'],
  },
  jobs: {
    cols: [
      ['id', 'integer', { pk: true, auto: true }],
      ['kind', 'text'],
      ['resource_id', 'text'],
      ['account_id', 'text'],
      ['region', 'text'],
      ['payload', 'text'],
      ['run_at', 'text'],
      ['attempts', 'integer'],
      ['locked_by', 'text', { notNull: false }],
      ['locked_until', 'text', { notNull: false }],
      ['last_error', 'text', { notNull: false }],
      ['created_at', 'text'],
    ],
    indexes: [['run_at'], ['resource_id']],
  },
  vpcs: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['cidr_block', 'text'],
      ['state', 'text'],
      ['is_default', 'integer'],
      ['instance_tenancy', 'text'],
      ['dhcp_options_id', 'text'],
      ['enable_dns_support', 'integer'],
      ['enable_dns_hostnames', 'integer'],
      ['cidr_associations', 'text'],
      ['ipv6_cidr_associations', 'text'],
      ['created_at', 'text'],
    ],
    indexes: [['account_id', 'region']],
  },
  subnets: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['vpc_id', 'text'],
      ['cidr_block', 'text'],
      ['ipv6_cidr_associations', 'text'],
      ['availability_zone', 'text'],
      ['availability_zone_id', 'text'],
      ['default_for_az', 'integer'],
      ['map_public_ip_on_launch', 'integer'],
      ['assign_ipv6_on_creation', 'integer'],
      ['state', 'text'],
      ['created_at', 'text'],
    ],
    indexes: [['account_id', 'region'], ['vpc_id']],
  },
  internet_gateways: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['vpc_id', 'text', { notNull: false }],
      ['created_at', 'text'],
    ],
    indexes: [['account_id', 'region'], ['vpc_id']],
  },
  route_tables: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['vpc_id', 'text'],
      ['created_at', 'text'],
    ],
    indexes: [['account_id', 'region'], ['vpc_id']],
  },
  routes: {
    cols: [
      ['route_table_id', 'text'],
      ['destination', 'text'],
      ['target_type', 'text'],
      ['target_id', 'text'],
      ['origin', 'text'],
      ['state', 'text'],
    ],
    pk: ['route_table_id', 'destination'],
  },
  route_table_associations: {
    cols: [
      ['id', 'text', { pk: true }],
      ['route_table_id', 'text'],
      ['subnet_id', 'text', { notNull: false }],
      ['gateway_id', 'text', { notNull: false }],
      ['main', 'integer'],
    ],
    indexes: [['route_table_id'], ['subnet_id']],
  },
  network_acls: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['vpc_id', 'text'],
      ['is_default', 'integer'],
      ['created_at', 'text'],
    ],
    indexes: [['account_id', 'region'], ['vpc_id']],
  },
  network_acl_entries: {
    cols: [
      ['network_acl_id', 'text'],
      ['rule_number', 'integer'],
      ['egress', 'integer'],
      ['protocol', 'text'],
      ['rule_action', 'text'],
      ['cidr_block', 'text', { notNull: false }],
      ['ipv6_cidr_block', 'text', { notNull: false }],
      ['icmp_type', 'integer', { notNull: false }],
      ['icmp_code', 'integer', { notNull: false }],
      ['port_from', 'integer', { notNull: false }],
      ['port_to', 'integer', { notNull: false }],
    ],
    pk: ['network_acl_id', 'egress', 'rule_number'],
  },
  network_acl_associations: {
    cols: [
      ['id', 'text', { pk: true }],
      ['network_acl_id', 'text'],
      ['subnet_id', 'text'],
    ],
    indexes: [['network_acl_id']],
    unique: [['subnet_id']],
  },
  security_groups: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['vpc_id', 'text'],
      ['group_name', 'text'],
      ['description', 'text'],
      ['created_at', 'text'],
    ],
    indexes: [['account_id', 'region']],
    unique: [['vpc_id', 'group_name']],
  },
  security_group_rules: {
    cols: [
      ['id', 'text', { pk: true }],
      ['group_id', 'text'],
      ['account_id', 'text'],
      ['region', 'text'],
      ['is_egress', 'integer'],
      ['ip_protocol', 'text'],
      ['from_port', 'integer', { notNull: false }],
      ['to_port', 'integer', { notNull: false }],
      ['cidr_ipv4', 'text', { notNull: false }],
      ['cidr_ipv6', 'text', { notNull: false }],
      ['prefix_list_id', 'text', { notNull: false }],
      ['referenced_group_id', 'text', { notNull: false }],
      ['referenced_group_owner', 'text', { notNull: false }],
      ['description', 'text', { notNull: false }],
      ['created_at', 'text'],
    ],
    indexes: [['group_id'], ['referenced_group_id']],
  },
  key_pairs: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['key_name', 'text'],
      ['key_type', 'text'],
      ['fingerprint', 'text'],
      ['public_key', 'text'],
      ['created_at', 'text'],
    ],
    unique: [['account_id', 'region', 'key_name']],
  },
  images: {
    cols: [
      ['id', 'text', { pk: true }],
      ['region', 'text'],
      ['owner_id', 'text'],
      ['owner_alias', 'text', { notNull: false }],
      ['name', 'text'],
      ['description', 'text', { notNull: false }],
      ['architecture', 'text'],
      ['platform_details', 'text'],
      ['root_device_name', 'text'],
      ['root_device_type', 'text'],
      ['virtualization_type', 'text'],
      ['hypervisor', 'text'],
      ['ena_support', 'integer'],
      ['boot_mode', 'text', { notNull: false }],
      ['state', 'text'],
      ['is_public', 'integer'],
      ['image_type', 'text'],
      ['block_device_mappings', 'text'],
      ['source', 'text'],
      ['creation_date', 'text'],
      ['deprecation_time', 'text', { notNull: false }],
    ],
    indexes: [['region', 'owner_id']],
  },
  image_launch_permissions: {
    cols: [
      ['image_id', 'text'],
      ['grantee', 'text'],
    ],
    pk: ['image_id', 'grantee'],
  },
  instances: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['reservation_id', 'text'],
      ['ami_launch_index', 'integer'],
      ['image_id', 'text'],
      ['instance_type', 'text'],
      ['state', 'text'],
      ['desired_state', 'text'],
      ['state_transition_reason', 'text'],
      ['state_reason', 'text', { notNull: false }],
      ['key_name', 'text', { notNull: false }],
      ['subnet_id', 'text'],
      ['vpc_id', 'text'],
      ['availability_zone', 'text'],
      ['private_ip', 'text'],
      ['public_ip', 'text', { notNull: false }],
      ['mac_address', 'text'],
      ['client_token', 'text', { notNull: false }],
      ['user_data', 'text', { notNull: false }],
      ['shutdown_behavior', 'text'],
      ['disable_api_termination', 'integer'],
      ['disable_api_stop', 'integer'],
      ['ebs_optimized', 'integer'],
      ['monitoring', 'text'],
      ['tenancy', 'text'],
      ['security_groups', 'text'],
      ['metadata_options', 'text'],
      ['iam_instance_profile', 'text', { notNull: false }],
      ['root_device_name', 'text'],
      ['runtime', 'text'],
      ['launch_time', 'text'],
      ['updated_at', 'text'],
      ['terminated_at', 'text', { notNull: false }],
    ],
    indexes: [['account_id', 'region', 'state'], ['subnet_id'], ['reservation_id']],
  },
  network_interfaces: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['subnet_id', 'text'],
      ['vpc_id', 'text'],
      ['availability_zone', 'text'],
      ['private_ip', 'text'],
      ['mac_address', 'text'],
      ['description', 'text'],
      ['interface_type', 'text'],
      ['status', 'text'],
      ['instance_id', 'text', { notNull: false }],
      ['device_index', 'integer', { notNull: false }],
      ['attachment_id', 'text', { notNull: false }],
      ['delete_on_termination', 'integer'],
      ['source_dest_check', 'integer'],
      ['security_groups', 'text'],
      ['secondary_private_ips', 'text'],
      ['public_ip', 'text', { notNull: false }],
      ['created_at', 'text'],
    ],
    indexes: [['account_id', 'region'], ['instance_id']],
    unique: [['subnet_id', 'private_ip'], ['mac_address']],
  },
  volumes: {
    cols: [
      ['id', 'text', { pk: true }],
      ['account_id', 'text'],
      ['region', 'text'],
      ['availability_zone', 'text'],
      ['size_gib', 'integer'],
      ['volume_type', 'text'],
      ['iops', 'integer', { notNull: false }],
      ['throughput', 'integer', { notNull: false }],
      ['snapshot_id', 'text', { notNull: false }],
      ['encrypted', 'integer'],
      ['kms_key_id', 'text', { notNull: false }],
      ['multi_attach_enabled', 'integer'],
      ['state', 'text'],
      ['created_at', 'text'],
    ],
    indexes: [['account_id', 'region']],
  },
  volume_attachments: {
    cols: [
      ['volume_id', 'text'],
      ['instance_id', 'text'],
      ['device', 'text'],
      ['state', 'text'],
      ['delete_on_termination', 'integer'],
      ['attach_time', 'text'],
    ],
    pk: ['volume_id', 'instance_id'],
    indexes: [['instance_id']],
  },
};

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  for (const [name, t] of Object.entries(tables)) {
    let ct = db.schema.createTable(name);
    for (const [col, type, opts] of t.cols) {
      // SQLite needs exactly "integer primary key autoincrement"; PostgreSQL spells it "serial".
      const colType = opts?.auto ? (pg ? 'serial' : 'integer') : type;
      ct = ct.addColumn(col, colType, (c) => {
        if (opts?.pk) c = c.primaryKey();
        if (opts?.auto && !pg) c = c.autoIncrement();
        if (opts?.notNull !== false && !opts?.pk) c = c.notNull();
        return c;
      });
    }
    if (t.pk) ct = ct.addPrimaryKeyConstraint(`${name}_pk`, t.pk as any);
    for (const u of t.unique ?? []) ct = ct.addUniqueConstraint(`${name}_${u.join('_')}_uq`, u as any);
    await ct.execute();
    for (const idx of t.indexes ?? []) {
      await db.schema
        .createIndex(`${name}_${idx.join('_')}_idx`)
        .on(name)
        .columns(idx)
        .execute();
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of Object.keys(tables).reverse()) await db.schema.dropTable(name).execute();
}
