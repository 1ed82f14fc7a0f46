import { sql, type Kysely } from 'kysely';
import type { Database } from '@refresher/db';

/** Runs deleted per statement: a first prune of a long history holds no lock for long. */
const RUNS_PER_STATEMENT = 50;

/**
 * Deletes the runs requested more than `days` days ago, their outcomes with them (the foreign key
 * cascades, as it does to a morning's passes). Every run adds a row per user and nothing else
 * removes them. Returns how many runs went.
 */
export async function pruneRuns(db: Kysely<Database>, days: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const gone = await db
      .deleteFrom('refresh_runs')
      .where(
        'run_id',
        'in',
        db
          .selectFrom('refresh_runs')
          .select('run_id')
          .where('requested_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
          .limit(RUNS_PER_STATEMENT),
      )
      .executeTakeFirst();
    const n = Number(gone.numDeletedRows);
    deleted += n;
    if (n < RUNS_PER_STATEMENT) return deleted;
  }
}
