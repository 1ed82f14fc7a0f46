import { setTimeout as sleep } from 'node:timers/promises';
import type { StartRunResponse } from '@refresher/contracts';
import { backoffDelay, ServiceCallError, type Backoff, type Logger, type NatsConnection } from '@refresher/platform';
import { startRefreshRun } from '@refresher/refresh-runs';
import { slotRunId } from './slot.ts';

export class SchedulerStoppedError extends Error {
  override name = 'SchedulerStoppedError';
  constructor(runId: string, options?: { cause?: unknown }) {
    super(`scheduler stopped before run ${runId} could be started`, options);
  }
}

/** The back-off between start attempts: 1 s doubling up to 30 s, full jitter. */
export const START_BACKOFF: Backoff = { baseMs: 1_000, maxDelayMs: 30_000 };

export type StartRetry = { retry: true; delayMs: number } | { retry: false; reason: 'not-retryable' | 'budget-spent' };

/**
 * Whether a failed start is tried again, and when. A 4xx answer will not change on a retry; no
 * answer, a 5xx or a failed publish may, while the budget (SCHEDULER_START_RETRY_MS, counted from
 * the first attempt) lasts; no wait runs past it.
 */
export function decideStartRetry(
  err: unknown,
  state: { attempts: number; elapsedMs: number; budgetMs: number },
  random: () => number,
): StartRetry {
  if (err instanceof ServiceCallError && err.code < 500) return { retry: false, reason: 'not-retryable' };
  const remainingMs = state.budgetMs - state.elapsedMs;
  if (remainingMs <= 0) return { retry: false, reason: 'budget-spent' };
  return { retry: true, delayMs: Math.min(backoffDelay(START_BACKOFF, state.attempts, random), remainingMs) };
}

export interface StartRunDeps {
  nc: NatsConnection;
  log: Logger;
  /** SCHEDULER_START_RETRY_MS. */
  budgetMs: number;
  /** Aborts on stop: a back-off wait ends, an attempt under way is let finish. */
  signal: AbortSignal;
  random: () => number;
}

/** Starts (or joins, when another replica was first) the run of one slot, retrying as decided above. */
export async function startSlotRun(deps: StartRunDeps, slot: Date): Promise<StartRunResponse> {
  const runId = slotRunId(slot);
  const startedAt = Date.now();
  for (let attempts = 1; ; attempts++) {
    if (deps.signal.aborted) throw new SchedulerStoppedError(runId);
    try {
      return await startOnce(deps, slot, runId);
    } catch (err) {
      const next = decideStartRetry(err, { attempts, elapsedMs: Date.now() - startedAt, budgetMs: deps.budgetMs }, deps.random);
      if (!next.retry) {
        if (next.reason === 'budget-spent') deps.log.error({ runId, attempt: attempts, err }, 'giving up starting the scheduled run');
        throw err;
      }
      deps.log.warn({ runId, attempt: attempts, retryInMs: next.delayMs, err }, 'could not start the scheduled run, retrying');
      await sleep(next.delayMs, undefined, { signal: deps.signal }).catch(() => {
        throw new SchedulerStoppedError(runId, { cause: err });
      });
    }
  }
}

async function startOnce(deps: StartRunDeps, slot: Date, runId: string): Promise<StartRunResponse> {
  const run = await startRefreshRun(deps.nc, { runId, trigger: 'schedule' });
  run.close();
  const { start } = run;
  deps.log.info(
    {
      runId,
      slot: slot.toISOString(),
      created: start.created,
      requested: start.requested.length,
      skipped: start.skipped.length,
    },
    start.created ? 'scheduled run started' : 'scheduled run already started by another replica',
  );
  return start;
}
