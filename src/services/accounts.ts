// Accounts and their access keys. The admin account and its key are made on first start. Secret
// access keys are stored wrapped under the host's master key (src/lib/secrets.ts), bound to their
// access key id; they are unwrapped here and nowhere else.
import type { Db } from '../store/db.js';
import { newAccessKeyId, newAccountId, newSecretAccessKey } from '../lib/ids.js';
import type { SecretBox } from '../lib/secrets.js';
import { accountExists, activeAccessKey, allAccounts, firstActiveKeyOf, insertAccessKey, insertAccount, insertAccountIfAbsent } from './accounts/store.js';

export const ADMIN_ACCOUNT_NAME = 'admin';

export interface Credentials {
  accountId: string;
  accountName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export class Accounts {
  // Unwrapped secrets by key id, each with the stored value it came from.
  private secrets = new Map<string, { secret: string; accountId: string; wrapped: string }>();

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
    // The root user may have deleted or deactivated every key of its own through IAM: the
    // operator gets a fresh one rather than a server that cannot start.
    const admin = (await allAccounts(this.db)).find((a) => a.name === ADMIN_ACCOUNT_NAME);
    if (admin) return this.addRootKey(admin);
    return this.create(ADMIN_ACCOUNT_NAME);
  }

  private async addRootKey(account: { id: string; name: string }): Promise<Credentials> {
    const accessKeyId = newAccessKeyId();
    const secretAccessKey = newSecretAccessKey();
    await insertAccessKey(this.db, {
      access_key_id: accessKeyId,
      account_id: account.id,
      secret_access_key: this.box.wrap(secretAccessKey, 'access-key-secret', accessKeyId),
      status: 'Active',
      created_at: new Date().toISOString(),
    });
    return { accountId: account.id, accountName: account.name, accessKeyId, secretAccessKey };
  }

  async create(name: string, accountId = newAccountId()): Promise<Credentials> {
    const now = new Date().toISOString();
    const accessKeyId = newAccessKeyId();
    const secretAccessKey = newSecretAccessKey();
    await this.db.transaction().execute(async (trx) => {
      if (await accountExists(trx, { name, id: accountId })) throw new Error(`an account named ${name} or with id ${accountId} exists already`);
      await insertAccount(trx, { id: accountId, name, created_at: now });
      await insertAccessKey(trx, {
        access_key_id: accessKeyId,
        account_id: accountId,
        secret_access_key: this.box.wrap(secretAccessKey, 'access-key-secret', accessKeyId),
        status: 'Active',
        created_at: now,
      });
    });
    return { accountId, accountName: name, accessKeyId, secretAccessKey };
  }

  async credentialsOf(name: string): Promise<Credentials | undefined> {
    const row = await firstActiveKeyOf(this.db, name);
    if (!row) return undefined;
    return { accountId: row.id, accountName: row.name, accessKeyId: row.access_key_id, secretAccessKey: this.unwrap(row.access_key_id, row.secret_access_key) };
  }

  async list(): Promise<{ id: string; name: string }[]> {
    return allAccounts(this.db);
  }

  private async lookup(accessKeyId: string): Promise<{ secret: string; accountId: string } | undefined> {
    // The store decides on every request: a key IAM deleted or made Inactive stops working at
    // once, and keys made in another process (`cumulo accounts create`) are found. Only the
    // unwrapping is cached.
    const row = await activeAccessKey(this.db, accessKeyId);
    if (!row) {
      this.secrets.delete(accessKeyId);
      return undefined;
    }
    const hit = this.secrets.get(accessKeyId);
    if (hit && hit.wrapped === row.secret_access_key && hit.accountId === row.account_id) return hit;
    const entry = { secret: this.unwrap(accessKeyId, row.secret_access_key), accountId: row.account_id, wrapped: row.secret_access_key };
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
        if (!(await accountExists(this.db, { id: accessKeyId }))) {
          await insertAccountIfAbsent(this.db, { id: accessKeyId, name: `account-${accessKeyId}`, created_at: new Date().toISOString() });
        }
        return accessKeyId;
      }
    }
    return (await this.ensureAdmin()).accountId;
  }
}
