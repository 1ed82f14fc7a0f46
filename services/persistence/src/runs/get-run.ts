import type { Kysely } from 'kysely';
import type { RunSummary } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { RunNotFoundError } from '../errors.ts';
import { runFields } from './run-header.ts';
import { findRun, listOutcomes } from './run.repository.ts';

export async function getRun(db: Kysely<Database>, runId: string): Promise<RunSummary> {
  const run = await findRun(db, runId);
  if (!run) throw new RunNotFoundError(runId);
  const outcomes = await listOutcomes(db, runId);
  return {
    ...runFields(run),
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
