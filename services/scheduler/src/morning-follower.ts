import type { Logger, NatsConnection } from '@refresher/platform';
import { getMorningStatus } from '@refresher/refresh-runs';
import { followMorning, type PassDeps } from './passes.ts';

/** The mornings being followed through their passes (one follow per morning per replica). */
export interface MorningFollower {
  follow(morningRunId: string, deadline: Date): void;
  /** The morning runs followed right now, for health. */
  following(): string[];
  settled(): Promise<void>;
}

export function createMorningFollower(deps: PassDeps): MorningFollower {
  const active = new Map<string, Promise<void>>();
  return {
    follow(runId, deadline) {
      if (active.has(runId) || deadline.getTime() <= Date.now()) return;
      const done = followMorning(deps, runId, deadline).catch((err: unknown) => {
        if (!deps.signal.aborted) deps.log.error({ runId, err }, 'stopped following the morning');
      });
      active.set(runId, done);
      void done.finally(() => active.delete(runId));
    },
    following: () => [...active.keys()],
    settled: async () => {
      await Promise.allSettled([...active.values()]);
    },
  };
}

/**
 * At start: goes on following the latest morning when its deadline is still ahead (a replica
 * restarted at 08:40). The deadline is taken after the run's start, which is its slot's time or,
 * for a caught-up slot, later; either way the same morning's deadline.
 */
export async function resumeLatestMorning(
  nc: NatsConnection,
  log: Logger,
  mornings: MorningFollower,
  deadlineAfter: (at: Date) => Date,
): Promise<void> {
  try {
    const latest = await getMorningStatus(nc);
    if (!latest.runId || !latest.requestedAt) return;
    const deadline = deadlineAfter(new Date(latest.requestedAt));
    if (deadline.getTime() <= Date.now()) return;
    log.info({ runId: latest.runId, deadline }, 'following the passes of the latest morning');
    mornings.follow(latest.runId, deadline);
  } catch (err) {
    log.warn({ err }, 'could not read the latest morning; its passes are left to the other replicas');
  }
}
