import type { NatsConnection } from 'nats';
import type { Logger } from '@refresher/platform';

/** What the HTTP layer needs; `createHttpApp(deps)` is all a test has to build. */
export interface HttpDeps {
  nc: NatsConnection;
  apiKey: string;
  /** How long a refresh call waits for its run before answering 202. */
  waitMs: number;
  log: Logger;
  /** Largest JSON body: bytes or a size such as "16kb" (default 16kb). */
  bodyLimit?: string | number;
  /** Timeout of each request to persistence (default 10 s). */
  persistenceTimeoutMs?: number;
  /** Health of the NATS connection (default: not closed). */
  isHealthy?: () => boolean;
  /** Aborted when the gateway stops: waiting refresh calls answer 202 at once. */
  shutdownSignal?: AbortSignal;
}

export interface RouteDeps {
  nc: NatsConnection;
  waitMs: number;
  persistenceTimeoutMs: number;
  log: Logger;
  shutdownSignal: AbortSignal | undefined;
}
