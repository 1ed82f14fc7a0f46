import { setTimeout as sleep } from 'node:timers/promises';
import type { StartRunResponse } from '@refresher/contracts';
import {
  connectNats,
  createLogger,
  ensureTopology,
  ServiceCallError,
  startHealthServer,
  type Logger,
} from '@refresher/platform';
import { getRunSummary, startRefreshRun } from '@refresher/refresh-runs';
import type { SchedulerConfig } from './config.ts';
import { latestSlot, nextSlot, slotRunId } from './slot.ts';

export interface Scheduler {
  stop(): Promise<void>;
  /** Starts (or joins, when another replica was first) the run of one slot. */
  fireSlot(slot: Date): Promise<StartRunResponse>;
  /** The next time the schedule fires; null when disabled or stopped. */
  nextRun(): Date | null;
  healthPort: number;
}

export class SchedulerStoppedError extends Error {
  override name = 'SchedulerStoppedError';
  constructor(runId: string, options?: { cause?: unknown }) {
    super(`scheduler stopped before run ${runId} could be started`, options);
  }
}

/** setTimeout cannot wait longer than this; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export async function startScheduler(config: SchedulerConfig, options: { log?: Logger } = {}): Promise<Scheduler> {
  const log = options.log ?? createLogger('scheduler', config.LOG_LEVEL);
  const nc = await connectNats(config, 'scheduler', log);
  try {
    await ensureTopology(nc);
  } catch (err) {
    await nc.close();
    throw err;
  }

  const abort = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;
  let next: Date | null = null;
  let lastRun: { runId: string; at: string; ok: boolean } | undefined;

  const fireSlot = async (slot: Date): Promise<StartRunResponse> => {
    const runId = slotRunId(slot);
    const startedAt = Date.now();
    let delay = FIRST_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      if (abort.signal.aborted) throw new SchedulerStoppedError(runId);
      try {
        const run = await startRefreshRun(nc, { runId, trigger: 'schedule' });
        run.close();
        const { start } = run;
        log.info(
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
      } catch (err) {
        // A 4xx answer will not change on a retry; no answer, a 5xx or a failed publish may.
        if (err instanceof ServiceCallError && err.code < 500) throw err;
        const elapsed = Date.now() - startedAt;
        const wait = Math.min(delay, config.SCHEDULER_START_RETRY_MS - elapsed);
        if (wait <= 0) {
          log.error({ runId, attempt, err }, 'giving up starting the scheduled run');
          throw err;
        }
        log.warn({ runId, attempt, retryInMs: wait, err }, 'could not start the scheduled run, retrying');
        try {
          await sleep(wait * (0.8 + Math.random() * 0.4), undefined, { signal: abort.signal });
        } catch {
          throw new SchedulerStoppedError(runId, { cause: err });
        }
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  };

  const track = (slot: Date) => {
    const runId = slotRunId(slot);
    const fire = fireSlot(slot).then(
      () => { lastRun = { runId, at: new Date().toISOString(), ok: true }; },
      (err: unknown) => {
        lastRun = { runId, at: new Date().toISOString(), ok: false };
        if (!(err instanceof SchedulerStoppedError)) log.error({ runId, err }, 'scheduled run failed to start');
        else log.warn({ runId }, err.message);
      },
    );
    inFlight.add(fire);
    void fire.finally(() => inFlight.delete(fire));
  };

  /**
   * Fires a slot missed while no replica was up, unless its run exists already: a run that is
   * re-started publishes its requests again, and past JetStream's duplicate window they would be
   * logins repeated.
   */
  const catchUp = async (slot: Date) => {
    const runId = slotRunId(slot);
    try {
      await getRunSummary(nc, runId);
      log.info({ runId }, 'latest slot already ran; nothing to catch up');
      return;
    } catch (err) {
      if (!(err instanceof ServiceCallError && err.code === 404)) {
        log.warn({ runId, err }, 'could not tell whether the latest slot ran; not catching it up');
        return;
      }
    }
    log.info({ slot: slot.toISOString(), runId }, 'catching up the latest slot');
    track(slot);
  };

  // Each slot is computed from the previous one, so a fire always carries its scheduled time.
  const arm = (slot: Date | null) => {
    next = slot;
    if (!slot || abort.signal.aborted) return;
    const wait = slot.getTime() - Date.now();
    timer = setTimeout(() => {
      if (Date.now() < slot.getTime()) return arm(slot); // a long wait taken in steps
      track(slot);
      arm(nextSlot(config.REFRESH_SCHEDULE, config.REFRESH_TIMEZONE, slot));
    }, Math.min(Math.max(wait, 0), MAX_TIMER_MS));
  };

  const health = await startHealthServer(config.HEALTH_PORT, () => ({
    ok: !nc.isClosed() && !abort.signal.aborted,
    details: {
      enabled: config.SCHEDULER_ENABLED,
      schedule: config.REFRESH_SCHEDULE,
      timezone: config.REFRESH_TIMEZONE,
      nextRun: next?.toISOString() ?? null,
      nextRunId: next ? slotRunId(next) : null,
      lastRun: lastRun ?? null,
      firing: inFlight.size,
    },
  })).catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });

  if (config.SCHEDULER_ENABLED) {
    const startedAt = new Date();
    const missed = latestSlot(config.REFRESH_SCHEDULE, config.REFRESH_TIMEZONE, startedAt, config.SCHEDULER_CATCH_UP_MS);
    if (missed) void catchUp(missed);
    const first = nextSlot(config.REFRESH_SCHEDULE, config.REFRESH_TIMEZONE, startedAt);
    arm(first);
    log.info(
      {
        schedule: config.REFRESH_SCHEDULE,
        timezone: config.REFRESH_TIMEZONE,
        nextRun: first?.toISOString() ?? null,
        healthPort: health.port,
      },
      'scheduler started',
    );
  } else {
    log.warn({ healthPort: health.port }, 'scheduler disabled (SCHEDULER_ENABLED=false): no scheduled runs will be started');
  }

  let stopped: Promise<void> | undefined;
  return {
    fireSlot,
    nextRun: () => next,
    healthPort: health.port,
    stop: () => {
      stopped ??= (async () => {
        clearTimeout(timer);
        next = null;
        // Ends back-off waits; an attempt already talking to persistence is let finish.
        abort.abort();
        await Promise.allSettled([...inFlight]);
        await health.close();
        await nc.drain();
      })();
      return stopped;
    },
  };
}
