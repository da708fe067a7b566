// IAM's ARNs and the validation of the names and paths inside them.
import { IamErrors } from './errors.js';

export type IamArnKind = 'user' | 'group' | 'role' | 'policy' | 'instance-profile';

/** arn:aws:iam::123456789012:user/division/alice (the path is part of the ARN). */
export function iamArn(accountId: string, kind: IamArnKind, path: string, name: string): string {
  return `arn:aws:iam::${accountId}:${kind}${path}${name}`;
}

/** The ARN of a role's session: arn:aws:sts::123456789012:assumed-role/web/i-0123456789abcdef0 (no path). */
export function assumedRoleArn(accountId: string, roleName: string, sessionName: string): string {
  return `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
}

const NAME = /^[\w+=,.@-]+$/;

/**
 * IAM's check of a name member, with its wording: "1 validation error detected: Value 'a b' at
 * 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+".
 */
export function checkName(member: string, value: string, max: number): string {
  if (value.length < 1 || value.length > max) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
  if (!NAME.test(value)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
    );
  }
  return value;
}

/** A path: '/' alone, or '/' … '/' of printable ASCII, at most 512 characters. */
export function checkPath(member: string, value: string | undefined): string {
  const path = value ?? '/';
  if (path.length > 512 || !/^(\/|\/[\u0021-\u007E]+\/)$/.test(path)) {
    throw IamErrors.validationError(
      `1 validation error detected: Value '${path}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)`,
    );
  }
  return path;
}
