// Console sign-in: an IAM user with a login profile signs in with the account's id, its name and
// its password, and gets temporary credentials (a GetSessionToken-like session of 12 hours). Every
// failure looks the same to the caller and costs the same scrypt time.
import type { SecretBox } from '../../../lib/secrets.js';
import type { Tx } from '../../../store/db.js';
import { issueSession, type IssuedCredentials } from '../../sts/sessions.js';
import { userByName } from '../entities/store.js';
import { UNMATCHABLE_HASH, verifyPassword } from './password.js';
import { loginProfileOf, recordPasswordUse } from './store.js';

export const SIGN_IN_SESSION_SECONDS = 12 * 3600;

/** A refused sign-in: wrong account, user or password, or a user without a login profile. */
export class SignInFailed extends Error {
  constructor() {
    super('Your authentication information is incorrect. Please try again.');
    this.name = 'SignInFailed';
  }
}

export interface SignInRequest {
  /** The account's 12-digit id. */
  account: string;
  userName: string;
  password: string;
  now: Date;
}

export type SignedIn = IssuedCredentials & { principalArn: string; passwordResetRequired: boolean };

export async function signIn(db: Tx, box: SecretBox, r: SignInRequest): Promise<SignedIn> {
  const valid = typeof r.account === 'string' && /^\d{12}$/.test(r.account) && typeof r.userName === 'string' && r.userName.length > 0 && r.userName.length <= 64;
  const user = valid ? await userByName(db, r.account, r.userName) : undefined;
  const profile = user ? await loginProfileOf(db, user.id) : undefined;
  const ok = await verifyPassword(typeof r.password === 'string' ? r.password : '', profile?.password_hash ?? UNMATCHABLE_HASH);
  if (!ok || !user || !profile) throw new SignInFailed();
  await recordPasswordUse(db, user.id, r.now.toISOString());
  const creds = await issueSession(db, box, {
    accountId: user.account_id,
    kind: 'session-token',
    userId: user.id,
    issuedFor: user.arn,
    now: r.now,
    durationSeconds: SIGN_IN_SESSION_SECONDS,
  });
  return { ...creds, principalArn: user.arn, passwordResetRequired: profile.password_reset_required === 1 };
}
