import type { Kysely } from 'kysely';
import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JsMsg, type KV, type NatsConnection } from 'nats';
import { Consumers, Streams } from '@refresher/contracts';
import type { Logger } from '@refresher/platform';
import type { Database } from '@refresher/db';
import { putTokenIfNewer } from '../tokens-kv.ts';
import { applyOutcomeEvent, applyOutcomeEvents, type AppliedEvent, type NotApplied } from './apply-event.ts';
import { publishDeadLetter } from './dead-letter.ts';
import { publishOutcomeNotices } from './notices.ts';
import { parseOutcomeEvent, type OutcomeEvent } from './parse-event.ts';

const ACK_WAIT_MS = 30_000;
/** With the back-off below this rides out about 25 minutes of database trouble. */
export const MAX_DELIVER = 50;
const MAX_NAK_DELAY_MS = 30_000;
const MAX_ACK_PENDING = 2_000;

/**
 * The durable consumer of the events stream. It has no filter: the stream holds exactly the three
 * outcome subjects (and nats-server 2.9 knows no multi-subject filters).
 */
export const PERSISTENCE_CONSUMER: Partial<ConsumerConfig> = {
  durable_name: Consumers.persistence,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  ack_wait: nanos(ACK_WAIT_MS),
  max_deliver: MAX_DELIVER,
  max_ack_pending: MAX_ACK_PENDING,
};

export async function ensurePersistenceConsumer(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const existing = await jsm.consumers.info(Streams.events.name, Consumers.persistence).catch(() => null);
  if (!existing) {
    try {
      await jsm.consumers.add(Streams.events.name, PERSISTENCE_CONSUMER);
      return;
    } catch (err) {
      // Another replica created it in between.
      if (!(await jsm.consumers.info(Streams.events.name, Consumers.persistence).catch(() => null))) throw err;
    }
  }
  await jsm.consumers.update(Streams.events.name, Consumers.persistence, {
    ack_wait: nanos(ACK_WAIT_MS),
    max_deliver: MAX_DELIVER,
    max_ack_pending: MAX_ACK_PENDING,
  });
}

/** SQLSTATE classes of data and integrity errors: the same message will fail the same way again. */
function isPermanentDbError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

export function nakDelay(deliveries: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, deliveries - 1), MAX_NAK_DELAY_MS);
}

export interface EventConsumer {
  stop(): Promise<void>;
}

/** Events applied in one transaction at most. */
export const EVENT_BATCH_MAX = 128;
/** Batches (transactions) in flight at once: one is written while the next one fills. */
const PARALLEL_BATCHES = 2;

/**
 * Processes outcome events, up to `concurrency` unacknowledged at a time, in batches: the events
 * that arrived while the previous batch was written are applied together in one transaction
 * (applyOutcomeEvents), then the KV bucket and run notices are updated and each message is acked.
 * An idle consumer writes a lone event at once. When a batch fails, its events are applied one by
 * one, so a single bad event cannot hold back the others: a failure naks that message with a
 * growing delay (JetStream redelivers); a message that cannot be valid is dead-lettered.
 */
export async function startEventConsumer(deps: {
  nc: NatsConnection;
  db: Kysely<Database>;
  kv: KV;
  log: Logger;
  concurrency: number;
}): Promise<EventConsumer> {
  const { nc, db, kv, concurrency } = deps;
  const log = deps.log.child({ module: 'event-consumer' });
  await ensurePersistenceConsumer(nc);
  const consumer = await nc.jetstream().consumers.get(Streams.events.name, Consumers.persistence);
  const messages = await consumer.consume({ max_messages: concurrency });

  const deadLetter = async (msg: JsMsg, reason: string) => {
    try {
      await publishDeadLetter(nc, { subject: msg.subject, reason, deliveries: msg.info.redeliveryCount, data: msg.data });
      msg.term();
      log.warn({ subject: msg.subject, reason }, 'event dead-lettered');
    } catch (err) {
      log.error({ err, subject: msg.subject }, 'could not dead-letter an event; it will be redelivered');
      msg.nak(nakDelay(msg.info.redeliveryCount));
    }
  };

  const failed = async (msg: JsMsg, userID: string, err: unknown) => {
    const deliveries = msg.info.redeliveryCount;
    if (isPermanentDbError(err)) {
      return deadLetter(msg, `rejected by the database: ${(err as Error).message}`);
    }
    if (deliveries >= MAX_DELIVER) {
      return deadLetter(msg, `still failing after ${deliveries} deliveries: ${(err as Error).message ?? String(err)}`);
    }
    log.warn({ err, userID, deliveries }, 'event not processed; it will be redelivered');
    msg.nak(nakDelay(deliveries));
  };

  /**
   * The KV entry does not depend on the database (it has its own never-older guard), so it is
   * written while the transaction runs. Rejections are handled where the promise is awaited.
   */
  const storeToken = (outcome: OutcomeEvent): Promise<unknown> => {
    const write = outcome.kind === 'refreshed' ? putTokenIfNewer(kv, outcome.event) : Promise.resolve();
    write.catch(() => {});
    return write;
  };

  /** After the transaction and the KV entry: the run notices, then the ack. */
  const finish = (msg: JsMsg, outcome: OutcomeEvent, applied: AppliedEvent) => {
    if (applied.recorded) publishOutcomeNotices(nc, applied.recorded);
    msg.ack();
    log.debug({ userID: outcome.event.userID, kind: outcome.kind, duplicate: applied.duplicate }, 'event processed');
  };

  /** One event in its own transaction (a batch of one, or a failed batch taken apart). */
  const handleOne = async (msg: JsMsg, outcome: OutcomeEvent, tokenStored = storeToken(outcome)) => {
    try {
      const applied = await applyOutcomeEvent(db, msg.subject, outcome);
      await tokenStored;
      finish(msg, outcome, applied);
    } catch (err) {
      await failed(msg, outcome.event.userID, err);
    }
  };

  const handleBatch = async (batch: JsMsg[]) => {
    const valid: Array<{ msg: JsMsg; outcome: OutcomeEvent }> = [];
    for (const msg of batch) {
      const parsed = parseOutcomeEvent(msg.subject, msg.data);
      if (parsed.ok) valid.push({ msg, outcome: parsed.value });
      else await deadLetter(msg, parsed.reason);
    }
    if (valid.length === 1) return handleOne(valid[0]!.msg, valid[0]!.outcome);
    if (valid.length === 0) return;
    const stored = valid.map((v) => storeToken(v.outcome));
    const applied = await applyOutcomeEvents(db, valid.map((v) => ({ subject: v.msg.subject, outcome: v.outcome })));
    const notApplied = applied.filter((a) => 'failed' in a);
    if (notApplied.length > 0) {
      log.warn({ err: (notApplied[0] as NotApplied).failed, events: notApplied.length }, 'part of a batch not applied; applying its events one by one');
    }
    await Promise.all(
      valid.map(async (v, i) => {
        const result = applied[i]!;
        if ('failed' in result) return handleOne(v.msg, v.outcome, stored[i]);
        try {
          await stored[i];
          finish(v.msg, v.outcome, result);
        } catch (err) {
          await failed(v.msg, v.outcome.event.userID, err);
        }
      }),
    );
  };

  const queue: JsMsg[] = [];
  const inFlight = new Set<Promise<void>>();
  let unfinished = 0;
  let freed: (() => void) | undefined;
  let scheduled = false;

  const pump = () => {
    scheduled = false;
    while (inFlight.size < PARALLEL_BATCHES && queue.length > 0) {
      const batch = queue.splice(0, EVENT_BATCH_MAX);
      const task: Promise<void> = handleBatch(batch)
        .catch((err: unknown) => log.error({ err }, 'event handler failed'))
        .finally(() => {
          inFlight.delete(task);
          unfinished -= batch.length;
          freed?.();
          pump();
        });
      inFlight.add(task);
    }
  };

  const loop = (async () => {
    for await (const msg of messages) {
      while (unfinished >= concurrency) await new Promise<void>((resolve) => (freed = resolve));
      unfinished += 1;
      queue.push(msg);
      // Messages that arrive in the same turn of the event loop join one batch.
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    }
  })();

  return {
    stop: async () => {
      // Messages fetched but not started are not acked: JetStream redelivers them.
      await messages.close();
      await loop.catch(() => {});
      queue.length = 0;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
