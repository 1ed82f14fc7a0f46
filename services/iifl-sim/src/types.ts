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

export const ENDPOINTS = [
  'enckey',
  'validatepassword',
  'validatetotp',
  'getusersession',
  'profile',
  'logout',
] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

/** A forced answer on one endpoint, optionally only for one client id. */
export interface InjectedFault {
  endpoint: EndpointName;
  clientId?: string;
  /** Default 200 when `code` is set, else 500. */
  httpStatus?: number;
  /** IIFL error code, e.g. `EC016`: put at the start of `message` and in `code`. */
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
  /** A password step sooner than this after the key exchange for that client key gets EC057. */
  minKeyAssociationMs: number;
  /** Every API call answers 503. */
  outage: boolean;
  authCodeTtlMs: number;
  /** How long a login token (password step -> TOTP step) is accepted. */
  loginTokenTtlMs: number;
  /** A key exchange older than this is expired: the password step answers EC062. */
  serverKeyTtlMs: number;
  inject: InjectedFault[];
}

export interface ClientStats {
  /** validatepassword requests whose envelope named this client, whatever the answer. */
  passwordAttempts: number;
  /** validatetotp requests for this client, whatever the answer. */
  totpAttempts: number;
  sessionsIssued: number;
  /** Not_Ok answers for this client: by EC code, or `HTTP <status>` when there is none. */
  failures: Record<string, number>;
  /** Highest number of this client's logins seen in progress at once. */
  maxConcurrentLogins: number;
}

export interface SimStats {
  /** ISO time of start or of the last reset. */
  since: string;
  /** API requests per endpoint name (`unknown` for paths that do not exist). */
  requests: Record<string, number>;
  /** API responses per HTTP status (as a string key, e.g. "200", "429"). */
  responses: Record<string, number>;
  /** Every Not_Ok answer: by EC code, or `HTTP <status>` when there is none. */
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
  /** url + '/v1': the IIFL base URL for a client. */
  baseUrl: string;
  port: number;
  stats(): SimStats;
  resetStats(): void;
  /** Merges: `rateLimits` per key (0 removes a limit); `inject` replaces the list. */
  setKnobs(partial: Partial<SimKnobs>): void;
  knobs(): SimKnobs;
  /** Adds accounts, replacing any with the same client id. */
  addAccounts(accounts: SimAccount[]): void;
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
