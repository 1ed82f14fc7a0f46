import type { StartRunResponse } from '@refresher/contracts';
import {
  connectNats,
  createLogger,
  createMetricsRegistry,
  ensureTopology,
  startHealthServer,
  trackConnection,
  type HealthCheck,
  type Logger,
  type NatsConnection,
} from '@refresher/platform';
import { morningReadiness } from '@refresher/refresh-runs';
import type { SchedulerConfig } from './config.ts';
import { catchUp, createFirings, type Firings } from './firings.ts';
import { latestSlot, nextSlot, slotRunId } from './slot.ts';
import { startSlotTimer, type SlotTimer } from './slot-timer.ts';
import { startSlotRun } from './start-run.ts';
import { deadlineAfter } from './deadline.ts';
import { createMorningFollower, resumeLatestMorning, type MorningFollower } from './morning-follower.ts';

/** How often a run under way is asked whether it has completed. */
const PASS_POLL_MS = 5_000;

export { SchedulerStoppedError } from './start-run.ts';

export interface Scheduler {
  stop(): Promise<void>;
  /** Starts (or joins, when another replica was first) the run of one slot. */
  fireSlot(slot: Date): Promise<StartRunResponse>;
  /** The next time the schedule fires; null when disabled or stopped. */
  nextRun(): Date | null;
  healthPort: number;
}

export async function startScheduler(config: SchedulerConfig, options: { log?: Logger } = {}): Promise<Scheduler> {
  const log = options.log ?? createLogger('scheduler', config.LOG_LEVEL);
  const nc = await connectNats(config, 'scheduler', log);
  try {
    await ensureTopology(nc, config.STREAM_REPLICAS);
  } catch (err) {
    await nc.close();
    throw err;
  }
  // Ends back-off waits on stop; an attempt already talking to persistence is let finish.
  const abort = new AbortController();
  const { mornings, fireSlot, deadlineOf } = slotFiring(config, nc, log, abort.signal);
  const firings = createFirings(fireSlot, log);
  let timer: SlotTimer | null = null;
  const up = trackConnection(nc);
  const check = healthCheck(
    config,
    () => up() && !abort.signal.aborted,
    () => timer,
    firings,
    mornings,
  );
  const health = await startHealthServer(config.HEALTH_PORT, check, {
    readiness: morningReadiness(nc),
    metrics: createMetricsRegistry('scheduler'),
  }).catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });
  if (config.SCHEDULER_ENABLED) {
    timer = startSchedule(config, nc, log, firings, { mornings, deadlineOf });
    const nextRun = timer.next()?.toISOString() ?? null;
    log.info(
      { schedule: config.REFRESH_SCHEDULE, timezone: config.REFRESH_TIMEZONE, nextRun, healthPort: health.port },
      'scheduler started',
    );
  } else {
    log.warn({ healthPort: health.port }, 'scheduler disabled (SCHEDULER_ENABLED=false): no scheduled runs will be started');
  }
  let stopped: Promise<void> | undefined;
  return {
    fireSlot,
    nextRun: () => timer?.next() ?? null,
    healthPort: health.port,
    stop: () =>
      (stopped ??= (async () => {
        timer?.stop();
        abort.abort();
        await firings.settled();
        await mornings.settled();
        await health.close();
        await nc.drain();
      })()),
  };
}

/**
 * Catches up a slot missed within SCHEDULER_CATCH_UP_MS, goes on following the passes of a morning
 * still before its deadline (a replica restarted at 08:40), and fires every slot from now on.
 */
function startSchedule(
  config: SchedulerConfig,
  nc: NatsConnection,
  log: Logger,
  firings: Firings,
  { mornings, deadlineOf }: { mornings: MorningFollower; deadlineOf: (at: Date) => Date },
): SlotTimer {
  const { REFRESH_SCHEDULE: schedule, REFRESH_TIMEZONE: timezone } = config;
  const startedAt = new Date();
  const missed = latestSlot(schedule, timezone, startedAt, config.SCHEDULER_CATCH_UP_MS);
  if (missed) void catchUp(nc, log, missed, firings);
  void resumeLatestMorning(nc, log, mornings, deadlineOf);
  const after = (slot: Date) => nextSlot(schedule, timezone, slot);
  return startSlotTimer(after(startedAt), after, (slot) => firings.fire(slot));
}

/** Firing a slot starts (or joins) its run, then follows the morning through its passes. */
function slotFiring(config: SchedulerConfig, nc: NatsConnection, log: Logger, signal: AbortSignal) {
  const policy = { firstDelayMs: config.REFRESH_PASS_DELAY_MS, maxDelayMs: config.REFRESH_PASS_MAX_DELAY_MS, pollMs: PASS_POLL_MS };
  const mornings = createMorningFollower({ nc, log, policy, signal, random: Math.random });
  const deadlineOf = (at: Date) => deadlineAfter(at, config.REFRESH_DEADLINE, config.REFRESH_TIMEZONE);
  const fireSlot = async (slot: Date): Promise<StartRunResponse> => {
    const start = await startSlotRun({ nc, log, budgetMs: config.SCHEDULER_START_RETRY_MS, signal, random: Math.random }, slot);
    mornings.follow(start.runId, deadlineOf(slot));
    return start;
  };
  return { mornings, fireSlot, deadlineOf };
}

function healthCheck(
  config: SchedulerConfig,
  ok: () => boolean,
  timer: () => SlotTimer | null,
  firings: Firings,
  mornings: MorningFollower,
): HealthCheck {
  return () => {
    const next = timer()?.next() ?? null;
    return {
      ok: ok(),
      details: {
        enabled: config.SCHEDULER_ENABLED,
        schedule: config.REFRESH_SCHEDULE,
        timezone: config.REFRESH_TIMEZONE,
        nextRun: next?.toISOString() ?? null,
        nextRunId: next ? slotRunId(next) : null,
        lastRun: firings.lastRun(),
        firing: firings.inFlight(),
        deadline: config.REFRESH_DEADLINE,
        followingPasses: mornings.following(),
      },
    };
  };
}
