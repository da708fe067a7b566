// Wiring: store, accounts, controllers, driver and the API server, started and stopped together.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiServer } from './api/server.js';
import { Dispatcher } from './api/dispatch.js';
import type { Config } from './config.js';
import { Runner } from './controllers/runner.js';
import { registerControllers } from './controllers/index.js';
import { createDriver } from './host/compute/registry.js';
import type { InstanceDriver } from './host/compute/driver.js';
import { Accounts, type Credentials } from './services/accounts.js';
import { serviceHandlers, setupRegion } from './services/registry.js';
import { seedBuiltinImages } from './services/ec2/images/builtin.js';
import { openStore, type Db } from './store/db.js';

export interface App {
  config: Config;
  db: Db;
  accounts: Accounts;
  admin: Credentials;
  driver: InstanceDriver;
  runner: Runner;
  server: ApiServer;
  address: AddressInfo;
  url: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Use this driver instead of the configured one (tests). */
  driver?: InstanceDriver;
  log?: (line: string) => void;
  /** Open the store at this path instead of $CUMULO_HOME/cumulo.db (':memory:' for tests). */
  storeFile?: string;
}

export async function openApp(config: Config, storeFile?: string): Promise<{ db: Db; accounts: Accounts }> {
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const db = await openStore({ file: storeFile ?? join(config.home, 'cumulo.db') });
  await seedBuiltinImages(db, config);
  return { db, accounts: new Accounts(db) };
}

export async function startApp(config: Config, opts: StartOptions = {}): Promise<App> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const { db, accounts } = await openApp(config, opts.storeFile);
  const admin = await accounts.ensureAdmin();
  const driver = opts.driver ?? createDriver(config.driver, { home: config.home });
  const runner = new Runner({ db, config, driver, log });
  registerControllers(runner);
  await runner.recover();
  const dispatcher = new Dispatcher({ db, config, wake: () => runner.wake(), setupRegion }, serviceHandlers());
  const server = new ApiServer({
    config,
    dispatcher,
    accounts,
    log,
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
    admin,
    driver,
    runner,
    server,
    address,
    url: `http://${address.address}:${address.port}`,
    async stop() {
      await server.close();
      await runner.stop();
      await db.destroy();
    },
  };
}
