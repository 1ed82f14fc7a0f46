import { backoffCeiling } from '@refresher/platform';
export interface FailureSlowdownOptions {
  /** Failures a client may have within the window before its answers are delayed. */
  freeFailures: number;
  /** Delay of the first delayed failure; it doubles with each further one... */
  baseDelayMs: number;
  /** ...up to this. */
  maxDelayMs: number;
  /** A client's count starts again this long after its last failure. */
  windowMs: number;
  /** Clients remembered at most (the oldest are forgotten first), so memory stays bounded. */
  maxClients?: number;
}

export interface FailureSlowdown {
  /** Records a failure of `client` and returns how long to wait before answering it. */
  fail(client: string, now?: number): number;
}

/**
 * Slows down clients that keep presenting wrong keys: in memory, per gateway replica. The answer
 * is delayed, never changed, so a slowed 401 is the same 401.
 */
export function createFailureSlowdown(options: FailureSlowdownOptions): FailureSlowdown {
  const maxClients = options.maxClients ?? 10_000;
  const clients = new Map<string, { count: number; last: number }>();
  return {
    fail(client, now = Date.now()) {
      const previous = clients.get(client);
      const count = previous && now - previous.last < options.windowMs ? previous.count + 1 : 1;
      clients.delete(client);
      clients.set(client, { count, last: now });
      if (clients.size > maxClients) clients.delete(clients.keys().next().value!);
      const over = count - options.freeFailures;
      if (over <= 0) return 0;
      return backoffCeiling({ baseMs: options.baseDelayMs, maxDelayMs: options.maxDelayMs }, over);
    },
  };
}
