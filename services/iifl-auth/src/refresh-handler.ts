import type { JetStreamManager, JsMsg, NatsConnection } from 'nats';
import { RefreshRequested, Streams, Subjects, type LoginFlow } from '@refresher/contracts';
import type { Keyring } from '@refresher/credential-crypto';
import { decodeJson, encodeJson, type Logger } from '@refresher/platform';
import type { LoginWithRetriesDeps } from './login-with-retries.ts';
import { deadLetterEvent, joinedEvent, SOURCE, type OutgoingEvent } from './outgoing-events.ts';
import { createDecider, readCredentials, type Decision, type Delivery, type LoginClient } from './refresh-decision.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { GateAbortedError, type LoginLease, type LoginLock } from './login-lock.ts';

export { handBackDelay, type LoginClient } from './refresh-decision.ts';

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
  /** The flow of users without one of their own (IIFL_LOGIN_FLOW); default headless-v1. */
  defaultFlow?: LoginFlow;
  /** Sends a redirect-flow user their login link; see login-required.ts. */
  announceLoginRequired: (request: RefreshRequested, storedAppKey: string) => Promise<unknown>;
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

/**
 * Handles one `tokens.refresh.requested.<userID>` message end to end: validate, fetch credentials,
 * log in (with retries) or, for a redirect-flow user, announce a login link; publish the outcome,
 * and only then ack. `signal` aborts on shutdown: the request is then handed back (nak) for another
 * replica.
 */
export function createRefreshHandler(deps: RefreshHandlerDeps) {
  const js = deps.nc.jetstream();
  const loginDeps: LoginWithRetriesDeps = {
    policy: deps.retryPolicy,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  };
  const decider = createDecider({
    client: deps.client,
    keyring: deps.keyring,
    defaultFlow: deps.defaultFlow ?? 'headless-v1',
    loginDeps,
    nakDelayMs: deps.nakDelayMs,
    totpFresh: deps.totpFresh,
    announceLoginRequired: deps.announceLoginRequired,
  });
  const workingEveryMs = Math.max(1_000, Math.floor(deps.ackWaitMs / 3));
  const credentialsOf = (userID: string) => readCredentials(deps.nc, userID, deps.credentialsTimeoutMs);
  let jsm: Promise<JetStreamManager> | undefined;

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
  async function decideUnderLock(d: Delivery): Promise<{ decision: Decision; lease: LoginLease | null }> {
    const { request, signal } = d;
    // Credentials are read while the lock is claimed (one round trip less before the login), and
    // read again if the account was busy: they may have changed while this request waited.
    const early = credentialsOf(request.userID);
    let claim = await deps.lock.claim(request.userID, signal);
    if (claim.role === 'joined') {
      const decision = await joinedDecision(request, claim.seq);
      if (decision) return { decision, lease: null };
      claim = await deps.lock.claim(request.userID, signal, { join: false });
      if (claim.role !== 'holder') throw new Error('login lock: a claim without joining joined');
    }
    const lease = claim.lease;
    try {
      const credentials = claim.waited ? credentialsOf(request.userID) : early;
      return { decision: await decider.decide(d, await credentials), lease };
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  async function deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const letter = deadLetterEvent(msg.subject, msg.data, reason, msg.info.redeliveryCount);
    await js.publish(Subjects.deadLetter(SOURCE), encodeJson(letter));
  }

  /** Hands the request back, or (on its last delivery) dead-letters it with `reason`. */
  async function giveUp(msg: JsMsg, lastDelivery: boolean, reason: string): Promise<HandleResult> {
    if (!lastDelivery) {
      msg.nak(deps.nakDelayMs);
      return 'handed-back';
    }
    await deadLetter(msg, reason).catch(() => {});
    msg.term();
    return 'dead-lettered';
  }

  async function rejectInvalid(msg: JsMsg, reason: string, lastDelivery: boolean): Promise<HandleResult> {
    deps.log.warn({ subject: msg.subject, reason, deliveries: msg.info.redeliveryCount }, 'invalid refresh request, dead-lettered');
    try {
      await deadLetter(msg, reason);
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

  /** Carries out a decision: nak, or publish the outcome, let joiners have it, and ack. */
  async function carryOut(msg: JsMsg, d: Delivery, decision: Decision, lease: { current: LoginLease | null }, startedAt: number) {
    const context = { userID: d.request.userID, runId: d.request.runId, deliveries: d.deliveries };
    const durationMs = Date.now() - startedAt;
    if (decision.kind === 'hand-back') {
      msg.nak(decision.delayMs);
      deps.log.info({ ...context, outcome: 'handed-back', why: decision.why, attempts: decision.attempts, durationMs }, 'refresh request handed back');
      return 'handed-back';
    }
    const outcome = outcomeOf(decision.event);
    let seq: number;
    try {
      seq = (await js.publish(decision.event.subject, encodeJson(decision.event.payload), { msgID: decision.event.msgID })).seq;
    } catch (err) {
      deps.log.error({ ...context, err, outcome }, 'could not publish the outcome');
      return giveUp(msg, d.lastDelivery, `could not publish the ${outcome} outcome`);
    }
    // Requests that waited for this login announce the same outcome for their own runs.
    await lease.current?.finish(seq);
    lease.current = null;
    await msg.ackAck().catch((err: unknown) => deps.log.warn({ ...context, err }, 'ack not confirmed'));
    const line = { ...context, outcome, code: decision.code, attempts: decision.attempts, joined: decision.joined ?? false, durationMs };
    if (outcome === 'failed') deps.log.warn(line, 'refresh failed');
    else deps.log.info(line, `refresh ${outcome}`);
    return outcome;
  }

  return async function handle(msg: JsMsg, signal: AbortSignal): Promise<HandleResult> {
    const startedAt = Date.now();
    const deliveries = msg.info.redeliveryCount;
    const lastDelivery = deliveries >= deps.maxDeliver;
    const parsed = parseRequest(msg);
    if (!parsed.ok) return rejectInvalid(msg, parsed.reason, lastDelivery);

    const d: Delivery = { request: parsed.request, deliveries, lastDelivery, signal };
    const heartbeat = setInterval(() => msg.working(), workingEveryMs);
    const lease: { current: LoginLease | null } = { current: null };
    try {
      let decision: Decision;
      try {
        ({ decision, lease: lease.current } = await decideUnderLock(d));
      } catch (err) {
        if (!(err instanceof GateAbortedError)) throw err;
        decision = decider.aborted(d, 0);
      }
      return await carryOut(msg, d, decision, lease, startedAt);
    } catch (err) {
      // A fault of ours: never crash the consumer; hand the request back until the last delivery.
      deps.log.error({ userID: d.request.userID, runId: d.request.runId, deliveries, err }, 'refresh request handling failed');
      return giveUp(msg, lastDelivery, 'internal error while handling the request');
    } finally {
      clearInterval(heartbeat);
      await lease.current?.release();
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
