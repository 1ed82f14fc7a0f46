import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, RefreshOutcomeRow, RefreshRunRow } from '@refresher/db';
import type { RunUser, SkippedUser, Trigger } from '@refresher/contracts';

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
    /** The first run of the chain this run retries, or null. */
    retryOf: string | null;
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
      insert into refresh_runs (run_id, trigger, user_id, retry_of, requested_at, completed_at, total, requested_count, skipped_count)
      values (
        ${input.runId}, ${input.trigger}, ${input.userID}, ${input.retryOf}, ${requestedAt}::timestamptz,
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

/** Outcomes of a run in its order after position `after` (all when null), at most `limit`. */
export function listOutcomePage(db: Db, runId: string, after: number | null, limit: number): Promise<RefreshOutcomeRow[]> {
  let query = db.selectFrom('refresh_outcomes').selectAll().where('run_id', '=', runId);
  if (after !== null) query = query.where('position', '>', after);
  return query.orderBy('position').limit(limit).execute();
}

export function findOutcome(db: Db, runId: string, userID: string): Promise<RefreshOutcomeRow | undefined> {
  return db.selectFrom('refresh_outcomes').selectAll().where('run_id', '=', runId).where('user_id', '=', userID).executeTakeFirst();
}
