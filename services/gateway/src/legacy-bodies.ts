import { SkipReason, type RunResult, type RunSummary, type RunUser, type SkippedUser, type StartRunResponse } from '@refresher/contracts';

/**
 * Pure mappings from runs to the bodies the legacy API answered, plus the fields this gateway adds
 * (`runId`, `skipped`, `pending`, `statusUrl`). Counting, as the legacy API did: `total` is the
 * users the run tried to log in (refreshed + failed + still pending); users skipped on purpose
 * (integration-managed, not live, credentials rejected before) are counted apart in `skipped` and
 * are not in `results`.
 */

export const API_PREFIX = '/api/integration';

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function runStatusUrl(runId: string): string {
  return `${API_PREFIX}/tokens/runs/${runId}`;
}

export interface LegacyResult {
  success: boolean;
  userID: string;
  clientName: string;
  error?: string;
  code?: string;
  tokenValidity?: string;
}

/** "CODE: message", the failure as the legacy `error` string. */
export function failureText(code: string | null, message: string | null): string {
  if (code && message) return `${code}: ${message}`;
  return code ?? message ?? 'Login failed';
}

export function legacyResult(result: RunResult): LegacyResult {
  if (result.outcome === 'refreshed') {
    return {
      success: true,
      userID: result.userID,
      clientName: result.clientName,
      ...(result.tokenValidity ? { tokenValidity: result.tokenValidity } : {}),
    };
  }
  return {
    success: false,
    userID: result.userID,
    clientName: result.clientName,
    error: failureText(result.code, result.message),
    ...(result.code ? { code: result.code } : {}),
  };
}

/** The legacy refresh-all body: the counts (`total` leaves skipped users out) and the results, then this gateway's fields. */
function refreshAllBody(
  message: string,
  counts: Pick<RunSummary, 'refreshed' | 'failed' | 'pending' | 'runId' | 'skipped'>,
  results: LegacyResult[],
): Record<string, unknown> {
  return {
    success: true,
    message,
    refreshed: counts.refreshed,
    failed: counts.failed,
    total: counts.refreshed + counts.failed + counts.pending,
    results,
    runId: counts.runId,
    skipped: counts.skipped,
  };
}

/** `POST /tokens/refresh-all` when the run has nobody to log in. */
export function noUsersAnswer(start: StartRunResponse): HttpAnswer {
  const counts = { refreshed: 0, failed: 0, pending: 0, runId: start.runId, skipped: start.skipped.length };
  return { status: 200, body: refreshAllBody('No real users to refresh', counts, []) };
}

/**
 * `POST /tokens/refresh-all` after waiting: 200 as the legacy API once every user has an outcome;
 * 202 with the same fields, the finished users' results and `pending` when the wait ran out.
 */
export function refreshAllAnswer(summary: RunSummary, completed: boolean): HttpAnswer {
  const finished = summary.results.filter((r) => r.outcome === 'refreshed' || r.outcome === 'failed');
  const done = completed && summary.pending === 0;
  const message = done ? 'Token refresh completed' : 'Token refresh still running';
  return {
    status: done ? 200 : 202,
    body: {
      ...refreshAllBody(message, summary, finished.map(legacyResult)),
      ...(done ? {} : { pending: summary.pending, statusUrl: runStatusUrl(summary.runId) }),
    },
  };
}

/** A run started with `Prefer: respond-async`: accepted, follow `statusUrl`. */
export function runStartedAnswer(start: StartRunResponse, userID?: string): HttpAnswer {
  return {
    status: 202,
    body: {
      success: true,
      message: 'Token refresh started',
      runId: start.runId,
      ...(userID ? { userID } : {}),
      requested: start.requested.length,
      skipped: start.skipped.length,
      statusUrl: runStatusUrl(start.runId),
    },
  };
}

const SKIP_MESSAGES: Record<SkipReason, string> = {
  [SkipReason.IntegrationManaged]: 'Cannot refresh token for integration-managed user',
  [SkipReason.NotLive]: 'Cannot refresh token for a user that is not live',
  [SkipReason.CredentialsRejected]: "Cannot refresh token: the broker rejected this user's credentials; update them before trying again",
  [SkipReason.LoginRequired]:
    "This user logs in on IIFL's login page: a login link was announced (GET /api/integration/iifl/login/:userID makes one)",
};

/** `POST /tokens/refresh/:userID` for a user the run skips: 200 with success false, as the legacy API. */
export function skippedUserAnswer(skip: Pick<SkippedUser, 'userID'> & { reason: string | null }, runId: string): HttpAnswer {
  return {
    status: 200,
    body: {
      success: false,
      message: isSkipReason(skip.reason) ? SKIP_MESSAGES[skip.reason] : 'Cannot refresh token for this user',
      reason: skip.reason,
      userID: skip.userID,
      runId,
    },
  };
}

function isSkipReason(value: string | null): value is SkipReason {
  return value !== null && (Object.values(SkipReason) as string[]).includes(value);
}

/**
 * `POST /tokens/refresh/:userID` after waiting: 200 refreshed, 500 with the failure (the legacy
 * status for a failed login), 202 while the user has no outcome yet.
 */
export function refreshUserAnswer(
  runId: string,
  user: RunUser,
  result: Pick<RunResult, 'outcome' | 'code' | 'message' | 'tokenValidity'> | null,
): HttpAnswer {
  const { userID } = user;
  if (!result || result.outcome === 'pending') {
    return stillRunningAnswer(runId, userID);
  }
  switch (result.outcome) {
    case 'refreshed':
      return {
        status: 200,
        body: {
          success: true,
          message: 'Token refreshed successfully',
          userID,
          clientName: user.clientName,
          tokenValidity: result.tokenValidity,
          runId,
        },
      };
    case 'failed':
      return {
        status: 500,
        body: {
          success: false,
          error: failureText(result.code, result.message),
          code: result.code,
          userID,
          runId,
        },
      };
    case 'skipped':
      return skippedUserAnswer({ userID, reason: result.code }, runId);
  }
}

/** The one-user refresh is accepted but has no outcome yet. */
export function stillRunningAnswer(runId: string, userID: string): HttpAnswer {
  return {
    status: 202,
    body: {
      success: true,
      message: 'Token refresh still running',
      userID,
      runId,
      statusUrl: runStatusUrl(runId),
    },
  };
}
