// A host as three parts, each behind its own small interface with a registry of implementations:
// compute (runs instances), storage (EBS volumes and snapshots) and network (the VPC data plane);
// the load balancer's data plane comes next as a fourth. Optional abilities (metrics, exit events,
// snapshots) are found once here, where the stack is assembled; controllers call the parts.
// A real host also serves images, the metadata service, the VPC resolver and the API's endpoint in
// the VPCs (HostServices).
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DnsFacts } from './dns/lookup.js';
import type { DriverInfo, ExitEvents, InstanceDriver, MetricsSource } from './compute/driver.js';
import { FakeDriver } from './compute/fake.js';
import { computeDrivers } from './compute/registry.js';
import { DnsServer, dnsLookup } from './dns/server.js';
import { EndpointListener, endpointNames } from './endpoint.js';
import { metadataLookup, type MetadataFacts } from './imds/lookup.js';
import { ImdsServer } from './imds/server.js';
import { BuiltinImageStore } from './images/builtin-store.js';
import type { ImageStore } from './images/store.js';
import type { LinuxHostNetwork } from './network/linux.js';
import type { VpcNetwork } from './network/part.js';
import { networkParts } from './network/registry.js';
import type { PartInfo } from './part.js';
import { InstanceStoreDisks } from './storage/instance-store.js';
import type { SnapshotStorage, VolumeStorage } from './storage/part.js';
import { storageParts } from './storage/registry.js';
import { XfsVolumeStore } from './storage/xfs-store.js';

export interface HostStack {
  compute: InstanceDriver;
  storage: VolumeStorage;
  network: VpcNetwork;
  /** The storage's snapshots; absent when it keeps no volume data (fake). */
  snapshots?: SnapshotStorage;
  /** The compute part's counters of running instances, when it has them. */
  metrics?: MetricsSource;
  /** The compute part's word that an instance stopped by itself, when it has it. */
  exits?: ExitEvents;
  /** The real host's images, metadata service and resolver; absent on the fake stack. */
  services?: HostServices;
  info(): { compute: DriverInfo; storage: PartInfo; network: PartInfo };
  /** Every part set up: compute first (it thaws a root a crash left frozen before storage and network set up; runc inits them itself). */
  init(): Promise<void>;
  /**
   * Compute first (with cleanup its instances go), then the services, network and storage. With
   * cleanup or idle (no instance up: nothing uses them), network and storage let go of their host
   * objects (the volume store unmounted, namespaces and the nftables table gone).
   */
  close(opts?: { cleanup?: boolean; idle?: boolean }): Promise<void>;
}

export interface HostServices {
  images: ImageStore;
  /** The XFS volume store beneath the storage part (tests look at volumes' files). */
  volumes: XfsVolumeStore;
  imds: ImdsServer;
  imdsPort: number;
  dns: DnsServer;
  dnsPort: number;
  /** The port of the API's endpoint for instances (HTTPS; <VPC base+2>:443 inside each VPC). */
  apiPort: number;
}

/** Optional abilities of a compute part, found once. */
function abilities(compute: InstanceDriver): Pick<HostStack, 'metrics' | 'exits'> {
  const c = compute as Partial<MetricsSource & ExitEvents>;
  return {
    ...(typeof c.metrics === 'function' ? { metrics: compute as InstanceDriver & MetricsSource } : {}),
    ...(typeof c.onExit === 'function' ? { exits: compute as InstanceDriver & ExitEvents } : {}),
  };
}

/** Puts parts together into a stack; `services` are closed with it. */
export function assembleStack(parts: {
  compute: InstanceDriver;
  storage: VolumeStorage;
  network: VpcNetwork;
  snapshots?: SnapshotStorage;
  services?: HostServices;
  closeServices?: () => Promise<void>;
}): HostStack {
  const { compute, storage, network } = parts;
  return {
    compute,
    storage,
    network,
    ...(parts.snapshots ? { snapshots: parts.snapshots } : {}),
    ...(parts.services ? { services: parts.services } : {}),
    ...abilities(compute),
    info: () => ({ compute: compute.info(), storage: storage.info(), network: network.info() }),
    async init() {
      await compute.init();
      await storage.init();
      await network.init();
    },
    async close(o = {}) {
      const errors: unknown[] = [];
      const attempt = (fn: () => Promise<unknown>) => fn().catch((e) => errors.push(e));
      await attempt(() => compute.close({ cleanup: o.cleanup }));
      if (parts.closeServices) await attempt(parts.closeServices);
      const parts2 = { cleanup: Boolean(o.cleanup || o.idle) };
      await attempt(() => network.close(parts2));
      await attempt(() => storage.close(parts2));
      if (errors.length) throw errors[0];
    },
  };
}

/**
 * The fake stack: nothing runs, nothing is stored, no network; each part remembers what it was
 * asked (tests of the control plane). A test may put in its own part (a scripted storage, a
 * recording network).
 */
export function fakeStack(over: { compute?: InstanceDriver; storage?: VolumeStorage; network?: VpcNetwork; snapshots?: SnapshotStorage } = {}): HostStack {
  const compute = over.compute ?? new FakeDriver();
  const storage = over.storage ?? new storageParts.fake.make();
  // Its instances' root volumes are the storage's, as on a real host.
  if (compute instanceof FakeDriver) compute.useStorage(storage);
  return assembleStack({ compute, storage, network: over.network ?? new networkParts.fake.make(), snapshots: over.snapshots });
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
  /** The compute driver that runs instances here (CUMULO_DRIVER): 'runc'. */
  compute: string;
  images?: ImageStore;
  /** CUMULO_PUBLIC_IPV4_POOL: its first address is the host as the internet. */
  publicPool: string;
  /** CUMULO_EGRESS=on: instances with a public IP reach beyond the machine (NAT), and the resolver relays other names. */
  egress: boolean;
  /** The account's EBS data key (the app gives src/services/ec2/volumes/keys.ts's accountDataKey). */
  keyOf: (accountId: string) => Promise<Buffer>;
  /**
   * The API's endpoint in the VPCs: each connection to it goes to `accept` (the API server's HTTPS
   * side: the host knows no HTTP); the resolver answers the endpoint names of `regions`.
   */
  endpoint: { accept: (socket: Socket) => void; regions: readonly string[] };
  /** The API's CA certificate, which instances trust (absent with an operator's certificate). */
  caFile?: string;
}

/**
 * The real host: the XFS/block-store storage, the Linux network and a compute driver that runs
 * instances on them, with the images, the metadata service and the VPC resolver. Not yet set up:
 * init() does that.
 */
export async function openHostStack(opts: HostStackOptions): Promise<HostStack> {
  const home = resolve(opts.home);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const images = opts.images ?? new BuiltinImageStore({ home });
  const volumes = new XfsVolumeStore({ home, onProgress: (e) => opts.log(`volumes: ${e.step}${e.total ? ` ${e.done ?? 0}/${e.total}` : ''}`) });
  const storage = new storageParts.xfs.make({ volumes, instanceStore: new InstanceStoreDisks({ home }), keyOf: opts.keyOf });
  // Who asks is known from the connection: the uplink address it reached names the VPC, the
  // (anti-spoofed) source address the interface in it.
  let network: LinuxHostNetwork | undefined;
  const vpcAt = (a: string) => network?.vpcAt(a);
  const imds = new ImdsServer({ lookup: metadataLookup(opts.facts.metadata, vpcAt), secret: await imdsSecret(home), log: opts.log });
  const dns = new DnsServer({ lookup: dnsLookup(opts.facts.dns, endpointNames(opts.endpoint.regions)), vpcAt, log: opts.log, egress: opts.egress });
  // Every address of the host, like the metadata service: the host's table lets only uplinks reach it.
  const endpoint = new EndpointListener(opts.endpoint.accept);
  const closeServices = async () => {
    const errors: unknown[] = [];
    await imds.close().catch((e) => errors.push(e));
    await dns.close().catch((e) => errors.push(e));
    await endpoint.close().catch((e) => errors.push(e));
    if (errors.length) throw errors[0];
  };
  let imdsPort: number;
  let dnsPort: number;
  let apiPort: number;
  try {
    imdsPort = await imds.listen(0, '0.0.0.0');
    dnsPort = await dns.listen(0, '0.0.0.0');
    apiPort = await endpoint.listen(0, '0.0.0.0');
  } catch (e) {
    await closeServices().catch(() => undefined);
    throw e;
  }
  network = new networkParts.linux.make({ home, imdsPort, dnsPort, apiPort, publicPool: opts.publicPool, egress: opts.egress, onUplink: () => dns.refresh(), log: opts.log });
  const entry = computeDrivers[opts.compute];
  if (!entry?.onHost) {
    await closeServices().catch(() => undefined);
    throw new Error(`'${opts.compute}' is not a driver that runs instances on this host (known: ${Object.keys(computeDrivers).join(', ')})`);
  }
  const compute = entry.create({ home, log: opts.log, images, storage, network, caFile: opts.caFile });
  // A snapshot of a mounted root freezes it for its instant: the compute part knows which are mounted.
  storage.useQuiescer(compute);
  return assembleStack({ compute, storage, network, snapshots: storage, services: { images, volumes, imds, imdsPort, dns, dnsPort, apiPort }, closeServices });
}
