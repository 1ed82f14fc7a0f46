import type { RunOutcomeRecorded, RunResult, RunSummary, SkippedUser, SkipReason } from '@refresher/contracts';
import type { OutputStyle } from './args.ts';

/** The summary as `--json` prints it. */
export interface CliSummary {
  /** Null when no run was needed (`--failed` with nobody failed). */
  runId: string | null;
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

/**
 * What each kind of line starts with: nothing in this command's own output; in the existing script's,
 * the emoji its output shows (seed, "Script Execution", where they appear as mojibake of UTF-8).
 */
const MARKS: Record<OutputStyle, Record<'fetching' | 'found' | 'skip' | 'summary' | 'successful' | 'failed' | 'total' | 'done', string>> = {
  plain: { fetching: '', found: '', skip: '', summary: '', successful: '', failed: '', total: '', done: '' },
  legacy: { fetching: '🔍 ', found: '📊 ', skip: '⏭️  ', summary: '📊 ', successful: '✅ ', failed: '❌ ', total: '📈 ', done: '✅ ' },
};

/**
 * The lines before the users: how many there are, then the skipped ones. The existing script said
 * first what it fetched and left a blank line after the count.
 */
export function formatStart(count: number, skipped: readonly SkippedUser[], style: OutputStyle = 'plain', userID?: string): string[] {
  const lines: string[] = [];
  if (style === 'legacy') lines.push(`${MARKS.legacy.fetching}Fetching ${userID ? `IIFL user ${userID}` : 'all IIFL users'}...`);
  lines.push(formatFound(count, style));
  if (style === 'legacy') lines.push('');
  for (const user of skipped) lines.push(formatSkipped(user, style));
  return lines;
}

export function formatFound(count: number, style: OutputStyle = 'plain'): string {
  return `${MARKS[style].found}Found ${count} user(s) to process`;
}

export function formatSkipped(user: SkippedUser, style: OutputStyle = 'plain'): string {
  return `${MARKS[style].skip}Skipping ${user.clientName} (${user.userID}) - ${describeSkipReason(user.reason)}`;
}

/**
 * After users skipped because the broker rejected their credentials before: how to let them be
 * logged in again once the credentials were put right outside the system.
 */
export function formatRejectedHint(skipped: readonly SkippedUser[]): string[] {
  const rejected = skipped.filter((u) => u.reason === 'CREDENTIALS_REJECTED').map((u) => u.userID);
  if (rejected.length === 0) return [];
  const user = rejected.length === 1 ? rejected[0]! : '<userID>';
  return [
    `${rejected.length} user(s) skipped: the broker rejected their credentials before, and they have not changed since.`,
    'Once put right outside the system (an account unlocked at IIFL, say), lift the mark:',
    `  pnpm refresh-tokens --clear-rejections --user ${user}${rejected.length > 1 ? '    (without --user: every user)' : ''}`,
    `and refresh: pnpm refresh-tokens --failed (or --user ${user}). New credentials (pnpm users update) lift the mark themselves.`,
  ];
}

/** The existing script's last line, once the run is over; this command's own output has none. */
export function formatClosing(style: OutputStyle): string[] {
  return style === 'legacy' ? ['', `${MARKS.legacy.done}Token refresh completed!`] : [];
}

/** `CODE message`, or whichever of the two there is. */
export function formatError(code: string | null, message: string | null): string {
  return [code, message].filter((part) => part !== null && part !== '').join(' ') || 'unknown error';
}

/** The legacy script's block, then the failed users. */
export function formatSummary(summary: CliSummary, style: OutputStyle = 'plain'): string[] {
  const mark = MARKS[style];
  const lines = [
    `${mark.summary}REFRESH SUMMARY:`,
    `${mark.successful}Successful: ${summary.successful}`,
    `${mark.failed}Failed: ${summary.failed}`,
    `${mark.skip}Skipped: ${summary.skipped}`,
    `${mark.total}Total: ${summary.total}`,
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
