import { sql, type Kysely } from 'kysely';
import type { Database } from '@refresher/db';
import type { RecordedOutcome } from '../runs/run.repository.ts';
import type { AppliedEvent, EventToApply } from './apply-event.ts';
import type { OutcomeEvent } from './parse-event.ts';

type RefreshedEvent = Extract<OutcomeEvent, { kind: 'refreshed' }>['event'];

/** The common event: a token from a login (not a partner push). */
export function isLoginToken(outcome: OutcomeEvent): boolean {
  return outcome.kind === 'refreshed' && outcome.event.source === 'login';
}

/**
 * Applies login tokens of distinct users in ONE statement (atomic on its own, one round trip):
 * the same effects and guards as applying each event alone. An event id processed before changes
 * nothing; the token is written only over an older login's; a credentials-rejected mark older than
 * the login is lifted; the run's outcome row changes only while pending, and each run's counters
 * move once for all of its users. Results are in input order, the counts of each run as they stood
 * after each of its outcomes, so the notices read as if recorded one by one.
 *
 * Every event must be a login token ({@link isLoginToken}) of a user who appears once in `events`.
 */
export async function applyLoginTokens(
  db: Kysely<Database>,
  events: readonly EventToApply[],
  now = new Date(),
): Promise<AppliedEvent[]> {
  if (events.length === 0) return [];
  const logins = events.map((e) => {
    if (e.outcome.kind !== 'refreshed' || !isLoginToken(e.outcome)) throw new Error('applyLoginTokens: not a login token');
    return { subject: e.subject, event: e.outcome.event };
  });
  const column = <T>(pick: (e: RefreshedEvent) => T) => logins.map((l) => pick(l.event));
  const at = now.toISOString();
  // IIFLUser's time columns are `timestamp` (UTC wall time, as the legacy code wrote them); the
  // other tables use timestamptz. Statements in WITH all run, read or not.
  const { rows } = await sql<{ fresh: string[]; outcomes: Array<{ run_id: string; user_id: string }>; runs: RunCounts[] }>`
    with v as (
      select * from unnest(
        ${column((e) => e.eventId)}::text[], ${logins.map((l) => l.subject)}::text[], ${column((e) => e.userID)}::text[],
        ${column((e) => e.token)}::text[], ${column((e) => new Date(e.tokenValidity).toISOString())}::timestamptz[],
        ${column((e) => new Date(e.loginTime).toISOString())}::timestamptz[], ${column((e) => e.runId)}::text[],
        ${column((e) => e.attempts)}::int[]
      ) as v(event_id, subject, user_id, token, token_validity, login_time, run_id, attempts)
    ), fresh as (
      insert into processed_events (event_id, subject, processed_at)
      select event_id, subject, ${at}::timestamptz from v
      on conflict (event_id) do nothing
      returning event_id
    ), e as (
      select v.* from v join fresh using (event_id)
    ), tokens as (
      update "IIFLUser" u set
        token = e.token, "tokenValidity" = e.token_validity at time zone 'UTC', "lastLoginTime" = e.login_time at time zone 'UTC',
        "loginStatus" = 'success', "tradingStatus" = 'active', "updatedAt" = ${at}::timestamptz at time zone 'UTC'
      from e
      where u."userID" = e.user_id and (u."lastLoginTime" is null or u."lastLoginTime" < e.login_time at time zone 'UTC')
    ), marks as (
      update user_refresh_state s set
        credentials_rejected_at = null, rejected_code = null, rejected_credentials_hash = null, updated_at = ${at}::timestamptz
      from e
      where s.user_id = e.user_id and s.credentials_rejected_at is not null and s.credentials_rejected_at <= e.login_time
    ), outcomes as (
      update refresh_outcomes o set
        outcome = 'refreshed', code = null, message = null, event_id = e.event_id, attempts = e.attempts,
        token_validity = e.token_validity, recorded_at = ${at}::timestamptz
      from e
      where o.run_id = e.run_id and o.user_id = e.user_id and o.outcome = 'pending'
      returning o.run_id, o.user_id
    ), runs as (
      update refresh_runs r set
        refreshed_count = r.refreshed_count + c.n,
        completed_at = case when r.refreshed_count + r.failed_count + r.skipped_count + c.n >= r.total
          then coalesce(r.completed_at, ${at}::timestamptz) else r.completed_at end
      from (select run_id, count(*)::int as n from outcomes group by run_id) c
      where r.run_id = c.run_id
      returning r.run_id, r.total, r.refreshed_count, r.failed_count, r.skipped_count
    )
    select
      (select coalesce(json_agg(event_id), '[]') from fresh) as fresh,
      (select coalesce(json_agg(json_build_object('run_id', run_id, 'user_id', user_id)), '[]') from outcomes) as outcomes,
      (select coalesce(json_agg(runs), '[]') from runs) as runs`.execute(db);
  const result = rows[0]!;

  const fresh = new Set(result.fresh);
  const recorded = new Set(result.outcomes.map((o) => key(o.run_id, o.user_id)));
  const runs = new Map(result.runs.map((r) => [r.run_id, r]));
  // Outcomes recorded per run, in input order: the counts after each one.
  const before = new Map([...runs.values()].map((r) => [r.run_id, r.refreshed_count - countIn(result.outcomes, r.run_id)]));
  const lastOf = new Map<string, number>();
  logins.forEach(({ event }, i) => {
    if (event.runId && recorded.has(key(event.runId, event.userID))) lastOf.set(event.runId, i);
  });

  return logins.map(({ event }, i): AppliedEvent => {
    if (!fresh.has(event.eventId)) return { duplicate: true, recorded: null };
    const run = event.runId ? runs.get(event.runId) : undefined;
    if (!event.runId || !run || !recorded.has(key(event.runId, event.userID))) return { duplicate: false, recorded: null };
    const refreshed = before.get(run.run_id)! + 1;
    before.set(run.run_id, refreshed);
    return { duplicate: false, recorded: outcomeOf(event, run, refreshed, lastOf.get(run.run_id) === i) };
  });
}

interface RunCounts {
  run_id: string;
  total: number;
  refreshed_count: number;
  failed_count: number;
  skipped_count: number;
}

function outcomeOf(event: RefreshedEvent, run: RunCounts, refreshed: number, lastOfRun: boolean): RecordedOutcome {
  return {
    runId: run.run_id,
    userID: event.userID,
    outcome: 'refreshed',
    code: null,
    message: null,
    tokenValidity: new Date(event.tokenValidity),
    total: run.total,
    refreshed,
    failed: run.failed_count,
    skipped: run.skipped_count,
    completed: lastOfRun && run.refreshed_count + run.failed_count + run.skipped_count >= run.total,
  };
}

const key = (runId: string, userID: string) => `${runId}\u0000${userID}`;

function countIn(outcomes: ReadonlyArray<{ run_id: string }>, runId: string): number {
  return outcomes.filter((o) => o.run_id === runId).length;
}
