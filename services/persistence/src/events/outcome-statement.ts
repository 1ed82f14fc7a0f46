import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '@refresher/db';
import type { OutcomeEvent } from './parse-event.ts';
import type { RecordedFields, StatementResult } from './recorded.ts';
import { priorStates } from './transitions.ts';

/**
 * What a failed login does to the legacy `tradingStatus` (FAILED_LOGIN_TRADING_STATUS): `inactive`,
 * as the existing system's cron did, or `unchanged`.
 */
export type FailedLoginTradingStatus = 'inactive' | 'unchanged';

/** Deployment choices the statement follows. */
export interface OutcomeOptions {
  failedLoginTradingStatus: FailedLoginTradingStatus;
}

export const DEFAULT_OUTCOME_OPTIONS: OutcomeOptions = { failedLoginTradingStatus: 'inactive' };

/** What an event does besides recording its id and its run outcome. */
type Effect = 'login' | 'push' | 'failed' | 'skipped';

/** One event as a row of the statement's input. */
export interface EventRow extends RecordedFields {
  subject: string;
  effect: Effect;
  attempts: number | null;
  token: string | null;
  loginTime: string | null;
  failedAt: string | null;
  /** Set on a credential rejection of a user whose credentials can be rejected: marks them. */
  fingerprint: string | null;
}

const NONE = { token: null, loginTime: null, failedAt: null, fingerprint: null, tokenValidity: null } as const;

export function toEventRow(subject: string, outcome: OutcomeEvent, fingerprint: string | null): EventRow {
  const { eventId, userID } = outcome.event;
  const base = { subject, eventId, userID };
  switch (outcome.kind) {
    case 'refreshed': {
      const e = outcome.event;
      // A pushed token was written by the push endpoint before the event was published.
      const login = e.source === 'login';
      return {
        ...base,
        ...NONE,
        effect: login ? 'login' : 'push',
        runId: login ? e.runId : null,
        outcome: login ? 'refreshed' : null,
        code: null,
        message: null,
        attempts: e.attempts,
        token: e.token,
        tokenValidity: e.tokenValidity,
        loginTime: e.loginTime,
      };
    }
    case 'failed': {
      const e = outcome.event;
      return {
        ...base,
        ...NONE,
        effect: 'failed',
        runId: e.runId,
        outcome: 'failed',
        code: e.code,
        message: e.message,
        attempts: e.attempts,
        failedAt: e.failedAt,
        fingerprint,
      };
    }
    case 'skipped':
      return {
        ...base,
        ...NONE,
        effect: 'skipped',
        runId: outcome.event.runId,
        outcome: 'skipped',
        code: outcome.event.reason,
        message: null,
        attempts: null,
      };
  }
}

/**
 * THE statement that applies outcome events (each user and event id at most once in `rows`), atomic
 * on its own and one round trip: an event id processed before changes nothing; a login's token is
 * written only over an older login's, sets the legacy `tradingStatus = 'active'` and lifts a
 * credentials-rejected mark older than the login; a failure marks the legacy `loginStatus = 'failed'`
 * and (unless `options` say `unchanged`) `tradingStatus = 'inactive'`, both unless a later login
 * succeeded, keeps the user's latest failure
 * and, with a fingerprint and no later login, marks the credentials rejected; every outcome changes
 * its run's row only while pending, and each run's counters move once for all of its users.
 */
export async function runOutcomeStatement(
  db: Kysely<Database> | Transaction<Database>,
  rows: readonly EventRow[],
  now: Date,
  options: OutcomeOptions = DEFAULT_OUTCOME_OPTIONS,
): Promise<StatementResult> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const column = <T>(pick: (row: EventRow) => T) => rows.map(pick);
  // IIFLUser's time columns are `timestamp` (UTC wall time, as the legacy code wrote them); the
  // other tables use timestamptz. Statements in WITH all run, read or not.
  const {
    rows: [result],
  } = await sql<StatementResult>`
    with v as (
      select * from unnest(
        ${column((r) => r.eventId)}::text[], ${column((r) => r.subject)}::text[], ${column((r) => r.userID)}::text[],
        ${column((r) => r.effect)}::text[], ${column((r) => r.runId)}::text[], ${column((r) => r.outcome)}::text[],
        ${column((r) => r.code)}::text[], ${column((r) => r.message)}::text[], ${column((r) => r.attempts)}::int[],
        ${column((r) => r.token)}::text[], ${column((r) => r.tokenValidity)}::timestamptz[], ${column((r) => r.loginTime)}::timestamptz[],
        ${column((r) => r.failedAt)}::timestamptz[], ${column((r) => r.fingerprint)}::text[]
      ) as v(event_id, subject, user_id, effect, run_id, outcome, code, message, attempts, token, token_validity, login_time, failed_at, fingerprint)
    ), fresh as (
      insert into processed_events (event_id, subject, processed_at)
      select event_id, subject, ${at} from v
      on conflict (event_id) do nothing
      returning event_id
    ), e as (
      select v.* from v join fresh using (event_id)
    ), ${sql.join(effectsOf(rows, at, options))}
    select
      (select coalesce(json_agg(event_id), '[]') from fresh) as fresh,
      (select coalesce(json_agg(json_build_object('run_id', run_id, 'user_id', user_id)), '[]') from outcomes) as outcomes,
      (select coalesce(json_agg(runs), '[]') from runs) as runs,
      (select coalesce(json_agg(prior), '[]') from prior) as prior`.execute(db);
  return result!;
}

/** The CTEs the rows need (a statement of logins only is planned without the failures' CTEs). */
function effectsOf(rows: readonly EventRow[], at: RawBuilder<unknown>, options: OutcomeOptions): Array<RawBuilder<unknown>> {
  const has = (effect: Effect) => rows.some((row) => row.effect === effect);
  // `prior`: the users' state before this statement, for the notices of failures and recoveries.
  return [
    ...(has('login') ? [loginEffects(at)] : []),
    ...(has('failed') ? [failureEffects(at, options)] : []),
    runEffects(at),
    priorStates(),
  ];
}

function loginEffects(at: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`tokens as (
      update "IIFLUser" u set
        token = e.token, "tokenValidity" = e.token_validity at time zone 'UTC', "lastLoginTime" = e.login_time at time zone 'UTC',
        "loginStatus" = 'success', "tradingStatus" = 'active', "updatedAt" = ${at} at time zone 'UTC'
      from e
      where e.effect = 'login' and u."userID" = e.user_id
        and (u."lastLoginTime" is null or u."lastLoginTime" < e.login_time at time zone 'UTC')
    ), lifted as (
      update user_refresh_state s set
        credentials_rejected_at = null, rejected_code = null, rejected_credentials_hash = null, updated_at = ${at}
      from e
      where e.effect = 'login' and s.user_id = e.user_id
        and s.credentials_rejected_at is not null and s.credentials_rejected_at <= e.login_time
    )`;
}

/** A failure of a known user; the token is left as it is (it may still be valid). */
function failureEffects(at: RawBuilder<unknown>, options: OutcomeOptions): RawBuilder<unknown> {
  const newer = sql`(s.last_failure_at is null or s.last_failure_at <= excluded.last_failure_at)`;
  const rejects = sql`excluded.rejected_credentials_hash is not null`;
  const trading = options.failedLoginTradingStatus === 'inactive' ? sql`"tradingStatus" = 'inactive', ` : sql``;
  return sql`failed as (
      select e.*, u."lastLoginTime" is not null and u."lastLoginTime" >= e.failed_at at time zone 'UTC' as later_login
      from e join "IIFLUser" u on u."userID" = e.user_id
      where e.effect = 'failed'
    ), statuses as (
      update "IIFLUser" u set "loginStatus" = 'failed', ${trading}"updatedAt" = ${at} at time zone 'UTC'
      from failed f
      where u."userID" = f.user_id and not f.later_login
    ), failures as (
      insert into user_refresh_state as s (user_id, last_failure_code, last_failure_message, last_failure_at, last_failure_event_id,
        credentials_rejected_at, rejected_code, rejected_credentials_hash, updated_at)
      select f.user_id, f.code, f.message, f.failed_at, f.event_id,
        case when f.rejects then f.failed_at end, case when f.rejects then f.code end, case when f.rejects then f.fingerprint end, ${at}
      from (select *, fingerprint is not null and not later_login as rejects from failed) f
      on conflict (user_id) do update set
        last_failure_code = case when ${newer} then excluded.last_failure_code else s.last_failure_code end,
        last_failure_message = case when ${newer} then excluded.last_failure_message else s.last_failure_message end,
        last_failure_at = case when ${newer} then excluded.last_failure_at else s.last_failure_at end,
        last_failure_event_id = case when ${newer} then excluded.last_failure_event_id else s.last_failure_event_id end,
        credentials_rejected_at = case when ${rejects} then excluded.credentials_rejected_at else s.credentials_rejected_at end,
        rejected_code = case when ${rejects} then excluded.rejected_code else s.rejected_code end,
        rejected_credentials_hash = case when ${rejects} then excluded.rejected_credentials_hash else s.rejected_credentials_hash end,
        updated_at = excluded.updated_at
      where ${newer} or ${rejects}
    )`;
}

/** The run outcome rows (only while pending) and each run's counters, completed with its last user. */
function runEffects(at: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`outcomes as (
      update refresh_outcomes o set
        outcome = e.outcome, code = e.code, message = e.message, event_id = e.event_id, attempts = e.attempts,
        token_validity = e.token_validity, recorded_at = ${at}
      from e
      where e.outcome is not null and o.run_id = e.run_id and o.user_id = e.user_id and o.outcome = 'pending'
      returning o.run_id, o.user_id, o.outcome
    ), counted as (
      select run_id, count(*)::int as n,
        (count(*) filter (where outcome = 'refreshed'))::int as refreshed,
        (count(*) filter (where outcome = 'failed'))::int as failed,
        (count(*) filter (where outcome = 'skipped'))::int as skipped
      from outcomes group by run_id
    ), runs as (
      update refresh_runs r set
        refreshed_count = r.refreshed_count + c.refreshed, failed_count = r.failed_count + c.failed,
        skipped_count = r.skipped_count + c.skipped,
        completed_at = case when r.refreshed_count + r.failed_count + r.skipped_count + c.n >= r.total
          then coalesce(r.completed_at, ${at}) else r.completed_at end
      from counted c
      where r.run_id = c.run_id
      returning r.run_id, r.total, r.refreshed_count, r.failed_count, r.skipped_count
    )`;
}
