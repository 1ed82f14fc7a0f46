import { sql, type Kysely } from 'kysely';
import {
  INTEGRATION_MANAGED,
  type AccountAttempt,
  type AccountStatus,
  type ListAccountsRequest,
  type ListAccountsResponse,
  type LoginFlow,
} from '@refresher/contracts';
import type { Database } from '@refresher/db';

/** As `persistence.users.token-status` shows a token: its first 16 characters and "...". */
const PREVIEW_LENGTH = 16;

interface AccountRow {
  userID: string;
  clientName: string;
  state: string | null;
  integration_managed: boolean;
  login_flow: LoginFlow | null;
  loginStatus: string;
  tradingStatus: string;
  token_preview: string | null;
  tokenValidity: Date | null;
  lastLoginTime: Date | null;
  attempt_run_id: string | null;
  attempt_trigger: AccountAttempt['trigger'] | null;
  attempt_outcome: AccountAttempt['outcome'] | null;
  attempt_code: string | null;
  attempt_message: string | null;
  attempt_at: Date | null;
  last_failure_code: string | null;
  last_failure_message: string | null;
  last_failure_at: Date | null;
  credentials_rejected_at: Date | null;
  rejected_code: string | null;
}

/**
 * Every account, a page at a time by userID, for the status page: the legacy row (a token preview
 * only: the token never leaves the database here), the user's own login flow, the refresh state
 * (the last failure, the rejection mark) and the outcome of the latest run that counted the user.
 */
export async function listAccounts(db: Kysely<Database>, request: ListAccountsRequest): Promise<ListAccountsResponse> {
  const after = request.after ?? null;
  const result = await sql<AccountRow>`
    select u."userID", u."clientName", u.state, u.password = ${INTEGRATION_MANAGED} as integration_managed,
      ls.login_flow, u."loginStatus", u."tradingStatus",
      case when coalesce(u.token, '') = '' then null else left(u.token, ${PREVIEW_LENGTH}) || '...' end as token_preview,
      u."tokenValidity", u."lastLoginTime",
      a.run_id as attempt_run_id, a.trigger as attempt_trigger, a.outcome as attempt_outcome,
      a.code as attempt_code, a.message as attempt_message, a.at as attempt_at,
      s.last_failure_code, s.last_failure_message, s.last_failure_at, s.credentials_rejected_at, s.rejected_code
    from "IIFLUser" u
    left join user_login_settings ls on ls.user_id = u."userID"
    left join user_refresh_state s on s.user_id = u."userID"
    left join lateral (
      select o.run_id, r.trigger, o.outcome, o.code, o.message, coalesce(o.recorded_at, r.requested_at) as at
      from refresh_outcomes o join refresh_runs r on r.run_id = o.run_id
      where o.user_id = u."userID"
      order by r.requested_at desc, r.run_id desc
      limit 1
    ) a on true
    where ${after}::text is null or u."userID" > ${after}::text
    order by u."userID"
    limit ${request.limit + 1}`.execute(db);
  const page = result.rows.slice(0, request.limit);
  return {
    accounts: page.map(toAccount),
    next: result.rows.length > request.limit ? (page.at(-1)?.userID ?? null) : null,
  };
}

function iso(value: Date | null): string | null {
  return value?.toISOString() ?? null;
}

function toAccount(row: AccountRow): AccountStatus {
  return {
    userID: row.userID,
    clientName: row.clientName,
    state: row.state,
    integrationManaged: row.integration_managed,
    loginFlow: row.login_flow,
    loginStatus: row.loginStatus,
    tradingStatus: row.tradingStatus,
    tokenPreview: row.token_preview,
    tokenValidity: iso(row.tokenValidity),
    lastLoginTime: iso(row.lastLoginTime),
    lastAttempt:
      row.attempt_run_id && row.attempt_trigger && row.attempt_outcome && row.attempt_at
        ? {
            runId: row.attempt_run_id,
            trigger: row.attempt_trigger,
            outcome: row.attempt_outcome,
            code: row.attempt_code,
            message: row.attempt_message,
            at: row.attempt_at.toISOString(),
          }
        : null,
    lastFailure: row.last_failure_at
      ? { code: row.last_failure_code, message: row.last_failure_message, at: row.last_failure_at.toISOString() }
      : null,
    credentialsRejected: row.credentials_rejected_at ? { at: row.credentials_rejected_at.toISOString(), code: row.rejected_code } : null,
  };
}
