import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, RefreshOutcomeRow, RefreshRunRow } from '@refresher/db';
import type { Outcome, RunUser, SkippedUser, Trigger } from '@refresher/contracts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Inserts a run with one outcome row per user: 'pending' for requested users, 'skipped' (with the
 * reason as code) for the others. One statement (atomic without a transaction, one round trip).
 * Returns false, inserting nothing, when the run id exists.
 */
export async function insertRun(
  db: Db,
  input: {
    runId: string;
    trigger: Trigger;
    userID: string | null;
    requestedAt: Date;
    requested: readonly RunUser[];
    skipped: readonly SkippedUser[];
  },
): Promise<boolean> {
  const total = input.requested.length + input.skipped.length;
  const requestedAt = input.requestedAt.toISOString();
  const users = [
    ...input.requested.map((u) => ({ user: u, requested: true, code: null })),
    ...input.skipped.map((u) => ({ user: u, requested: false, code: u.reason as string })),
  ];
  const inserted = await sql<{ run_id: string }>`
    with run as (
      insert into refresh_runs (run_id, trigger, user_id, requested_at, completed_at, total, requested_count, skipped_count)
      values (
        ${input.runId}, ${input.trigger}, ${input.userID}, ${requestedAt}::timestamptz,
        ${input.requested.length === 0 ? requestedAt : null}::timestamptz, ${total}, ${input.requested.length}, ${input.skipped.length}
      )
      on conflict (run_id) do nothing
      returning run_id
    ), outcomes as (
      insert into refresh_outcomes (run_id, user_id, position, client_name, requested, outcome, code, recorded_at)
      select run.run_id, v.user_id, v.position - 1, v.client_name, v.requested,
        case when v.requested then 'pending' else 'skipped' end, v.code,
        case when v.requested then null else ${requestedAt}::timestamptz end
      from run, unnest(
        ${users.map((r) => r.user.userID)}::text[], ${users.map((r) => r.user.clientName)}::text[],
        ${users.map((r) => r.requested)}::boolean[], ${users.map((r) => r.code)}::text[]
      ) with ordinality as v(user_id, client_name, requested, code, position)
    )
    select run_id from run`.execute(db);
  return inserted.rows.length > 0;
}

export function findRun(db: Db, runId: string): Promise<RefreshRunRow | undefined> {
  return db.selectFrom('refresh_runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
}

export function listOutcomes(db: Db, runId: string): Promise<RefreshOutcomeRow[]> {
  return db.selectFrom('refresh_outcomes').selectAll().where('run_id', '=', runId).orderBy('position').execute();
}

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

const COUNT_COLUMN = { refreshed: 'refreshed_count', failed: 'failed_count', skipped: 'skipped_count' } as const;

/**
 * Records a user's outcome in a run if it is still pending: exactly one outcome per user per run,
 * whatever is delivered later. Counts it on the run row (whose lock also serialises the completion
 * check of concurrent outcomes) and completes the run with its last pending user.
 * Returns null when nothing changed (unknown run or user, or an outcome already recorded).
 */
export async function recordOutcome(
  trx: Transaction<Database>,
  input: {
    runId: string;
    userID: string;
    outcome: Outcome;
    code: string | null;
    message: string | null;
    eventId: string;
    attempts: number | null;
    tokenValidity: Date | null;
    recordedAt: Date;
  },
): Promise<RecordedOutcome | null> {
  const changed = await trx
    .updateTable('refresh_outcomes')
    .set({
      outcome: input.outcome,
      code: input.code,
      message: input.message,
      event_id: input.eventId,
      attempts: input.attempts,
      token_validity: input.tokenValidity,
      recorded_at: input.recordedAt,
    })
    .where('run_id', '=', input.runId)
    .where('user_id', '=', input.userID)
    .where('outcome', '=', 'pending')
    .returning('user_id')
    .executeTakeFirst();
  if (!changed) return null;

  const column = COUNT_COLUMN[input.outcome];
  const run = await trx
    .updateTable('refresh_runs')
    .set((eb) => ({
      [column]: eb(column, '+', 1),
      completed_at: sql<Date | null>`case when refreshed_count + failed_count + skipped_count + 1 >= total
        then coalesce(completed_at, ${input.recordedAt}::timestamptz) else completed_at end`,
    }))
    .where('run_id', '=', input.runId)
    .returning(['total', 'refreshed_count', 'failed_count', 'skipped_count', 'completed_at'])
    .executeTakeFirstOrThrow();
  return {
    runId: input.runId,
    userID: input.userID,
    outcome: input.outcome,
    code: input.code,
    message: input.message,
    tokenValidity: input.tokenValidity,
    total: run.total,
    refreshed: run.refreshed_count,
    failed: run.failed_count,
    skipped: run.skipped_count,
    completed: run.refreshed_count + run.failed_count + run.skipped_count >= run.total,
  };
}

