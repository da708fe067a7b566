// Wiring: store, accounts, controllers, the host stack and the API server, started and stopped together.
import { accountDataKey } from './services/ec2/volumes/keys.js';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiServer } from './api/server.js';
import { Dispatcher } from './api/dispatch.js';
import type { Config } from './config.js';
import { Runner } from './controllers/runner.js';
import { registerControllers } from './controllers/index.js';
import { runsOnHost } from './host/compute/registry.js';
import type { InstanceDriver } from './host/compute/driver.js';
import type { VpcNetwork } from './host/network/part.js';
import type { SnapshotStorage, VolumeStorage } from './host/storage/part.js';
import { fakeStack, openHostStack, type HostServices, type HostStack } from './host/stack.js';
import { hostFacts } from './host-facts.js';
import { adoptHost, watchNow } from './controllers/host.js';
import { adoptCaptures } from './controllers/snapshots.js';
import { BuiltinImageBuilds } from './controllers/builtin-images.js';
import { BuiltinImageStore } from './host/images/builtin-store.js';
import { Accounts, type Credentials } from './services/accounts.js';
import { serviceRegistry } from './services/registry.js';
import { seedBuiltinImages } from './services/ec2/images/builtin.js';
import { anyInstanceUp } from './services/ec2/instances/store.js';
import { openStore, type Db } from './store/db.js';
import { openSecrets } from './store/secrets.js';
import { consoleSignIn } from './api/console-sign-in.js';
import type { SecretBox } from './lib/secrets.js';
import { lockStateFolder } from './state-lock.js';
import { prepareStateFolder } from './state-folder.js';
import { serverTls, type ServerTls } from './host/tls/certificates.js';
import { endpointCertNames } from './host/endpoint.js';
import { Authorizer } from './services/iam/authorize.js';

export interface App {
  config: Config;
  db: Db;
  accounts: Accounts;
  /** Wraps and unwraps the store's secrets under the host's master key (config.masterKeyFile). */
  secrets: SecretBox;
  admin: Credentials;
  /** The host: compute, storage and network parts. */
  host: HostStack;
  /** The host's compute part (host.compute). */
  driver: InstanceDriver;
  runner: Runner;
  server: ApiServer;
  address: AddressInfo;
  /** http://host:port; the same port also answers https:// (httpsUrl). */
  url: string;
  httpsUrl: string;
  /** The API's certificate, and the CA file clients verify it with when it is the state folder's own. */
  tls: ServerTls;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Use the fake stack, with these parts in place of its fakes, instead of the configured host (tests). */
  fake?: { compute?: InstanceDriver; storage?: VolumeStorage; network?: VpcNetwork; snapshots?: SnapshotStorage };
  log?: (line: string) => void;
  /** Open the store at this path instead of $CUMULO_HOME/cumulo.db (':memory:' for tests). */
  storeFile?: string;
  /**
   * On stop, remove every instance and host object this server made (tests). A real server leaves
   * running instances running: the next one adopts them.
   */
  cleanupHost?: boolean;
  /** Use this image store instead of the built-in one (tests). */
  images?: HostServices['images'];
}

export async function openApp(config: Config, storeFile?: string): Promise<{ db: Db; accounts: Accounts; secrets: SecretBox }> {
  prepareStateFolder(config.home);
  const db = await openStore({ file: storeFile ?? join(config.home, 'cumulo.db') });
  try {
    // Before anything reads a secret: the master key, checked, and an older store's plaintext wrapped.
    const secrets = await openSecrets(db, config.masterKeyFile);
    await seedBuiltinImages(db, config);
    return { db, accounts: new Accounts(db, secrets), secrets };
  } catch (e) {
    await db.destroy();
    throw e;
  }
}

export async function startApp(config: Config, opts: StartOptions = {}): Promise<App> {
  const log = opts.log ?? ((l: string) => console.error(l));
  prepareStateFolder(config.home);
  const unlock = lockStateFolder(config.home);
  let opened: Awaited<ReturnType<typeof openApp>>;
  try {
    opened = await openApp(config, opts.storeFile);
  } catch (e) {
    unlock();
    throw e;
  }
  const { db, accounts, secrets } = opened;
  let admin: Credentials;
  let tls: ServerTls;
  const regionNames = config.regions.map((r) => r.name);
  try {
    admin = await accounts.ensureAdmin();
    // With the names instances reach the API by, in their VPCs (src/host/endpoint.ts).
    tls = await serverTls({ home: config.home, ...config.tls, names: [...config.tls.names, ...endpointCertNames(regionNames)], log });
  } catch (e) {
    await db.destroy();
    unlock();
    throw e;
  }
  // The port first: a port in use is refused before the host is touched (no volume store mounted,
  // no nftables table made). Requests that come before the controllers run only write the store.
  let runner: Runner | undefined;
  let host: HostStack | undefined;
  // A snapshot's point in time is taken by the host inside its request (CreateSnapshot, CreateImage);
  // a request that comes while the host is still starting waits for it.
  let hostUp!: (h: HostStack) => void;
  let hostFailed!: (e: unknown) => void;
  const hostReady = new Promise<HostStack>((ok, fail) => ((hostUp = ok), (hostFailed = fail)));
  hostReady.catch(() => undefined);
  const onHost = !opts.fake && runsOnHost(config.driver);
  // Only a storage with snapshots keeps volume data to capture (the fake's keeps none).
  const mayCapture = opts.fake ? Boolean(opts.fake.snapshots) : onHost;
  const captures = mayCapture
    ? {
        capture: async (o: { volumeId: string; snapshotId: string }) => {
          const h = await hostReady;
          if (!h.snapshots) throw new Error(`the ${h.storage.info().name} storage keeps no volume data`);
          await h.snapshots.captureVolume(o);
        },
      }
    : undefined;
  const services = serviceRegistry();
  const dispatcher = new Dispatcher({ db, config, secrets, authorizer: new Authorizer(secrets, () => accounts.forgetKeys()), wake: () => runner?.wake(), captures }, services);
  const server = new ApiServer({
    config,
    dispatcher,
    accounts,
    log,
    tls,
    routes: (req, res, url) => {
      if (url.pathname === '/healthz' && req.method === 'GET') {
        const up = host && runner;
        const body = JSON.stringify(up ? { status: 'ok', driver: host!.compute.info(), host: host!.info() } : { status: 'starting' });
        res.writeHead(up ? 200 : 503, { 'content-type': 'application/json' });
        res.end(body);
        return true;
      }
      return consoleSignIn({ db, secrets }, req, res, url);
    },
  });
  const images = onHost ? (opts.images ?? new BuiltinImageStore({ home: resolve(config.home) })) : undefined;
  const builds = new BuiltinImageBuilds({ db, home: config.home, images, log });
  let address: AddressInfo;
  try {
    // Before the API answers: a built-in image the host has not built yet is pending.
    await builds.mark();
    address = await server.listen(config.port, config.host);
  } catch (e) {
    await db.destroy();
    unlock();
    throw listenError(e, config);
  }
  /** Lets go of everything this server holds, in reverse order; the first error is rethrown. */
  const shutdown = async () => {
    builds.stop();
    await server.close();
    await runner?.stop();
    const errors: unknown[] = [];
    // With no instance up, the host keeps nothing of ours: the volume store is unmounted (its
    // file stays), namespaces and the nftables table go; the next start makes them again.
    const up = await anyInstanceUp(db).catch(() => true);
    await host?.close({ cleanup: opts.cleanupHost, idle: !up }).catch((e) => errors.push(e));
    await db.destroy();
    unlock();
    if (errors.length) throw errors[0];
  };
  try {
    const h = onHost
      ? await openHostStack({
          home: config.home,
          facts: hostFacts(db, secrets),
          log,
          compute: config.driver,
          images,
          publicPool: config.publicPool,
          egress: config.egress,
          keyOf: (accountId) => accountDataKey(db, secrets, accountId),
          endpoint: { accept: (socket) => server.acceptTls(socket), regions: regionNames },
          caFile: tls.caFile,
        })
      : fakeStack(opts.fake);
    host = h;
    await h.init();
    runner = new Runner({ db, config, ...hostDeps(h), secrets, log });
    registerControllers(runner, services.keys());
    await runner.recover();
    await adoptHost({ db, ...hostDeps(h), log });
    await adoptCaptures({ db, snapshots: h.snapshots, log });
    if (h.exits) {
      h.exits.onExit(
        (id) =>
          void watchNow({ db }, id).then(
            () => runner?.wake(),
            (e) => log(`instances: ${id}: ${(e as Error).message}`),
          ),
      );
    }
    runner.start();
    builds.start();
    hostUp(h);
  } catch (e) {
    hostFailed(e);
    // A failed start unwinds what it made: nothing stays mounted, no table, no port, no lock.
    await shutdown().catch((e2) => log(`cumulo: unwinding a failed start: ${(e2 as Error).message}`));
    throw e;
  }
  return {
    config,
    db,
    accounts,
    secrets,
    admin,
    host,
    driver: host.compute,
    runner,
    server,
    address,
    httpsUrl: `https://${address.address}:${address.port}`,
    tls,
    url: `http://${address.address}:${address.port}`,
    stop: shutdown,
  };
}

/** What the controllers get of the host: its parts, and the abilities it has. */
function hostDeps(h: HostStack) {
  return { compute: h.compute, storage: h.storage, network: h.network, snapshots: h.snapshots, metrics: h.metrics };
}

/** What an operator needs to read when the port cannot be had. */
function listenError(e: unknown, config: Config): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') return new Error(`${where} is already in use (another cumulo server or another program); stop it, or set CUMULO_PORT to a free port`);
  if (code === 'EACCES') return new Error(`not allowed to listen on ${where} (ports below 1024 need root); set CUMULO_PORT to another port`);
  if (code === 'EADDRNOTAVAIL') return new Error(`${config.host} is not an address of this machine; set CUMULO_HOST to one that is`);
  return e as Error;
}
