import type { RequestHandler } from 'express';
import type { NatsConnection } from 'nats';
import type { Keyring } from '@refresher/credential-crypto';
import type { Logger, Registry } from '@refresher/platform';
import type { ApiKey, Scope } from '../auth.ts';
import type { FailureSlowdownOptions } from '../failure-slowdown.ts';
import type { RateLimitOptions } from '../rate-limit.ts';

/** What the HTTP layer needs; `createHttpApp(deps)` is all a test has to build. */
export interface HttpDeps {
  nc: NatsConnection;
  /** The keys accepted, each with its scopes. */
  apiKeys: readonly ApiKey[];
  /** Encrypts credentials given to the user-management routes; without it those routes do not exist. */
  keyring?: Keyring | null;
  /** Per-key limit of the refresh routes (default: burst 10, 30 per minute). */
  refreshRateLimit?: RateLimitOptions;
  /** Slow-down of clients that keep presenting wrong keys (default: 5 free, 250 ms doubling to 5 s). */
  failureSlowdown?: FailureSlowdownOptions;
  /** Express "trust proxy", to take the client address from X-Forwarded-For behind a proxy. */
  trustProxy?: string;
  /** How long a refresh call waits for its run before answering 202. */
  waitMs: number;
  log: Logger;
  /** Largest JSON body: bytes or a size such as "16kb" (default 16kb). */
  bodyLimit?: string | number;
  /** Timeout of each request to persistence (default 10 s). */
  persistenceTimeoutMs?: number;
  /** Timeout of each request to iifl-auth's login endpoints (default 40 s: a redeem waits for IIFL). */
  iiflAuthTimeoutMs?: number;
  /** Health of the NATS connection (default: not closed). */
  isHealthy?: () => boolean;
  /** Aborted when the gateway stops: waiting refresh calls answer 202 at once. */
  shutdownSignal?: AbortSignal;
  /** Where the HTTP metrics go, served at `/metrics` (default: a registry of its own). */
  metrics?: Registry;
}

export interface RouteDeps {
  nc: NatsConnection;
  waitMs: number;
  persistenceTimeoutMs: number;
  iiflAuthTimeoutMs: number;
  log: Logger;
  shutdownSignal: AbortSignal | undefined;
  /** What a route needs before its handler: the scope check (and, for refreshes, the rate limit). */
  allow(scope: Scope): RequestHandler[];
}
