import { sql, type RawBuilder } from 'kysely';
import { NoticeIds, type UserFailedNotice, type UserRecoveredNotice } from '@refresher/contracts';
import type { OutcomeEvent } from './parse-event.ts';
import type { AppliedEvent } from './recorded.ts';

/**
 * A user's state as it stood before the outcome statement applied one of its events (the
 * statement's snapshot): whether the user was failing (its latest failure newer than its latest
 * login), that failure, and whether the event is newer than what the row held.
 */
export interface PriorState {
  event_id: string;
  client_name: string;
  failing: boolean;
  failure_code: string | null;
  failure_message: string | null;
  failure_at: string | null;
  /** A login newer than the stored one; a failure newer than both the stored login and the latest failure. */
  current: boolean;
}

/** An applied event with the user's state before it (fresh logins and failures of known users). */
export type AppliedWithPrior = AppliedEvent & { prior?: PriorState };

/**
 * The CTE `prior` of the outcome statement: every sub-statement of one statement sees the same
 * snapshot, so these are the rows as they were before the statement's own writes. Only fresh events
 * (`e`) of logins and failures.
 */
export function priorStates(): RawBuilder<unknown> {
  return sql`prior as (
      select e.event_id, u."clientName" as client_name,
        s.last_failure_code as failure_code, s.last_failure_message as failure_message, s.last_failure_at as failure_at,
        coalesce(s.last_failure_at is not null and (u."lastLoginTime" is null or s.last_failure_at > u."lastLoginTime" at time zone 'UTC'), false)
          as failing,
        case when e.effect = 'login' then u."lastLoginTime" is null or u."lastLoginTime" < e.login_time at time zone 'UTC'
          else (u."lastLoginTime" is null or u."lastLoginTime" < e.failed_at at time zone 'UTC')
            and (s.last_failure_at is null or s.last_failure_at <= e.failed_at) end as current
      from e join "IIFLUser" u on u."userID" = e.user_id
      left join user_refresh_state s on s.user_id = e.user_id
      where e.effect in ('login', 'failed')
    )`;
}

/** Adds each event's prior state (by event id) to its result. */
export function withPriorStates(
  applied: AppliedEvent[],
  events: ReadonlyArray<{ eventId: string }>,
  prior: readonly PriorState[] | undefined,
): AppliedWithPrior[] {
  const byEvent = new Map((prior ?? []).map((p) => [p.event_id, p]));
  return applied.map((result, i) => {
    const state = byEvent.get(events[i]!.eventId);
    return state ? { ...result, prior: state } : result;
  });
}

/**
 * The notice a fresh event makes from the user's prior state, or null: a failure of a user that
 * was not failing (or failing with another code) is `tokens.user.failed`; a newer login of a user
 * that was failing, after that failure, is `tokens.user.recovered`.
 */
export function transitionNotice(
  outcome: OutcomeEvent,
  prior: PriorState | undefined,
  at: Date,
): UserFailedNotice | UserRecoveredNotice | null {
  if (!prior?.current) return null;
  const base = { v: 1 as const, at: at.toISOString(), userID: outcome.event.userID, clientName: prior.client_name.slice(0, 200) };
  if (outcome.kind === 'failed') {
    const e = outcome.event;
    if (prior.failing && prior.failure_code === e.code) return null;
    return {
      ...base,
      id: NoticeIds.userFailed(e.eventId),
      type: 'tokens.user.failed',
      runId: e.runId,
      code: e.code,
      brokerCode: e.brokerCode,
      message: e.message,
      retryable: e.retryable,
      attempts: e.attempts,
      failedAt: e.failedAt,
      previousCode: prior.failing ? prior.failure_code : null,
    };
  }
  if (outcome.kind !== 'refreshed' || outcome.event.source !== 'login' || !prior.failing || prior.failure_at === null) return null;
  const e = outcome.event;
  if (new Date(prior.failure_at) > new Date(e.loginTime)) return null;
  return {
    ...base,
    id: NoticeIds.userRecovered(e.eventId),
    type: 'tokens.user.recovered',
    runId: e.runId,
    loginTime: e.loginTime,
    tokenValidity: e.tokenValidity,
    failure: {
      code: prior.failure_code?.slice(0, 64) ?? null,
      message: prior.failure_message?.slice(0, 500) ?? null,
      at: new Date(prior.failure_at).toISOString(),
    },
  };
}
