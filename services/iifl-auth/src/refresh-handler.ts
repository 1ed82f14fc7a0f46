import type { JsMsg, NatsConnection } from 'nats';
import {
  FailureCode,
  GetCredentialsRequest,
  GetCredentialsResponse,
  PersistenceApi,
  RefreshRequested,
  ServiceErrorCode,
  SkipReason,
  Subjects,
  type BrokerCredentials,
} from '@refresher/contracts';
import type { Keyring } from '@refresher/credential-crypto';
import { callService, decodeJson, encodeJson, ServiceCallError, type Logger } from '@refresher/platform';
import {
  loginWithRetries,
  pipelineFailure,
  type LoginResult,
  type LoginWithRetriesDeps,
} from './login-with-retries.ts';
import {
  deadLetterEvent,
  failedEvent,
  refreshedEvent,
  skippedEvent,
  SOURCE,
  type OutgoingEvent,
} from './outgoing-events.ts';
import { CredentialsUnreadableError, openCredentials } from './open-credentials.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { GateAbortedError, type UserGate } from './user-gate.ts';

/** RFC 6238 step: a request handed back after a login attempt is redelivered no sooner. */
const TOTP_STEP_MS = 30_000;

/** The part of the IIFL client this service uses. */
export interface LoginClient {
  login(
    credentials: { userID: string } & BrokerCredentials,
    signal?: AbortSignal,
  ): Promise<LoginResult>;
}

export interface RefreshHandlerDeps {
  client: LoginClient;
  nc: NatsConnection;
  log: Logger;
  retryPolicy: RetryPolicy;
  gate: UserGate;
  /** Opens credentials encrypted at rest; null when none are expected. */
  keyring: Keyring | null;
  /** The consumer's max_deliver: on that delivery nothing is handed back any more. */
  maxDeliver: number;
  ackWaitMs: number;
  /** Redelivery delay when persistence could not be asked. */
  nakDelayMs: number;
  credentialsTimeoutMs: number;
  now?: () => number;
  random?: () => number;
}

/** What became of one request message (for logs and tests). */
export type HandleResult = 'refreshed' | 'failed' | 'skipped' | 'dead-lettered' | 'handed-back';

type Decision =
  | { kind: 'publish'; event: OutgoingEvent; code: string | null; attempts: number }
  | { kind: 'hand-back'; delayMs: number; why: string; attempts: number };

/**
 * Handles one `tokens.refresh.requested.<userID>` message end to end: validate, fetch credentials,
 * log in (with retries), publish the outcome, and only then ack. `signal` aborts on shutdown: the
 * request is then handed back (nak) for another replica.
 */
export function createRefreshHandler(deps: RefreshHandlerDeps) {
  const js = deps.nc.jetstream();
  const loginDeps: LoginWithRetriesDeps = {
    policy: deps.retryPolicy,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  };
  const workingEveryMs = Math.max(1_000, Math.floor(deps.ackWaitMs / 3));

  async function publish(subject: string, payload: unknown, msgID: string): Promise<void> {
    await js.publish(subject, encodeJson(payload), { msgID });
  }

  async function deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const letter = deadLetterEvent(msg.subject, msg.data, reason, msg.info.redeliveryCount);
    await js.publish(Subjects.deadLetter(SOURCE), encodeJson(letter));
  }

  async function decide(request: RefreshRequested, lastDelivery: boolean, signal: AbortSignal): Promise<Decision> {
    let credentials: BrokerCredentials | null;
    try {
      const answer = await callService(
        deps.nc,
        PersistenceApi.getCredentials,
        GetCredentialsRequest,
        GetCredentialsResponse,
        { userID: request.userID },
        deps.credentialsTimeoutMs,
      );
      credentials = answer.credentials;
    } catch (err) {
      if (err instanceof ServiceCallError && err.code === ServiceErrorCode.NotFound) {
        const failure = pipelineFailure(FailureCode.UserNotFound, 'user not found');
        return { kind: 'publish', event: failedEvent(request, failure, 0), code: failure.code, attempts: 0 };
      }
      const why = err instanceof ServiceCallError ? `credentials unavailable (${err.code})` : 'credentials unavailable';
      if (!lastDelivery) return { kind: 'hand-back', delayMs: deps.nakDelayMs, why, attempts: 0 };
      const failure = pipelineFailure(FailureCode.CredentialsUnavailable, 'broker credentials could not be read');
      return { kind: 'publish', event: failedEvent(request, failure, 0), code: failure.code, attempts: 0 };
    }

    if (credentials === null) {
      return {
        kind: 'publish',
        event: skippedEvent(request, SkipReason.IntegrationManaged),
        code: SkipReason.IntegrationManaged,
        attempts: 0,
      };
    }

    let creds: { userID: string } & BrokerCredentials;
    try {
      creds = { userID: request.userID, ...openCredentials(deps.keyring, request.userID, credentials) };
    } catch (err) {
      if (!(err instanceof CredentialsUnreadableError)) throw err;
      // A key problem is configuration: redelivering cannot help, a later run (after a fix) can.
      const failure = pipelineFailure(FailureCode.CredentialsUnavailable, err.message);
      return { kind: 'publish', event: failedEvent(request, failure, 0), code: failure.code, attempts: 0 };
    }
    const outcome = await deps.gate.withUser(request.userID, signal, () =>
      loginWithRetries(loginDeps, (attemptSignal) => deps.client.login(creds, attemptSignal), signal),
    );
    switch (outcome.kind) {
      case 'refreshed':
        return {
          kind: 'publish',
          event: refreshedEvent(request, outcome.result, outcome.attempts),
          code: null,
          attempts: outcome.attempts,
        };
      case 'failed':
        return {
          kind: 'publish',
          event: failedEvent(request, outcome.failure, outcome.attempts),
          code: outcome.failure.code,
          attempts: outcome.attempts,
        };
      case 'aborted':
        return abortedDecision(request, lastDelivery, outcome.attempts);
    }
  }

  function abortedDecision(request: RefreshRequested, lastDelivery: boolean, attempts: number): Decision {
    if (lastDelivery) {
      // Nothing would deliver it again: announce the interruption so the run gets an outcome.
      const failure = pipelineFailure(FailureCode.Internal, 'login interrupted by a shutdown on the last delivery');
      return { kind: 'publish', event: failedEvent(request, failure, attempts), code: failure.code, attempts };
    }
    // After an attempt that may have used a TOTP code, let the step turn before another replica tries.
    return { kind: 'hand-back', delayMs: attempts > 0 ? TOTP_STEP_MS : 0, why: 'shutting down', attempts };
  }

  return async function handle(msg: JsMsg, signal: AbortSignal): Promise<HandleResult> {
    const startedAt = Date.now();
    const deliveries = msg.info.redeliveryCount;
    const lastDelivery = deliveries >= deps.maxDeliver;

    const parsed = parseRequest(msg);
    if (!parsed.ok) {
      deps.log.warn({ subject: msg.subject, reason: parsed.reason, deliveries }, 'invalid refresh request, dead-lettered');
      try {
        await deadLetter(msg, parsed.reason);
      } catch (err) {
        deps.log.error({ err, subject: msg.subject }, 'could not dead-letter an invalid request');
        if (!lastDelivery) {
          msg.nak(deps.nakDelayMs);
          return 'handed-back';
        }
      }
      // No reason argument: servers before 2.10.4 ignore a `+TERM <reason>` (the reason is in the dead letter).
      msg.term();
      return 'dead-lettered';
    }

    const request = parsed.request;
    const context = { userID: request.userID, runId: request.runId, deliveries };
    const heartbeat = setInterval(() => msg.working(), workingEveryMs);
    try {
      let decision: Decision;
      try {
        decision = await decide(request, lastDelivery, signal);
      } catch (err) {
        if (!(err instanceof GateAbortedError)) throw err;
        decision = abortedDecision(request, lastDelivery, 0);
      }
      const durationMs = Date.now() - startedAt;

      if (decision.kind === 'hand-back') {
        msg.nak(decision.delayMs);
        deps.log.info({ ...context, outcome: 'handed-back', why: decision.why, attempts: decision.attempts, durationMs }, 'refresh request handed back');
        return 'handed-back';
      }

      const outcome = outcomeOf(decision.event);
      try {
        await publish(decision.event.subject, decision.event.payload, decision.event.msgID);
      } catch (err) {
        deps.log.error({ ...context, err, outcome }, 'could not publish the outcome');
        if (!lastDelivery) {
          msg.nak(deps.nakDelayMs);
          return 'handed-back';
        }
        await deadLetter(msg, `could not publish the ${outcome} outcome`).catch(() => {});
        msg.term();
        return 'dead-lettered';
      }
      await msg.ackAck().catch((err: unknown) => deps.log.warn({ ...context, err }, 'ack not confirmed'));
      const line = { ...context, outcome, code: decision.code, attempts: decision.attempts, durationMs };
      if (outcome === 'failed') deps.log.warn(line, 'refresh failed');
      else deps.log.info(line, `refresh ${outcome}`);
      return outcome;
    } catch (err) {
      // A fault of ours: never crash the consumer; hand the request back until the last delivery.
      deps.log.error({ ...context, err }, 'refresh request handling failed');
      if (!lastDelivery) {
        msg.nak(deps.nakDelayMs);
        return 'handed-back';
      }
      await deadLetter(msg, 'internal error while handling the request').catch(() => {});
      msg.term();
      return 'dead-lettered';
    } finally {
      clearInterval(heartbeat);
    }
  };
}

function outcomeOf(event: OutgoingEvent): 'refreshed' | 'failed' | 'skipped' {
  if ('token' in event.payload) return 'refreshed';
  if ('code' in event.payload) return 'failed';
  return 'skipped';
}

const REQUEST_PREFIX = 'tokens.refresh.requested.';

export function parseRequest(msg: { subject: string; data: Uint8Array }):
  | { ok: true; request: RefreshRequested }
  | { ok: false; reason: string } {
  const json = decodeJson(msg.data);
  if (json === undefined) return { ok: false, reason: 'payload is not JSON' };
  const parsed = RefreshRequested.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
    return { ok: false, reason: `payload does not match RefreshRequested: ${issues.join('; ')}` };
  }
  const subjectUser = msg.subject.startsWith(REQUEST_PREFIX) ? msg.subject.slice(REQUEST_PREFIX.length) : '';
  if (subjectUser !== parsed.data.userID) {
    return { ok: false, reason: 'subject userID does not match payload userID' };
  }
  return { ok: true, request: parsed.data };
}
