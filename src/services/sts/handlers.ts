// STS: role sessions, session tokens, the caller's identity, and decoding authorization messages.
import type { StsHandlers } from '../context.js';
import { assumeRole } from './assume-role.js';
import { decodeAuthorizationMessage } from './authorization-message.js';
import { getCallerIdentity } from './caller-identity.js';
import { getSessionToken } from './session-token.js';

export const handlers = {
  AssumeRole: assumeRole,
  DecodeAuthorizationMessage: decodeAuthorizationMessage,
  GetCallerIdentity: getCallerIdentity,
  GetSessionToken: getSessionToken,
} satisfies StsHandlers;
