import type { Outcome } from '@refresher/contracts';
import type { PriorState } from './transitions.ts';

/** A user's outcome as the run recorded it, with the run's counts as they stood after it. */
export interface RecordedOutcome {
  runId: string;
  userID: string;
  outcome: Outcome;
  code: string | null;
  message: string | null;
  tokenValidity: Date | null;
  total: number;
  refreshed: number;
  failed: number;
  skipped: number;
  /** True when this outcome was the run's last pending one. */
  completed: boolean;
}

export interface AppliedEvent {
  /** The event id was processed before: nothing was changed. */
  duplicate: boolean;
  /** The run outcome this event recorded, when it changed a pending row. */
  recorded: RecordedOutcome | null;
}

/** What the outcome statement reports: the new event ids, the outcome rows it changed, the runs' counts after it. */
export interface StatementResult {
  fresh: string[];
  outcomes: Array<{ run_id: string; user_id: string }>;
  runs: RunCounts[];
  /** The users' state before the statement, per fresh login or failure (for the notices of transitions). */
  prior?: PriorState[];
}

export interface RunCounts {
  run_id: string;
  total: number;
  refreshed_count: number;
  failed_count: number;
  skipped_count: number;
}

/** The part of an event the results need. */
export interface RecordedFields {
  eventId: string;
  userID: string;
  runId: string | null;
  outcome: Outcome | null;
  code: string | null;
  message: string | null;
  tokenValidity: string | null;
}

const COUNT = { refreshed: 'refreshed_count', failed: 'failed_count', skipped: 'skipped_count' } as const;

/**
 * The result of each event of one statement, in input order. The counts of each run are those it
 * had after each of its outcomes, so the notices read as if the outcomes were recorded one by one,
 * and exactly the run's last recorded outcome completes it.
 */
export function appliedEvents(events: readonly RecordedFields[], result: StatementResult): AppliedEvent[] {
  const fresh = new Set(result.fresh);
  const recorded = new Set(result.outcomes.map((o) => key(o.run_id, o.user_id)));
  const wasRecorded = (e: RecordedFields): e is RecordedFields & { runId: string; outcome: Outcome } =>
    e.runId !== null && e.outcome !== null && fresh.has(e.eventId) && recorded.has(key(e.runId, e.userID));
  // Each run's counts before this statement, then counted up event by event.
  const counts = new Map(result.runs.map((run) => [run.run_id, { ...run }]));
  const lastOf = new Map<string, number>();
  events.forEach((e, i) => {
    if (!wasRecorded(e)) return;
    const run = counts.get(e.runId);
    if (run) run[COUNT[e.outcome]] -= 1;
    lastOf.set(e.runId, i);
  });
  return events.map((e, i): AppliedEvent => {
    if (!fresh.has(e.eventId)) return { duplicate: true, recorded: null };
    const run = wasRecorded(e) ? counts.get(e.runId) : undefined;
    if (!wasRecorded(e) || !run) return { duplicate: false, recorded: null };
    run[COUNT[e.outcome]] += 1;
    const { total, refreshed_count: refreshed, failed_count: failed, skipped_count: skipped } = run;
    return {
      duplicate: false,
      recorded: {
        runId: e.runId,
        userID: e.userID,
        outcome: e.outcome,
        code: e.code,
        message: e.message,
        tokenValidity: e.tokenValidity === null ? null : new Date(e.tokenValidity),
        total,
        refreshed,
        failed,
        skipped,
        completed: lastOf.get(e.runId) === i && refreshed + failed + skipped >= total,
      },
    };
  });
}

const key = (runId: string, userID: string) => `${runId}\u0000${userID}`;
