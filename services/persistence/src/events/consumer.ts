import type { Kysely } from 'kysely';
import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JsMsg, type KV, type NatsConnection } from 'nats';
import { Consumers, Streams } from '@refresher/contracts';
import type { Logger } from '@refresher/platform';
import type { Database } from '@refresher/db';
import { putTokenIfNewer } from '../tokens-kv.ts';
import { applyOutcomeEvent } from './apply-event.ts';
import { publishDeadLetter } from './dead-letter.ts';
import { publishOutcomeNotices } from './notices.ts';
import { parseOutcomeEvent } from './parse-event.ts';

const ACK_WAIT_MS = 30_000;
/** With the back-off below this rides out about 25 minutes of database trouble. */
export const MAX_DELIVER = 50;
const MAX_NAK_DELAY_MS = 30_000;
const MAX_ACK_PENDING = 1_000;

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

/**
 * Processes outcome events up to `concurrency` at a time. A message is acked only after its
 * transaction committed and the KV bucket and run notices were updated; a failure naks it with a
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

  const inFlight = new Set<Promise<void>>();
  let freed: (() => void) | undefined;

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

  const handle = async (msg: JsMsg) => {
    const parsed = parseOutcomeEvent(msg.subject, msg.data);
    if (!parsed.ok) return deadLetter(msg, parsed.reason);
    const { event } = parsed.value;
    try {
      const applied = await applyOutcomeEvent(db, msg.subject, parsed.value);
      if (parsed.value.kind === 'refreshed') await putTokenIfNewer(kv, parsed.value.event);
      if (applied.recorded) publishOutcomeNotices(nc, applied.recorded);
      msg.ack();
      log.debug({ userID: event.userID, kind: parsed.value.kind, duplicate: applied.duplicate }, 'event processed');
    } catch (err) {
      const deliveries = msg.info.redeliveryCount;
      if (isPermanentDbError(err)) {
        return deadLetter(msg, `rejected by the database: ${(err as Error).message}`);
      }
      if (deliveries >= MAX_DELIVER) {
        return deadLetter(msg, `still failing after ${deliveries} deliveries: ${(err as Error).message ?? String(err)}`);
      }
      log.warn({ err, userID: event.userID, deliveries }, 'event not processed; it will be redelivered');
      msg.nak(nakDelay(deliveries));
    }
  };

  const loop = (async () => {
    for await (const msg of messages) {
      while (inFlight.size >= concurrency) await new Promise<void>((resolve) => (freed = resolve));
      const task: Promise<void> = handle(msg)
        .catch((err: unknown) => log.error({ err }, 'event handler failed'))
        .finally(() => {
          inFlight.delete(task);
          freed?.();
        });
      inFlight.add(task);
    }
  })();

  return {
    stop: async () => {
      // Messages fetched but not started are not acked: JetStream redelivers them.
      await messages.close();
      await loop.catch(() => {});
      await Promise.allSettled([...inFlight]);
    },
  };
}
