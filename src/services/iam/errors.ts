// IAM's and STS's own errors (the Query protocol's <ErrorResponse>), with IAM's HTTP statuses.
import { ApiError } from '../errors.js';

export type IamEntityKind = 'user' | 'group' | 'role' | 'policy' | 'instance profile' | 'login profile' | 'access key' | 'policy version';

const entityWords: Record<IamEntityKind, string> = {
  user: 'user',
  group: 'group',
  role: 'role',
  policy: 'policy',
  'instance profile': 'Instance Profile',
  'login profile': 'Login Profile for User',
  'access key': 'Access Key',
  'policy version': 'Policy Version',
};

export const IamErrors = {
  /** e.g. "The user with name alice cannot be found." */
  noSuchEntity: (kind: IamEntityKind, name: string) => new ApiError('NoSuchEntity', `The ${entityWords[kind]} with name ${name} cannot be found.`, 404),
  noSuchEntityMessage: (message: string) => new ApiError('NoSuchEntity', message, 404),
  /** e.g. "User with name alice already exists." */
  entityAlreadyExists: (kind: 'User' | 'Group' | 'Role' | 'Policy' | 'Instance Profile' | 'Login Profile', name: string) =>
    new ApiError('EntityAlreadyExists', `${kind} with name ${name} already exists.`, 409),
  entityAlreadyExistsMessage: (message: string) => new ApiError('EntityAlreadyExists', message, 409),
  deleteConflict: (message: string) => new ApiError('DeleteConflict', message, 409),
  limitExceeded: (message: string) => new ApiError('LimitExceeded', message, 409),
  malformedPolicyDocument: (message: string) => new ApiError('MalformedPolicyDocument', message, 400),
  validationError: (message: string) => new ApiError('ValidationError', message, 400),
  invalidInput: (message: string) => new ApiError('InvalidInput', message, 400),
  unmodifiableEntity: (message: string) => new ApiError('UnmodifiableEntity', message, 400),
  passwordPolicyViolation: (message: string) => new ApiError('PasswordPolicyViolation', message, 400),
  /** IAM's, STS's and the other Query services' denial. */
  accessDenied: (message: string) => new ApiError('AccessDenied', message, 403),
  /** STS: temporary credentials past their expiry. */
  expiredToken: (message = 'The security token included in the request is expired') => new ApiError('ExpiredToken', message, 403),
  invalidClientTokenId: (message = 'The security token included in the request is invalid.') => new ApiError('InvalidClientTokenId', message, 403),
  /** STS AssumeRole: a session policy or tags too large for the packed size. */
  packedPolicyTooLarge: (message: string) => new ApiError('PackedPolicyTooLarge', message, 400),
  invalidAuthorizationMessage: (message = 'The message is not valid.') => new ApiError('InvalidAuthorizationMessageException', message, 400),
};
