/** One IIFL account the simulator knows. `blocked` accounts fail the password step with EC004. */
export interface SimAccount {
  clientId: string;
  password: string;
  appKey: string;
  appSecret: string;
  /** Base32 RFC 6238 seed. */
  totpSecret: string;
  blocked?: boolean;
}

/**
 * Endpoint names, as used by `requests` in the stats, `rateLimits` and `inject`. The first six are
 * the v1 headless login and the session calls; then the second headless variant (`vendor-*` on the
 * API host, `v2-*` on the idaas host); then the browser login page (`GET /` and `POST /`).
 */
export const ENDPOINTS = [
  'enckey',
  'validatepassword',
  'validatetotp',
  'getusersession',
  'profile',
  'logout',
  'vendor-details',
  'v2-enckey',
  'v2-password',
  'v2-totp',
  'vendor-authorize',
  'login-page',
  'login-submit',
] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

/**
 * How answers are laid out:
 * - `documented`: IIFL's documentation and IIFL's own code (`{"cPubKey"}` alone, `result.token`,
 *   `{"status":"Ok","userSession"}`, failures with the code in `status`);
 * - `legacy`: what the existing system met (`result[0].seData`, `result[0].token`, ..., failures as
 *   `Not_Ok` with the code in `result[0].status`);
 * - `sealed`: as documented, but answers to calls whose client key is known come as
 *   `{"cRespEncData": envelope}`.
 */
export const ANSWER_SHAPES = ['documented', 'legacy', 'sealed'] as const;
export type AnswerShape = (typeof ANSWER_SHAPES)[number];

/** The session JWT's `exp`: next midnight in India, none, or this many ms after issue. */
export type SessionExp = 'ist-midnight' | 'none' | number;

/** A forced answer on one endpoint, optionally only for one client id. */
export interface InjectedFault {
  endpoint: EndpointName;
  clientId?: string;
  /** Default 200 when `code` is set, else 500. */
  httpStatus?: number;
  /** IIFL error code, e.g. `EC016`: answered in the current `answerShape`. */
  code?: string;
  message?: string;
  /** How many more times it applies; unlimited when absent. */
  remaining?: number;
}

export interface SimKnobs {
  /** Added to every API call. */
  latencyMs: number;
  /** Plus a uniform random 0..jitterMs. */
  jitterMs: number;
  /**
   * Requests per second per endpoint name, per client id (per bearer session for profile and
   * logout); over it the answer is HTTP 429. 0 removes a limit.
   */
  rateLimits: Record<string, number>;
  /** Share 0..1 of API calls answered HTTP 500, 502 or 503. */
  errorRate: number;
  /** Share 0..1 of API calls that never answer (held until the client gives up or close()). */
  hangRate: number;
  /** A v1 password step sooner than this after the key exchange for that client key gets EC062. */
  minKeyAssociationMs: number;
  /** Every API call answers 503. */
  outage: boolean;
  authCodeTtlMs: number;
  /** How long a login token (password step -> TOTP step) or a v2 access token is accepted. */
  loginTokenTtlMs: number;
  /** A key exchange older than this is expired: the password step answers EC062. */
  serverKeyTtlMs: number;
  /** How answers are laid out (default `documented`). */
  answerShape: AnswerShape;
  /** The password steps (v1 and v2) answer a bare HTTP 403 `Forbidden` (text/plain). */
  passwordForbidden: boolean;
  /** The session JWT's `exp` (default `ist-midnight`). */
  sessionExp: SessionExp;
  /**
   * Client ids whose sessions `profile` refuses as dead (HTTP 401, EC044), from the moment they are
   * issued: a token that fails its first use. 401/EC044 for a dead session [S]; that IIFL would
   * refuse a token it has just issued rests on none (a fault for tests to produce).
   */
  profileRefuses: string[];
  /**
   * Source addresses whitelisted per client id (spec, "Limits and lifetime": each app lists its
   * static IPs, calls from elsewhere are rejected). A call about a listed client from any other
   * address is answered with a bare HTTP 403; clients not listed are served from anywhere.
   */
  allowedSources: Record<string, string[]>;
  inject: InjectedFault[];
}

export interface ClientStats {
  /** Password steps (v1, v2, login page) that named this client, whatever the answer. */
  passwordAttempts: number;
  /** TOTP steps (v1, v2, login page) for this client, whatever the answer. */
  totpAttempts: number;
  /** The RFC 6238 step of the simulator clock at each TOTP attempt, the last 20, oldest first. */
  totpAttemptSteps: number[];
  sessionsIssued: number;
  /** Failures for this client: by EC code, or `HTTP <status>` / `Not_Ok` when there is none. */
  failures: Record<string, number>;
  /** Highest number of this client's logins seen in progress at once. */
  maxConcurrentLogins: number;
  /** Calls about this client by the source address they came from (IPv4-mapped addresses as IPv4). */
  sources: Record<string, number>;
}

export interface SimStats {
  /** ISO time of start or of the last reset. */
  since: string;
  /** API requests per endpoint name (`unknown` for paths that do not exist). */
  requests: Record<string, number>;
  /** API responses per HTTP status (as a string key, e.g. "200", "429"). */
  responses: Record<string, number>;
  /** Every failure: by EC code, or `HTTP <status>` / `Not_Ok` when there is none. */
  failuresByCode: Record<string, number>;
  clients: Record<string, ClientStats>;
  keyExchanges: number;
  loginsStarted: number;
  sessionsIssued: number;
  /** Highest overlap of logins in progress for one client, over all clients. */
  maxConcurrentLoginsPerClient: number;
  /** The client where that highest overlap was seen first (null when none). */
  maxConcurrentLoginsClientId: string | null;
  /** TOTP attempts whose code was one already accepted for that client. */
  totpStepReuse: number;
  injectedFaults: number;
  /** Requests answered 5xx by `errorRate` or `outage`. */
  simulatedErrors: number;
  /** Requests held by `hangRate`. */
  hungRequests: number;
  rateLimited: number;
}

export interface Simulator {
  /** http://127.0.0.1:<port> */
  url: string;
  /** url + '/v1': the IIFL API base URL for a client. */
  baseUrl: string;
  /** url + '/v2/access': the idaas base URL of the second headless variant. */
  idaasUrl: string;
  /** url + '/': the browser login page (`?v=1&appkey=...&redirecturl=...`). */
  loginPageUrl: string;
  /** The public key (SPKI PEM) that verifies the RS256 session tokens. */
  sessionPublicKey: string;
  port: number;
  stats(): SimStats;
  resetStats(): void;
  /** Merges: `rateLimits` per key (0 removes a limit); `inject` replaces the list. */
  setKnobs(partial: Partial<SimKnobs>): void;
  knobs(): SimKnobs;
  /** Adds accounts, replacing any with the same client id. */
  addAccounts(accounts: SimAccount[]): void;
  /** The client's live session token (a login ends the one before), or undefined; for tests. */
  currentSession(clientId: string): string | undefined;
  close(): Promise<void>;
}

export interface StartSimulatorOptions {
  /** 0 = ephemeral. */
  port?: number;
  host?: string;
  accounts: SimAccount[];
  knobs?: Partial<SimKnobs>;
  /** Clock in epoch ms for every time rule (TOTP, expiries, rate limits, JWT). */
  now?: () => number;
}
