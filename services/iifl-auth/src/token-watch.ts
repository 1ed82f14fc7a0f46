import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '@refresher/platform';

/** The watch's clock (tests drive it). */
export interface WatchClock {
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: WatchClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepFor(Math.max(0, ms), undefined, { signal }).catch(() => {}),
};

export interface TokenWatchDeps {
  /** The users with a stored token (the keys of the bucket `tokens`), read afresh every cycle. */
  listUsers(): Promise<string[]>;
  /** One visit of a user (token-check.ts); `signal` aborts on stop. */
  check(userID: string, signal: AbortSignal): Promise<unknown>;
  /** Each user is visited once per interval: with N users, one visit every interval/N. */
  intervalMs: number;
  /** Visits of this replica under way at once at most; a slot that finds them all busy is passed over. */
  maxInFlight: number;
  log: Logger;
  clock?: WatchClock;
}

export interface TokenWatch {
  /** Visits under way. */
  inFlight(): number;
  /** Ends the cycle, aborts the visits under way and waits for them. */
  stop(): Promise<void>;
}

/** With no user to watch, the bucket is read again after this long (or the interval, if shorter). */
const IDLE_MS = 60_000;

/**
 * Visits every user with a stored token once per interval, spread out: one visit every
 * interval/N, never a burst, the first one a step after the cycle begins. The users are taken in
 * the same order by every replica and each cycle reads the bucket's keys again, so users who
 * arrive join and users who leave drop out; which replica actually checks a user is settled by the
 * claims of token-check-marks.ts.
 */
export function startTokenWatch(deps: TokenWatchDeps): TokenWatch {
  const clock = deps.clock ?? realClock;
  const stopping = new AbortController();
  const running = new Set<Promise<unknown>>();
  const visit = (userID: string) => {
    if (running.size >= deps.maxInFlight) {
      deps.log.debug({ userID, inFlight: running.size }, 'token checks all busy; user passed over this cycle');
      return;
    }
    const task = deps
      .check(userID, stopping.signal)
      .then((result) => deps.log.debug({ userID, result }, 'token checked'))
      .catch((err: unknown) => deps.log.warn({ err, userID }, 'token check failed; checked again next interval'))
      .finally(() => running.delete(task));
    running.add(task);
  };
  const loop = runCycles(deps, clock, stopping.signal, visit);
  return {
    inFlight: () => running.size,
    stop: async () => {
      stopping.abort();
      await loop;
      await Promise.allSettled([...running]);
    },
  };
}

async function runCycles(deps: TokenWatchDeps, clock: WatchClock, signal: AbortSignal, visit: (userID: string) => void): Promise<void> {
  while (!signal.aborted) {
    let users: string[];
    try {
      users = [...new Set(await deps.listUsers())].sort();
    } catch (err) {
      deps.log.warn({ err }, 'could not list the stored tokens; trying again');
      users = [];
    }
    if (users.length === 0) {
      await clock.sleep(Math.min(deps.intervalMs, IDLE_MS), signal);
      continue;
    }
    const step = deps.intervalMs / users.length;
    const start = clock.now();
    for (let i = 0; i < users.length; i++) {
      await clock.sleep(start + (i + 1) * step - clock.now(), signal);
      if (signal.aborted) return;
      visit(users[i]!);
    }
  }
}
