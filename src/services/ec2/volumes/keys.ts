// Each account's data key for encrypted EBS volumes and snapshots on this host (ebs_keys): 32
// random bytes made on first use, stored wrapped under the host's master key and bound to the
// account (src/lib/secrets.ts). The KMS key id EC2 shows for an encrypted volume is only a
// label here: when none is given it is the account's aws/ebs managed key, ARN-shaped as EC2 shows it.
import { createHash, randomBytes } from 'node:crypto';
import type { SecretBox } from '../../../lib/secrets.js';
import type { Tx } from '../../../store/db.js';
import { ebsKeyOf, insertEbsKeyIfAbsent } from './store.js';

/** The account's 32-byte data key, made (once, race-free) on first use. */
export async function accountDataKey(db: Tx, secrets: SecretBox, accountId: string): Promise<Buffer> {
  const have = await ebsKeyOf(db, accountId);
  if (have) return secrets.unwrap(have, 'ebs-data-key', accountId);
  await insertEbsKeyIfAbsent(db, accountId, secrets.wrap(randomBytes(32), 'ebs-data-key', accountId), new Date());
  // Another request may have made it first: the stored one wins.
  const stored = await ebsKeyOf(db, accountId);
  if (stored === undefined) throw new Error(`no EBS data key stored for account ${accountId}`);
  return secrets.unwrap(stored, 'ebs-data-key', accountId);
}

/** The ARN of the account's AWS managed key for EBS (alias/aws/ebs) in a region: a stable key id per (account, region). */
export function defaultEbsKmsKeyId(accountId: string, region: string): string {
  const h = createHash('sha256').update(`aws/ebs:${accountId}:${region}`).digest('hex');
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return `arn:aws:kms:${region}:${accountId}:key/${uuid}`;
}

/**
 * A KmsKeyId as CreateVolume takes it: a key id, a key ARN, an alias name or an alias ARN. Kept as
 * given, in ARN form (EC2 shows ARNs): 'alias/aws/ebs' is the managed key's ARN.
 */
export function kmsKeyArn(given: string, accountId: string, region: string): string | undefined {
  if (given === 'alias/aws/ebs') return defaultEbsKmsKeyId(accountId, region);
  if (/^arn:aws:kms:[a-z0-9-]+:\d{12}:(key\/[0-9a-f-]{36}|alias\/[A-Za-z0-9/_-]+)$/.test(given)) return given;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(given)) return `arn:aws:kms:${region}:${accountId}:key/${given}`;
  if (/^alias\/[A-Za-z0-9/_-]+$/.test(given)) return `arn:aws:kms:${region}:${accountId}:${given}`;
  return undefined;
}
