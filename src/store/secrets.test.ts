// The start-up pass over the store's secrets, on PostgreSQL (PGlite) and SQLite alike: the key
// made for a new store and recorded, plaintext from an older store wrapped once, and a missing or
// different key refused.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openWithDialect, sqliteDialect, type Db } from './db.js';
import { pgliteDialect } from './pglite.js';
import { MasterKeyError, openSecrets, wrapPlaintext } from './secrets.js';

const engines = [
  { name: 'postgresql (pglite)', open: () => openWithDialect(pgliteDialect(new PGlite())) },
  { name: 'sqlite', open: () => openWithDialect(sqliteDialect(':memory:')) },
];

const now = '2024-01-01T00:00:00.000Z';

/** Rows as a cumulo from before wrapping wrote them. */
async function plaintextRows(db: Db): Promise<{ secrets: Record<string, string>; data: Record<string, Buffer> }> {
  const secrets: Record<string, string> = { AKIAAAAAAAAAAAAAAAAA: 'plain-secret-a', AKIABBBBBBBBBBBBBBBB: 'plain-secret-b' };
  const data: Record<string, Buffer> = { '111111111111': randomBytes(32), '222222222222': randomBytes(32) };
  for (const id of Object.keys(data))
    await db
      .insertInto('accounts')
      .values({ id, name: `n${id}`, created_at: now })
      .execute();
  const accounts = Object.keys(data);
  for (const [i, [akid, secret]] of Object.entries(secrets).entries()) {
    await db.insertInto('access_keys').values({ access_key_id: akid, account_id: accounts[i]!, secret_access_key: secret, status: 'Active', created_at: now }).execute();
  }
  for (const [account, key] of Object.entries(data))
    await db
      .insertInto('ebs_keys')
      .values({ account_id: account, key: key.toString('base64'), created_at: now })
      .execute();
  return { secrets, data };
}

describe.each(engines)('secrets at rest on $name', ({ open }) => {
  let db: Db;
  let dir: string;
  let keyFile: string;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db?.destroy();
  });
  beforeEach(async () => {
    for (const t of ['access_keys', 'ebs_keys', 'accounts', 'master_key_check'] as const) await db.deleteFrom(t).execute();
    dir = mkdtempSync(join(tmpdir(), 'cumulo-secrets-'));
    keyFile = join(dir, 'master.key');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a key for a new store, records it, and wraps an older store’s plaintext once', async () => {
    const { secrets, data } = await plaintextRows(db);
    const box = await openSecrets(db, keyFile);
    const check = await db.selectFrom('master_key_check').selectAll().executeTakeFirstOrThrow();
    expect(check.fingerprint).toBe(box.fingerprint);
    const keys = await db.selectFrom('access_keys').selectAll().execute();
    for (const k of keys) {
      expect(k.secret_access_key).toMatch(/^v1:/);
      expect(box.unwrapString(k.secret_access_key, 'access-key-secret', k.access_key_id)).toBe(secrets[k.access_key_id]);
    }
    const ebs = await db.selectFrom('ebs_keys').selectAll().execute();
    for (const k of ebs) expect(box.unwrap(k.key, 'ebs-data-key', k.account_id).equals(data[k.account_id]!)).toBe(true);
    // Idempotent: a second start (or a CLI beside the server) changes nothing.
    const again = await openSecrets(db, keyFile);
    expect(again.fingerprint).toBe(box.fingerprint);
    expect(await wrapPlaintext(db, again)).toBe(0);
    expect(await db.selectFrom('access_keys').selectAll().execute()).toEqual(keys);
  });

  it('refuses to start without the key once secrets are wrapped, and makes no new one', async () => {
    await plaintextRows(db);
    const box = await openSecrets(db, keyFile);
    unlinkSync(keyFile);
    await expect(openSecrets(db, keyFile)).rejects.toThrow(MasterKeyError);
    await expect(openSecrets(db, keyFile)).rejects.toThrow(new RegExp(`master key ${keyFile} is missing.*fingerprint ${box.fingerprint}`));
    // Even with the check row gone, wrapped rows alone say a key exists.
    await db.deleteFrom('master_key_check').execute();
    await expect(openSecrets(db, keyFile)).rejects.toThrow(/is missing/);
  });

  it('refuses another key, even on a store whose check row is gone', async () => {
    await plaintextRows(db);
    await openSecrets(db, keyFile);
    writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
    await expect(openSecrets(db, keyFile)).rejects.toThrow(/is not the one this store's secrets are wrapped under/);
    await db.deleteFrom('master_key_check').execute();
    await expect(openSecrets(db, keyFile)).rejects.toThrow(/does not open this store's wrapped secrets/);
  });

  it('binds wrapped values to their rows: swapped between two rows, neither unwraps', async () => {
    await plaintextRows(db);
    const box = await openSecrets(db, keyFile);
    const [a, b] = await db.selectFrom('ebs_keys').selectAll().orderBy('account_id').execute();
    await db.updateTable('ebs_keys').set({ key: b!.key }).where('account_id', '=', a!.account_id).execute();
    await db.updateTable('ebs_keys').set({ key: a!.key }).where('account_id', '=', b!.account_id).execute();
    const swapped = await db.selectFrom('ebs_keys').selectAll().execute();
    for (const r of swapped) expect(() => box.unwrap(r.key, 'ebs-data-key', r.account_id)).toThrow(/does not unwrap/);
  });
});
