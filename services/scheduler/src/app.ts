import type { StartRunResponse } from '@refresher/contracts';
import {
  connectNats,
  createLogger,
  ensureTopology,
  startHealthServer,
  trackConnection,
  type HealthCheck,
  type Logger,
  type NatsConnection,
} from '@refresher/platform';
import type { SchedulerConfig } from './config.ts';
import { catchUp, createFirings, type Firings } from './firings.ts';
import { latestSlot, nextSlot, slotRunId } from './slot.ts';
import { startSlotTimer, type SlotTimer } from './slot-timer.ts';
import { startSlotRun } from './start-run.ts';

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
    await ensureTopology(nc);
  } catch (err) {
    await nc.close();
    throw err;
  }
  // Ends back-off waits on stop; an attempt already talking to persistence is let finish.
  const abort = new AbortController();
  const fireSlot = (slot: Date) =>
    startSlotRun({ nc, log, budgetMs: config.SCHEDULER_START_RETRY_MS, signal: abort.signal, random: Math.random }, slot);
  const firings = createFirings(fireSlot, log);
  let timer: SlotTimer | null = null;
  const up = trackConnection(nc);
  const check = healthCheck(
    config,
    () => up() && !abort.signal.aborted,
    () => timer,
    firings,
  );
  const health = await startHealthServer(config.HEALTH_PORT, check).catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });
  if (config.SCHEDULER_ENABLED) {
    timer = startSchedule(config, nc, log, firings);
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
        await health.close();
        await nc.drain();
      })()),
  };
}

/** Catches up a slot missed within SCHEDULER_CATCH_UP_MS, and fires every slot from now on. */
function startSchedule(config: SchedulerConfig, nc: NatsConnection, log: Logger, firings: Firings): SlotTimer {
  const { REFRESH_SCHEDULE: schedule, REFRESH_TIMEZONE: timezone } = config;
  const startedAt = new Date();
  const missed = latestSlot(schedule, timezone, startedAt, config.SCHEDULER_CATCH_UP_MS);
  if (missed) void catchUp(nc, log, missed, firings);
  const after = (slot: Date) => nextSlot(schedule, timezone, slot);
  return startSlotTimer(after(startedAt), after, (slot) => firings.fire(slot));
}

function healthCheck(config: SchedulerConfig, ok: () => boolean, timer: () => SlotTimer | null, firings: Firings): HealthCheck {
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
      },
    };
  };
}
