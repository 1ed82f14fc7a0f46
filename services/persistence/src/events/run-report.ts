import { sql, type Kysely } from 'kysely';
import { NOTICE_ATTENTION_MAX, NoticeIds, type RunCompletedNotice, type Trigger } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { SKIPPED_BY_RULE } from '../runs/morning-status.ts';

interface AttentionRow {
  user_id: string;
  client_name: string;
  outcome: 'failed' | 'skipped';
  code: string | null;
  message: string | null;
  /** Every user of the run that needs attention, repeated on each row. */
  count: number;
}

/**
 * The report of a completed run (`tokens.run.completed`): its counts, and the users it left failed
 * or skipped for a reason a person must look at (in the run's order, the first
 * {@link NOTICE_ATTENTION_MAX}, with the count of the rest). Null while the run is not complete.
 */
export async function readRunReport(db: Kysely<Database>, runId: string, at = new Date()): Promise<RunCompletedNotice | null> {
  const run = await db.selectFrom('refresh_runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
  if (!run?.completed_at) return null;
  const { rows } = await sql<AttentionRow>`
    select user_id, client_name, outcome, code, message, (count(*) over ())::int as count
    from refresh_outcomes
    where run_id = ${runId}
      and (outcome = 'failed' or (outcome = 'skipped' and (code is null or not code = any(${SKIPPED_BY_RULE}::text[]))))
    order by position, user_id
    limit ${NOTICE_ATTENTION_MAX}`.execute(db);
  const count = rows[0]?.count ?? 0;
  return {
    v: 1,
    id: NoticeIds.runCompleted(runId),
    at: at.toISOString(),
    type: 'tokens.run.completed',
    runId,
    retryOf: run.retry_of,
    trigger: run.trigger as Trigger,
    requestedAt: run.requested_at.toISOString(),
    completedAt: run.completed_at.toISOString(),
    counts: { total: run.total, refreshed: run.refreshed_count, failed: run.failed_count, skipped: run.skipped_count },
    needsAttention: {
      count,
      users: rows.map((row) => ({
        userID: row.user_id,
        clientName: row.client_name.slice(0, 200),
        outcome: row.outcome,
        code: row.code?.slice(0, 64) ?? null,
        message: row.message?.slice(0, 500) ?? null,
      })),
      more: count - rows.length,
    },
  };
}
