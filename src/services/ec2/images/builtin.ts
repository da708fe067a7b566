// The built-in public images every region has: a tiny busybox + dropbear image and a Debian 12
// image named like Debian's official AMIs. Their rows are written at start (idempotently); the
// host materialises the root filesystems from `source` on first use.
import { createHash } from 'node:crypto';
import type { BlockDeviceMapping } from '@aws-sdk/client-ec2';
import type { Config } from '../../../config.js';
import type { Db } from '../../../store/db.js';
import type { NewRow } from '../../../store/schema.js';
import { deprecateImages, imagesOwnedBy, setImageStateByName, upsertImage } from './store.js';

/** The account that owns cumulo's own public images; reserved (real account ids never start with 0). */
export const CUMULO_OWNER_ID = '000000000001';
export const CUMULO_OWNER_ALIAS = 'cumulo';
/** Debian's AWS account: its official AMIs are owned by it, without an owner alias. */
export const DEBIAN_OWNER_ID = '136693071363';

/**
 * Build dates of the image recipes. Bump one when its recipe changes: the image gets a new name
 * and AMI id (as a new official release would), and the previous one is deprecated.
 */
export const MINIMAL_VERSION = '20261122';
export const DEBIAN_VERSION = '20261203-1800';

export type BuiltinName = 'minimal' | 'debian-12';

/** What the host needs to materialise a built-in image; stored in images.source. */
export interface BuiltinSource {
  builtin: BuiltinName;
  version: string;
  /** The SSH login user the image's cloud-init equivalent sets up. */
  sshUser: string;
}

interface BuiltinImage {
  source: BuiltinSource;
  name: string;
  description: string;
  ownerId: string;
  ownerAlias: string | null;
  creationDate: string;
  volumeSizeGiB: number;
}

export const builtinImages: readonly BuiltinImage[] = [
  {
    source: { builtin: 'minimal', version: MINIMAL_VERSION, sshUser: 'ec2-user' },
    name: `cumulo-minimal-x86_64-${MINIMAL_VERSION}`,
    description: `cumulo minimal Linux (busybox and dropbear), x86_64, ${MINIMAL_VERSION}`,
    ownerId: CUMULO_OWNER_ID,
    ownerAlias: CUMULO_OWNER_ALIAS,
    creationDate: versionTime(MINIMAL_VERSION),
    volumeSizeGiB: 1,
  },
  {
    source: { builtin: 'debian-12', version: DEBIAN_VERSION, sshUser: 'admin' },
    name: `debian-12-amd64-${DEBIAN_VERSION}`,
    // Debian's own wording: "Debian 12 (20240717-1811)".
    description: `Debian 12 (${DEBIAN_VERSION})`,
    ownerId: DEBIAN_OWNER_ID,
    ownerAlias: null,
    creationDate: versionTime(DEBIAN_VERSION),
    volumeSizeGiB: 8,
  },
];

/** '20240717' or '20240717-1811' → ISO time in UTC. */
export function versionTime(version: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:-(\d{2})(\d{2}))?$/.exec(version);
  if (!m) throw new Error(`bad image version ${version}`);
  const [, y, mo, d, h = '00', mi = '00'] = m;
  return `${y}-${mo}-${d}T${h}:${mi}:00.000Z`;
}

function hex17(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 17);
}

/** Stable across restarts and hosts: the same region and image name always give the same id. */
export function builtinImageId(region: string, name: string): string {
  return `ami-${hex17('image', region, name)}`;
}

export function builtinSnapshotId(region: string, name: string): string {
  return `snap-${hex17('snapshot', region, name)}`;
}

export function builtinImageRow(region: string, img: BuiltinImage): NewRow<'images'> {
  const bdm: BlockDeviceMapping[] = [
    {
      DeviceName: '/dev/xvda',
      Ebs: {
        DeleteOnTermination: true,
        SnapshotId: builtinSnapshotId(region, img.name),
        VolumeSize: img.volumeSizeGiB,
        VolumeType: 'gp3',
        // gp3 baseline, as EC2 reports it for gp3 mappings.
        Iops: 3000,
        Throughput: 125,
        Encrypted: false,
      },
    },
  ];
  return {
    id: builtinImageId(region, img.name),
    region,
    owner_id: img.ownerId,
    owner_alias: img.ownerAlias,
    name: img.name,
    description: img.description,
    architecture: 'x86_64',
    platform_details: 'Linux/UNIX',
    usage_operation: 'RunInstances',
    root_device_name: '/dev/xvda',
    root_device_type: 'ebs',
    virtualization_type: 'hvm',
    hypervisor: 'xen',
    ena_support: 1,
    sriov_net_support: 'simple',
    // Debian's amd64 AMIs boot UEFI where the instance type can, BIOS otherwise.
    boot_mode: 'uefi-preferred',
    state: 'available',
    is_public: 1,
    image_type: 'machine',
    image_location: `${img.ownerAlias ?? img.ownerId}/${img.name}`,
    block_device_mappings: JSON.stringify(bdm),
    source: JSON.stringify(img.source),
    creation_date: img.creationDate,
    deprecation_time: null,
  };
}

/** The built-in source of an image row, if it is one. */
export function builtinSourceOf(source: string): BuiltinSource | undefined {
  try {
    const s = JSON.parse(source) as Partial<BuiltinSource>;
    if (s && (s.builtin === 'minimal' || s.builtin === 'debian-12')) return s as BuiltinSource;
  } catch {
    // not JSON: not a built-in
  }
  return undefined;
}

/**
 * Write the built-in images into every configured region. Idempotent: existing rows are brought
 * up to date; built-in images of an older recipe version stay launchable but are deprecated.
 */
export async function seedBuiltinImages(db: Db, config: Config, now = new Date()): Promise<void> {
  const current = new Set<string>();
  await db.transaction().execute(async (trx) => {
    for (const region of config.regions.map((r) => r.name)) {
      for (const img of builtinImages) {
        const row = builtinImageRow(region, img);
        current.add(row.id);
        // The state is the server's to say (src/controllers/builtin-images.ts: pending until the
        // host has built it): another command opening the store must not call it available.
        const { id: _id, state: _state, ...update } = row;
        await upsertImage(trx, row, update);
      }
    }
    const owned = await imagesOwnedBy(trx, [CUMULO_OWNER_ID, DEBIAN_OWNER_ID]);
    const stale = owned.filter((r) => !current.has(r.id) && r.deprecation_time === null && builtinSourceOf(r.source)).map((r) => r.id);
    await deprecateImages(trx, stale, now);
  });
}

/** Set the state of a built-in image in every region (pending while the host builds it). */
export async function setBuiltinImageState(db: Db, name: string, state: 'pending' | 'available' | 'failed', reason?: { Code: string; Message: string }): Promise<void> {
  await setImageStateByName(db, [CUMULO_OWNER_ID, DEBIAN_OWNER_ID], name, state, reason ? JSON.stringify(reason) : null);
}
