import type { NatsConnection } from 'nats';
import { PersistenceApi, ServiceErrorCode, type RunOutcomeRecorded } from '@refresher/contracts';
import { ServiceCallError } from '@refresher/platform';
import { startRefreshRun, type RefreshRun } from '@refresher/refresh-runs';
import type { CliOptions } from './args.ts';
import {
  formatFound,
  formatIncomplete,
  formatOutcome,
  formatProgress,
  formatRefreshedDetails,
  formatSkipped,
  formatSummary,
  toCliSummary,
} from './summary-format.ts';

export interface Output {
  /** A line for stdout. */
  out(line: string): void;
  /** A line for stderr. */
  err(line: string): void;
}

export const ExitCode = {
  Ok: 0,
  Failed: 1,
  Usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface RunRefreshTuning {
  /** Without --verbose, a progress line at most this often... */
  progressIntervalMs?: number;
  /** ...or after this many outcomes. */
  progressEvery?: number;
}

/**
 * Starts a run (trigger `cli`), reports its progress on stderr, and prints the summary on stdout.
 * Returns the exit code.
 */
export async function runRefresh(
  nc: NatsConnection,
  options: CliOptions,
  output: Output,
  tuning: RunRefreshTuning = {},
): Promise<ExitCode> {
  // With --json, stdout carries the JSON summary alone; the human lines go to stderr.
  const info = options.json ? output.err : output.out;

  let run: RefreshRun;
  try {
    run = await startRefreshRun(nc, { trigger: 'cli', ...(options.userID ? { userID: options.userID } : {}) });
  } catch (err) {
    return reportStartError(err, options, output);
  }

  try {
    const { start } = run;
    info(formatFound(start.requested.length + start.skipped.length));
    for (const user of start.skipped) info(formatSkipped(user));
    if (start.requested.length > 0) {
      output.err(`Run ${start.runId}: waiting for ${start.requested.length} login(s), up to ${options.timeoutSeconds} s`);
    }

    const progress = createProgress(options.verbose, output, tuning);
    let result;
    try {
      result = await run.waitForCompletion(options.timeoutSeconds * 1000, progress.onOutcome);
    } finally {
      progress.stop();
    }

    const summary = toCliSummary(result.summary, result.completed);
    if (options.json) {
      output.out(JSON.stringify(summary, null, 2));
    } else {
      if (options.verbose) for (const line of formatRefreshedDetails(summary.results)) output.out(line);
      output.out('');
      for (const line of formatSummary(summary)) output.out(line);
    }
    if (!summary.completed) output.err(formatIncomplete(summary, options.timeoutSeconds));
    return summary.completed && summary.failed === 0 ? ExitCode.Ok : ExitCode.Failed;
  } catch (err) {
    if (err instanceof ServiceCallError) {
      output.err(`Error: lost contact with persistence while following run ${run.start.runId}: ${err.message}`);
      return ExitCode.Usage;
    }
    throw err;
  } finally {
    run.close();
  }
}

function reportStartError(err: unknown, options: CliOptions, output: Output): ExitCode {
  if (err instanceof ServiceCallError) {
    if (err.code === ServiceErrorCode.NotFound && options.userID) {
      output.err(`User not found: ${options.userID}`);
      return ExitCode.Failed;
    }
    if (err.code === ServiceErrorCode.Unavailable && err.subject === PersistenceApi.startRun.subject) {
      output.err(`Error: persistence is not answering on NATS (${PersistenceApi.startRun.subject}). Is the persistence service running?`);
      return ExitCode.Usage;
    }
    output.err(`Error: persistence refused to start the run (${err.code}): ${err.message}`);
    return ExitCode.Usage;
  }
  // The run was registered but its requests could not be published (JetStream not answering).
  output.err(`Error: could not publish the refresh requests: ${err instanceof Error ? err.message : String(err)}`);
  return ExitCode.Usage;
}

function createProgress(verbose: boolean, output: Output, tuning: RunRefreshTuning) {
  const intervalMs = tuning.progressIntervalMs ?? 5_000;
  const every = tuning.progressEvery ?? 50;
  const state = { done: 0, total: 0, refreshed: 0, failed: 0 };
  let reported = 0;
  const report = () => {
    if (state.done === reported) return;
    reported = state.done;
    output.err(formatProgress(state));
  };
  const timer = verbose ? undefined : setInterval(report, intervalMs);
  return {
    onOutcome: (outcome: RunOutcomeRecorded) => {
      state.done = Math.max(state.done, outcome.done);
      state.total = outcome.total;
      if (outcome.outcome === 'refreshed') state.refreshed += 1;
      if (outcome.outcome === 'failed') state.failed += 1;
      if (verbose) output.err(formatOutcome(outcome));
      else if (state.done - reported >= every) report();
    },
    stop: () => clearInterval(timer),
  };
}
