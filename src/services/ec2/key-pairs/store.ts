// Key pair rows ↔ EC2's KeyPairInfo, and the lookup RunInstances uses.
import type { KeyPairInfo, Tag } from '@aws-sdk/client-ec2';
import { ApiError } from '../../errors.js';
import type { NewRow, Row } from '../../../store/schema.js';
import type { Ctx } from '../../context.js';
import type { Tx } from '../../../store/db.js';

// For the handlers.

/** The account's key pairs in the region (all, or those with these names or ids), by name. */
export async function keyPairsOf(db: Tx, accountId: string, region: string, match: { names: string[]; ids: string[] }): Promise<KeyPairRow[]> {
  let q = db.selectFrom('key_pairs').selectAll().where('account_id', '=', accountId).where('region', '=', region);
  if (match.names.length || match.ids.length) {
    q = q.where((eb) => {
      const parts = [];
      if (match.names.length) parts.push(eb('key_name', 'in', match.names));
      if (match.ids.length) parts.push(eb('id', 'in', match.ids));
      return eb.or(parts);
    });
  }
  return q.orderBy('key_name').execute();
}

/** The id of the account's key pair with this id, or else with this name. */
export async function keyPairIdOf(db: Tx, accountId: string, region: string, by: { id?: string; name?: string }): Promise<string | undefined> {
  let q = db.selectFrom('key_pairs').select('id').where('account_id', '=', accountId).where('region', '=', region);
  q = by.id ? q.where('id', '=', by.id) : q.where('key_name', '=', by.name!);
  return (await q.executeTakeFirst())?.id;
}

export async function insertKeyPair(db: Tx, row: NewRow<'key_pairs'>): Promise<void> {
  await db.insertInto('key_pairs').values(row).execute();
}

export async function deleteKeyPairRow(db: Tx, id: string): Promise<void> {
  await db.deleteFrom('key_pairs').where('id', '=', id).execute();
}

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
  return ctx.db.selectFrom('key_pairs').selectAll().where('account_id', '=', ctx.accountId).where('region', '=', ctx.region).where('key_name', '=', name).executeTakeFirst();
}

/** RunInstances' KeyName: the caller's key in this region, or InvalidKeyPair.NotFound. */
export async function getKeyPairByName(ctx: Ctx, name: string): Promise<KeyPairRow> {
  const row = await findKeyPairByName(ctx, name);
  if (!row) throw keyNameNotFound(name);
  return row;
}
