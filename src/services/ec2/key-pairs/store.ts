// Key pair rows ↔ EC2's KeyPairInfo, and the lookup RunInstances uses.
import type { KeyPairInfo, Tag } from '@aws-sdk/client-ec2';
import { ApiError } from '../../errors.js';
import type { Row } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';

export type KeyPairRow = Row<'key_pairs'>;

export const keyNameNotFound = (name: string) => new ApiError('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`);
export const keyIdNotFound = (id: string) => new ApiError('InvalidKeyPair.NotFound', `The key pair ID '${id}' does not exist`);

export function toKeyPairInfo(row: KeyPairRow, tags: Tag[] | undefined, includePublicKey = false): KeyPairInfo {
  const out: KeyPairInfo = {
    KeyPairId: row.id,
    KeyFingerprint: row.fingerprint,
    KeyName: row.key_name,
    KeyType: row.key_type as KeyPairInfo['KeyType'],
    Tags: tags ?? [],
    CreateTime: new Date(row.created_at),
  };
  if (includePublicKey) out.PublicKey = row.public_key;
  return out;
}

export async function findKeyPairByName(ctx: Ctx, name: string): Promise<KeyPairRow | undefined> {
  return ctx.db
    .selectFrom('key_pairs')
    .selectAll()
    .where('account_id', '=', ctx.accountId)
    .where('region', '=', ctx.region)
    .where('key_name', '=', name)
    .executeTakeFirst();
}

/** RunInstances' KeyName: the caller's key in this region, or InvalidKeyPair.NotFound. */
export async function getKeyPairByName(ctx: Ctx, name: string): Promise<KeyPairRow> {
  const row = await findKeyPairByName(ctx, name);
  if (!row) throw keyNameNotFound(name);
  return row;
}
