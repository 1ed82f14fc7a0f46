import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, nanos, type JetStreamClient, type JetStreamManager, type JsMsg } from 'nats';
import { Consumers, Streams } from '@refresher/contracts';
import type { Logger } from '@refresher/platform';

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

/**
 * Pulls only as many requests as there are free slots, so no message waits in a local buffer while
 * its ack timer runs, and the other replicas get what this one cannot take.
 */
export async function startRequestLoop(options: RequestLoopOptions): Promise<RequestLoop> {
  const { js, handle, concurrency, fetchExpiresMs, log } = options;
  const consumer = await js.consumers.get(Streams.requests.name, Consumers.iiflAuth);
  const inFlight = new Set<Promise<void>>();
  const shutdown = new AbortController();
  const pulling = new AbortController();
  let wake: (() => void) | undefined;

  const dispatch = (msg: JsMsg) => {
    const work: Promise<void> = handle(msg, shutdown.signal).then(
      () => {},
      (err: unknown) => log.error({ err }, 'refresh handler failed'),
    );
    inFlight.add(work);
    void work.finally(() => {
      inFlight.delete(work);
      wake?.();
    });
  };

  const slotFreed = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        wake = undefined;
        pulling.signal.removeEventListener('abort', done);
        resolve();
      };
      wake = done;
      pulling.signal.addEventListener('abort', done, { once: true });
    });

  const loop = (async () => {
    while (!pulling.signal.aborted) {
      const free = concurrency - inFlight.size;
      if (free <= 0) {
        await slotFreed();
        continue;
      }
      try {
        const messages = await consumer.fetch({ max_messages: free, expires: fetchExpiresMs });
        for await (const msg of messages) {
          // A message that arrives once stopping began goes straight back for another replica.
          if (pulling.signal.aborted) msg.nak();
          else dispatch(msg);
        }
      } catch (err) {
        if (pulling.signal.aborted) break;
        log.warn({ err }, 'pulling refresh requests failed, trying again');
        await sleep(1_000, undefined, { signal: pulling.signal }).catch(() => {});
      }
    }
  })();

  return {
    inFlight: () => inFlight.size,
    async stop(graceMs) {
      pulling.abort();
      await loop;
      const settled = Promise.allSettled([...inFlight]).then(() => true);
      if (!(await settledWithin(settled, graceMs))) {
        log.warn({ inFlight: inFlight.size }, 'grace period over, handing back unfinished requests');
        shutdown.abort();
        if (!(await settledWithin(settled, ABORT_SETTLE_MS))) {
          log.error({ inFlight: inFlight.size }, 'requests still in flight after abort; JetStream will redeliver them');
        }
      }
    },
  };
}
