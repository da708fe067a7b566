// STS's model constraints (lengths, ranges, patterns), checked as STS checks them: every failure of
// a request gathered into one ValidationError, "2 validation errors detected: Value 'a' at
// 'roleSessionName' failed to satisfy constraint: …; Value …".
import { IamErrors } from '../iam/errors.js';

export class Constraints {
  private readonly failures: string[] = [];

  private fail(value: unknown, member: string, constraint: string): void {
    this.failures.push(`Value '${show(value)}' at '${member}' failed to satisfy constraint: Member must ${constraint}`);
  }

  /** A string's length (absent values pass: required members are the protocol's). */
  length(member: string, value: string | undefined, min: number, max?: number): this {
    if (value === undefined) return this;
    if (value.length < min) this.fail(value, member, `have length greater than or equal to ${min}`);
    if (max !== undefined && value.length > max) this.fail(value, member, `have length less than or equal to ${max}`);
    return this;
  }

  /** A regular expression the whole value must match; `shown` is how STS writes the pattern. */
  pattern(member: string, value: string | undefined, re: RegExp, shown: string): this {
    if (value !== undefined && !re.test(value)) this.fail(value, member, `satisfy regular expression pattern: ${shown}`);
    return this;
  }

  range(member: string, value: number | undefined, min: number, max: number): this {
    if (value === undefined) return this;
    if (value < min) this.fail(value, member, `have value greater than or equal to ${min}`);
    if (value > max) this.fail(value, member, `have value less than or equal to ${max}`);
    return this;
  }

  /** A list's length. */
  count(member: string, list: readonly unknown[] | undefined, max: number): this {
    if (list !== undefined && list.length > max) this.fail(list, member, `have length less than or equal to ${max}`);
    return this;
  }

  /** Throws the ValidationError of every failure so far. */
  check(): void {
    const n = this.failures.length;
    if (n) throw IamErrors.validationError(`${n} validation error${n === 1 ? '' : 's'} detected: ${this.failures.join('; ')}`);
  }
}

function show(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `${Object.entries(v)
      .map(([k, x]) => `${k}=${show(x)}`)
      .join(', ')}`;
  }
  return String(v);
}

// The patterns of STS's model, as its messages write them.
export const PATTERNS = {
  /** roleSessionNameType, sourceIdentityType */
  name: { re: /^[\w+=,.@-]*$/, shown: '[\\w+=,.@-]*' },
  /** externalIdType */
  externalId: { re: /^[\w+=,.@:/-]*$/, shown: '[\\w+=,.@:\\/-]*' },
  /** serialNumberType */
  serialNumber: { re: /^[\w+=/:,.@-]*$/, shown: '[\\w+=/:,.@-]*' },
  /** tokenCodeType */
  tokenCode: { re: /^\d*$/, shown: '[\\d]*' },
  /** arnType, and session policy documents */
  text: {
    re: /^[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u,
    shown: '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+',
  },
  /** sessionPolicyDocumentType */
  sessionPolicy: { re: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/, shown: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+' },
  /** tagKeyType */
  tagKey: { re: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u, shown: '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+' },
  /** tagValueType */
  tagValue: { re: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, shown: '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*' },
} as const;
