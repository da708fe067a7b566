// Accounts and their access keys. The admin account and its key are made on first start. Secret
// access keys are stored wrapped under the host's master key (src/lib/secrets.ts), bound to their
// access key id; they are unwrapped here and nowhere else.
import type { Db } from '../store/db.js';
import { newAccessKeyId, newAccountId, newSecretAccessKey } from '../lib/ids.js';
import type { SecretBox } from '../lib/secrets.js';
import { timingSafeEqual } from 'node:crypto';
import { accountExists, activeAccessKey, allAccounts, firstActiveKeyOf, insertAccessKey, insertAccount, insertAccountIfAbsent, recordKeyUse } from './accounts/store.js';
import { rootPrincipal, type Principal, type SessionFacts } from './iam/principal.js';
import { assumedRoleArn } from './iam/arns.js';
import { userById, type UserRow } from './iam/entities/store.js';
import { sessionByKey, tokenDigest, type SessionRow } from './sts/sessions.js';

export const ADMIN_ACCOUNT_NAME = 'admin';

export interface Credentials {
  accountId: string;
  accountName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Why a request's credentials were refused; the API layer words it in the service's own error. */
export class CredentialProblem extends Error {
  constructor(readonly kind: 'invalid' | 'expired') {
    super(kind === 'invalid' ? 'the security token or access key is not valid' : 'the security token has expired');
  }
}

/** A long-term key's user: null for the root user's keys, undefined when the user is gone. */
type KeyRecord = { accountId: string; secret: string } & ({ kind: 'key'; userId: string | null; user: UserRow | null | undefined } | { kind: 'session'; session: SessionRow });

/** How long what the store said of a key is believed (changes through this server's IAM: at once). */
const KEY_TTL_MS = 2_000;

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Accounts {
  /** Unwrapped secrets by access key id, with the wrapped value they came from. */
  private secrets = new Map<string, { wrapped: string; secret: string }>();
  private lastNoted = new Map<string, number>();
  private known = new Map<string, { record: KeyRecord; at: number }>();

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

  /**
   * What a request's access key is: a long-term key (the root user's or an IAM user's, with the
   * user) or an STS session's. What the store said is believed for KEY_TTL_MS: this server's own
   * IAM changes forget it at once (forgetKeys, after every IAM write), so a key deleted or made
   * Inactive through its API stops working with the next request; a change written by another
   * process sharing the store counts within that time. A session's expiry is checked on every use.
   */
  private async lookup(accessKeyId: string): Promise<KeyRecord | undefined> {
    const now = Date.now();
    const hit = this.known.get(accessKeyId);
    if (hit && now - hit.at < KEY_TTL_MS) return hit.record;
    const record = await this.read(accessKeyId);
    if (record) {
      if (this.known.size > 10_000) this.known.clear();
      this.known.set(accessKeyId, { record, at: now });
    } else {
      this.known.delete(accessKeyId);
    }
    return record;
  }

  private async read(accessKeyId: string): Promise<KeyRecord | undefined> {
    if (accessKeyId.startsWith('ASIA')) {
      const session = await sessionByKey(this.db, accessKeyId);
      if (!session) return undefined;
      return { kind: 'session', accountId: session.account_id, secret: this.unwrapCached(accessKeyId, session.secret_access_key, 'sts-session-secret'), session };
    }
    const row = await activeAccessKey(this.db, accessKeyId);
    if (!row) return undefined;
    const user = row.user_id === null ? null : ((await userById(this.db, row.user_id)) ?? undefined);
    return { kind: 'key', accountId: row.account_id, secret: this.unwrapCached(accessKeyId, row.secret_access_key, 'access-key-secret'), userId: row.user_id, user };
  }

  /** Forget what the store said of every key: IAM changed (a key, a user). */
  forgetKeys(): void {
    this.known.clear();
  }

  private unwrapCached(accessKeyId: string, wrapped: string, purpose: 'access-key-secret' | 'sts-session-secret'): string {
    const hit = this.secrets.get(accessKeyId);
    if (hit && hit.wrapped === wrapped) return hit.secret;
    const secret = this.box.unwrapString(wrapped, purpose, accessKeyId);
    if (this.secrets.size > 10_000) this.secrets.clear();
    this.secrets.set(accessKeyId, { wrapped, secret });
    return secret;
  }

  async secretFor(accessKeyId: string): Promise<string | undefined> {
    return (await this.lookup(accessKeyId))?.secret;
  }

  async accountOfKey(accessKeyId: string): Promise<string | undefined> {
    return (await this.lookup(accessKeyId))?.accountId;
  }

  /**
   * The principal a verified request acts as. A session's key needs its token (X-Amz-Security-Token)
   * and must not have expired; a long-term key must come without one. Throws CredentialProblem.
   */
  async principalFor(accessKeyId: string, sessionToken: string | undefined, now: Date): Promise<Principal> {
    const key = await this.lookup(accessKeyId);
    if (!key) throw new CredentialProblem('invalid');
    if (key.kind === 'key') {
      if (sessionToken !== undefined) throw new CredentialProblem('invalid');
      return this.longTermPrincipal(key.accountId, accessKeyId, key.user);
    }
    const s = key.session;
    if (sessionToken === undefined || !sameDigest(tokenDigest(sessionToken), s.token_sha256)) throw new CredentialProblem('invalid');
    if (new Date(s.expires_at).getTime() <= now.getTime()) throw new CredentialProblem('expired');
    const facts: SessionFacts = {
      roleArn: s.role_arn ?? undefined,
      sessionName: s.session_name ?? undefined,
      expiresAt: new Date(s.expires_at),
      issuedAt: new Date(s.created_at),
      policies: JSON.parse(s.policies) as string[],
      policyArns: JSON.parse(s.policy_arns) as string[],
      tags: JSON.parse(s.tags) as Record<string, string>,
      mfa: s.mfa === 1,
      sourceIdentity: s.source_identity ?? undefined,
      issuedFor: s.issued_for ?? undefined,
    };
    if (s.kind === 'assumed-role') {
      const roleName = (s.role_arn ?? '').split('/').pop() ?? '';
      return {
        kind: 'assumed-role',
        accountId: s.account_id,
        arn: assumedRoleArn(s.account_id, roleName, s.session_name ?? ''),
        userId: `${s.role_id}:${s.session_name}`,
        accessKeyId,
        name: roleName,
        roleId: s.role_id ?? undefined,
        session: facts,
      };
    }
    const user = s.user_id === null ? null : ((await userById(this.db, s.user_id)) ?? undefined);
    return { ...this.longTermPrincipal(s.account_id, accessKeyId, user), session: facts };
  }

  /** user: null for the root user; undefined when the user is gone (a raced delete): no principal then. */
  private longTermPrincipal(accountId: string, accessKeyId: string, user: UserRow | null | undefined): Principal {
    if (user === null) return rootPrincipal(accountId, accessKeyId);
    if (!user) throw new CredentialProblem('invalid');
    return { kind: 'user', accountId, arn: user.arn, userId: user.id, accessKeyId, name: user.name };
  }

  /** Records a long-term key's last use, at most once a minute per key, never failing the request. */
  noteKeyUse(accessKeyId: string, service: string, region: string, now: Date): void {
    if (accessKeyId.startsWith('ASIA')) return;
    const last = this.lastNoted.get(accessKeyId);
    if (last !== undefined && now.getTime() - last < 60_000) return;
    if (this.lastNoted.size > 10_000) this.lastNoted.clear();
    this.lastNoted.set(accessKeyId, now.getTime());
    recordKeyUse(this.db, accessKeyId, now.toISOString(), service, region).catch(() => undefined);
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
