import type { FailureCode } from '@refresher/contracts';

/** What a login needs. Secrets: never logged, never put into an error. */
export interface LoginCredentials {
  userID: string;
  password: string;
  appKey: string;
  appSecret: string;
  totpSecret: string;
}

export interface LoginResult {
  /** The session token (`userSession`): sent as `Authorization: Bearer` on every later call. */
  token: string;
  /** The earlier of the JWT's `exp` (when present) and loginTime + the configured validity. */
  tokenValidity: Date;
  loginTime: Date;
}

export interface IiflClient {
  /** One headless login attempt (no retries: the caller owns the retry policy). Throws IiflError. */
  login(credentials: LoginCredentials, signal?: AbortSignal): Promise<LoginResult>;
  /** `GET /profile` with the token: the client id it belongs to; IiflError when the session is dead. */
  checkToken(token: string, signal?: AbortSignal): Promise<{ clientId: string }>;
  /** `POST /profile/logout`: ends the session. */
  logout(token: string, signal?: AbortSignal): Promise<void>;
}

/** Marker type for the error thrown by every client call; see errors.ts. */
export interface IiflErrorShape {
  readonly code: FailureCode;
  /** IIFL's own code (`EC016`) or `HTTP 429`, when the broker gave one. */
  readonly brokerCode: string | null;
  readonly retryable: boolean;
  readonly message: string;
}
