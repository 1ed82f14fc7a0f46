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
  /**
   * HTTP 401/403 without a known code on a login step. How IIFL refuses a caller whose IP is not
   * whitelisted is undocumented; this is the most likely reading, and the password is not resent.
   */
  IpNotAuthorised: 'IP_NOT_AUTHORISED',
  /**
   * An answer to a credential step (password, TOTP, session) that the client does not recognise: an
   * unknown ECnnn, a documented "field missing" code, or a body without the expected field. Never
   * resent: an answer we do not understand must not cost the account another password attempt.
   */
  BrokerRejected: 'BROKER_REJECTED',
  // Transient: retried with back-off within a bound.
  EncryptionKeyRejected: 'ENCRYPTION_KEY_REJECTED',
  RateLimited: 'RATE_LIMITED',
  BrokerUnavailable: 'BROKER_UNAVAILABLE',
  Timeout: 'TIMEOUT',
  /** An answer not understood before any credential was sent (the key exchange): safe to retry. */
  UnexpectedResponse: 'UNEXPECTED_RESPONSE',
  /** EC044 on a login step: the login token ran out; the login starts again. */
  LoginExpired: 'LOGIN_EXPIRED',
  /**
   * The new session token failed its first use (`profile`): a dead session, or one that answers for
   * another client. Not a rejection of the credentials: the login is tried again like a transient fault.
   */
  TokenUnusable: 'TOKEN_UNUSABLE',
  // Raised by the pipeline rather than the broker.
  UserNotFound: 'USER_NOT_FOUND',
  CredentialsUnavailable: 'CREDENTIALS_UNAVAILABLE',
  /**
   * The stored row lacks a credential its flow needs (persistence's 409): never sent to IIFL, so no
   * rejection mark; not retried, the next run tries again until the row is fixed.
   */
  CredentialsIncomplete: 'CREDENTIALS_INCOMPLETE',
  Internal: 'INTERNAL',
} as const;
export type FailureCode = (typeof FailureCode)[keyof typeof FailureCode];

const RETRYABLE: ReadonlySet<FailureCode> = new Set<FailureCode>([
  FailureCode.EncryptionKeyRejected,
  FailureCode.RateLimited,
  FailureCode.BrokerUnavailable,
  FailureCode.Timeout,
  FailureCode.UnexpectedResponse,
  FailureCode.LoginExpired,
  FailureCode.TokenUnusable,
  FailureCode.CredentialsUnavailable,
  FailureCode.Internal,
]);

export function isRetryableFailure(code: FailureCode): boolean {
  return RETRYABLE.has(code);
}

/**
 * Codes after which the account is not logged in again automatically: the stored credentials (or
 * the account, or this deployment's standing at IIFL) were refused, or IIFL answered a credential
 * in a way we do not understand. Later all-users runs skip the user until its credentials change
 * or an operator refreshes it explicitly.
 */
const CREDENTIAL_REJECTIONS: ReadonlySet<FailureCode> = new Set<FailureCode>([
  FailureCode.BadCredentials,
  FailureCode.PasswordExpired,
  FailureCode.AccountBlocked,
  FailureCode.ClientNotFound,
  FailureCode.BadTotp,
  FailureCode.TotpNotEnabled,
  FailureCode.AppNotAuthorised,
  FailureCode.IpNotAuthorised,
  FailureCode.BrokerRejected,
]);

export function isCredentialRejection(code: FailureCode): boolean {
  return CREDENTIAL_REJECTIONS.has(code);
}

/** Why a user was not logged in during a run. */
export const SkipReason = {
  IntegrationManaged: 'INTEGRATION_MANAGED',
  NotLive: 'NOT_LIVE',
  CredentialsRejected: 'CREDENTIALS_REJECTED',
  /** The account logs in through IIFL's browser redirect: its holder was sent a login link. */
  LoginRequired: 'LOGIN_REQUIRED',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** The literal the legacy table stores in every credential column of an integration-managed user. */
export const INTEGRATION_MANAGED = 'INTEGRATION_MANAGED';

/**
 * How an account logs in at IIFL (spec, "The headless login", "A second headless variant", "The
 * documented flow"): `headless-v1` is the existing system's five steps, `headless-v2` IIFL's web
 * app's idaas variant, `redirect` the browser login IIFL documents.
 */
export const LOGIN_FLOWS = ['headless-v1', 'headless-v2', 'redirect'] as const;
export type LoginFlow = (typeof LOGIN_FLOWS)[number];
export type HeadlessLoginFlow = Exclude<LoginFlow, 'redirect'>;

const FAILURE_CODES: ReadonlySet<string> = new Set(Object.values(FailureCode));

/** {@link isRetryableFailure} for a code read back from storage: an unknown code is not retryable. */
export function isRetryableCode(code: string | null): boolean {
  return code !== null && FAILURE_CODES.has(code) && isRetryableFailure(code as FailureCode);
}
