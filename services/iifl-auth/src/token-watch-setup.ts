import { StorageType, type KV, type NatsConnection } from 'nats';
import { Buckets } from '@refresher/contracts';
import type { IiflClient } from '@refresher/iifl-client';
import { ensureBucket, type Logger } from '@refresher/platform';
import type { AccountEgress } from './account-egress.ts';
import { checkUser, type TokenCheckDeps } from './token-check.ts';
import { createTokenCheckMarks } from './token-check-marks.ts';
import { createInvalidationPublisher, refreshForWatch } from './token-invalidation.ts';
import { startTokenWatch, type TokenWatch } from './token-watch.ts';

/**
 * A check of a user counts for this share of the interval: a replica whose next visit comes a
 * little early (the list of users grew, timers drift) still finds its user due, and two replicas
 * never check one user twice within it.
 */
export const DUE_FRACTION = 0.9;
/** The marks outlive any token (a day): only users who left expire. */
const MARKS_TTL_MS = 26 * 60 * 60_000;
/** Token checks under way at once in one replica (each is one `GET /profile`). */
const MAX_CHECKS_IN_FLIGHT = 16;
/** A refresh after a dead token is awaited at least this long (a login may wait for a fresh TOTP step). */
const MIN_REFRESH_WAIT_MS = 3 * 60_000;

export interface TokenWatchSettings {
  /** TOKEN_CHECK_INTERVAL_MS: each stored login token is checked once per interval; 0: no watch. */
  intervalMs: number;
  /** STREAM_REPLICAS: copies of the bucket of checks. */
  replicas: number;
}

/** The keys of a bucket: the users who have a stored token. */
export async function listKeys(kv: Pick<KV, 'keys'>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  return keys;
}

/**
 * Watches the stored tokens during the day (see token-watch.ts, token-check.ts), or does nothing
 * when the interval is 0. Each check leaves from `egressOf(userID)`, the user's login egress.
 */
export async function startDayWatch(
  nc: NatsConnection,
  client: Pick<IiflClient, 'checkToken'>,
  settings: TokenWatchSettings,
  log: Logger,
  egressOf: AccountEgress,
): Promise<TokenWatch | null> {
  if (settings.intervalMs === 0) {
    log.info('token watch off (TOKEN_CHECK_INTERVAL_MS=0)');
    return null;
  }
  const js = nc.jetstream();
  const [tokensKv, marksKv] = await Promise.all([
    js.views.kv(Buckets.tokens, { bindOnly: true }),
    ensureBucket(nc, Buckets.tokenChecks, { history: 1, ttl: MARKS_TTL_MS, storage: StorageType.File }, settings.replicas),
  ]);
  const watchLog = log.child({ module: 'token-watch' });
  const stopping = new AbortController();
  const followUps = new Set<Promise<unknown>>();
  const refreshWaitMs = Math.max(settings.intervalMs, MIN_REFRESH_WAIT_MS);
  const now = () => new Date();
  const deps: TokenCheckDeps = {
    tokensKv,
    marks: createTokenCheckMarks({ kv: marksKv, dueAfterMs: Math.round(settings.intervalMs * DUE_FRACTION) }),
    client,
    egressOf,
    publishInvalidated: createInvalidationPublisher(js),
    refresh: (userID) => refreshForWatch({ nc, log: watchLog, waitMs: refreshWaitMs, now, signal: stopping.signal }, userID),
    refreshWaitMs,
    detach: (task) => {
      const tracked = task
        .catch((err: unknown) => watchLog.warn({ err }, 'refresh after a dead token failed'))
        .finally(() => followUps.delete(tracked));
      followUps.add(tracked);
    },
    now,
    log: watchLog,
  };
  const watch = startTokenWatch({
    listUsers: () => listKeys(tokensKv),
    check: (userID, signal) => checkUser(deps, userID, signal),
    intervalMs: settings.intervalMs,
    maxInFlight: MAX_CHECKS_IN_FLIGHT,
    log: watchLog,
  });
  watchLog.info({ intervalMs: settings.intervalMs }, 'token watch started');
  return {
    inFlight: () => watch.inFlight(),
    stop: async () => {
      // Refreshes under way stop waiting for their outcome (their runs go on without this replica).
      stopping.abort();
      await watch.stop();
      await Promise.allSettled([...followUps]);
    },
  };
}
