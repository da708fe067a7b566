// The error codes STS answers, for the fuzzer's judge: the codes its API reference documents per
// action (the Query error codes of its modelled exceptions) and its "Common Errors", plus
// AccessDenied, which every STS denial says although the common list names AccessDeniedException.

/** Per action, as the STS API reference lists them (awsQueryError codes). */
export const stsActionErrors = [
  'ExpiredTokenException',
  'ExpiredToken',
  'IDPCommunicationError',
  'IDPRejectedClaim',
  'InvalidAuthorizationMessageException',
  'InvalidIdentityToken',
  'MalformedPolicyDocument',
  'PackedPolicyTooLarge',
  'RegionDisabledException',
] as const;

/** "Common Errors" of STS (and of every Query service). */
export const stsCommonErrors = [
  'AccessDeniedException',
  'IncompleteSignature',
  'InvalidAction',
  'InvalidClientTokenId',
  'InvalidParameterCombination',
  'InvalidParameterValue',
  'InvalidQueryParameter',
  'MalformedQueryString',
  'MissingAction',
  'MissingAuthenticationToken',
  'MissingParameter',
  'NotAuthorized',
  'OptInRequired',
  'RequestExpired',
  'ThrottlingException',
  'ValidationError',
] as const;

export const stsAcceptedClientErrors: ReadonlySet<string> = new Set<string>([...stsActionErrors, ...stsCommonErrors, 'AccessDenied']);
