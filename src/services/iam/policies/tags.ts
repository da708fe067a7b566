// IAM's tag checks (users, roles, policies, instance profiles share them): at most 50, keys 1–128
// and values 0–256 characters of IAM's tag alphabet, keys unique without regard to case.
import type { Tag } from '@aws-sdk/client-iam';
import { IamErrors } from '../errors.js';

const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const MAX_TAGS = 50;

function invalid(member: string, value: string, constraint: string): never {
  throw IamErrors.validationError(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`);
}

export function checkTagKey(key: string | undefined, member: string): string {
  if (key === undefined) throw IamErrors.validationError(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  if (key.length < 1) invalid(member, key, 'Member must have length greater than or equal to 1');
  if (key.length > 128) invalid(member, key, 'Member must have length less than or equal to 128');
  if (!TAG_CHARS.test(key)) invalid(member, key, 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+');
  return key;
}

/** The tags of a request, checked. */
export function checkTags(tags: readonly Tag[] | undefined): { key: string; value: string }[] {
  const list = tags ?? [];
  if (list.length > MAX_TAGS) invalid('tags', `[${list.map((t) => `${t.Key}=${t.Value}`).join(', ')}]`, `Member must have length less than or equal to ${MAX_TAGS}`);
  const out = list.map((t, i) => {
    const key = checkTagKey(t.Key, `tags.${i + 1}.member.key`);
    const value = t.Value;
    if (value === undefined)
      throw IamErrors.validationError(`1 validation error detected: Value null at 'tags.${i + 1}.member.value' failed to satisfy constraint: Member must not be null`);
    if (value.length > 256) invalid(`tags.${i + 1}.member.value`, value, 'Member must have length less than or equal to 256');
    if (!TAG_CHARS.test(value)) invalid(`tags.${i + 1}.member.value`, value, 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*');
    return { key, value };
  });
  const keys = new Set(out.map((t) => t.key.toLowerCase()));
  if (keys.size !== out.length) throw IamErrors.invalidInput('Duplicate tag keys found. Please note that Tag keys are case insensitive.');
  return out;
}

/** The tags an entity would have after adding `added` to `existing`: at most 50. */
export function checkTagCount(existing: readonly Tag[], added: readonly { key: string }[]): void {
  const keys = new Set(existing.map((t) => t.Key!.toLowerCase()));
  for (const t of added) keys.add(t.key.toLowerCase());
  if (keys.size > MAX_TAGS) throw IamErrors.limitExceeded('The number of tags has reached the maximum limit.');
}
