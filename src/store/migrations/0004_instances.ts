// Instances keep what they were launched with (image facts, launch options, the key), so that a
// deregistered image or a deleted key pair never changes how an instance describes or boots; and
// the console output the controllers last captured, so GetConsoleOutput needs no host round trip.
import type { Kysely } from 'kysely';

type Col = [name: string, type: 'text' | 'integer', dflt: string | number | null];

const columns: Record<string, Col[]> = {
  instances: [
    ['architecture', 'text', 'x86_64'],
    ['hypervisor', 'text', 'xen'],
    ['virtualization_type', 'text', 'hvm'],
    ['root_device_type', 'text', 'ebs'],
    ['ena_support', 'integer', 1],
    ['boot_mode', 'text', null],
    ['platform_details', 'text', 'Linux/UNIX'],
    ['launch_options', 'text', '{}'],
    ['ssh_public_key', 'text', null],
    ['boots', 'integer', 0],
    ['console_output', 'text', null],
    ['console_at', 'text', null],
  ],
  network_interfaces: [['attach_time', 'text', null]],
};

export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, cols] of Object.entries(columns)) {
    for (const [name, type, dflt] of cols) {
      await db.schema
        .alterTable(table)
        .addColumn(name, type, (c) => (dflt === null ? c : c.notNull().defaultTo(dflt)))
        .execute();
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [table, cols] of Object.entries(columns)) {
    for (const [name] of [...cols].reverse()) await db.schema.alterTable(table).dropColumn(name).execute();
  }
}
