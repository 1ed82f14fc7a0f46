import type { AttentionUser, Notice, RunCompletedNotice } from '@refresher/contracts';
import type { WebhookFormat } from './webhooks.ts';

/** The users a Slack message names at most; the report's JSON form lists up to 200. */
export const SLACK_USERS_MAX = 20;

/** The body of a delivery: the notice itself (json) or a Slack message (`{"text": ...}`). */
export function renderBody(notice: Notice, format: WebhookFormat): string {
  return format === 'slack' ? JSON.stringify({ text: slackText(notice) }) : JSON.stringify(notice);
}

/** Slack's escaping of text: `&`, `<` and `>` only. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const who = (n: { clientName: string; userID: string }) => (n.clientName ? `${esc(n.clientName)} (${n.userID})` : n.userID);

/** One line of text per notice, and for a run report one more per user needing attention. */
export function slackText(notice: Notice): string {
  switch (notice.type) {
    case 'tokens.run.completed':
      return runText(notice);
    case 'tokens.user.failed': {
      const was = notice.previousCode ? ` (it was failing with ${notice.previousCode})` : '';
      return `:x: ${who(notice)} could not be logged in: ${notice.code}${detail(notice.message)}${was}`;
    }
    case 'tokens.user.recovered':
      return `:white_check_mark: ${who(notice)} has a fresh token again, valid until ${notice.tokenValidity} (it had failed with ${notice.failure.code ?? 'an error'})`;
    case 'tokens.invalidated':
      return `:warning: The token of ${who(notice)} stopped working at IIFL (${notice.reason}${notice.brokerCode ? `, ${notice.brokerCode}` : ''}); a refresh follows`;
  }
}

function runText(run: RunCompletedNotice): string {
  const { counts, needsAttention } = run;
  const kind = run.retryOf ? `pass of ${run.retryOf}` : run.trigger;
  const tally = `${counts.refreshed} of ${counts.total} refreshed, ${counts.failed} failed, ${counts.skipped} skipped`;
  if (needsAttention.count === 0) return `:white_check_mark: Run ${run.runId} (${kind}) completed: ${tally}; nobody needs attention`;
  const lines = needsAttention.users.slice(0, SLACK_USERS_MAX).map(attentionLine);
  const rest = needsAttention.count - lines.length;
  return [
    `:warning: Run ${run.runId} (${kind}) completed: ${needsAttention.count} need attention (${tally})`,
    ...lines,
    ...(rest > 0 ? [`…and ${rest} more`] : []),
  ].join('\n');
}

function attentionLine(user: AttentionUser): string {
  return `• ${who(user)}: ${user.outcome} ${user.code ?? ''}${detail(user.message)}`.trimEnd();
}

const detail = (message: string | null) => (message ? ` — ${esc(message)}` : '');
