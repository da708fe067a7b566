// CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair. The private key of a created
// pair is returned once and never stored; only the public key and its fingerprint are kept.
import type {
  CreateKeyPairRequest,
  DeleteKeyPairRequest,
  DeleteKeyPairResult,
  DescribeKeyPairsRequest,
  DescribeKeyPairsResult,
  ImportKeyPairRequest,
  ImportKeyPairResult,
  KeyPair,
  Tag,
} from '@aws-sdk/client-ec2';
import { ApiError, Errors } from '../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { Ctx, Ec2Handlers } from '../../context.js';
import { applyFilters, validateFilters } from '../common/filters.js';
import { deleteAllTags, putTags, tagsForType, tagsOf } from '../tags/store.js';
import { generateKeyPair, importPublicKey, type KeyFormat, type KeyType } from './crypto.js';
import { keyPairFilters } from './filters.js';
import { deleteKeyPairRow, findKeyPairByName, insertKeyPair, keyIdNotFound, keyNameNotFound, keyPairIdOf, keyPairsOf, toKeyPairInfo } from './store.js';

/** "Up to 255 ASCII characters"; control characters are refused too (they end up in key comments). */
export function validateKeyName(name: string | undefined): string {
  if (name === undefined || name === '') throw Errors.missingParameter('KeyName');
  if (name.length > 255) throw Errors.invalidParameterValue(`Value (${name}) for parameter keyName is invalid. Length exceeds maximum of 255.`);
  if (/[^\x00-\x7f]/.test(name)) {
    throw Errors.invalidParameterValue(`Value (${name}) for parameter keyName is invalid. Character sets beyond ASCII are not supported.`);
  }
  if (/[\x00-\x1f\x7f]/.test(name)) throw Errors.invalidParameterValue(`Value for parameter keyName is invalid. Control characters are not supported.`);
  return name;
}

function keyTypeOf(v: string | undefined): KeyType {
  if (v === undefined || v === 'rsa' || v === 'ed25519') return v ?? 'rsa';
  throw Errors.invalidParameterValue(`Invalid value '${v}' for KeyType. Valid values are: rsa, ed25519`);
}

function keyFormatOf(v: string | undefined): KeyFormat {
  if (v === undefined || v === 'pem' || v === 'ppk') return v ?? 'pem';
  throw Errors.invalidParameterValue(`Invalid value '${v}' for KeyFormat. Valid values are: pem, ppk`);
}

async function insertKey(ctx: Ctx, name: string, type: KeyType, fingerprint: string, publicKey: string, tags: Tag[]): Promise<string> {
  if (await findKeyPairByName(ctx, name)) throw new ApiError('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`);
  const id = newId('key');
  await insertKeyPair(ctx.db, {
    id,
    account_id: ctx.accountId,
    region: ctx.region,
    key_name: name,
    key_type: type,
    fingerprint,
    public_key: publicKey,
    created_at: ctx.now.toISOString(),
  });
  await putTags(ctx, 'key-pair', id, tags);
  return id;
}

async function createKeyPair(ctx: Ctx, input: CreateKeyPairRequest): Promise<KeyPair> {
  const name = validateKeyName(input.KeyName);
  const type = keyTypeOf(input.KeyType);
  const format = keyFormatOf(input.KeyFormat);
  const tags = tagsForType(input.TagSpecifications, ['key-pair'], 'key-pair');
  if (await findKeyPairByName(ctx, name)) throw new ApiError('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`);
  // EC2's public key of a created pair carries the key name as its comment.
  const key = generateKeyPair(type, format, name);
  const id = await insertKey(ctx, name, type, key.fingerprint, key.publicKeyOpenSsh, tags);
  const out: KeyPair = { KeyFingerprint: key.fingerprint, KeyMaterial: key.keyMaterial, KeyName: name, KeyPairId: id };
  if (tags.length) out.Tags = tags;
  return out;
}

async function importKeyPair(ctx: Ctx, input: ImportKeyPairRequest): Promise<ImportKeyPairResult> {
  const name = validateKeyName(input.KeyName);
  const tags = tagsForType(input.TagSpecifications, ['key-pair'], 'key-pair');
  // The Query protocol layer has already base64-decoded PublicKeyMaterial into bytes.
  const material = input.PublicKeyMaterial;
  if (!material || material.length === 0) throw Errors.missingParameter('PublicKeyMaterial');
  const key = importPublicKey(Buffer.from(material));
  const publicKey = key.comment ? `${key.publicKeyOpenSsh} ${key.comment}` : key.publicKeyOpenSsh;
  const id = await insertKey(ctx, name, key.type, key.fingerprint, publicKey, tags);
  const out: ImportKeyPairResult = { KeyFingerprint: key.fingerprint, KeyName: name, KeyPairId: id };
  if (tags.length) out.Tags = tags;
  return out;
}

async function describeKeyPairs(ctx: Ctx, input: DescribeKeyPairsRequest): Promise<DescribeKeyPairsResult> {
  validateFilters(input.Filters, keyPairFilters, { tags: () => [] });
  const names = [...new Set(input.KeyNames ?? [])];
  const ids = [...new Set(input.KeyPairIds ?? [])];
  const rows = await keyPairsOf(ctx.db, ctx.accountId, ctx.region, { names, ids });
  for (const n of names) if (!rows.some((r) => r.key_name === n)) throw keyNameNotFound(n);
  for (const id of ids) if (!rows.some((r) => r.id === id)) throw keyIdNotFound(id);
  const tags = await tagsOf(
    ctx.db,
    ctx.accountId,
    ctx.region,
    'key-pair',
    rows.map((r) => r.id),
  );
  const all = rows.map((r) => toKeyPairInfo(r, tags.get(r.id), input.IncludePublicKey === true));
  return { KeyPairs: applyFilters(all, input.Filters, keyPairFilters, { tags: (k) => k.Tags }) };
}

async function deleteKeyPair(ctx: Ctx, input: DeleteKeyPairRequest): Promise<DeleteKeyPairResult> {
  if (!input.KeyName && !input.KeyPairId) throw Errors.missingParameter('KeyName');
  const id = await keyPairIdOf(ctx.db, ctx.accountId, ctx.region, { id: input.KeyPairId, name: input.KeyName });
  // Deleting a key that does not exist succeeds, as on EC2.
  if (!id) return { Return: true };
  await deleteKeyPairRow(ctx.db, id);
  await deleteAllTags(ctx, id);
  return { Return: true, KeyPairId: id };
}

export const handlers = {
  CreateKeyPair: createKeyPair,
  ImportKeyPair: importKeyPair,
  DescribeKeyPairs: describeKeyPairs,
  DeleteKeyPair: deleteKeyPair,
} satisfies Ec2Handlers;
