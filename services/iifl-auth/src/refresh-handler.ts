import type { JetStreamClient, JetStreamManager, JsMsg, NatsConnection } from 'nats';
import { Streams, type LoginFlow, type RefreshRequested } from '@refresher/contracts';
import type { Keyring } from '@refresher/credential-crypto';
import { encodeJson, type Logger } from '@refresher/platform';
import { decideUnderLock, type UnderLockDeps } from './decide-under-lock.ts';
import type { LoginLease, LoginLock } from './login-lock.ts';
import type { SettledRequest } from './metrics.ts';
import type { OutgoingEvent } from './outgoing-events.ts';
import { parseRequest } from './parse-request.ts';
import { readCredentials, type DeciderDeps, type Decision, type Delivery, type LoginClient } from './refresh-decision.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { giveUp, rejectInvalid, settleMessage, type HandleResult, type Outcome } from './settle-message.ts';

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
  /** Where a login leaves from: the user's egress, the app key's, the default (egress.ts). */
  egressFor?: DeciderDeps['egressFor'];
  /** The consumer's max_deliver: on that delivery nothing is handed back any more. */
  maxDeliver: number;
  ackWaitMs: number;
  /** First redelivery delay when persistence could not be asked; it doubles with each delivery. */
  nakDelayMs: number;
  credentialsTimeoutMs: number;
  /** Hears how each request was settled (metrics). */
  onSettled?: (request: SettledRequest) => void;
  now?: () => number;
  random?: () => number;
}

/** What handling a message needs, built once per handler. */
interface HandlerContext {
  js: JetStreamClient;
  log: Logger;
  underLock: UnderLockDeps;
  maxDeliver: number;
  nakDelayMs: number;
  workingEveryMs: number;
  onSettled: (request: SettledRequest) => void;
}

/**
 * Handles one `tokens.refresh.requested.<userID>` message end to end: validate, fetch credentials,
 * log in (with retries) or, for a redirect-flow user, announce a login link; publish the outcome,
 * and only then ack. `signal` aborts on shutdown: the request is then handed back (nak) for another
 * replica.
 */
export function createRefreshHandler(deps: RefreshHandlerDeps): (msg: JsMsg, signal: AbortSignal) => Promise<HandleResult> {
  const ctx = handlerContext(deps);
  return (msg, signal) => handleRequest(ctx, msg, signal);
}

function handlerContext(deps: RefreshHandlerDeps): HandlerContext {
  let jsm: Promise<JetStreamManager> | undefined;
  const underLock: UnderLockDeps = {
    lock: deps.lock,
    log: deps.log,
    decider: {
      client: deps.client,
      keyring: deps.keyring,
      defaultFlow: deps.defaultFlow ?? 'headless-v1',
      loginDeps: { policy: deps.retryPolicy, ...(deps.now ? { now: deps.now } : {}), ...(deps.random ? { random: deps.random } : {}) },
      nakDelayMs: deps.nakDelayMs,
      totpFresh: deps.totpFresh,
      announceLoginRequired: deps.announceLoginRequired,
      egressFor: deps.egressFor,
    },
    credentialsOf: (userID) => readCredentials(deps.nc, userID, deps.credentialsTimeoutMs),
    storedEvent: async (seq) => {
      jsm ??= deps.nc.jetstreamManager();
      return (await jsm).streams.getMessage(Streams.events.name, { seq });
    },
  };
  return {
    js: deps.nc.jetstream(),
    log: deps.log,
    underLock,
    maxDeliver: deps.maxDeliver,
    nakDelayMs: deps.nakDelayMs,
    workingEveryMs: Math.max(1_000, Math.floor(deps.ackWaitMs / 3)),
    onSettled: deps.onSettled ?? (() => {}),
  };
}

async function handleRequest(ctx: HandlerContext, msg: JsMsg, signal: AbortSignal): Promise<HandleResult> {
  const startedAt = Date.now();
  const deliveries = msg.info.redeliveryCount;
  const lastDelivery = deliveries >= ctx.maxDeliver;
  const parsed = parseRequest(msg);
  if (!parsed.ok) {
    ctx.log.warn({ subject: msg.subject, reason: parsed.reason, deliveries }, 'invalid refresh request, dead-lettered');
    return settleMessage(ctx, msg, rejectInvalid(lastDelivery, parsed.reason, ctx.nakDelayMs));
  }
  const d: Delivery = { request: parsed.request, deliveries, lastDelivery, signal };
  const heartbeat = setInterval(() => msg.working(), ctx.workingEveryMs);
  const lease: { current: LoginLease | null } = { current: null };
  try {
    const { decision, lease: held } = await decideUnderLock(ctx.underLock, d);
    lease.current = held;
    return await carryOut(ctx, msg, d, decision, lease, startedAt);
  } catch (err) {
    // A fault of ours: never crash the consumer; hand the request back until the last delivery.
    ctx.log.error({ userID: d.request.userID, runId: d.request.runId, deliveries, err }, 'refresh request handling failed');
    return settleMessage(ctx, msg, giveUp(lastDelivery, 'internal error while handling the request', ctx.nakDelayMs));
  } finally {
    clearInterval(heartbeat);
    await lease.current?.release();
  }
}

/** Carries out a decision: hand back, or publish the outcome, let joiners have it, and ack. */
async function carryOut(
  ctx: HandlerContext,
  msg: JsMsg,
  d: Delivery,
  decision: Decision,
  lease: { current: LoginLease | null },
  startedAt: number,
): Promise<HandleResult> {
  const context = { userID: d.request.userID, runId: d.request.runId, deliveries: d.deliveries };
  const durationMs = Date.now() - startedAt;
  if (decision.kind === 'hand-back') {
    const settled = await settleMessage(ctx, msg, { do: 'nak', delayMs: decision.delayMs }, context);
    ctx.log.info(
      { ...context, outcome: settled, why: decision.why, attempts: decision.attempts, durationMs },
      'refresh request handed back',
    );
    ctx.onSettled({ outcome: 'handed-back', code: null, attempts: decision.attempts, durationMs, joined: false });
    return settled;
  }
  const outcome = outcomeOf(decision.event);
  let seq: number;
  try {
    seq = (await ctx.js.publish(decision.event.subject, encodeJson(decision.event.payload), { msgID: decision.event.msgID })).seq;
  } catch (err) {
    ctx.log.error({ ...context, err, outcome }, 'could not publish the outcome');
    return settleMessage(ctx, msg, giveUp(d.lastDelivery, `could not publish the ${outcome} outcome`, ctx.nakDelayMs), context);
  }
  // Requests that waited for this login announce the same outcome for their own runs.
  await lease.current?.finish(seq);
  lease.current = null;
  await settleMessage(ctx, msg, { do: 'ack', outcome }, context);
  const line = { ...context, outcome, code: decision.code, attempts: decision.attempts, joined: decision.joined ?? false, durationMs };
  if (outcome === 'failed') ctx.log.warn(line, 'refresh failed');
  else ctx.log.info(line, `refresh ${outcome}`);
  ctx.onSettled({ outcome, code: decision.code, attempts: decision.attempts, durationMs, joined: line.joined });
  return outcome;
}

function outcomeOf(event: OutgoingEvent): Outcome {
  if ('token' in event.payload) return 'refreshed';
  if ('code' in event.payload) return 'failed';
  return 'skipped';
}
