// The host side of a server that runs real instances: images, EBS volumes, instance store, the
// VPC data plane, the metadata service and the VPC resolver, made together and closed together.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DnsFacts } from './dns/lookup.js';
import { DnsServer, dnsLookup } from './dns/server.js';
import { metadataLookup, type MetadataFacts } from './imds/lookup.js';
import { ImdsServer } from './imds/server.js';
import { BuiltinImageStore } from './images/builtin-store.js';
import type { ImageStore } from './images/store.js';
import { LinuxHostNetwork } from './network/linux.js';
import { InstanceStoreDisks } from './storage/instance-store.js';
import { RegionSnapshotStores } from './storage/snapshots.js';
import { XfsVolumeStore } from './storage/xfs-store.js';

export interface HostStack {
  images: ImageStore;
  volumes: XfsVolumeStore;
  /** The regions' EBS snapshot stores (inside the volume store's XFS). */
  snapshots: RegionSnapshotStores;
  /** The account's EBS data key (the ebs_keys table), for encrypted snapshots. */
  keyOf: (accountId: string) => Promise<Buffer>;
  instanceStore: InstanceStoreDisks;
  network: LinuxHostNetwork;
  imds: ImdsServer;
  imdsPort: number;
  dns: DnsServer;
  dnsPort: number;
  /** With cleanup, every host object goes (tests); without, what running instances use stays. */
  close(opts?: { cleanup?: boolean }): Promise<void>;
}

/** The metadata service's signing key, kept so that instances' IMDSv2 tokens outlive a restart. */
async function imdsSecret(home: string): Promise<Buffer> {
  const file = join(home, 'imds.key');
  try {
    const b = await readFile(file);
    if (b.length >= 32) return b;
  } catch {
    // first start
  }
  const b = randomBytes(32);
  await writeFile(file, b, { mode: 0o600 });
  return b;
}

export interface HostStackOptions {
  home: string;
  /** What the metadata service and the resolver are told (app.ts injects the repositories' answers). */
  facts: { metadata: MetadataFacts; dns: DnsFacts };
  log: (line: string) => void;
  images?: ImageStore;
  /** CUMULO_PUBLIC_IPV4_POOL: its first address is the host as the internet. */
  publicPool: string;
  /** CUMULO_EGRESS=on: instances with a public IP reach beyond the machine (NAT), and the resolver relays other names. */
  egress: boolean;
  /** The account's EBS data key (the app gives src/services/ec2/volumes/keys.ts's accountDataKey). */
  keyOf: (accountId: string) => Promise<Buffer>;
}

export async function openHostStack(opts: HostStackOptions): Promise<HostStack> {
  const home = resolve(opts.home);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const images = opts.images ?? new BuiltinImageStore({ home });
  const volumes = new XfsVolumeStore({ home, onProgress: (e) => opts.log(`volumes: ${e.step}${e.total ? ` ${e.done ?? 0}/${e.total}` : ''}`) });
  const snapshots = new RegionSnapshotStores(volumes);
  const instanceStore = new InstanceStoreDisks({ home });
  // Who asks is known from the connection: the uplink address it reached names the VPC, the
  // (anti-spoofed) source address the interface in it.
  let network: LinuxHostNetwork | undefined;
  const vpcAt = (a: string) => network?.vpcAt(a);
  const imds = new ImdsServer({ lookup: metadataLookup(opts.facts.metadata, vpcAt), secret: await imdsSecret(home), log: opts.log });
  const dns = new DnsServer({ lookup: dnsLookup(opts.facts.dns), vpcAt, log: opts.log, egress: opts.egress });
  let imdsPort: number;
  let dnsPort: number;
  try {
    imdsPort = await imds.listen(0, '0.0.0.0');
    dnsPort = await dns.listen(0, '0.0.0.0');
  } catch (e) {
    await imds.close().catch(() => undefined);
    await dns.close().catch(() => undefined);
    throw e;
  }
  network = new LinuxHostNetwork({ home, imdsPort, dnsPort, publicPool: opts.publicPool, egress: opts.egress, onUplink: () => dns.refresh(), log: opts.log });
  const net = network;
  return {
    images,
    volumes,
    snapshots,
    keyOf: opts.keyOf,
    instanceStore,
    network: net,
    imds,
    imdsPort,
    dns,
    dnsPort,
    async close(o = {}) {
      const errors: unknown[] = [];
      const attempt = (fn: () => Promise<unknown>) => fn().catch((e) => errors.push(e));
      await attempt(() => imds.close());
      await attempt(() => dns.close());
      if (o.cleanup) {
        await attempt(() => net.close());
        await attempt(() => instanceStore.close());
        await attempt(() => volumes.close());
      }
      if (errors.length) throw errors[0];
    },
  };
}
