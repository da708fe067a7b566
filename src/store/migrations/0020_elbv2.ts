// Elastic Load Balancing v2: load balancers and their subnets, target groups and their targets,
// listeners, rules, certificates and tags; IAM server certificates (the certificates of HTTPS and
// TLS listeners: there is no ACM here); the metric data points of CloudWatch (ELB's metrics are the
// first writers); and requester-managed network interfaces (a load balancer's, one per subnet).
//
// What the API sets is desired state; what the data plane observes (a target's health, a load
// balancer's state) is written back by the load-balancers controller into the health_* columns.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('elbv2_load_balancers')
    .addColumn('arn', 'text', (c) => c.primaryKey()) // arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id16>
    .addColumn('id', 'text', (c) => c.notNull().unique()) // 16 hex digits
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull()) // application | network
    .addColumn('scheme', 'text', (c) => c.notNull()) // internet-facing | internal
    .addColumn('ip_address_type', 'text', (c) => c.notNull()) // ipv4
    .addColumn('vpc_id', 'text', (c) => c.notNull())
    .addColumn('dns_name', 'text', (c) => c.notNull())
    .addColumn('security_groups', 'text', (c) => c.notNull()) // JSON string[] (ALB; NLB created with groups)
    .addColumn('attributes', 'text', (c) => c.notNull()) // JSON {key: value} of the set attributes
    .addColumn('state', 'text', (c) => c.notNull()) // provisioning | active | active_impaired | failed
    .addColumn('state_reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('elbv2_load_balancers_name').on('elbv2_load_balancers').columns(['account_id', 'region', 'name']).unique().execute();

  // One row per subnet of a load balancer: its zone, its requester-managed interface and addresses.
  await db.schema
    .createTable('elbv2_load_balancer_subnets')
    .addColumn('load_balancer_arn', 'text', (c) => c.notNull())
    .addColumn('subnet_id', 'text', (c) => c.notNull())
    .addColumn('availability_zone', 'text', (c) => c.notNull())
    .addColumn('network_interface_id', 'text', (c) => c.notNull())
    .addColumn('private_ip', 'text', (c) => c.notNull())
    // internet-facing: the zone's public address (ephemeral, or an NLB's elastic IP allocation).
    .addColumn('public_ip', 'text')
    .addColumn('allocation_id', 'text')
    .addPrimaryKeyConstraint('elbv2_load_balancer_subnets_pk', ['load_balancer_arn', 'subnet_id'])
    .execute();

  await db.schema
    .createTable('elbv2_target_groups')
    .addColumn('arn', 'text', (c) => c.primaryKey()) // …:targetgroup/<name>/<id16>
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull()) // instance | ip
    .addColumn('protocol', 'text') // HTTP | HTTPS | TCP | UDP | TCP_UDP | TLS
    .addColumn('protocol_version', 'text') // HTTP1 | HTTP2 | GRPC (HTTP and HTTPS groups)
    .addColumn('port', 'integer')
    .addColumn('vpc_id', 'text')
    .addColumn('ip_address_type', 'text', (c) => c.notNull()) // ipv4
    // The health check, as TargetGroup members say it (HealthCheckEnabled, …, Matcher as JSON).
    .addColumn('health_check', 'text', (c) => c.notNull())
    .addColumn('attributes', 'text', (c) => c.notNull()) // JSON {key: value} of the set attributes
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('elbv2_target_groups_name').on('elbv2_target_groups').columns(['account_id', 'region', 'name']).unique().execute();

  // Registered targets. A deregistered one stays, draining, until deregistered_at + the delay; the
  // controller then deletes the row. health_* is what the data plane last observed.
  await db.schema
    .createTable('elbv2_targets')
    .addColumn('target_group_arn', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull()) // instance id or IP address
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('availability_zone', 'text')
    .addColumn('registered_at', 'text', (c) => c.notNull())
    .addColumn('deregistered_at', 'text')
    .addColumn('health_state', 'text', (c) => c.notNull()) // initial | healthy | unhealthy | unused | draining | unavailable
    .addColumn('health_reason', 'text') // Elb.RegistrationInProgress, Target.ResponseCodeMismatch, …
    .addColumn('health_description', 'text')
    .addColumn('health_updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('elbv2_targets_pk', ['target_group_arn', 'target_id', 'port'])
    .execute();

  await db.schema
    .createTable('elbv2_listeners')
    .addColumn('arn', 'text', (c) => c.primaryKey()) // …:listener/app/<lb name>/<lb id>/<id16>
    .addColumn('load_balancer_arn', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('ssl_policy', 'text')
    .addColumn('alpn_policy', 'text') // JSON string[]
    .addColumn('default_actions', 'text', (c) => c.notNull()) // JSON Action[]
    .addColumn('attributes', 'text', (c) => c.notNull()) // JSON {key: value}
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('elbv2_listeners_port').on('elbv2_listeners').columns(['load_balancer_arn', 'port']).unique().execute();

  // A listener's certificates: its default one, and the others of its certificate list (SNI).
  await db.schema
    .createTable('elbv2_listener_certificates')
    .addColumn('listener_arn', 'text', (c) => c.notNull())
    .addColumn('certificate_arn', 'text', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('elbv2_listener_certificates_pk', ['listener_arn', 'certificate_arn'])
    .execute();

  // Rules of a listener; the default rule (priority 'default') is a row too, its actions the
  // listener's default actions.
  await db.schema
    .createTable('elbv2_rules')
    .addColumn('arn', 'text', (c) => c.primaryKey()) // …:listener-rule/app/<lb name>/<lb id>/<listener id>/<id16>
    .addColumn('listener_arn', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer') // 1..50000; null: the default rule
    .addColumn('conditions', 'text', (c) => c.notNull()) // JSON RuleCondition[]
    .addColumn('actions', 'text', (c) => c.notNull()) // JSON Action[]
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('elbv2_rules_priority').on('elbv2_rules').columns(['listener_arn', 'priority']).unique().execute();

  // Tags of every ELB resource (load balancers, target groups, listeners, rules), by ARN.
  await db.schema
    .createTable('elbv2_tags')
    .addColumn('resource_arn', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('elbv2_tags_pk', ['resource_arn', 'key'])
    .execute();

  // IAM server certificates (global, by account). The private key is wrapped under the master key.
  await db.schema
    .createTable('iam_server_certificates')
    .addColumn('id', 'text', (c) => c.primaryKey()) // ASCA…
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('arn', 'text', (c) => c.notNull())
    .addColumn('certificate_body', 'text', (c) => c.notNull())
    .addColumn('certificate_chain', 'text')
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('upload_date', 'text', (c) => c.notNull())
    .addColumn('expiration', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull()) // JSON Tag[]
    .execute();
  await db.schema.createIndex('iam_server_certificates_name').on('iam_server_certificates').columns(['account_id', 'name_key']).unique().execute();

  // CloudWatch data points: one row per metric, dimension set and minute, as statistics.
  await db.schema
    .createTable('metric_data')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('namespace', 'text', (c) => c.notNull()) // AWS/ApplicationELB, AWS/NetworkELB, …
    .addColumn('metric_name', 'text', (c) => c.notNull())
    // Canonical JSON [[name, value], …] sorted by name: one text per dimension set.
    .addColumn('dimensions', 'text', (c) => c.notNull())
    .addColumn('timestamp', 'text', (c) => c.notNull()) // the period's start, ISO-8601
    .addColumn('unit', 'text', (c) => c.notNull()) // Count | Seconds | Bytes | None | …
    .addColumn('sample_count', 'real', (c) => c.notNull())
    .addColumn('sum', 'real', (c) => c.notNull())
    .addColumn('minimum', 'real', (c) => c.notNull())
    .addColumn('maximum', 'real', (c) => c.notNull())
    .addPrimaryKeyConstraint('metric_data_pk', ['account_id', 'region', 'namespace', 'metric_name', 'dimensions', 'timestamp'])
    .execute();

  // A load balancer's interfaces are requester-managed (RequesterId amazon-elb): users see them and
  // cannot delete, detach or modify them.
  await db.schema.alterTable('network_interfaces').addColumn('requester_id', 'text').execute();
  await db.schema
    .alterTable('network_interfaces')
    .addColumn('requester_managed', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('network_interfaces').dropColumn('requester_managed').execute();
  await db.schema.alterTable('network_interfaces').dropColumn('requester_id').execute();
  for (const t of [
    'metric_data',
    'iam_server_certificates',
    'elbv2_tags',
    'elbv2_rules',
    'elbv2_listener_certificates',
    'elbv2_listeners',
    'elbv2_targets',
    'elbv2_target_groups',
    'elbv2_load_balancer_subnets',
    'elbv2_load_balancers',
  ])
    await db.schema.dropTable(t).execute();
}
