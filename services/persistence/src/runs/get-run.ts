import type { Kysely } from 'kysely';
import type { RunSummary, Trigger } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { RunNotFoundError } from '../errors.ts';
import { findRun, listOutcomes } from './run.repository.ts';

export async function getRun(db: Kysely<Database>, runId: string): Promise<RunSummary> {
  const run = await findRun(db, runId);
  if (!run) throw new RunNotFoundError(runId);
  const outcomes = await listOutcomes(db, runId);
  const pending = run.total - run.refreshed_count - run.failed_count - run.skipped_count;
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
    pending,
    results: outcomes.map((o) => ({
      userID: o.user_id,
      clientName: o.client_name,
      outcome: o.outcome,
      code: o.code,
      message: o.message,
      tokenValidity: o.outcome === 'refreshed' ? (o.token_validity?.toISOString() ?? null) : null,
      recordedAt: o.recorded_at?.toISOString() ?? null,
    })),
  };
}
