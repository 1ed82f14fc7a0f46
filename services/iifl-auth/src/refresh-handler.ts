import type { JetStreamManager, JsMsg, NatsConnection } from 'nats';
import {
  FailureCode,
  GetCredentialsRequest,
  GetCredentialsResponse,
  PersistenceApi,
  RefreshRequested,
  ServiceErrorCode,
  SkipReason,
  Streams,
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
  joinedEvent,
  refreshedEvent,
  skippedEvent,
  SOURCE,
  type OutgoingEvent,
} from './outgoing-events.ts';
import { CredentialsUnreadableError, openCredentials } from './open-credentials.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { GateAbortedError, type LoginLease, type LoginLock } from './login-lock.ts';

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
  /** One login per account across replicas; a request finding one under way joins it. */
  lock: LoginLock;
  /** Waits until the account's current TOTP step is unused (before a login attempt starts). */
  totpFresh?: (userID: string, signal: AbortSignal) => Promise<void>;
  /** Opens credentials encrypted at rest; null when none are expected. */
  keyring: Keyring | null;
  /** The consumer's max_deliver: on that delivery nothing is handed back any more. */
  maxDeliver: number;
  ackWaitMs: number;
  /** First redelivery delay when persistence could not be asked; it doubles with each delivery. */
  nakDelayMs: number;
  credentialsTimeoutMs: number;
  now?: () => number;
  random?: () => number;
}

/** What became of one request message (for logs and tests). */
export type HandleResult = 'refreshed' | 'failed' | 'skipped' | 'dead-lettered' | 'handed-back';

type CredentialsRead = { ok: true; answer: GetCredentialsResponse } | { ok: false; error: unknown };

type Decision =
  | { kind: 'publish'; event: OutgoingEvent; code: string | null; attempts: number; joined?: boolean }
  | { kind: 'hand-back'; delayMs: number; why: string; attempts: number };

/** Longest hand-back delay while persistence does not answer. */
const MAX_NAK_DELAY_MS = 60_000;

/** nakDelayMs, doubling with each delivery: rides out a longer persistence outage within max_deliver. */
export function handBackDelay(nakDelayMs: number, deliveries: number): number {
  return Math.min(nakDelayMs * 2 ** Math.max(0, deliveries - 1), Math.max(nakDelayMs, MAX_NAK_DELAY_MS));
}

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

  let jsm: Promise<JetStreamManager> | undefined;

  /** Publishes an outcome; returns its sequence in the events stream. */
  async function publish(subject: string, payload: unknown, msgID: string): Promise<number> {
    const ack = await js.publish(subject, encodeJson(payload), { msgID });
    return ack.seq;
  }

  /**
   * The login this request waited for ended with the event stored at `seq`: the same outcome,
   * announced for this request's run. Null when that event cannot be read or is not for this user.
   */
  async function joinedDecision(request: RefreshRequested, seq: number): Promise<Decision | null> {
    try {
      jsm ??= deps.nc.jetstreamManager();
      const stored = await (await jsm).streams.getMessage(Streams.events.name, { seq });
      const event = joinedEvent(request, stored.subject, stored.data);
      if (!event) return null;
      const code = 'code' in event.payload ? event.payload.code : 'reason' in event.payload ? event.payload.reason : null;
      return { kind: 'publish', event, code, attempts: 0, joined: true };
    } catch (err) {
      deps.log.warn({ userID: request.userID, err }, 'could not read the outcome of the login joined');
      return null;
    }
  }

  /** Takes the account's lock (or joins the login under way) and decides under it. */
  async function decideUnderLock(
    request: RefreshRequested,
    deliveries: number,
    lastDelivery: boolean,
    signal: AbortSignal,
  ): Promise<{ decision: Decision; lease: LoginLease | null }> {
    // Credentials are read while the lock is claimed (one round trip less before the login), and
    // read again if the account was busy: they may have changed while this request waited.
    const early = readCredentials(request.userID);
    let claim = await deps.lock.claim(request.userID, signal);
    if (claim.role === 'joined') {
      const decision = await joinedDecision(request, claim.seq);
      if (decision) return { decision, lease: null };
      claim = await deps.lock.claim(request.userID, signal, { join: false });
      if (claim.role !== 'holder') throw new Error('login lock: a claim without joining joined');
    }
    const lease = claim.lease;
    try {
      const credentials = claim.waited ? readCredentials(request.userID) : early;
      return { decision: await decide(request, await credentials, deliveries, lastDelivery, signal), lease };
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  async function deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const letter = deadLetterEvent(msg.subject, msg.data, reason, msg.info.redeliveryCount);
    await js.publish(Subjects.deadLetter(SOURCE), encodeJson(letter));
  }

  /** The user's credentials from persistence; never rejects (the error is part of the result). */
  function readCredentials(userID: string): Promise<CredentialsRead> {
    return callService(
      deps.nc,
      PersistenceApi.getCredentials,
      GetCredentialsRequest,
      GetCredentialsResponse,
      { userID },
      deps.credentialsTimeoutMs,
    ).then(
      (answer) => ({ ok: true, answer }),
      (error: unknown) => ({ ok: false, error }),
    );
  }

  async function decide(
    request: RefreshRequested,
    read: CredentialsRead,
    deliveries: number,
    lastDelivery: boolean,
    signal: AbortSignal,
  ): Promise<Decision> {
    let credentials: BrokerCredentials | null;
    if (read.ok) {
      if (read.answer.loginFlow === 'redirect') {
        return { kind: 'publish', event: skippedEvent(request, SkipReason.LoginRequired), code: SkipReason.LoginRequired, attempts: 0 };
      }
      credentials = read.answer.credentials;
    } else {
      const err = read.error;
      if (err instanceof ServiceCallError && err.code === ServiceErrorCode.NotFound) {
        const failure = pipelineFailure(FailureCode.UserNotFound, 'user not found');
        return { kind: 'publish', event: failedEvent(request, failure, 0), code: failure.code, attempts: 0 };
      }
      const why = err instanceof ServiceCallError ? `credentials unavailable (${err.code})` : 'credentials unavailable';
      if (!lastDelivery) return { kind: 'hand-back', delayMs: handBackDelay(deps.nakDelayMs, deliveries), why, attempts: 0 };
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
    // Wait for an unused TOTP step before the retry budget starts: a login right after another one
    // of the account (another run's, or one cut short by a crash) would otherwise spend up to a
    // step (30 s) of AUTH_RETRY_DEADLINE_MS waiting.
    try {
      await deps.totpFresh?.(request.userID, signal);
    } catch (err) {
      if (signal.aborted) return abortedDecision(request, lastDelivery, 0);
      throw err;
    }
    let firstAttempt = true;
    const attempt = async (attemptSignal: AbortSignal) => {
      // Before the first attempt the step was just found fresh; a retry looks again.
      if (!firstAttempt) await deps.totpFresh?.(request.userID, attemptSignal);
      firstAttempt = false;
      return deps.client.login(creds, attemptSignal);
    };
    const outcome = await loginWithRetries(loginDeps, attempt, signal);
    switch (outcome.kind) {
      case 'refreshed':
        return {
          kind: 'publish',
          event: refreshedEvent(request, outcome.result, outcome.attempts),
          code: null,
          attempts: outcome.attempts,
        };
      case 'failed':
        if (outcome.failure.code === FailureCode.Internal && !lastDelivery) {
          // Not the broker's verdict but a fault on our side, typically NATS away while the TOTP
          // step was being recorded: hand the request back instead of failing the user for it.
          return {
            kind: 'hand-back',
            delayMs: handBackDelay(deps.nakDelayMs, deliveries),
            why: 'internal fault during login',
            attempts: outcome.attempts,
          };
        }
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
    let lease: LoginLease | null = null;
    try {
      let decision: Decision;
      try {
        ({ decision, lease } = await decideUnderLock(request, deliveries, lastDelivery, signal));
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
      let seq: number;
      try {
        seq = await publish(decision.event.subject, decision.event.payload, decision.event.msgID);
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
      // Requests that waited for this login announce the same outcome for their own runs.
      await lease?.finish(seq);
      lease = null;
      await msg.ackAck().catch((err: unknown) => deps.log.warn({ ...context, err }, 'ack not confirmed'));
      const line = { ...context, outcome, code: decision.code, attempts: decision.attempts, joined: decision.joined ?? false, durationMs };
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
      await lease?.release();
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
