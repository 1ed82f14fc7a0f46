import type { RunOutcomeRecorded, RunResult, RunSummary, SkippedUser, SkipReason } from '@refresher/contracts';

/** The summary as `--json` prints it. */
export interface CliSummary {
  runId: string;
  completed: boolean;
  successful: number;
  failed: number;
  skipped: number;
  /** Users still without an outcome when the wait ended (0 when completed). */
  pending: number;
  total: number;
  failedUsers: { userID: string; code: string | null; message: string | null }[];
  results: RunResult[];
}

export function toCliSummary(summary: RunSummary, completed: boolean): CliSummary {
  return {
    runId: summary.runId,
    completed,
    successful: summary.refreshed,
    failed: summary.failed,
    skipped: summary.skipped,
    pending: summary.pending,
    total: summary.total,
    failedUsers: summary.results.filter((r) => r.outcome === 'failed').map((r) => ({ userID: r.userID, code: r.code, message: r.message })),
    results: summary.results,
  };
}

const SKIP_REASONS: Record<SkipReason, string> = {
  INTEGRATION_MANAGED: 'Integration-managed user',
  NOT_LIVE: 'Not a live account',
  CREDENTIALS_REJECTED: 'Credentials were rejected by the broker; update them before the next run',
  LOGIN_REQUIRED: "Logs in on IIFL's login page; a login link was announced (tokens.login-required)",
};

export function describeSkipReason(reason: string): string {
  return SKIP_REASONS[reason as SkipReason] ?? reason;
}

export function formatFound(count: number): string {
  return `Found ${count} user(s) to process`;
}

export function formatSkipped(user: SkippedUser): string {
  return `Skipping ${user.clientName} (${user.userID}) - ${describeSkipReason(user.reason)}`;
}

/** `CODE message`, or whichever of the two there is. */
export function formatError(code: string | null, message: string | null): string {
  return [code, message].filter((part) => part !== null && part !== '').join(' ') || 'unknown error';
}

/** The legacy script's block, then the failed users. */
export function formatSummary(summary: CliSummary): string[] {
  const lines = [
    'REFRESH SUMMARY:',
    `Successful: ${summary.successful}`,
    `Failed: ${summary.failed}`,
    `Skipped: ${summary.skipped}`,
    `Total: ${summary.total}`,
  ];
  if (summary.failedUsers.length > 0) {
    lines.push('', 'Failed Users:');
    for (const user of summary.failedUsers) lines.push(`  ${user.userID}: ${formatError(user.code, user.message)}`);
  }
  return lines;
}

/** `--verbose`: when each new token stops being valid (never the token itself). */
export function formatRefreshedDetails(results: readonly RunResult[]): string[] {
  return results
    .filter((r) => r.outcome === 'refreshed')
    .map((r) => `Refreshed ${r.clientName} (${r.userID}) - token valid until ${r.tokenValidity ?? 'unknown'}`);
}

/** `--verbose`: one line per outcome as it is recorded. */
export function formatOutcome(outcome: RunOutcomeRecorded): string {
  const prefix = `[${outcome.done}/${outcome.total}] ${outcome.userID}`;
  if (outcome.outcome === 'refreshed') return `${prefix} refreshed`;
  if (outcome.outcome === 'skipped') return `${prefix} skipped: ${describeSkipReason(outcome.code ?? outcome.message ?? '')}`;
  return `${prefix} failed: ${formatError(outcome.code, outcome.message)}`;
}

export function formatProgress(p: { done: number; total: number; refreshed: number; failed: number }): string {
  return `Progress: ${p.done}/${p.total} done (${p.refreshed} refreshed, ${p.failed} failed)`;
}

export function formatIncomplete(summary: CliSummary, timeoutSeconds: number): string {
  return (
    `Run ${summary.runId} did not complete within ${timeoutSeconds} s: ${summary.pending} user(s) still pending. ` +
    'The run goes on; the counts above are those recorded so far.'
  );
}
