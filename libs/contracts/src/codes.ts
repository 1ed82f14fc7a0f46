/**
 * Why a refresh failed. The IIFL client maps broker answers onto the first group; the pipeline adds
 * the second. `retryable` is decided by the code, in one place: {@link isRetryableFailure}.
 */
export const FailureCode = {
  // Rejections of the account or its credentials: never retried automatically (each try may count
  // towards a broker lockout).
  BadCredentials: 'BAD_CREDENTIALS',
  PasswordExpired: 'PASSWORD_EXPIRED',
  AccountBlocked: 'ACCOUNT_BLOCKED',
  ClientNotFound: 'CLIENT_NOT_FOUND',
  BadTotp: 'BAD_TOTP',
  TotpNotEnabled: 'TOTP_NOT_ENABLED',
  AppNotAuthorised: 'APP_NOT_AUTHORISED',
  IpNotAuthorised: 'IP_NOT_AUTHORISED',
  // Transient: retried with back-off within a bound.
  EncryptionKeyRejected: 'ENCRYPTION_KEY_REJECTED',
  RateLimited: 'RATE_LIMITED',
  BrokerUnavailable: 'BROKER_UNAVAILABLE',
  Timeout: 'TIMEOUT',
  UnexpectedResponse: 'UNEXPECTED_RESPONSE',
  // Raised by the pipeline rather than the broker.
  UserNotFound: 'USER_NOT_FOUND',
  CredentialsUnavailable: 'CREDENTIALS_UNAVAILABLE',
  Internal: 'INTERNAL',
} as const;
export type FailureCode = (typeof FailureCode)[keyof typeof FailureCode];

const RETRYABLE: ReadonlySet<FailureCode> = new Set<FailureCode>([
  FailureCode.EncryptionKeyRejected,
  FailureCode.RateLimited,
  FailureCode.BrokerUnavailable,
  FailureCode.Timeout,
  FailureCode.UnexpectedResponse,
  FailureCode.CredentialsUnavailable,
  FailureCode.Internal,
]);

export function isRetryableFailure(code: FailureCode): boolean {
  return RETRYABLE.has(code);
}

/** Codes that mean the stored credentials themselves are wrong: later runs skip the user. */
const CREDENTIAL_REJECTIONS: ReadonlySet<FailureCode> = new Set<FailureCode>([
  FailureCode.BadCredentials,
  FailureCode.PasswordExpired,
  FailureCode.AccountBlocked,
  FailureCode.ClientNotFound,
  FailureCode.BadTotp,
  FailureCode.TotpNotEnabled,
  FailureCode.AppNotAuthorised,
]);

export function isCredentialRejection(code: FailureCode): boolean {
  return CREDENTIAL_REJECTIONS.has(code);
}

/** Why a user was not logged in during a run. */
export const SkipReason = {
  IntegrationManaged: 'INTEGRATION_MANAGED',
  NotLive: 'NOT_LIVE',
  CredentialsRejected: 'CREDENTIALS_REJECTED',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** Error codes carried in the `Nats-Service-Error-Code` header of request-reply answers. */
export const ServiceErrorCode = {
  BadRequest: 400,
  NotFound: 404,
  Conflict: 409,
  Internal: 500,
  Unavailable: 503,
} as const;
export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];

/** The literal the legacy table stores in every credential column of an integration-managed user. */
export const INTEGRATION_MANAGED = 'INTEGRATION_MANAGED';
