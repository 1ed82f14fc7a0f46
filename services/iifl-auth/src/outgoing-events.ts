import { randomUUID } from 'node:crypto';
import { SkipReason, Subjects, TokenFailed, TokenRefreshed, TokenSkipped, type RefreshRequested } from '@refresher/contracts';
import { decodeJson } from '@refresher/platform';
import type { LoginFailure, LoginResult } from './login-with-retries.ts';

export const SOURCE = 'iifl-auth';

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

/**
 * A session from an authCode (the browser redirect, or one pasted by hand): a login of its own, in
 * no run (`runId` null), so the run that sent the link keeps its LOGIN_REQUIRED skip and its counts.
 */
export function redeemedEvent(userID: string, result: LoginResult): OutgoingEvent & { payload: TokenRefreshed } {
  const payload = TokenRefreshed.parse({
    v: 1,
    eventId: randomUUID(),
    runId: null,
    userID,
    token: result.token,
    tokenValidity: result.tokenValidity.toISOString(),
    loginTime: result.loginTime.toISOString(),
    source: 'login',
    attempts: 1,
  });
  return { subject: Subjects.refreshed(userID), msgID: payload.eventId, payload };
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

/**
 * This request's own outcome, from the outcome event of the login it joined (another run's, stored
 * in the events stream): the same token or failure, this request's run, no attempt of its own.
 * Null when the stored event is not a valid outcome for this user.
 */
export function joinedEvent(request: RefreshRequested, subject: string, data: Uint8Array): OutgoingEvent | null {
  const json = decodeJson(data);
  if (subject === Subjects.refreshed(request.userID)) {
    const parsed = TokenRefreshed.safeParse(json);
    if (!parsed.success || parsed.data.userID !== request.userID) return null;
    const e = parsed.data;
    return refreshedEvent(request, { token: e.token, tokenValidity: new Date(e.tokenValidity), loginTime: new Date(e.loginTime) }, 0);
  }
  if (subject === Subjects.failed(request.userID)) {
    const parsed = TokenFailed.safeParse(json);
    if (!parsed.success || parsed.data.userID !== request.userID) return null;
    const e = parsed.data;
    return failedEvent(request, { code: e.code, brokerCode: e.brokerCode, message: e.message, retryable: e.retryable }, 0);
  }
  if (subject === Subjects.skipped(request.userID)) {
    const parsed = TokenSkipped.safeParse(json);
    if (!parsed.success || parsed.data.userID !== request.userID) return null;
    return skippedEvent(request, parsed.data.reason);
  }
  return null;
}
