import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableCode, type RunSummary } from '@refresher/contracts';
import { ServiceCallError, type Logger, type NatsConnection } from '@refresher/platform';
import { getRunCounts, getRunSummary, startRefreshRun } from '@refresher/refresh-runs';

export interface PassPolicy {
  /** The gap before the second pass (REFRESH_PASS_DELAY_MS); each later gap doubles it. */
  firstDelayMs: number;
  /** The longest gap (REFRESH_PASS_MAX_DELAY_MS). */
  maxDelayMs: number;
  /** How often a run under way is asked whether it has completed. */
  pollMs: number;
}

export interface PassDeps {
  nc: NatsConnection;
  log: Logger;
  policy: PassPolicy;
  signal: AbortSignal;
  random: () => number;
}

/** The run id of pass `n` (2, 3, ...) of a morning: the same on every replica. */
export function passRunId(morningRunId: string, n: number): string {
  return `${morningRunId}-p${n}`;
}

/** The gap before pass `n`: the first delay doubling per pass up to the cap, then ±20 % jitter. */
export function passDelay(policy: PassPolicy, n: number, random: () => number): number {
  const base = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.max(0, n - 2));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Users whose outcome in this run is a failure that may pass on its own. */
export function transientFailures(summary: RunSummary): number {
  return summary.results.filter((r) => r.outcome === 'failed' && isRetryableCode(r.code)).length;
}

/**
 * Follows a morning's run: once a run of the chain completes with transient failures, starts the
 * next pass after its gap, until nobody is left or the next pass would start after `deadline`.
 * Every replica follows; pass ids are deterministic and a pass that exists is joined, not started
 * again, so replicas (and a replica restarted mid-morning) agree on each pass.
 */
export async function followMorning(deps: PassDeps, morningRunId: string, deadline: Date): Promise<void> {
  const { log } = deps;
  const untilDeadline = <T>(what: string, step: () => Promise<T>) => retryUntil(deps, deadline, what, step);
  let current = morningRunId;
  for (let n = 2; ; n++) {
    const summary = await waitForCompletion(deps, current, deadline);
    if (!summary) return log.warn({ runId: current, deadline }, 'run not complete by the deadline; no further passes');
    const left = transientFailures(summary);
    if (left === 0) return log.info({ morningRunId, passes: n - 2 }, 'morning complete: no transient failures left');
    const next = passRunId(morningRunId, n);
    const exists = await untilDeadline('look up the next pass', () => runExists(deps, next));
    if (exists === null) return;
    if (!exists) {
      const at = Date.parse(summary.completedAt!) + passDelay(deps.policy, n, deps.random);
      if (at > deadline.getTime()) {
        return log.warn({ morningRunId, users: left, deadline }, 'deadline reached: users with transient failures stay failed');
      }
      await sleep(Math.max(0, at - Date.now()), undefined, { signal: deps.signal });
      if ((await untilDeadline('start the pass', () => startPass(deps, morningRunId, next, left))) === null) return;
    }
    current = next;
  }
}

async function startPass(deps: PassDeps, morningRunId: string, runId: string, expected: number): Promise<true> {
  const run = await startRefreshRun(deps.nc, { runId, trigger: 'schedule', retry: { of: morningRunId, failures: 'transient' } });
  run.close();
  const { created, requested } = run.start;
  deps.log.info({ morningRunId, runId, created, requested: requested.length, expected }, 'pass started');
  return true;
}

/** The run's summary once it has completed; null when the deadline passes first or the run does not exist. */
async function waitForCompletion(deps: PassDeps, runId: string, deadline: Date): Promise<RunSummary | null> {
  for (;;) {
    const summary = await retryUntil(deps, deadline, 'read the run', () =>
      getRunCounts(deps.nc, runId).catch((err: unknown) => {
        if (err instanceof ServiceCallError && err.code === 404) return 'missing' as const;
        throw err;
      }),
    );
    if (summary === 'missing') {
      deps.log.info({ runId }, 'no such run; nothing to follow');
      return null;
    }
    if (summary === null) return null;
    // The counts while it runs; every result (read a page at a time) once it has completed.
    if (summary.completedAt) return retryUntil(deps, deadline, 'read the run', () => getRunSummary(deps.nc, runId));
    if (Date.now() + deps.policy.pollMs > deadline.getTime()) return null;
    await sleep(deps.policy.pollMs, undefined, { signal: deps.signal });
  }
}

/**
 * Tries a step until it answers, every `pollMs`: persistence away for a moment is no reason to give
 * the morning up. Null once the deadline has passed.
 */
async function retryUntil<T>(deps: PassDeps, deadline: Date, what: string, step: () => Promise<T>): Promise<T | null> {
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (Date.now() + deps.policy.pollMs > deadline.getTime()) {
        deps.log.error({ err }, `could not ${what} before the deadline`);
        return null;
      }
      deps.log.warn({ err }, `could not ${what}; trying again`);
      await sleep(deps.policy.pollMs, undefined, { signal: deps.signal });
    }
  }
}

async function runExists(deps: PassDeps, runId: string): Promise<boolean> {
  return getRunCounts(deps.nc, runId).then(
    () => true,
    (err: unknown) => {
      if (err instanceof ServiceCallError && err.code === 404) return false;
      throw err;
    },
  );
}
