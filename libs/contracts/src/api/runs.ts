// Request-reply of runs (served by persistence): start a run, read its summary.
import { z } from 'zod';
import { SkipReason } from '../codes.ts';
import { Outcome, Trigger } from '../events.ts';
import { RunId, UserId } from '../ids.ts';
import { Count, RunCounts, Timestamp, valuesOf } from '../fields.ts';

/**
 * A run of the users that failed in run `of` (or in any run linked to it): each user whose latest
 * outcome there is a failure and who has not logged in since `of` started. `transient` takes only
 * failures that may pass on their own (a scheduled pass: a credential rejection is never part of
 * one); `all` takes every failure, and a user whose rejected credentials still stand is skipped
 * `CREDENTIALS_REJECTED` as in any all-users run. The new run is linked to the first run of the
 * chain, so a morning's run and its passes read as one.
 */
export const RetryOf = z.strictObject({ of: RunId, failures: z.enum(['transient', 'all']) });
export type RetryOf = z.infer<typeof RetryOf>;

/**
 * `persistence.runs.start`: register a run and say which users it must log in. Idempotent on
 * `runId`: starting a run that exists returns it unchanged with `created: false` (this is how two
 * scheduler replicas firing the same slot end up with one run). Without `userID` the run covers
 * every due user; with it, that one user (a 404 service error when the user does not exist); with
 * `retry`, the users that failed in an earlier run (a 404 when that run does not exist).
 */
export const StartRunRequest = z.strictObject({
  runId: RunId.optional(),
  trigger: Trigger,
  userID: UserId.optional(),
  retry: RetryOf.optional(),
});
export type StartRunRequest = z.infer<typeof StartRunRequest>;

export const RunUser = z.strictObject({ userID: UserId, clientName: z.string() });
export type RunUser = z.infer<typeof RunUser>;

export const SkippedUser = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  reason: z.enum(valuesOf(SkipReason)),
});
export type SkippedUser = z.infer<typeof SkippedUser>;

export const StartRunResponse = z.strictObject({
  runId: RunId,
  created: z.boolean(),
  requestedAt: Timestamp,
  /** Users to log in: one `tokens.refresh.requested.<userID>` each. */
  requested: z.array(RunUser),
  /** Users counted in the run but not logged in, with the reason (recorded already). */
  skipped: z.array(SkippedUser),
});
export type StartRunResponse = z.infer<typeof StartRunResponse>;

/**
 * The most results in one answer of `persistence.runs.get` (about 190 bytes each): a page stays
 * well below NATS's default message size (1 MiB), which every results of 5,600 users would pass.
 */
export const RUN_RESULTS_PAGE_MAX = 2_000;

/** Where a page of results ends: the position in the run of its last user. */
export const RunResultsCursor = z.number().int().min(0);

/**
 * `persistence.runs.get`: a run's counts and per-user results (404 when unknown). `results` picks
 * which: a page in the run's order (`after`: the previous page's `resultsNext`; the default is the
 * first page), one user's (`userID`), or none (`'none'`: the counts alone).
 */
export const GetRunRequest = z.strictObject({
  runId: RunId,
  results: z
    .union([
      z.literal('none'),
      z.strictObject({ userID: UserId }),
      z.strictObject({ after: RunResultsCursor.optional(), limit: z.number().int().min(1).max(RUN_RESULTS_PAGE_MAX).optional() }),
    ])
    .optional(),
});
export type GetRunRequest = z.infer<typeof GetRunRequest>;

export const RunResult = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  outcome: z.union([Outcome, z.literal('pending')]),
  code: z.string().nullable(),
  message: z.string().nullable(),
  tokenValidity: Timestamp.nullable(),
  recordedAt: Timestamp.nullable(),
});
export type RunResult = z.infer<typeof RunResult>;

export const RunSummary = z.strictObject({
  runId: RunId,
  trigger: Trigger,
  /** The first run of the chain this run retries (a morning's pass points at the morning's run); null otherwise. */
  retryOf: RunId.nullable(),
  requestedAt: Timestamp,
  completedAt: Timestamp.nullable(),
  ...RunCounts,
  pending: Count,
  results: z.array(RunResult),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** The answer of `persistence.runs.get`: `resultsNext` is the `after` of the next page, null after the last. */
export const RunSummaryPage = RunSummary.extend({ resultsNext: RunResultsCursor.nullable() });
export type RunSummaryPage = z.infer<typeof RunSummaryPage>;

/** The largest page of `persistence.runs.list`, and the page without a `limit`. */
export const RUNS_PAGE_MAX = 100;
export const RUNS_PAGE_DEFAULT = 20;

/** Where a page of runs ends: opaque, made by persistence (the `next` of a page), given back as `before`. */
export const RunsCursor = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'before must be the next cursor of an earlier page');
export type RunsCursor = z.infer<typeof RunsCursor>;

/**
 * `persistence.runs.list`: run headers, newest first (`requestedAt`, then `runId`, both descending),
 * one page at a time. Paged by key, not by offset: the page after cursor `before` starts below the
 * last row of the page that gave it, so runs registered meanwhile neither repeat a row nor hide one.
 * `allUsersOnly` leaves out one-user runs (the runs over every due user, and their retries, remain).
 */
export const ListRunsRequest = z.strictObject({
  limit: z.number().int().min(1).max(RUNS_PAGE_MAX).default(RUNS_PAGE_DEFAULT),
  before: RunsCursor.optional(),
  allUsersOnly: z.boolean().default(false),
});
export type ListRunsRequest = z.infer<typeof ListRunsRequest>;

/** A run without its per-user results; `userID` is the one user of a one-user run, else null. */
export const RunHeader = RunSummary.omit({ results: true }).extend({ userID: UserId.nullable() });
export type RunHeader = z.infer<typeof RunHeader>;

export const ListRunsResponse = z.strictObject({
  runs: z.array(RunHeader),
  /** `before` for the next page; null on the last page. */
  next: RunsCursor.nullable(),
});
export type ListRunsResponse = z.infer<typeof ListRunsResponse>;

/**
 * `persistence.admin.users.clear-rejections`: lifts the marks of credentials the broker rejected,
 * after they were put right outside the system (an account unlocked at IIFL): of one user (404 when
 * the user does not exist), or of every user without `userID`. Answers the users whose mark was lifted.
 */
export const ClearRejectionsRequest = z.strictObject({ userID: UserId.optional() });
export type ClearRejectionsRequest = z.infer<typeof ClearRejectionsRequest>;

export const ClearRejectionsResponse = z.strictObject({ cleared: z.array(UserId) });
export type ClearRejectionsResponse = z.infer<typeof ClearRejectionsResponse>;

/** `persistence.runs.morning`: how the latest scheduled morning stands (readiness, the day's verdict). */
export const MorningStatusRequest = z.strictObject({});
export type MorningStatusRequest = z.infer<typeof MorningStatusRequest>;

/**
 * The latest scheduled run with its passes, by user. `needsAttention` counts the users neither
 * logged in since the morning began (by a pass, an operator, the day watch or a partner's push) nor
 * skipped by rule (integration-managed, not live): failed, still pending, credentials rejected, or
 * waiting for a browser login. `degraded` while it is above zero; `none` before the first morning.
 */
export const MorningStatus = z.strictObject({
  status: z.enum(['ok', 'degraded', 'none']),
  runId: RunId.nullable(),
  requestedAt: Timestamp.nullable(),
  /** Runs that retried the morning's failures. */
  passes: Count,
  users: Count,
  refreshed: Count,
  skippedByRule: Count,
  needsAttention: Count,
  /** Of those needing attention, the ones without an outcome yet. */
  pending: Count,
});
export type MorningStatus = z.infer<typeof MorningStatus>;
