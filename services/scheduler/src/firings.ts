import { ServiceCallError, type Logger, type NatsConnection } from '@refresher/platform';
import { getRunCounts } from '@refresher/refresh-runs';
import { slotRunId } from './slot.ts';
import { SchedulerStoppedError } from './start-run.ts';

export interface LastRun {
  runId: string;
  at: string;
  ok: boolean;
}

/** The slots being fired, and how the last one went (for health). */
export interface Firings {
  fire(slot: Date): void;
  lastRun(): LastRun | null;
  inFlight(): number;
  /** Resolves once every fire under way has ended. */
  settled(): Promise<void>;
}

export function createFirings(start: (slot: Date) => Promise<unknown>, log: Logger): Firings {
  const inFlight = new Set<Promise<unknown>>();
  let last: LastRun | null = null;
  const fire = (slot: Date) => {
    const runId = slotRunId(slot);
    const done = start(slot).then(
      () => {
        last = { runId, at: new Date().toISOString(), ok: true };
      },
      (err: unknown) => {
        last = { runId, at: new Date().toISOString(), ok: false };
        if (err instanceof SchedulerStoppedError) log.warn({ runId }, err.message);
        else log.error({ runId, err }, 'scheduled run failed to start');
      },
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  return {
    fire,
    lastRun: () => last,
    inFlight: () => inFlight.size,
    settled: async () => {
      await Promise.allSettled([...inFlight]);
    },
  };
}

export type CatchUp = 'fire' | 'already-ran' | 'unknown';

/**
 * From the lookup of a missed slot's run (`lookupError` undefined when the run was found): fire it
 * only when persistence says it does not exist.
 */
export function catchUpDecision(lookupError: unknown): CatchUp {
  if (lookupError === undefined) return 'already-ran';
  return lookupError instanceof ServiceCallError && lookupError.code === 404 ? 'fire' : 'unknown';
}

/**
 * Fires a slot missed while no replica was up, unless its run exists already: a run that is
 * re-started publishes its requests again, and past JetStream's duplicate window they would be
 * logins repeated.
 */
export async function catchUp(nc: NatsConnection, log: Logger, slot: Date, firings: Firings): Promise<void> {
  const runId = slotRunId(slot);
  const err = await getRunCounts(nc, runId).then(
    () => undefined,
    (e: unknown) => e,
  );
  switch (catchUpDecision(err)) {
    case 'already-ran':
      log.info({ runId }, 'latest slot already ran; nothing to catch up');
      return;
    case 'unknown':
      log.warn({ runId, err }, 'could not tell whether the latest slot ran; not catching it up');
      return;
    case 'fire':
      log.info({ slot: slot.toISOString(), runId }, 'catching up the latest slot');
      firings.fire(slot);
  }
}
