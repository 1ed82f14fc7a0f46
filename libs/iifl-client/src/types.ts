import type { FailureCode, HeadlessLoginFlow } from '@refresher/contracts';
import type { Egress } from './egress.ts';

export type HeadlessFlow = HeadlessLoginFlow;

/** What a headless login needs. Secrets: never logged, never put into an error. */
export interface LoginCredentials {
  userID: string;
  password: string;
  appKey: string;
  appSecret: string;
  totpSecret: string;
  /** The headless variant; default the configured IIFL_LOGIN_FLOW. */
  flow?: HeadlessFlow;
  /** Where this login's calls leave from (a source address or a proxy); absent: the OS picks. */
  egress?: Egress | undefined;
}

/** An authCode from IIFL's browser login (or pasted by hand), to be turned into a session. */
export interface AuthCodeExchange {
  userID: string;
  authCode: string;
  appSecret: string;
  /** Where the session step's calls leave from; absent: the OS picks. */
  egress?: Egress | undefined;
}

export interface LoginResult {
  /** The session token (`userSession`): sent as `Authorization: Bearer` on every later call. */
  token: string;
  /** The JWT's `exp`; without one, the configured end of the trading day (IIFL_TOKEN_VALID_UNTIL). */
  tokenValidity: Date;
  loginTime: Date;
}

export interface IiflClient {
  /**
   * One headless login attempt (no retries: the caller owns the retry policy), its new token used
   * once with `profile` before it is returned (TOKEN_UNUSABLE when that fails). Throws IiflError.
   */
  login(credentials: LoginCredentials, signal?: AbortSignal): Promise<LoginResult>;
  /** The session step alone, for an authCode from the browser login, checked as `login`'s. Throws IiflError. */
  sessionFromAuthCode(input: AuthCodeExchange, signal?: AbortSignal): Promise<LoginResult>;
  /**
   * `GET /profile` with the token: the client id it belongs to; IiflError when the session is dead.
   * `egress`: where the call leaves from (the account's, as its logins'; IIFL answers only the
   * app's whitelisted addresses); absent: the OS picks.
   */
  checkToken(token: string, signal?: AbortSignal, egress?: Egress): Promise<{ clientId: string }>;
  /** `POST /profile/logout`: ends the session; `egress` as for `checkToken`. */
  logout(token: string, signal?: AbortSignal, egress?: Egress): Promise<void>;
}

/** Marker type for the error thrown by every client call; see errors.ts. */
export interface IiflErrorShape {
  readonly code: FailureCode;
  /** IIFL's own code (`EC016`) or `HTTP 429`, when the broker gave one. */
  readonly brokerCode: string | null;
  readonly retryable: boolean;
  readonly message: string;
}
