// The host side of a server that runs real instances: images, EBS volumes, instance store, the
// instance network and the metadata service, made together and closed together.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Tx } from '../store/db.js';
import { metadataLookup } from './imds/lookup.js';
import { ImdsServer } from './imds/server.js';
import { BuiltinImageStore } from './images/builtin-store.js';
import type { ImageStore } from './images/store.js';
import { LinuxHostNetwork } from './network/linux.js';
import { InstanceStoreDisks } from './storage/instance-store.js';
import { XfsVolumeStore } from './storage/xfs-store.js';

export interface HostStack {
  images: ImageStore;
  volumes: XfsVolumeStore;
  instanceStore: InstanceStoreDisks;
  network: LinuxHostNetwork;
  imds: ImdsServer;
  imdsPort: number;
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

export async function openHostStack(opts: { home: string; db: Tx; log: (line: string) => void; images?: ImageStore }): Promise<HostStack> {
  const home = resolve(opts.home);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const images = opts.images ?? new BuiltinImageStore({ home });
  const volumes = new XfsVolumeStore({ home, onProgress: (e) => opts.log(`volumes: ${e.step}${e.total ? ` ${e.done ?? 0}/${e.total}` : ''}`) });
  const instanceStore = new InstanceStoreDisks({ home });
  // Who asks is the instance whose /32 route holds the source address (unforgeable: strict rp_filter).
  let network: LinuxHostNetwork | undefined;
  const imds = new ImdsServer({
    lookup: metadataLookup(opts.db, (ip) => network?.instanceAt(ip) ?? Promise.resolve(undefined)),
    secret: await imdsSecret(home),
    log: opts.log,
  });
  const imdsPort = await imds.listen(0, '0.0.0.0');
  network = new LinuxHostNetwork({ home, imdsPort });
  const net = network;
  return {
    images,
    volumes,
    instanceStore,
    network: net,
    imds,
    imdsPort,
    async close(o = {}) {
      const errors: unknown[] = [];
      const attempt = (fn: () => Promise<unknown>) => fn().catch((e) => errors.push(e));
      await attempt(() => imds.close());
      if (o.cleanup) {
        await attempt(() => net.close());
        await attempt(() => instanceStore.close());
        await attempt(() => volumes.close());
      }
      if (errors.length) throw errors[0];
    },
  };
}
