// Images: the rest of EC2's Image fields, so that built-in, registered and copied AMIs describe
// themselves fully. All nullable: NULL means EC2 omits the field (or its default applies).
import type { Kysely } from 'kysely';

const columns = [
  'image_location', // <owner id or alias>/<name>
  'usage_operation', // RunInstances (Linux/UNIX), RunInstances:0002 (Windows), …
  'platform', // 'windows' or NULL
  'kernel_id',
  'ramdisk_id',
  'sriov_net_support', // 'simple' or NULL
  'tpm_support', // 'v2.0' or NULL
  'imds_support', // 'v2.0' or NULL
  'uefi_data', // base64 UEFI variable store
  'deregistration_protection', // enabled | enabled-with-cooldown | disabled (NULL: disabled)
  'last_launched_time',
  'state_reason', // JSON {Code, Message}
  'source_instance_id', // CreateImage
  'source_image_id', // CopyImage
  'source_image_region',
  'product_codes', // JSON ProductCode[]
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  // One statement per column: SQLite's ALTER TABLE adds a single column at a time.
  for (const c of columns) await db.schema.alterTable('images').addColumn(c, 'text').execute();
  await db.schema.createIndex('image_launch_permissions_grantee_idx').on('image_launch_permissions').column('grantee').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('image_launch_permissions_grantee_idx').execute();
  for (const c of [...columns].reverse()) await db.schema.alterTable('images').dropColumn(c).execute();
}
