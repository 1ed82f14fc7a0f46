import type { NatsConnection } from 'nats';
import { ServiceErrorCode, type RunOutcomeRecorded, type StartRunRequest, type StartRunResponse } from '@refresher/contracts';
import { ServiceCallError } from '@refresher/platform';
import { startRefreshRun, type RefreshRun } from '@refresher/refresh-runs';
import type { CliOptions } from './args.ts';
import {
  formatClosing,
  formatIncomplete,
  formatOutcome,
  formatProgress,
  formatRefreshedDetails,
  formatRejectedHint,
  formatStart,
  formatSummary,
  toCliSummary,
  type CliSummary,
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

/** Where the human lines go: stdout, except with --json, where stdout carries the JSON summary alone. */
export function infoOf(options: CliOptions, output: Output): (line: string) => void {
  return options.json ? output.err : output.out;
}

/**
 * Starts a run (trigger `cli`) of every due user or of `--user`, reports its progress on stderr, and
 * prints the summary on stdout. Returns the exit code.
 */
export function runRefresh(nc: NatsConnection, options: CliOptions, output: Output, tuning: RunRefreshTuning = {}): Promise<ExitCode> {
  return followRun(nc, { trigger: 'cli', ...(options.userID ? { userID: options.userID } : {}) }, options, output, tuning);
}

/** Starts the run asked for and follows it to its summary (or to the end of `--timeout`). */
export async function followRun(
  nc: NatsConnection,
  request: StartRunRequest,
  options: CliOptions,
  output: Output,
  tuning: RunRefreshTuning = {},
): Promise<ExitCode> {
  let run: RefreshRun;
  try {
    run = await startRefreshRun(nc, request);
  } catch (err) {
    // Not a service error: the run was registered but its requests could not be published (JetStream not answering).
    if (!(err instanceof ServiceCallError)) return reportPublishError(err, output);
    return reportServiceError(err, options, output, 'start the run');
  }
  try {
    printStart(run.start, request, options, output);
    const progress = createProgress(options.verbose, output, tuning);
    let result;
    try {
      result = await run.waitForCompletion(options.timeoutSeconds * 1000, progress.onOutcome);
    } finally {
      progress.stop();
    }
    return printResult(toCliSummary(result.summary, result.completed), options, output);
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

function printStart(start: StartRunResponse, request: StartRunRequest, options: CliOptions, output: Output): void {
  const info = infoOf(options, output);
  const lines = formatStart(start.requested.length + start.skipped.length, start.skipped, options.style, request.userID);
  for (const line of [...lines, ...formatRejectedHint(start.skipped)]) info(line);
  if (request.retry && start.requested.length + start.skipped.length === 0) {
    info(`Nobody failed: every user that failed in run ${request.retry.of} (and its retries) has been logged in since.`);
  }
  if (start.requested.length > 0) {
    output.err(`Run ${start.runId}: waiting for ${start.requested.length} login(s), up to ${options.timeoutSeconds} s`);
  }
}

/** The summary (JSON, or the block with its failed users), and the exit code it means. */
export function printResult(summary: CliSummary, options: CliOptions, output: Output): ExitCode {
  if (options.json) {
    output.out(JSON.stringify(summary, null, 2));
  } else {
    if (options.verbose) for (const line of formatRefreshedDetails(summary.results)) output.out(line);
    output.out('');
    for (const line of formatSummary(summary, options.style)) output.out(line);
    if (summary.completed) for (const line of formatClosing(options.style)) output.out(line);
  }
  if (!summary.completed) output.err(formatIncomplete(summary, options.timeoutSeconds));
  return summary.completed && summary.failed === 0 ? ExitCode.Ok : ExitCode.Failed;
}

/** A persistence call that failed: an unknown user is the caller's mistake (1); anything else is the system's (2). */
export function reportServiceError(err: ServiceCallError, options: CliOptions, output: Output, what: string): ExitCode {
  if (err.code === ServiceErrorCode.NotFound && options.userID) {
    output.err(`User not found: ${options.userID}`);
    return ExitCode.Failed;
  }
  if (err.code === ServiceErrorCode.Unavailable) {
    output.err(`Error: persistence is not answering on NATS (${err.subject}). Is the persistence service running?`);
    return ExitCode.Usage;
  }
  output.err(`Error: persistence refused to ${what} (${err.code}): ${err.message}`);
  return ExitCode.Usage;
}

function reportPublishError(err: unknown, output: Output): ExitCode {
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
