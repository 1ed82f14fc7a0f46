import { z } from 'zod';
import { RunId, UserId } from './ids.ts';
import { Outcome, Trigger } from './events.ts';
import { SkipReason } from './codes.ts';

const Timestamp = z.iso.datetime({ offset: true });
const skipReasons = Object.values(SkipReason) as [SkipReason, ...SkipReason[]];

/**
 * `persistence.runs.start`: register a run and say which users it must log in. Idempotent on
 * `runId`: starting a run that exists returns it unchanged with `created: false` (this is how two
 * scheduler replicas firing the same slot end up with one run). Without `userID` the run covers
 * every due user; with it, that one user (a 404 service error when the user does not exist).
 */
export const StartRunRequest = z.strictObject({
  runId: RunId.optional(),
  trigger: Trigger,
  userID: UserId.optional(),
});
export type StartRunRequest = z.infer<typeof StartRunRequest>;

export const RunUser = z.strictObject({ userID: UserId, clientName: z.string() });
export type RunUser = z.infer<typeof RunUser>;

export const SkippedUser = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  reason: z.enum(skipReasons),
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
  requestedAt: Timestamp,
  completedAt: Timestamp.nullable(),
  total: z.number().int().min(0),
  refreshed: z.number().int().min(0),
  failed: z.number().int().min(0),
  skipped: z.number().int().min(0),
  pending: z.number().int().min(0),
  results: z.array(RunResult),
});
export type RunSummary = z.infer<typeof RunSummary>;

/**
 * `persistence.credentials.get`: what iifl-auth needs to log a user in (404 when unknown).
 * `credentials` is null for integration-managed users, who are never logged in.
 */
export const GetCredentialsRequest = z.strictObject({ userID: UserId });
export type GetCredentialsRequest = z.infer<typeof GetCredentialsRequest>;

export const BrokerCredentials = z.strictObject({
  password: z.string().min(1),
  appKey: z.string().min(1),
  appSecret: z.string().min(1),
  totpSecret: z.string().min(1),
});
export type BrokerCredentials = z.infer<typeof BrokerCredentials>;

export const GetCredentialsResponse = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  credentials: BrokerCredentials.nullable(),
});
export type GetCredentialsResponse = z.infer<typeof GetCredentialsResponse>;

/** `persistence.users.token-status`: a user's token state, without the token (404 when unknown). */
export const TokenStatusRequest = z.strictObject({ userID: UserId });
export type TokenStatusRequest = z.infer<typeof TokenStatusRequest>;

export const TokenStatusResponse = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  hasToken: z.boolean(),
  /** First 16 characters and "...", as the legacy API showed; null without a token. */
  tokenPreview: z.string().nullable(),
  tokenValidity: Timestamp.nullable(),
  lastLoginTime: Timestamp.nullable(),
  loginStatus: z.string(),
  tradingStatus: z.string(),
});
export type TokenStatusResponse = z.infer<typeof TokenStatusResponse>;

/**
 * `persistence.tokens.push`: store a token a partner pushed and publish it like a refreshed one.
 * Without `createIfMissing` an unknown user is a 404; with it an integration-managed user is created.
 */
export const PushTokenRequest = z.strictObject({
  userID: UserId,
  token: z.string().min(1).max(8192),
  tokenValidity: Timestamp.optional(),
  loginStatus: z.string().min(1).max(32).optional(),
  tradingStatus: z.string().min(1).max(32).optional(),
  createIfMissing: z.strictObject({ clientName: z.string().max(200).optional() }).optional(),
});
export type PushTokenRequest = z.infer<typeof PushTokenRequest>;

export const PushTokenResponse = z.strictObject({
  userID: UserId,
  created: z.boolean(),
  eventId: z.string(),
  tokenValidity: Timestamp,
});
export type PushTokenResponse = z.infer<typeof PushTokenResponse>;
