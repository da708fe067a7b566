// Wiring: store, accounts, controllers, driver and the API server, started and stopped together.
import { accountDataKey } from './services/ec2/volumes/keys.js';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiServer } from './api/server.js';
import { Dispatcher } from './api/dispatch.js';
import type { Config } from './config.js';
import { Runner } from './controllers/runner.js';
import { registerControllers } from './controllers/index.js';
import { createDriver, hostDrivers } from './host/compute/registry.js';
import { hasAbility, type BlockStorage, type ExitEvents, type HostLifecycle, type InstanceDriver } from './host/compute/driver.js';
import { openHostStack, type HostStack } from './host/stack.js';
import { adoptHost, watchNow } from './controllers/host.js';
import { adoptCaptures } from './controllers/snapshots.js';
import { Accounts, type Credentials } from './services/accounts.js';
import { serviceHandlers, setupRegion } from './services/registry.js';
import { seedBuiltinImages } from './services/ec2/images/builtin.js';
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
  let host: HostStack | undefined;
  let driver: InstanceDriver;
  try {
    if (!opts.driver && hostDrivers.has(config.driver)) host = await openHostStack({ home: config.home, db, log, images: opts.images, publicPool: config.publicPool, egress: config.egress, keyOf: (accountId) => accountDataKey(db, secrets, accountId) });
    driver = opts.driver ?? createDriver(config.driver, { home: config.home, log, host });
    if (hasAbility<HostLifecycle>(driver, 'init')) await driver.init();
  } catch (e) {
    await host?.close({ cleanup: opts.cleanupHost }).catch(() => undefined);
    await db.destroy();
    unlock();
    throw e;
  }
  const runner = new Runner({ db, config, driver, secrets, log });
  registerControllers(runner);
  await runner.recover();
  await adoptHost({ db, driver, log });
  await adoptCaptures({ db, driver, log });
  if (hasAbility<ExitEvents>(driver, 'onExit')) {
    driver.onExit((id) => void watchNow({ db }, id).then(() => runner.wake(), (e) => log(`instances: ${id}: ${(e as Error).message}`)));
  }
  // A snapshot's point in time is taken by the host inside its request (CreateSnapshot, CreateImage).
  const captures = hasAbility<BlockStorage>(driver, 'captureVolume') ? { capture: (o: { volumeId: string; snapshotId: string }) => driver.captureVolume(o) } : undefined;
  const dispatcher = new Dispatcher({ db, config, wake: () => runner.wake(), setupRegion, captures }, serviceHandlers());
  const server = new ApiServer({
    config,
    dispatcher,
    accounts,
    log,
    tls,
    routes: (req, res, url) => {
      if (url.pathname === '/healthz') {
        const body = JSON.stringify({ status: 'ok', driver: driver.info() });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
        return true;
      }
      return false;
    },
  });
  const address = await server.listen(config.port, config.host);
  runner.start();
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
    async stop() {
      await server.close();
      await runner.stop();
      const errors: unknown[] = [];
      if (hasAbility<HostLifecycle>(driver, 'close')) await driver.close({ cleanup: opts.cleanupHost }).catch((e) => errors.push(e));
      // With no instance up, the host keeps nothing of ours: the volume store is unmounted (its
      // file stays), namespaces and the nftables table go; the next start makes them again.
      const up = await db
        .selectFrom('instances')
        .select('id')
        .where('state', 'in', ['pending', 'running', 'stopping', 'shutting-down'])
        .executeTakeFirst()
        .catch(() => ({ id: 'unknown' }));
      await host?.close({ cleanup: opts.cleanupHost || !up }).catch((e) => errors.push(e));
      await db.destroy();
      unlock();
      if (errors.length) throw errors[0];
    },
  };
}
