import type { NatsConnection } from 'nats';
import { RunCompleted, RunOutcomeRecorded, Subjects } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';
import type { RecordedOutcome } from './recorded.ts';

/** Announces a recorded outcome (and the run's completion with its last one) on core NATS. */
export function publishOutcomeNotices(nc: NatsConnection, recorded: RecordedOutcome): void {
  const done = recorded.refreshed + recorded.failed + recorded.skipped;
  nc.publish(
    Subjects.runOutcome(recorded.runId),
    encodeJson(
      RunOutcomeRecorded.parse({
        v: 1,
        runId: recorded.runId,
        userID: recorded.userID,
        outcome: recorded.outcome,
        code: recorded.code?.slice(0, 64) ?? null,
        message: recorded.message?.slice(0, 500) ?? null,
        tokenValidity: recorded.tokenValidity?.toISOString() ?? null,
        done,
        total: recorded.total,
      }),
    ),
  );
  if (recorded.completed) publishRunCompleted(nc, recorded);
}

export function publishRunCompleted(
  nc: NatsConnection,
  run: { runId: string; total: number; refreshed: number; failed: number; skipped: number },
): void {
  nc.publish(
    Subjects.runCompleted(run.runId),
    encodeJson(
      RunCompleted.parse({
        v: 1,
        runId: run.runId,
        total: run.total,
        refreshed: run.refreshed,
        failed: run.failed,
        skipped: run.skipped,
      }),
    ),
  );
}
