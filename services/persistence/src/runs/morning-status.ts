import { sql, type Kysely } from 'kysely';
import { SkipReason, type MorningStatus } from '@refresher/contracts';
import type { Database } from '@refresher/db';

/** Skips that are the rule working, not a user left without a token. */
export const SKIPPED_BY_RULE: string[] = [SkipReason.IntegrationManaged, SkipReason.NotLive];

interface MorningCounts {
  run_id: string;
  requested_at: Date;
  passes: number;
  users: number;
  refreshed: number;
  skipped_by_rule: number;
  pending: number;
}

/**
 * The latest scheduled run and the runs linked to it, by each user's latest outcome there. A user
 * counts as refreshed when that outcome is, or when the legacy row shows a login since the morning
 * began (`lastLoginTime` is UTC without a zone, hence the conversion).
 */
export async function getMorningStatus(db: Kysely<Database>): Promise<MorningStatus> {
  const result = await sql<MorningCounts>`
    with root as (
      select run_id, requested_at from refresh_runs
      where trigger = 'schedule' and retry_of is null
      order by requested_at desc, run_id desc limit 1
    ), chain as (
      select r.run_id, r.requested_at from refresh_runs r, root
      where r.run_id = root.run_id or r.retry_of = root.run_id
    ), latest as (
      select distinct on (o.user_id) o.user_id, o.outcome, o.code
      from refresh_outcomes o join chain c on c.run_id = o.run_id
      order by o.user_id, c.requested_at desc, c.run_id desc
    ), judged as (
      select l.outcome, l.code,
        l.outcome = 'refreshed' or coalesce(u."lastLoginTime" > (root.requested_at at time zone 'UTC'), false) as refreshed
      from latest l cross join root left join "IIFLUser" u on u."userID" = l.user_id
    )
    select root.run_id, root.requested_at,
      (select count(*)::int - 1 from chain) as passes,
      (select count(*)::int from judged) as users,
      (select count(*)::int from judged where refreshed) as refreshed,
      (select count(*)::int from judged where not refreshed and outcome = 'skipped' and code = any(${SKIPPED_BY_RULE}::text[])) as skipped_by_rule,
      (select count(*)::int from judged where not refreshed and outcome = 'pending') as pending
    from root`.execute(db);
  const row = result.rows[0];
  if (!row) {
    return {
      status: 'none',
      runId: null,
      requestedAt: null,
      passes: 0,
      users: 0,
      refreshed: 0,
      skippedByRule: 0,
      needsAttention: 0,
      pending: 0,
    };
  }
  const needsAttention = row.users - row.refreshed - row.skipped_by_rule;
  return {
    status: needsAttention > 0 ? 'degraded' : 'ok',
    runId: row.run_id,
    requestedAt: row.requested_at.toISOString(),
    passes: row.passes,
    users: row.users,
    refreshed: row.refreshed,
    skippedByRule: row.skipped_by_rule,
    needsAttention,
    pending: row.pending,
  };
}
