// Accounts and their access keys. The admin account and its key are made on first start. Secret
// access keys are stored wrapped under the host's master key (src/lib/secrets.ts), bound to their
// access key id; they are unwrapped here and nowhere else.
import type { Db } from '../store/db.js';
import { newAccessKeyId, newAccountId, newSecretAccessKey } from '../lib/ids.js';
import type { SecretBox } from '../lib/secrets.js';

export const ADMIN_ACCOUNT_NAME = 'admin';

export interface Credentials {
  accountId: string;
  accountName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export class Accounts {
  private secrets = new Map<string, { secret: string; accountId: string }>();

  constructor(
    private db: Db,
    private box: SecretBox,
  ) {}

  private unwrap(accessKeyId: string, stored: string): string {
    return this.box.unwrapString(stored, 'access-key-secret', accessKeyId);
  }

  /** The admin account's first active key, creating the account on first start. */
  async ensureAdmin(): Promise<Credentials> {
    const existing = await this.credentialsOf(ADMIN_ACCOUNT_NAME);
    if (existing) return existing;
    return this.create(ADMIN_ACCOUNT_NAME);
  }

  async create(name: string, accountId = newAccountId()): Promise<Credentials> {
    const now = new Date().toISOString();
    const accessKeyId = newAccessKeyId();
    const secretAccessKey = newSecretAccessKey();
    await this.db.transaction().execute(async (trx) => {
      const clash = await trx.selectFrom('accounts').select('id').where((eb) => eb.or([eb('name', '=', name), eb('id', '=', accountId)])).executeTakeFirst();
      if (clash) throw new Error(`an account named ${name} or with id ${accountId} exists already`);
      await trx.insertInto('accounts').values({ id: accountId, name, created_at: now }).execute();
      await trx
        .insertInto('access_keys')
        .values({
          access_key_id: accessKeyId,
          account_id: accountId,
          secret_access_key: this.box.wrap(secretAccessKey, 'access-key-secret', accessKeyId),
          status: 'Active',
          created_at: now,
        })
        .execute();
    });
    return { accountId, accountName: name, accessKeyId, secretAccessKey };
  }

  async credentialsOf(name: string): Promise<Credentials | undefined> {
    const row = await this.db
      .selectFrom('accounts')
      .innerJoin('access_keys', 'access_keys.account_id', 'accounts.id')
      .select(['accounts.id', 'accounts.name', 'access_keys.access_key_id', 'access_keys.secret_access_key'])
      .where('accounts.name', '=', name)
      .where('access_keys.status', '=', 'Active')
      .orderBy('access_keys.created_at')
      .executeTakeFirst();
    if (!row) return undefined;
    return { accountId: row.id, accountName: row.name, accessKeyId: row.access_key_id, secretAccessKey: this.unwrap(row.access_key_id, row.secret_access_key) };
  }

  async list(): Promise<{ id: string; name: string }[]> {
    return this.db.selectFrom('accounts').select(['id', 'name']).orderBy('created_at').execute();
  }

  private async lookup(accessKeyId: string): Promise<{ secret: string; accountId: string } | undefined> {
    const hit = this.secrets.get(accessKeyId);
    if (hit) return hit;
    // Keys made by `cumulo accounts create` in another process land in the store: look there.
    const row = await this.db
      .selectFrom('access_keys')
      .select(['secret_access_key', 'account_id'])
      .where('access_key_id', '=', accessKeyId)
      .where('status', '=', 'Active')
      .executeTakeFirst();
    if (!row) return undefined;
    const entry = { secret: this.unwrap(accessKeyId, row.secret_access_key), accountId: row.account_id };
    this.secrets.set(accessKeyId, entry);
    return entry;
  }

  async secretFor(accessKeyId: string): Promise<string | undefined> {
    return (await this.lookup(accessKeyId))?.secret;
  }

  async accountOfKey(accessKeyId: string): Promise<string | undefined> {
    return (await this.lookup(accessKeyId))?.accountId;
  }

  /**
   * Permissive mode: a known key maps to its account, a 12-digit key id names the account itself
   * (made on first use), and any other key maps to the admin account.
   */
  async permissiveAccount(accessKeyId: string | undefined): Promise<string> {
    if (accessKeyId) {
      const known = await this.accountOfKey(accessKeyId);
      if (known) return known;
      if (/^\d{12}$/.test(accessKeyId)) {
        const row = await this.db.selectFrom('accounts').select('id').where('id', '=', accessKeyId).executeTakeFirst();
        if (!row) {
          await this.db
            .insertInto('accounts')
            .values({ id: accessKeyId, name: `account-${accessKeyId}`, created_at: new Date().toISOString() })
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        return accessKeyId;
      }
    }
    return (await this.ensureAdmin()).accountId;
  }
}
