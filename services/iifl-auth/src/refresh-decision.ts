import type { NatsConnection } from 'nats';
import {
  FailureCode,
  type GetCredentialsResponse,
  PersistenceApi,
  ServiceErrorCode,
  SkipReason,
  type AppCredentials,
  type BrokerCredentials,
  type HeadlessLoginFlow,
  type LoginFlow,
  type RefreshRequested,
} from '@refresher/contracts';
import type { Keyring } from '@refresher/credential-crypto';
import type { Egress } from '@refresher/iifl-client';
import { backoffCeiling, callService, ServiceCallError } from '@refresher/platform';
import { loginWithRetries, pipelineFailure, type LoginOutcome, type LoginResult, type LoginWithRetriesDeps } from './login-with-retries.ts';
import { failedEvent, refreshedEvent, skippedEvent, type OutgoingEvent } from './outgoing-events.ts';
import { CredentialsUnreadableError, openCredentials } from './open-credentials.ts';

/** RFC 6238 step: a request handed back after a login attempt is redelivered no sooner. */
const TOTP_STEP_MS = 30_000;
/** Longest hand-back delay while persistence does not answer. */
const MAX_NAK_DELAY_MS = 60_000;

/** The part of the IIFL client this service uses. */
export interface LoginClient {
  login(
    credentials: { userID: string; flow?: HeadlessLoginFlow; egress?: Egress | undefined } & BrokerCredentials,
    signal?: AbortSignal,
  ): Promise<LoginResult>;
  sessionFromAuthCode(
    input: { userID: string; authCode: string; appSecret: string; egress?: Egress | undefined },
    signal?: AbortSignal,
  ): Promise<LoginResult>;
}

export type CredentialsRead = { ok: true; answer: GetCredentialsResponse } | { ok: false; error: unknown };

export type Decision =
  | { kind: 'publish'; event: OutgoingEvent; code: string | null; attempts: number; joined?: boolean }
  | { kind: 'hand-back'; delayMs: number; why: string; attempts: number };

/** nakDelayMs, doubling with each delivery: rides out a longer persistence outage within max_deliver. */
export function handBackDelay(nakDelayMs: number, deliveries: number): number {
  return backoffCeiling({ baseMs: nakDelayMs, maxDelayMs: Math.max(nakDelayMs, MAX_NAK_DELAY_MS) }, deliveries);
}

/** The user's flow and credentials from persistence; never rejects (the error is part of the result). */
export function readCredentials(nc: NatsConnection, userID: string, timeoutMs: number): Promise<CredentialsRead> {
  return callService(nc, PersistenceApi.getCredentials, { userID }, timeoutMs).then(
    (answer) => ({ ok: true, answer }),
    (error: unknown) => ({ ok: false, error }),
  );
}

export interface DeciderDeps {
  client: LoginClient;
  keyring: Keyring | null;
  /** The flow of users without one of their own (IIFL_LOGIN_FLOW). */
  defaultFlow: LoginFlow;
  loginDeps: LoginWithRetriesDeps;
  nakDelayMs: number;
  totpFresh?: ((userID: string, signal: AbortSignal) => Promise<void>) | undefined;
  /** Sends a redirect-flow user their login link (`tokens.login-required.<userID>`). */
  announceLoginRequired(request: RefreshRequested, storedAppKey: string): Promise<unknown>;
  /** Where a login leaves from (egress.ts); absent: the OS picks. */
  egressFor?: ((userEgress: string | null | undefined, appKey: string) => Egress | undefined) | undefined;
}

/** Where one delivery of a request stands. */
export interface Delivery {
  request: RefreshRequested;
  deliveries: number;
  lastDelivery: boolean;
  signal: AbortSignal;
}

const publish = (event: OutgoingEvent, code: string | null, attempts = 0): Decision => ({ kind: 'publish', event, code, attempts });

function failure(request: RefreshRequested, code: FailureCode, message: string): Decision {
  const f = pipelineFailure(code, message);
  return publish(failedEvent(request, f, 0), f.code);
}

/**
 * Persistence did not give the credentials: a 404 fails the user, and so does a 409 (the row lacks
 * a credential its flow needs: permanent, its message names the columns, never a value); anything
 * else is handed back until the last delivery.
 */
export function unanswered(d: Pick<Delivery, 'request' | 'deliveries' | 'lastDelivery'>, err: unknown, nakDelayMs: number): Decision {
  if (err instanceof ServiceCallError && err.code === ServiceErrorCode.NotFound)
    return failure(d.request, FailureCode.UserNotFound, 'user not found');
  if (err instanceof ServiceCallError && err.code === ServiceErrorCode.Conflict)
    return failure(d.request, FailureCode.CredentialsIncomplete, err.message);
  const why = err instanceof ServiceCallError ? `credentials unavailable (${err.code})` : 'credentials unavailable';
  if (!d.lastDelivery) return { kind: 'hand-back', delayMs: handBackDelay(nakDelayMs, d.deliveries), why, attempts: 0 };
  return failure(d.request, FailureCode.CredentialsUnavailable, 'broker credentials could not be read');
}

/** Stopped by a shutdown after `attempts` attempts. */
export function aborted(d: Pick<Delivery, 'request' | 'lastDelivery'>, attempts: number): Decision {
  if (d.lastDelivery) {
    // Nothing would deliver it again: announce the interruption so the run gets an outcome.
    const f = pipelineFailure(FailureCode.Internal, 'login interrupted by a shutdown on the last delivery');
    return publish(failedEvent(d.request, f, attempts), f.code, attempts);
  }
  // After an attempt that may have used a TOTP code, let the step turn before another replica tries.
  return { kind: 'hand-back', delayMs: attempts > 0 ? TOTP_STEP_MS : 0, why: 'shutting down', attempts };
}

/** What a login (with its retries) ended in, as a decision. */
export function afterLogin(
  d: Pick<Delivery, 'request' | 'deliveries' | 'lastDelivery'>,
  outcome: LoginOutcome,
  nakDelayMs: number,
): Decision {
  switch (outcome.kind) {
    case 'refreshed':
      return publish(refreshedEvent(d.request, outcome.result, outcome.attempts), null, outcome.attempts);
    case 'failed':
      if (outcome.failure.code === FailureCode.Internal && !d.lastDelivery) {
        // Not the broker's verdict but a fault on our side, typically NATS away while the TOTP
        // step was being recorded: hand the request back instead of failing the user for it.
        const delayMs = handBackDelay(nakDelayMs, d.deliveries);
        return { kind: 'hand-back', delayMs, why: 'internal fault during login', attempts: outcome.attempts };
      }
      return publish(failedEvent(d.request, outcome.failure, outcome.attempts), outcome.failure.code, outcome.attempts);
    case 'aborted':
      return aborted(d, outcome.attempts);
  }
}

/** A redirect-flow user is not logged in here: they get a link, and the run records a skip. */
async function loginRequired(deps: DeciderDeps, d: Delivery, credentials: AppCredentials): Promise<Decision> {
  await deps.announceLoginRequired(d.request, credentials.appKey);
  return publish(skippedEvent(d.request, SkipReason.LoginRequired), SkipReason.LoginRequired);
}

async function headlessLogin(
  deps: DeciderDeps,
  d: Delivery,
  flow: HeadlessLoginFlow,
  stored: { credentials: BrokerCredentials; egress?: string | null | undefined },
): Promise<Decision> {
  const opened = openCredentials(deps.keyring, d.request.userID, stored.credentials);
  const creds = { userID: d.request.userID, flow, ...opened, egress: deps.egressFor?.(stored.egress, opened.appKey) };
  // Wait for an unused TOTP step before the retry budget starts: a login right after another one
  // of the account (another run's, or one cut short by a crash) would otherwise spend up to a
  // step (30 s) of AUTH_RETRY_DEADLINE_MS waiting.
  try {
    await deps.totpFresh?.(d.request.userID, d.signal);
  } catch (err) {
    if (d.signal.aborted) return aborted(d, 0);
    throw err;
  }
  let firstAttempt = true;
  const attempt = async (attemptSignal: AbortSignal) => {
    // Before the first attempt the step was just found fresh; a retry looks again.
    if (!firstAttempt) await deps.totpFresh?.(d.request.userID, attemptSignal);
    firstAttempt = false;
    return deps.client.login(creds, attemptSignal);
  };
  return afterLogin(d, await loginWithRetries(deps.loginDeps, attempt, d.signal), deps.nakDelayMs);
}

/** What to do with a request, given what persistence answered: skip, announce a login link, or log in. */
export async function decideRefresh(deps: DeciderDeps, d: Delivery, read: CredentialsRead): Promise<Decision> {
  if (!read.ok) return unanswered(d, read.error, deps.nakDelayMs);
  const { answer } = read;
  if (answer.credentials === null) return publish(skippedEvent(d.request, SkipReason.IntegrationManaged), SkipReason.IntegrationManaged);
  try {
    // A redirect user's stored credentials are the app's two only.
    if (answer.loginFlow === 'redirect') return await loginRequired(deps, d, answer.credentials);
    const flow = answer.loginFlow ?? deps.defaultFlow;
    if (flow === 'redirect') return await loginRequired(deps, d, answer.credentials);
    return await headlessLogin(deps, d, flow, { credentials: answer.credentials, egress: answer.egress });
  } catch (err) {
    if (!(err instanceof CredentialsUnreadableError)) throw err;
    // A key problem is configuration: redelivering cannot help, a later run (after a fix) can.
    return failure(d.request, FailureCode.CredentialsUnavailable, err.message);
  }
}
