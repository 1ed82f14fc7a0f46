import { z } from 'zod';
import { EventId, RunId, UserId } from './ids.ts';
import { FailureCode, SkipReason } from './codes.ts';
import { Count, RunCounts, Timestamp, valuesOf } from './fields.ts';

/** The fields every per-user event of a run starts with (schema version 1). */
const RunUserEvent = { v: z.literal(1), eventId: EventId, runId: RunId, userID: UserId };
const Attempts = z.number().int().min(0).max(100);

/** What started a run: the schedule (and its passes), the HTTP API, the CLI, or the day watch of tokens. */
export const Trigger = z.enum(['schedule', 'api', 'cli', 'watch']);
export type Trigger = z.infer<typeof Trigger>;

/** `tokens.refresh.requested.<userID>`: log this user in, as part of run `runId`. */
export const RefreshRequested = z.strictObject({
  ...RunUserEvent,
  trigger: Trigger,
  requestedAt: Timestamp,
});
export type RefreshRequested = z.infer<typeof RefreshRequested>;

/**
 * `tokens.refreshed.<userID>`: a fresh session token. `source` is `login` for a broker login and
 * `push` for a token a partner pushed through the gateway (`runId` is null then).
 */
export const TokenRefreshed = z.strictObject({
  ...RunUserEvent,
  runId: RunId.nullable(),
  token: z.string().min(1).max(8192),
  tokenValidity: Timestamp,
  loginTime: Timestamp,
  source: z.enum(['login', 'push']),
  attempts: Attempts,
});
export type TokenRefreshed = z.infer<typeof TokenRefreshed>;

/** `tokens.failed.<userID>`: the last failure of a refresh, after any retries. */
export const TokenFailed = z.strictObject({
  ...RunUserEvent,
  code: z.enum(valuesOf(FailureCode)),
  /** IIFL's own code (EC016, HTTP 429, ...) when the broker gave one. */
  brokerCode: z.string().max(32).nullable(),
  message: z.string().max(500),
  retryable: z.boolean(),
  attempts: Attempts,
  failedAt: Timestamp,
});
export type TokenFailed = z.infer<typeof TokenFailed>;

/** `tokens.skipped.<userID>`: the user was not logged in, on purpose. */
export const TokenSkipped = z.strictObject({
  ...RunUserEvent,
  reason: z.enum(valuesOf(SkipReason)),
  skippedAt: Timestamp,
});
export type TokenSkipped = z.infer<typeof TokenSkipped>;

/**
 * `tokens.login-required.<userID>` (stream `TOKEN_LOGIN_LINKS`): the user logs in through IIFL's
 * browser redirect, so run `runId` did not log them in (their outcome is skipped `LOGIN_REQUIRED`).
 * Whoever notifies users sends them `loginUrl`, good until `expiresAt`; both are null when
 * iifl-auth has no login links configured.
 */
export const LoginRequired = z.strictObject({
  ...RunUserEvent,
  loginUrl: z
    .url({ protocol: /^https?$/ })
    .max(4096)
    .nullable(),
  expiresAt: Timestamp.nullable(),
  requestedAt: Timestamp,
});
export type LoginRequired = z.infer<typeof LoginRequired>;

/** Why a stored token was found dead: IIFL refused the session (HTTP 401, EC044), or it answered for another client. */
export const InvalidationReason = z.enum(['SESSION_INVALID', 'WRONG_CLIENT']);
export type InvalidationReason = z.infer<typeof InvalidationReason>;

/**
 * `tokens.invalidated.<userID>`: the user's stored login token (the one logged in at `loginTime`)
 * no longer works at IIFL, found by iifl-auth's watch at `invalidatedAt`. Never carries the token.
 */
export const TokenInvalidated = z.strictObject({
  v: z.literal(1),
  eventId: EventId,
  userID: UserId,
  loginTime: Timestamp,
  invalidatedAt: Timestamp,
  reason: InvalidationReason,
  /** IIFL's own code (EC044, HTTP 401) when it gave one. */
  brokerCode: z.string().max(32).nullable(),
});
export type TokenInvalidated = z.infer<typeof TokenInvalidated>;

export const Outcome = z.enum(['refreshed', 'failed', 'skipped']);
export type Outcome = z.infer<typeof Outcome>;

/** `runs.<runId>.outcome` (core NATS): persistence recorded one user's outcome for a run. */
export const RunOutcomeRecorded = z.strictObject({
  v: z.literal(1),
  runId: RunId,
  userID: UserId,
  outcome: Outcome,
  code: z.string().max(64).nullable(),
  message: z.string().max(500).nullable(),
  /**
   * Until when the stored token is valid (refreshed outcomes; null otherwise). Optional: notices
   * from a persistence without this field still parse, and their readers fall back to the summary.
   */
  tokenValidity: Timestamp.nullable().optional(),
  done: Count,
  total: Count,
});
export type RunOutcomeRecorded = z.infer<typeof RunOutcomeRecorded>;

/** `runs.<runId>.completed` (core NATS): every user of the run has an outcome. */
export const RunCompleted = z.strictObject({
  v: z.literal(1),
  runId: RunId,
  ...RunCounts,
});
export type RunCompleted = z.infer<typeof RunCompleted>;

/** What is written to `tokens.dlq.<source>` for a message that could not be processed. */
export const DeadLetter = z.strictObject({
  v: z.literal(1),
  source: z.string().max(64),
  subject: z.string().max(256),
  reason: z.string().max(1000),
  deliveries: Count,
  /** The original payload, base64, cut to at most 64 KiB. Never logged. */
  payload: z.string(),
  at: Timestamp,
});
export type DeadLetter = z.infer<typeof DeadLetter>;
