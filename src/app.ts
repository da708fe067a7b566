// Wiring: store, accounts, controllers, driver and the API server, started and stopped together.
import { accountDataKey } from './services/ec2/volumes/keys.js';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiServer } from './api/server.js';
import { Dispatcher } from './api/dispatch.js';
import type { Config } from './config.js';
import { Runner } from './controllers/runner.js';
import { registerControllers } from './controllers/index.js';
import { createDriver, hostDrivers } from './host/compute/registry.js';
import { hasAbility, type BlockStorage, type ExitEvents, type HostLifecycle, type InstanceDriver } from './host/compute/driver.js';
import { openHostStack, type HostStack } from './host/stack.js';
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
import type { SecretBox } from './lib/secrets.js';
import { lockStateFolder } from './state-lock.js';
import { prepareStateFolder } from './state-folder.js';
import { serverTls, type ServerTls } from './host/tls/certificates.js';

export interface App {
  config: Config;
  db: Db;
  accounts: Accounts;
  /** Wraps and unwraps the store's secrets under the host's master key (config.masterKeyFile). */
  secrets: SecretBox;
  admin: Credentials;
  driver: InstanceDriver;
  /** The host's images, volumes, network and metadata service, when the driver runs real instances. */
  host?: HostStack;
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
  /** Use this driver instead of the configured one (tests). */
  driver?: InstanceDriver;
  log?: (line: string) => void;
  /** Open the store at this path instead of $CUMULO_HOME/cumulo.db (':memory:' for tests). */
  storeFile?: string;
  /**
   * On stop, remove every instance and host object this server made (tests). A real server leaves
   * running instances running: the next one adopts them.
   */
  cleanupHost?: boolean;
  /** Use this image store instead of the built-in one (tests). */
  images?: HostStack['images'];
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
  try {
    admin = await accounts.ensureAdmin();
    tls = await serverTls({ home: config.home, ...config.tls, log });
  } catch (e) {
    await db.destroy();
    unlock();
    throw e;
  }
  // The port first: a port in use is refused before the host is touched (no volume store mounted,
  // no nftables table made). Requests that come before the controllers run only write the store.
  let runner: Runner | undefined;
  let driver: InstanceDriver | undefined;
  // A snapshot's point in time is taken by the host inside its request (CreateSnapshot, CreateImage);
  // a request that comes while the host is still starting waits for it.
  let hostUp!: (d: InstanceDriver) => void;
  let hostFailed!: (e: unknown) => void;
  const hostReady = new Promise<InstanceDriver>((ok, fail) => ((hostUp = ok), (hostFailed = fail)));
  hostReady.catch(() => undefined);
  const mayCapture = opts.driver ? hasAbility<BlockStorage>(opts.driver, 'captureVolume') : hostDrivers.has(config.driver);
  const captures = mayCapture
    ? {
        capture: async (o: { volumeId: string; snapshotId: string }) => {
          const d = await hostReady;
          if (!hasAbility<BlockStorage>(d, 'captureVolume')) throw new Error(`the ${d.info().name} driver keeps no volume data`);
          await d.captureVolume(o);
        },
      }
    : undefined;
  const services = serviceRegistry();
  const dispatcher = new Dispatcher({ db, config, wake: () => runner?.wake(), captures }, services);
  const server = new ApiServer({
    config,
    dispatcher,
    accounts,
    log,
    tls,
    routes: (req, res, url) => {
      if (url.pathname === '/healthz') {
        const body = JSON.stringify(driver && runner ? { status: 'ok', driver: driver.info() } : { status: 'starting' });
        res.writeHead(driver && runner ? 200 : 503, { 'content-type': 'application/json' });
        res.end(body);
        return true;
      }
      return false;
    },
  });
  const hostDriver = !opts.driver && hostDrivers.has(config.driver);
  const images = hostDriver ? (opts.images ?? new BuiltinImageStore({ home: resolve(config.home) })) : undefined;
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
  let host: HostStack | undefined;
  /** Lets go of everything this server holds, in reverse order; the first error is rethrown. */
  const shutdown = async () => {
    builds.stop();
    await server.close();
    await runner?.stop();
    const errors: unknown[] = [];
    if (driver && hasAbility<HostLifecycle>(driver, 'close')) await driver.close({ cleanup: opts.cleanupHost }).catch((e) => errors.push(e));
    // With no instance up, the host keeps nothing of ours: the volume store is unmounted (its
    // file stays), namespaces and the nftables table go; the next start makes them again.
    const up = await anyInstanceUp(db).catch(() => true);
    await host?.close({ cleanup: opts.cleanupHost || !up }).catch((e) => errors.push(e));
    await db.destroy();
    unlock();
    if (errors.length) throw errors[0];
  };
  try {
    if (hostDriver) host = await openHostStack({ home: config.home, facts: hostFacts(db), log, images, publicPool: config.publicPool, egress: config.egress, keyOf: (accountId) => accountDataKey(db, secrets, accountId) });
    driver = opts.driver ?? createDriver(config.driver, { home: config.home, log, host });
    if (hasAbility<HostLifecycle>(driver, 'init')) await driver.init();
    const d = driver;
    runner = new Runner({ db, config, driver: d, secrets, log });
    registerControllers(runner, services.keys());
    await runner.recover();
    await adoptHost({ db, driver: d, log });
    await adoptCaptures({ db, driver: d, log });
    if (hasAbility<ExitEvents>(d, 'onExit')) {
      d.onExit((id) => void watchNow({ db }, id).then(() => runner?.wake(), (e) => log(`instances: ${id}: ${(e as Error).message}`)));
    }
    runner.start();
    builds.start();
    hostUp(d);
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
    driver,
    host,
    runner,
    server,
    address,
    httpsUrl: `https://${address.address}:${address.port}`,
    tls,
    url: `http://${address.address}:${address.port}`,
    stop: shutdown,
  };
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
