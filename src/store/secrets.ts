// The store's secrets at start-up: find (or, for a store that has none yet, make) the master key,
// check it is the one that wrapped this store's secrets, and wrap what an older cumulo stored in
// plaintext (a migration cannot: it never sees the key file). Idempotent: wrapped rows are left.
import { sql } from 'kysely';
import { createMasterKey, readMasterKey } from '../lib/master-key.js';
import { isWrapped, SecretBox, UnwrapError, WRAP_PREFIX } from '../lib/secrets.js';
import type { Db, Tx } from './db.js';
import { isPostgres } from './dialect.js';

const CHECK_ID = 'v1';

export class MasterKeyError extends Error {}

/** Does the store hold anything wrapped under some master key already? */
async function holdsWrapped(db: Tx): Promise<{ fingerprint?: string } | undefined> {
  const check = await db.selectFrom('master_key_check').select('fingerprint').where('id', '=', CHECK_ID).executeTakeFirst();
  if (check) return { fingerprint: check.fingerprint };
  const ak = await db.selectFrom('access_keys').select('access_key_id').where('secret_access_key', 'like', `${WRAP_PREFIX}%`).executeTakeFirst();
  const ek = await db.selectFrom('ebs_keys').select('account_id').where('key', 'like', `${WRAP_PREFIX}%`).executeTakeFirst();
  return ak || ek ? {} : undefined;
}

/**
 * The master key of this store, from `keyFile` (made there on a store's first start). A missing
 * or different key where secrets are wrapped already is an error naming the file: a new key would
 * open nothing, and a second key would split the store's secrets between two keys.
 */
export async function openSecrets(db: Db, keyFile: string): Promise<SecretBox> {
  let key = readMasterKey(keyFile);
  if (!key) {
    const held = await holdsWrapped(db);
    if (held) {
      throw new MasterKeyError(
        `the master key ${keyFile} is missing, but this store's secrets are wrapped under one` +
          (held.fingerprint ? ` (fingerprint ${held.fingerprint})` : '') +
          ': restore that file (or point CUMULO_MASTER_KEY_FILE at it). A new key cannot open them, so none is made.',
      );
    }
    key = createMasterKey(keyFile);
  }
  const box = new SecretBox(key);
  await claimStore(db, box, keyFile);
  await wrapPlaintext(db, box);
  return box;
}

/** Record this key as the store's (first start), or check that it is the recorded one. */
async function claimStore(db: Db, box: SecretBox, keyFile: string): Promise<void> {
  let check = await db.selectFrom('master_key_check').selectAll().where('id', '=', CHECK_ID).executeTakeFirst();
  if (!check) {
    // Wrapped rows without a check row would be another key's: refuse rather than claim them.
    if (await holdsWrapped(db)) await assertOpens(db, box, keyFile);
    await db
      .insertInto('master_key_check')
      .values({ id: CHECK_ID, fingerprint: box.fingerprint, check_value: box.wrap(box.fingerprint, 'master-key-check', CHECK_ID), created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    // Another host sharing the store may have claimed it first: its row is the one to match.
    check = await db.selectFrom('master_key_check').selectAll().where('id', '=', CHECK_ID).executeTakeFirstOrThrow();
  }
  try {
    box.unwrap(check.check_value, 'master-key-check', CHECK_ID);
  } catch (e) {
    if (!(e instanceof UnwrapError)) throw e;
    throw new MasterKeyError(
      `the master key ${keyFile} (fingerprint ${box.fingerprint}) is not the one this store's secrets are wrapped under (fingerprint ${check.fingerprint}): ` +
        'use that key (hosts sharing a store share CUMULO_MASTER_KEY_FILE).',
    );
  }
}

/** A store with wrapped values but no check row (it was deleted): the key must open one of them. */
async function assertOpens(db: Db, box: SecretBox, keyFile: string): Promise<void> {
  const ak = await db.selectFrom('access_keys').select(['access_key_id', 'secret_access_key']).where('secret_access_key', 'like', `${WRAP_PREFIX}%`).executeTakeFirst();
  const ek = await db.selectFrom('ebs_keys').select(['account_id', 'key']).where('key', 'like', `${WRAP_PREFIX}%`).executeTakeFirst();
  try {
    if (ak) box.unwrap(ak.secret_access_key, 'access-key-secret', ak.access_key_id);
    if (ek) box.unwrap(ek.key, 'ebs-data-key', ek.account_id);
  } catch (e) {
    if (!(e instanceof UnwrapError)) throw e;
    throw new MasterKeyError(`the master key ${keyFile} (fingerprint ${box.fingerprint}) does not open this store's wrapped secrets: use the key that wrapped them`);
  }
}

/**
 * Wrap the plaintext rows (a store from before wrapping), all in one transaction; each update is
 * guarded by the value it replaces, so two processes doing this at once cannot wrap twice. Returns
 * how many rows were wrapped.
 */
export async function wrapPlaintext(db: Db, box: SecretBox): Promise<number> {
  const n = await db.transaction().execute(async (trx) => {
    let count = 0;
    const keys = await trx.selectFrom('access_keys').select(['access_key_id', 'secret_access_key']).where('secret_access_key', 'not like', `${WRAP_PREFIX}%`).execute();
    for (const r of keys) {
      if (isWrapped(r.secret_access_key)) continue;
      const res = await trx
        .updateTable('access_keys')
        .set({ secret_access_key: box.wrap(r.secret_access_key, 'access-key-secret', r.access_key_id) })
        .where('access_key_id', '=', r.access_key_id)
        .where('secret_access_key', '=', r.secret_access_key)
        .executeTakeFirst();
      count += Number(res.numUpdatedRows);
    }
    const data = await trx.selectFrom('ebs_keys').select(['account_id', 'key']).where('key', 'not like', `${WRAP_PREFIX}%`).execute();
    for (const r of data) {
      if (isWrapped(r.key)) continue;
      const raw = Buffer.from(r.key, 'base64');
      if (raw.length !== 32) throw new Error(`ebs_keys: the data key of account ${r.account_id} is neither wrapped nor 32 bytes of base64`);
      const res = await trx
        .updateTable('ebs_keys')
        .set({ key: box.wrap(raw, 'ebs-data-key', r.account_id) })
        .where('account_id', '=', r.account_id)
        .where('key', '=', r.key)
        .executeTakeFirst();
      count += Number(res.numUpdatedRows);
    }
    return count;
  });
  if (n > 0 && !isPostgres(db)) await scrubSqlite(db);
  return n;
}

/**
 * SQLite keeps what an update replaced in free pages and in the WAL until they are reused: rebuild
 * the file and empty the WAL so the plaintext just wrapped is gone from disk. Best effort (another
 * connection reading at this moment makes it busy); the secrets are wrapped either way.
 */
async function scrubSqlite(db: Db): Promise<void> {
  try {
    await sql`vacuum`.execute(db);
    await sql`pragma wal_checkpoint(truncate)`.execute(db);
  } catch {
    // busy: the next rewrite of those pages overwrites them
  }
}
