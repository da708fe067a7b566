// Secrets at rest and the state folder's permissions, black-box: a server (and the `cumulo` CLI)
// started under a login umask (0022) on a state folder that was left group-readable; what is in
// the SQLite file; a missing, wrong or swapped key; an older state folder upgraded in place.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeRegionsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Credentials } from '../src/services/accounts.js';
import { accountDataKey } from '../src/services/ec2/volumes/keys.js';
import { errorOf, startTestServer, type TestServer } from './harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

let home: string;
let t: TestServer | undefined;
let startUmask: number;
let admin: Credentials;
let second: Credentials;
let third: Credentials;
const dataKeys: Record<string, Buffer> = {};

/** Every file and folder under `dir` with a group or other permission bit (sockets and devices aside). */
function looseEntries(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink() || st.isSocket() || st.isFIFO() || st.isBlockDevice() || st.isCharacterDevice()) return;
    if (st.mode & 0o077) out.push(`${p} ${(st.mode & 0o7777).toString(8)}`);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(dir);
  return out;
}

/** The SQLite store's bytes as they are on disk: the database file and its write-ahead log. */
function storeBytes(dir: string): Buffer {
  return Buffer.concat(['cumulo.db', 'cumulo.db-wal'].filter((f) => existsSync(join(dir, f))).map((f) => readFileSync(join(dir, f))));
}

function expectNoPlaintext(bytes: Buffer): void {
  for (const c of [admin, second, third]) expect(bytes.includes(Buffer.from(c.secretAccessKey)), `${c.accountName}'s secret in the store file`).toBe(false);
  for (const [account, key] of Object.entries(dataKeys)) {
    expect(bytes.includes(key), `${account}'s EBS data key in the store file`).toBe(false);
    expect(bytes.includes(Buffer.from(key.toString('base64'))), `${account}'s EBS data key (base64) in the store file`).toBe(false);
  }
}

function sts(c: Credentials): STSClient {
  return new STSClient({ endpoint: t!.url, region: 'us-east-1', credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, maxAttempts: 1 });
}

/** The store, opened directly as someone with a copy of the file would (the server stopped). */
function withStore<T>(fn: (db: Sqlite.Database) => T): T {
  const db = new Sqlite(join(home, 'cumulo.db'));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function swap(db: Sqlite.Database, table: 'access_keys' | 'ebs_keys', column: string, idColumn: string, a: string, b: string): void {
  const get = db.prepare(`select ${column} as v from ${table} where ${idColumn} = ?`);
  const set = db.prepare(`update ${table} set ${column} = ? where ${idColumn} = ?`);
  const va = (get.get(a) as { v: string }).v;
  const vb = (get.get(b) as { v: string }).v;
  db.transaction(() => {
    set.run(vb, a);
    set.run(va, b);
  })();
}

async function restart(): Promise<TestServer> {
  await t?.stop();
  t = undefined;
  t = await startTestServer({ home });
  return t;
}

beforeAll(async () => {
  startUmask = process.umask(0o022); // a login shell's, under which everything would be world-readable
  home = mkdtempSync(join(tmpdir(), 'cumulo-secrets-'));
  chmodSync(home, 0o755); // left looser by someone: fixed at start
  t = await startTestServer({ home });
  admin = t.admin;
  second = await t.app.accounts.create('second');
  third = await t.app.accounts.create('third');
  // As the runc driver's keyOf makes them for an encrypted volume.
  for (const c of [admin, second]) dataKeys[c.accountId] = await accountDataKey(t.app.db, t.app.secrets, c.accountId);
});

afterAll(async () => {
  await t?.stop();
  process.umask(startUmask);
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('secrets at rest', () => {
  test('a new state folder: every key works, and the store holds only wrapped values', async () => {
    await t!.ec2().send(new DescribeRegionsCommand({}));
    expect((await sts(second).send(new GetCallerIdentityCommand({}))).Account).toBe(second.accountId);
    expect((await sts(third).send(new GetCallerIdentityCommand({}))).Account).toBe(third.accountId);
    const keys = await t!.app.db.selectFrom('access_keys').selectAll().execute();
    expect(keys).toHaveLength(3);
    for (const k of keys) expect(k.secret_access_key).toMatch(/^v1:[A-Za-z0-9+/]+=*$/);
    const ebs = await t!.app.db.selectFrom('ebs_keys').selectAll().execute();
    expect(ebs).toHaveLength(2);
    for (const k of ebs) expect(k.key).toMatch(/^v1:/);
    expect((await t!.app.db.selectFrom('master_key_check').select('fingerprint').executeTakeFirstOrThrow()).fingerprint).toBe(t!.app.secrets.fingerprint);
    expectNoPlaintext(storeBytes(home));
  });

  test('the state folder is 0700 and nothing in it is group- or world-readable, whatever the umask', async () => {
    await t!.ec2().send(new DescribeVpcsCommand({})); // the default VPC and more rows: the WAL grows
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'master.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'master.key')).size).toBe(32);
    expect(readdirSync(home)).toEqual(expect.arrayContaining(['cumulo.db', 'master.key', 'server.pid']));
    expect(looseEntries(home)).toEqual([]);
  });

  test('a missing master key stops the start (and none is made); another key too; the right one opens the store again', async () => {
    await t!.stop();
    t = undefined;
    const key = join(home, 'master.key');
    const kept = join(tmpdir(), `cumulo-kept-${randomBytes(4).toString('hex')}.key`);
    renameSync(key, kept);
    try {
      await expect(startTestServer({ home })).rejects.toThrow(/master key .*master\.key is missing, but this store's secrets are wrapped/);
      expect(existsSync(key)).toBe(false);
      writeFileSync(key, randomBytes(32), { mode: 0o600 });
      await expect(startTestServer({ home })).rejects.toThrow(/is not the one this store's secrets are wrapped under/);
    } finally {
      renameSync(kept, key);
    }
    await restart();
    expect(t!.app.admin).toEqual(admin);
    expect((await sts(second).send(new GetCallerIdentityCommand({}))).Account).toBe(second.accountId);
  });

  test('a wrapped value moved to another row does not unwrap there', async () => {
    await t!.stop();
    t = undefined;
    withStore((db) => {
      swap(db, 'access_keys', 'secret_access_key', 'access_key_id', second.accessKeyId, third.accessKeyId);
      swap(db, 'ebs_keys', 'key', 'account_id', admin.accountId, second.accountId);
    });
    await restart();
    // Neither key verifies: the server cannot open either secret (a fault of the store, logged),
    // and in particular it never takes one account's secret for another's key.
    for (const c of [second, third]) {
      const e = await errorOf(sts(c).send(new GetCallerIdentityCommand({})));
      expect(e.$metadata.httpStatusCode).toBe(500);
    }
    await expect(t!.app.accounts.credentialsOf('second')).rejects.toThrow(/access-key-secret of .* does not unwrap/);
    await expect(accountDataKey(t!.app.db, t!.app.secrets, admin.accountId)).rejects.toThrow(/ebs-data-key of .* does not unwrap/);
    await t!.ec2().send(new DescribeRegionsCommand({})); // the admin's row is untouched
    await t!.stop();
    t = undefined;
    withStore((db) => {
      swap(db, 'access_keys', 'secret_access_key', 'access_key_id', second.accessKeyId, third.accessKeyId);
      swap(db, 'ebs_keys', 'key', 'account_id', admin.accountId, second.accountId);
    });
    await restart();
    expect((await sts(third).send(new GetCallerIdentityCommand({}))).Account).toBe(third.accountId);
  });

  test('a state folder from before wrapping upgrades in place: its plaintext is wrapped and gone from the file', async () => {
    await t!.stop();
    t = undefined;
    // As an older cumulo left it: plaintext secrets and data keys, no master key, a 0644 store.
    withStore((db) => {
      const ak = db.prepare('update access_keys set secret_access_key = ? where access_key_id = ?');
      for (const c of [admin, second, third]) ak.run(c.secretAccessKey, c.accessKeyId);
      const ek = db.prepare('update ebs_keys set key = ? where account_id = ?');
      for (const [account, key] of Object.entries(dataKeys)) ek.run(key.toString('base64'), account);
      db.prepare('delete from master_key_check').run();
    });
    rmSync(join(home, 'master.key'));
    chmodSync(join(home, 'cumulo.db'), 0o644);
    expect(storeBytes(home).includes(Buffer.from(second.secretAccessKey))).toBe(true); // the premise

    await restart();
    expect(t!.app.admin).toEqual(admin);
    for (const c of [second, third]) expect((await sts(c).send(new GetCallerIdentityCommand({}))).Account).toBe(c.accountId);
    for (const [account, key] of Object.entries(dataKeys)) expect((await accountDataKey(t!.app.db, t!.app.secrets, account)).equals(key)).toBe(true);
    for (const k of await t!.app.db.selectFrom('access_keys').select('secret_access_key').execute()) expect(k.secret_access_key).toMatch(/^v1:/);
    expectNoPlaintext(storeBytes(home));
    expect(statSync(join(home, 'master.key')).mode & 0o777).toBe(0o600);
    expect(looseEntries(home)).toEqual([]);
  });
});

describe('the cumulo CLI', () => {
  const cli = (env: Record<string, string>, args: string[]) => {
    process.umask(0o022);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CUMULO_') && !k.startsWith('AWS_')));
    return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
      cwd: root,
      env: { ...clean, CUMULO_DRIVER: 'fake', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  };

  test('makes its state folder private under a login umask, and its secrets wrapped', () => {
    const base = mkdtempSync(join(tmpdir(), 'cumulo-cli-secrets-'));
    try {
      const fresh = join(base, 'state');
      const r = cli({ CUMULO_HOME: fresh }, ['env']);
      expect(r.status, r.stderr).toBe(0);
      const secret = /^export AWS_SECRET_ACCESS_KEY=(.+)$/m.exec(r.stdout)![1]!;
      expect(statSync(fresh).mode & 0o777).toBe(0o700);
      expect(looseEntries(fresh)).toEqual([]);
      expect(storeBytes(fresh).includes(Buffer.from(secret))).toBe(false);
      // A folder left looser is tightened; the same key comes back.
      chmodSync(fresh, 0o755);
      const again = cli({ CUMULO_HOME: fresh }, ['env']);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toContain(`AWS_SECRET_ACCESS_KEY=${secret}`);
      expect(statSync(fresh).mode & 0o777).toBe(0o700);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('keeps the master key where CUMULO_MASTER_KEY_FILE says', () => {
    const base = mkdtempSync(join(tmpdir(), 'cumulo-cli-keyfile-'));
    try {
      const keyFile = join(base, 'keys', 'fleet.key');
      const r = cli({ CUMULO_HOME: join(base, 'state'), CUMULO_MASTER_KEY_FILE: keyFile }, ['accounts', 'list']);
      expect(r.status, r.stderr).toBe(0);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(existsSync(join(base, 'state', 'master.key'))).toBe(false);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('refuses a number that does not parse, naming the variable', () => {
    const base = mkdtempSync(join(tmpdir(), 'cumulo-cli-config-'));
    try {
      const r = cli({ CUMULO_HOME: join(base, 'state'), CUMULO_MAX_BODY_BYTES: 'lots' }, ['env']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('cumulo: CUMULO_MAX_BODY_BYTES must be a positive whole number, not "lots"');
      expect(existsSync(join(base, 'state'))).toBe(false); // stopped before anything was made
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
