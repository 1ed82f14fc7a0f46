import type { RunHeader, RunSummary, Trigger } from '@refresher/contracts';
import type { RefreshRunRow } from '@refresher/db';

/** A run's fields as every answer about it gives them (a summary adds the results, a header the user). */
export function runFields(run: RefreshRunRow): Omit<RunSummary, 'results'> {
  return {
    runId: run.run_id,
    trigger: run.trigger as Trigger,
    retryOf: run.retry_of,
    requestedAt: run.requested_at.toISOString(),
    completedAt: run.completed_at?.toISOString() ?? null,
    total: run.total,
    refreshed: run.refreshed_count,
    failed: run.failed_count,
    skipped: run.skipped_count,
    pending: run.total - run.refreshed_count - run.failed_count - run.skipped_count,
  };
}

export function runHeader(run: RefreshRunRow): RunHeader {
  return { ...runFields(run), userID: run.user_id };
}
