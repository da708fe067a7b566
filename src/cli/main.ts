// The `cumulo` command: start, stop, env, accounts, images.
import { loadConfig, type Config } from '../config.js';
import { openApp, startApp, type App } from '../app.js';
import { ADMIN_ACCOUNT_NAME } from '../services/accounts.js';
import { imagesCommand } from './images.js';
import { limitsCommand, limitsUsage } from './limits.js';
import { stopCommand } from './stop.js';
import { prepareStateFolder, usePrivateUmask } from '../state-folder.js';
import { caFileOf } from '../host/tls/certificates.js';
import { existsSync } from 'node:fs';

const usage = `usage: cumulo <command>

  start                     serve the API on $CUMULO_HOST:$CUMULO_PORT (default 127.0.0.1:8773)
  stop [--timeout SECONDS]  stop the server of $CUMULO_HOME and wait until it has stopped
  env [--account NAME]      print export lines for the AWS CLI and SDKs (admin account by default)
      [--https]             with the endpoint as https:// (verified with AWS_CA_BUNDLE)
  accounts create NAME      add an account with an access key, and print its credentials
  accounts list             list the accounts
${limitsUsage}
  images build [NAME]       build the built-in images ahead of first use (NAME: minimal, debian or an
                            AMI name; default: both)
  images [list]             the built-in images: where they are cached, or how their build goes

environment: CUMULO_HOME (state folder, default ~/.cumulo), CUMULO_PORT, CUMULO_HOST,
             CUMULO_AUTH=permissive (accept any access key: for local testing only), CUMULO_DRIVER,
             CUMULO_IMAGE_CACHE (a machine-wide image cache shared by state folders),
             CUMULO_MASTER_KEY_FILE (the key that wraps stored secrets, default $CUMULO_HOME/master.key),
             CUMULO_TLS_CERT + CUMULO_TLS_KEY (your own HTTPS certificate chain and key, PEM; default: a
             CA made in $CUMULO_HOME/tls signs one), CUMULO_TLS_NAMES (more names for that certificate)`;

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** HTTP and HTTPS share the port (src/api/server.ts). */
function endpoint(config: Config, scheme: 'http' | 'https' = 'http'): string {
  return `${scheme}://${config.host}:${config.port}`;
}

async function main(argv: string[]): Promise<number> {
  // Before anything is written: what cumulo makes is its owner's alone (src/state-folder.ts).
  usePrivateUmask();
  const config = loadConfig();
  const [cmd, ...rest] = argv;
  if (cmd === 'start' || cmd === 'env' || cmd === 'accounts' || cmd === 'images') prepareStateFolder(config.home);
  switch (cmd) {
    case 'start': {
      // The handlers come first: a signal while the host is being set up stops the server as soon
      // as it is up, rather than killing it half-way with its host state made.
      let app: App | undefined;
      let stopping: string | undefined;
      const stop = (a: App) =>
        a.stop().then(
          () => process.exit(0),
          (e) => {
            console.error(`cumulo: stopping: ${(e as Error).message}`);
            process.exit(1);
          },
        );
      const shutdown = (why: string) => {
        // Ctrl-C reaches both npm's start script (which passes it on) and this process: once is enough.
        if (stopping) return;
        stopping = why;
        console.log(`cumulo: ${why}, stopping`);
        if (app) void stop(app);
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGHUP', () => shutdown('SIGHUP'));
      // Started by scripts/start.mjs (`npm start`) with a channel to it: when that process is gone,
      // however it went (SIGKILL included), the server goes too instead of serving on unowned.
      if (process.channel) {
        process.channel.unref();
        process.on('disconnect', () => shutdown('npm start exited'));
      }
      app = await startApp(config);
      if (stopping) return stop(app).then(() => 0);
      const info = app.driver.info();
      console.log(`cumulo: serving the EC2 API on ${app.url}  (state: ${config.home})`);
      console.log(
        `cumulo: and on ${app.httpsUrl}: ${app.tls.caFile ? `clients verify it with AWS_CA_BUNDLE=${app.tls.caFile}` : `certificate from CUMULO_TLS_CERT`} (names: ${app.tls.names.join(', ')})`,
      );
      console.log(`cumulo: instance driver: ${info.name} — ${info.description}`);
      if (info.isolation === 'none') console.log('cumulo: WARNING: the fake driver runs nothing; instances only change state in the store.');
      if (config.auth === 'permissive') {
        console.log('cumulo: WARNING: CUMULO_AUTH=permissive — ANY access key is accepted and signatures are NOT checked. For local testing only.');
      }
      console.log(`cumulo: admin account ${app.admin.accountId}; run  eval "$(npx cumulo env)"  to point the AWS CLI here`);
      return new Promise(() => {});
    }
    case 'stop':
      return stopCommand(config, rest);
    case 'env': {
      const i = rest.indexOf('--account');
      const name = i >= 0 ? rest[i + 1] : ADMIN_ACCOUNT_NAME;
      if (!name) throw new Error('--account needs a name');
      const { db, accounts } = await openApp(config);
      try {
        const creds = name === ADMIN_ACCOUNT_NAME ? await accounts.ensureAdmin() : await accounts.credentialsOf(name);
        if (!creds) throw new Error(`no account named ${name}`);
        // http stays the default: the JavaScript SDK v3 ignores AWS_CA_BUNDLE (Node reads
        // NODE_EXTRA_CA_CERTS instead), so an https default would break Node users' eval.
        const https = rest.includes('--https');
        console.log(`export AWS_ENDPOINT_URL=${shellQuote(endpoint(config, https ? 'https' : 'http'))}`);
        // The state folder's CA, made on the server's first start; an operator's certificate is
        // verified by whatever CA the operator's clients already trust.
        if (!config.tls.certFile) {
          const ca = caFileOf(config.home);
          console.log(`export AWS_CA_BUNDLE=${shellQuote(ca)}`);
          if (!existsSync(ca)) console.error(`cumulo: ${ca} is made when \`cumulo start\` first runs`);
        }
        console.log(`export AWS_ACCESS_KEY_ID=${shellQuote(creds.accessKeyId)}`);
        console.log(`export AWS_SECRET_ACCESS_KEY=${shellQuote(creds.secretAccessKey)}`);
        console.log(`export AWS_DEFAULT_REGION=${shellQuote(config.defaultRegion)}`);
      } finally {
        await db.destroy();
      }
      return 0;
    }
    case 'accounts': {
      const { db, accounts } = await openApp(config);
      try {
        if (rest[0] === 'create' && rest[1]) {
          const c = await accounts.create(rest[1]);
          console.log(JSON.stringify({ AccountId: c.accountId, Name: c.accountName, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey }, null, 2));
          return 0;
        }
        if (rest[0] === 'list') {
          for (const a of await accounts.list()) console.log(`${a.id}\t${a.name}`);
          return 0;
        }
        if (rest[0] === 'limits' && rest[1]) return await limitsCommand(config, db, accounts, rest.slice(1));
      } finally {
        await db.destroy();
      }
      console.error(usage);
      return 2;
    }
    case 'images': {
      const code = await imagesCommand(config, rest);
      if (code === 2) console.error(usage);
      return code;
    }
    default:
      console.error(usage);
      return cmd === undefined || cmd === 'help' || cmd === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (e) => {
    console.error(`cumulo: ${(e as Error).message}`);
    // A failed start has unwound what it made; nothing left may keep the process from exiting.
    process.exit(1);
  },
);
