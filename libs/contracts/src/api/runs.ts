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

/** `persistence.runs.get`: a run's summary and per-user results (404 when unknown). */
export const GetRunRequest = z.strictObject({ runId: RunId });
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
