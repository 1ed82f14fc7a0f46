// Notices for people (stream TOKEN_NOTICES): published by persistence once what they tell is in
// Postgres, delivered to webhooks by the notifier. Each carries a stable id, derived from what it
// tells, that is its JetStream message id and the delivery id receivers drop repeats by.
import { z } from 'zod';
import { FailureCode } from './codes.ts';
import { InvalidationReason, Trigger } from './events.ts';
import { RunId, UserId } from './ids.ts';
import { Count, RunCounts, Timestamp, valuesOf } from './fields.ts';
import { Subjects } from './subjects.ts';

/** The users a run report lists by name at most; the rest are counted in `more`. */
export const NOTICE_ATTENTION_MAX = 200;

/** Every notice type; `type` of the notice and of the webhook's body. */
export const NoticeType = z.enum(['tokens.run.completed', 'tokens.user.failed', 'tokens.user.recovered', 'tokens.invalidated']);
export type NoticeType = z.infer<typeof NoticeType>;

/** A notice id: `<kind>:<the id of what it tells>`, safe in an HTTP header. */
export const NoticeId = z
  .string()
  .min(1)
  .max(160)
  .regex(/^[\x21-\x7e]+$/, 'a notice id is printable ASCII without spaces');

const Base = { v: z.literal(1), id: NoticeId, at: Timestamp };
const ClientName = z.string().max(200);

/** A user a run left without a fresh token for a reason a person must look at. */
export const AttentionUser = z.strictObject({
  userID: UserId,
  clientName: ClientName,
  outcome: z.enum(['failed', 'skipped']),
  /** The failure code, or the skip reason (CREDENTIALS_REJECTED, LOGIN_REQUIRED). */
  code: z.string().max(64).nullable(),
  /** IIFL's message, when the failure came with one. */
  message: z.string().max(500).nullable(),
});
export type AttentionUser = z.infer<typeof AttentionUser>;

/**
 * `tokens.run.completed.<runId>`: every user of the run has an outcome (the morning's report, and
 * each pass's). `needsAttention.users` lists up to {@link NOTICE_ATTENTION_MAX} of the failed users
 * and those skipped for a reason other than the rules (integration-managed, not live); `more`
 * counts the others.
 */
export const RunCompletedNotice = z.strictObject({
  ...Base,
  type: z.literal('tokens.run.completed'),
  runId: RunId,
  retryOf: RunId.nullable(),
  trigger: Trigger,
  requestedAt: Timestamp,
  completedAt: Timestamp,
  counts: z.strictObject(RunCounts),
  needsAttention: z.strictObject({
    count: Count,
    users: z.array(AttentionUser).max(NOTICE_ATTENTION_MAX),
    more: Count,
  }),
});
export type RunCompletedNotice = z.infer<typeof RunCompletedNotice>;

/**
 * `tokens.user.failed.<userID>`: a user's login failed while the user was not failing before (its
 * latest login was newer than its latest failure), or failed with another code than its previous
 * failure (`previousCode`). Repeats of the same failure in later passes are in the run reports only.
 */
export const UserFailedNotice = z.strictObject({
  ...Base,
  type: z.literal('tokens.user.failed'),
  userID: UserId,
  clientName: ClientName,
  runId: RunId.nullable(),
  code: z.enum(valuesOf(FailureCode)),
  brokerCode: z.string().max(32).nullable(),
  message: z.string().max(500),
  retryable: z.boolean(),
  attempts: Count,
  failedAt: Timestamp,
  previousCode: z.string().max(64).nullable(),
});
export type UserFailedNotice = z.infer<typeof UserFailedNotice>;

/** `tokens.user.recovered.<userID>`: a user whose latest outcome was a failure has a fresh token. */
export const UserRecoveredNotice = z.strictObject({
  ...Base,
  type: z.literal('tokens.user.recovered'),
  userID: UserId,
  clientName: ClientName,
  runId: RunId.nullable(),
  loginTime: Timestamp,
  tokenValidity: Timestamp,
  /** The failure it recovered from. */
  failure: z.strictObject({ code: z.string().max(64).nullable(), message: z.string().max(500).nullable(), at: Timestamp }),
});
export type UserRecoveredNotice = z.infer<typeof UserRecoveredNotice>;

/**
 * `tokens.user.invalidated.<userID>`, type `tokens.invalidated`: the day watch found the user's
 * stored token dead at IIFL while the user's row still held it (its validity now ends at
 * `invalidatedAt`; a refresh follows). Never carries the token.
 */
export const TokenInvalidatedNotice = z.strictObject({
  ...Base,
  type: z.literal('tokens.invalidated'),
  userID: UserId,
  clientName: ClientName,
  loginTime: Timestamp,
  invalidatedAt: Timestamp,
  reason: InvalidationReason,
  brokerCode: z.string().max(32).nullable(),
});
export type TokenInvalidatedNotice = z.infer<typeof TokenInvalidatedNotice>;

export const Notice = z.discriminatedUnion('type', [RunCompletedNotice, UserFailedNotice, UserRecoveredNotice, TokenInvalidatedNotice]);
export type Notice = z.infer<typeof Notice>;

/** The subject a notice is published on (stream TOKEN_NOTICES). */
export function noticeSubject(notice: Notice): string {
  switch (notice.type) {
    case 'tokens.run.completed':
      return Subjects.runCompletedNotice(notice.runId);
    case 'tokens.user.failed':
      return Subjects.userFailedNotice(notice.userID);
    case 'tokens.user.recovered':
      return Subjects.userRecoveredNotice(notice.userID);
    case 'tokens.invalidated':
      return Subjects.userInvalidatedNotice(notice.userID);
  }
}

/** The stable ids of notices, from what they tell: the same event always gets the same id. */
export const NoticeIds = {
  runCompleted: (runId: string) => `run-completed:${runId}`,
  userFailed: (failedEventId: string) => `user-failed:${failedEventId}`,
  userRecovered: (refreshedEventId: string) => `user-recovered:${refreshedEventId}`,
  invalidated: (invalidatedEventId: string) => `invalidated:${invalidatedEventId}`,
} as const;
