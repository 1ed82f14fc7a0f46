import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, nanos, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg } from 'nats';
import { Consumers, Streams } from '@refresher/contracts';
import type { Logger } from '@refresher/platform';
import { settleMessage } from './settle-message.ts';

export interface ConsumerSettings {
  ackWaitMs: number;
  maxDeliver: number;
  /** Requests in flight across every replica (the overall bound on concurrent logins). */
  maxAckPending: number;
}

/**
 * Creates the durable pull consumer every replica shares, or brings the settings this service owns
 * up to date when it exists already.
 */
export async function ensureRequestConsumer(jsm: JetStreamManager, settings: ConsumerSettings): Promise<void> {
  const wanted = {
    ack_wait: nanos(settings.ackWaitMs),
    max_deliver: settings.maxDeliver,
    max_ack_pending: settings.maxAckPending,
  };
  try {
    const info = await jsm.consumers.info(Streams.requests.name, Consumers.iiflAuth);
    const c = info.config;
    if (c.ack_wait !== wanted.ack_wait || c.max_deliver !== wanted.max_deliver || c.max_ack_pending !== wanted.max_ack_pending) {
      await jsm.consumers.update(Streams.requests.name, Consumers.iiflAuth, wanted);
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.consumers.add(Streams.requests.name, {
        durable_name: Consumers.iiflAuth,
        ack_policy: AckPolicy.Explicit,
        ...wanted,
      });
    } catch (addErr) {
      // Another replica may have created it in between.
      await jsm.consumers.info(Streams.requests.name, Consumers.iiflAuth).catch(() => {
        throw addErr;
      });
    }
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && /not found/i.test(err.message);
}

/** How long aborted handlers get to hand their requests back. */
const ABORT_SETTLE_MS = 5_000;

async function settledWithin(settled: Promise<boolean>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([settled, sleep(ms, false, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

export interface RequestLoop {
  inFlight(): number;
  /**
   * Stops pulling, waits up to `graceMs` for the requests in flight, then aborts the rest (their
   * handlers hand them back) and waits for them to settle.
   */
  stop(graceMs: number): Promise<void>;
}

export interface RequestLoopOptions {
  js: JetStreamClient;
  handle: (msg: JsMsg, signal: AbortSignal) => Promise<unknown>;
  concurrency: number;
  /** How long one pull waits for messages. A stop waits for the pull under way to expire. */
  fetchExpiresMs: number;
  log: Logger;
}

interface LoopState extends RequestLoopOptions {
  inFlight: Set<Promise<void>>;
  /** Aborts the handlers (they hand their requests back). */
  shutdown: AbortController;
  /** Stops pulling. */
  pulling: AbortController;
  /** Called when a handler finishes, while the loop waits for a free slot. */
  wake: (() => void) | undefined;
}

/**
 * Pulls only as many requests as there are free slots, so no message waits in a local buffer while
 * its ack timer runs, and the other replicas get what this one cannot take.
 */
export async function startRequestLoop(options: RequestLoopOptions): Promise<RequestLoop> {
  const consumer = await options.js.consumers.get(Streams.requests.name, Consumers.iiflAuth);
  const state: LoopState = {
    ...options,
    inFlight: new Set(),
    shutdown: new AbortController(),
    pulling: new AbortController(),
    wake: undefined,
  };
  const loop = pullLoop(state, consumer);
  return {
    inFlight: () => state.inFlight.size,
    stop: (graceMs) => stopLoop(state, loop, graceMs),
  };
}

async function pullLoop(state: LoopState, consumer: Consumer): Promise<void> {
  const { pulling, log } = state;
  while (!pulling.signal.aborted) {
    const free = state.concurrency - state.inFlight.size;
    if (free <= 0) {
      await slotFreed(state);
      continue;
    }
    try {
      const messages = await consumer.fetch({ max_messages: free, expires: state.fetchExpiresMs });
      for await (const msg of messages) {
        // A message that arrives once stopping began goes straight back for another replica.
        if (pulling.signal.aborted) await settleMessage(state, msg, { do: 'nak', delayMs: 0 });
        else dispatch(state, msg);
      }
    } catch (err) {
      if (pulling.signal.aborted) break;
      log.warn({ err }, 'pulling refresh requests failed, trying again');
      await sleep(1_000, undefined, { signal: pulling.signal }).catch(() => {});
    }
  }
}

function dispatch(state: LoopState, msg: JsMsg): void {
  const work: Promise<void> = state.handle(msg, state.shutdown.signal).then(
    () => {},
    (err: unknown) => state.log.error({ err }, 'refresh handler failed'),
  );
  state.inFlight.add(work);
  void work.finally(() => {
    state.inFlight.delete(work);
    state.wake?.();
  });
}

/** Resolves when a handler finishes, or when pulling stops. */
function slotFreed(state: LoopState): Promise<void> {
  const { signal } = state.pulling;
  return new Promise<void>((resolve) => {
    const done = () => {
      state.wake = undefined;
      signal.removeEventListener('abort', done);
      resolve();
    };
    state.wake = done;
    signal.addEventListener('abort', done, { once: true });
  });
}

async function stopLoop(state: LoopState, loop: Promise<void>, graceMs: number): Promise<void> {
  const { inFlight, log } = state;
  state.pulling.abort();
  await loop;
  const settled = Promise.allSettled([...inFlight]).then(() => true);
  if (await settledWithin(settled, graceMs)) return;
  log.warn({ inFlight: inFlight.size }, 'grace period over, handing back unfinished requests');
  state.shutdown.abort();
  if (!(await settledWithin(settled, ABORT_SETTLE_MS))) {
    log.error({ inFlight: inFlight.size }, 'requests still in flight after abort; JetStream will redeliver them');
  }
}
