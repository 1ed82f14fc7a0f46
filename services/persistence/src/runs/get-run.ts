import type { Kysely } from 'kysely';
import { RUN_RESULTS_PAGE_MAX, type GetRunRequest, type RunResult, type RunSummaryPage } from '@refresher/contracts';
import type { Database, RefreshOutcomeRow } from '@refresher/db';
import { RunNotFoundError } from '../errors.ts';
import { runFields } from './run-header.ts';
import { findOutcome, findRun, listOutcomePage } from './run.repository.ts';

/** A run's counts with the results asked for (GetRunRequest): a page, one user's, or none. */
export async function getRun(db: Kysely<Database>, request: GetRunRequest): Promise<RunSummaryPage> {
  const run = await findRun(db, request.runId);
  if (!run) throw new RunNotFoundError(request.runId);
  const wanted = request.results ?? {};
  if (wanted === 'none') return { ...runFields(run), results: [], resultsNext: null };
  if ('userID' in wanted) {
    const outcome = await findOutcome(db, run.run_id, wanted.userID);
    return { ...runFields(run), results: outcome ? [resultOf(outcome)] : [], resultsNext: null };
  }
  const limit = wanted.limit ?? RUN_RESULTS_PAGE_MAX;
  // One more than the page: whether another page follows, without counting.
  const rows = await listOutcomePage(db, run.run_id, wanted.after ?? null, limit + 1);
  const page = rows.slice(0, limit);
  return {
    ...runFields(run),
    results: page.map(resultOf),
    resultsNext: rows.length > limit ? page.at(-1)!.position : null,
  };
}

function resultOf(o: RefreshOutcomeRow): RunResult {
  return {
    userID: o.user_id,
    clientName: o.client_name,
    outcome: o.outcome,
    code: o.code,
    message: o.message,
    tokenValidity: o.outcome === 'refreshed' ? (o.token_validity?.toISOString() ?? null) : null,
    recordedAt: o.recorded_at?.toISOString() ?? null,
  };
}
