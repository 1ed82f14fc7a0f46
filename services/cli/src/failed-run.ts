import type { NatsConnection } from 'nats';
import { PersistenceApi, type RunHeader } from '@refresher/contracts';
import { callService, ServiceCallError } from '@refresher/platform';
import type { CliOptions } from './args.ts';
import { ExitCode, followRun, infoOf, printResult, reportServiceError, type Output, type RunRefreshTuning } from './run-refresh.ts';

/**
 * `--failed`: the users that failed in the latest run over all users (one-user runs are passed over)
 * are refreshed in a run of their own that retries it (`retry: { of, failures: 'all' }`), linked to
 * the first run of its chain. Persistence decides who: each user whose latest outcome in the chain is
 * a failure and who has not logged in since; a user whose rejected credentials still stand comes
 * back skipped `CREDENTIALS_REJECTED`.
 */
export async function refreshFailed(
  nc: NatsConnection,
  options: CliOptions,
  output: Output,
  tuning: RunRefreshTuning = {},
): Promise<ExitCode> {
  const info = infoOf(options, output);
  let latest: RunHeader | undefined;
  try {
    [latest] = (await callService(nc, PersistenceApi.listRuns, { limit: 1, allUsersOnly: true })).runs;
  } catch (err) {
    if (err instanceof ServiceCallError) return reportServiceError(err, options, output, 'list the runs');
    throw err;
  }
  if (!latest) {
    info('No run over all users yet: nobody failed, nothing to refresh.');
    return nobodyFailed(options, output);
  }
  const described = `run ${latest.runId} (${latest.trigger}, ${latest.requestedAt})`;
  if (latest.pending > 0) output.err(`Note: ${described} is still going: ${latest.pending} user(s) pending are not retried.`);
  // A run of its own with no failure: nobody to retry. A run in a chain (a morning and its passes)
  // may still hold failures of the first run, which only persistence can tell.
  if (latest.retryOf === null && latest.failed === 0) {
    info(`Nobody failed in the latest ${described}: nothing to refresh.`);
    return nobodyFailed(options, output);
  }
  info(
    `Refreshing the users that failed in ${latest.retryOf ? `run ${latest.retryOf} and its retries, the latest ${described}` : described}`,
  );
  return followRun(nc, { trigger: 'cli', retry: { of: latest.runId, failures: 'all' } }, options, output, tuning);
}

/** Nothing was started: exit 0; with --json, an empty summary all the same, so stdout is always one JSON document. */
function nobodyFailed(options: CliOptions, output: Output): ExitCode {
  if (!options.json) return ExitCode.Ok;
  const empty = { runId: null, completed: true, successful: 0, failed: 0, skipped: 0, pending: 0, total: 0, failedUsers: [], results: [] };
  return printResult(empty, options, output);
}
