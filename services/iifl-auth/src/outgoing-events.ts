import { randomUUID } from 'node:crypto';
import {
  DeadLetter,
  SkipReason,
  Subjects,
  TokenFailed,
  TokenRefreshed,
  TokenSkipped,
  type RefreshRequested,
} from '@refresher/contracts';
import type { LoginFailure, LoginResult } from './login-with-retries.ts';

export const SOURCE = 'iifl-auth';
const MAX_DEAD_LETTER_PAYLOAD = 64 * 1024;

export interface OutgoingEvent {
  subject: string;
  /** JetStream message id: a publish repeated after a lost ack is stored once. */
  msgID: string;
  payload: TokenRefreshed | TokenFailed | TokenSkipped;
}

/** Each builder validates what it produces with the contract's schema. */
export function refreshedEvent(request: RefreshRequested, result: LoginResult, attempts: number): OutgoingEvent {
  const payload = TokenRefreshed.parse({
    v: 1,
    eventId: randomUUID(),
    runId: request.runId,
    userID: request.userID,
    token: result.token,
    tokenValidity: result.tokenValidity.toISOString(),
    loginTime: result.loginTime.toISOString(),
    source: 'login',
    attempts,
  });
  return { subject: Subjects.refreshed(request.userID), msgID: payload.eventId, payload };
}

export function failedEvent(request: RefreshRequested, failure: LoginFailure, attempts: number): OutgoingEvent {
  const payload = TokenFailed.parse({
    v: 1,
    eventId: randomUUID(),
    runId: request.runId,
    userID: request.userID,
    code: failure.code,
    brokerCode: failure.brokerCode?.slice(0, 32) ?? null,
    message: failure.message.slice(0, 500),
    retryable: failure.retryable,
    attempts,
    failedAt: new Date().toISOString(),
  });
  return { subject: Subjects.failed(request.userID), msgID: payload.eventId, payload };
}

export function skippedEvent(request: RefreshRequested, reason: SkipReason): OutgoingEvent {
  const payload = TokenSkipped.parse({
    v: 1,
    eventId: randomUUID(),
    runId: request.runId,
    userID: request.userID,
    reason,
    skippedAt: new Date().toISOString(),
  });
  return { subject: Subjects.skipped(request.userID), msgID: payload.eventId, payload };
}

export function deadLetterEvent(subject: string, data: Uint8Array, reason: string, deliveries: number): DeadLetter {
  return DeadLetter.parse({
    v: 1,
    source: SOURCE,
    subject: subject.slice(0, 256),
    reason: reason.slice(0, 1000),
    deliveries,
    payload: Buffer.from(data.subarray(0, MAX_DEAD_LETTER_PAYLOAD)).toString('base64'),
    at: new Date().toISOString(),
  });
}
