// What AssumeRole and GetSessionToken answer about the credentials they issue.
import type { Credentials } from '@aws-sdk/client-sts';
import type { IssuedCredentials } from './sessions.js';

/**
 * The largest session token STS hands out, and the most MinimumSessionTokenSize may ask for
 * (STS's API reference: "The value must not exceed 4,096 bytes"). SessionTokenUtilization is a
 * token's share of it.
 */
export const MAX_SESSION_TOKEN_BYTES = 4096;

export function credentialsOf(c: IssuedCredentials): Credentials {
  return { AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration };
}

/** SessionTokenSize (bytes) and SessionTokenUtilization (percent of MAX_SESSION_TOKEN_BYTES, rounded up). */
export function tokenFacts(c: IssuedCredentials): { SessionTokenSize: number; SessionTokenUtilization: number } {
  const size = Buffer.byteLength(c.sessionToken, 'utf8');
  return { SessionTokenSize: size, SessionTokenUtilization: Math.ceil((size * 100) / MAX_SESSION_TOKEN_BYTES) };
}

/**
 * STS's answer to an MFA serial number it cannot validate. cumulo has no MFA devices, so no serial
 * number is associated with any user: SerialNumber and TokenCode are always refused this way.
 */
export const MFA_UNVERIFIABLE = 'MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.';
