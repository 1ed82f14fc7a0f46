import { randomUUID } from 'node:crypto';
import type { JetStreamClient, NatsConnection } from 'nats';
import { Subjects, TokenInvalidated, isRetryableFailure, type FailureCode, type TokenRefreshed } from '@refresher/contracts';
import { encodeJson, type Logger } from '@refresher/platform';
import { startRefreshRun, type UserOutcome } from '@refresher/refresh-runs';
import type { Verdict } from './token-probe.ts';

export type PublishInvalidated = (event: TokenInvalidated) => Promise<void>;

/** `tokens.invalidated.<userID>` for a stored token found dead: names the token by its loginTime, never carries it. */
export function invalidatedEvent(token: TokenRefreshed, verdict: Verdict & { kind: 'dead' }, at: Date): TokenInvalidated {
  return TokenInvalidated.parse({
    v: 1,
    eventId: randomUUID(),
    userID: token.userID,
    loginTime: token.loginTime,
    invalidatedAt: at.toISOString(),
    reason: verdict.reason,
    brokerCode: verdict.brokerCode?.slice(0, 32) ?? null,
  });
}

/**
 * Stores the event in the events stream (persistence records it). The message id names the user
 * and the dead token, so two replicas announcing the same death store it once.
 */
export function createInvalidationPublisher(js: JetStreamClient): PublishInvalidated {
  return async (event) => {
    await js.publish(Subjects.invalidated(event.userID), encodeJson(event), {
      msgID: `invalidated:${event.userID}:${Date.parse(event.loginTime)}`,
    });
  };
}

/**
 * Whether a refresh that ended in `outcome` (null: none in time) may be tried again for the same
 * dead token: only when it may pass on its own. A login (refreshed), a login link sent (skipped
 * LOGIN_REQUIRED) or refused credentials are final for that token: never a link or a password per
 * interval.
 */
export function mayRetry(outcome: UserOutcome | null): boolean {
  if (outcome === null) return true;
  if (outcome.outcome !== 'failed' || outcome.code === null) return false;
  // A code this version does not know is not retried.
  return isRetryableFailure(outcome.code as FailureCode);
}

export interface WatchRefreshDeps {
  nc: NatsConnection;
  log: Logger;
  /** How long the refresh's outcome is awaited. */
  waitMs: number;
  now(): Date;
  /** The watch stops: no run is started, and a run's outcome is no longer awaited. */
  signal: AbortSignal;
}

/**
 * A one-user run with trigger `watch`: iifl-auth's usual handling of the request logs a headless
 * user in and sends a redirect-flow user a login link. Resolves with when another refresh may be
 * started for the same dead token (now, when the outcome may pass on its own), or null.
 */
export async function refreshForWatch(deps: WatchRefreshDeps, userID: string): Promise<string | null> {
  if (deps.signal.aborted) return deps.now().toISOString();
  let run: Awaited<ReturnType<typeof startRefreshRun>>;
  try {
    run = await startRefreshRun(deps.nc, { trigger: 'watch', userID });
  } catch (err) {
    deps.log.warn({ err, userID }, 'could not start the refresh of a dead token; trying again next interval');
    return deps.now().toISOString();
  }
  // Closing the run ends the wait (with no outcome) when the watch stops.
  const close = () => run.close();
  deps.signal.addEventListener('abort', close, { once: true });
  try {
    const outcome = deps.signal.aborted ? null : await run.waitForUser(userID, deps.waitMs);
    const retry = mayRetry(outcome);
    deps.log.info(
      { userID, runId: run.start.runId, outcome: outcome?.outcome ?? null, code: outcome?.code ?? null, retry },
      'refresh after a dead token',
    );
    return retry ? deps.now().toISOString() : null;
  } finally {
    deps.signal.removeEventListener('abort', close);
    run.close();
  }
}
