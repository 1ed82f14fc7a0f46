import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type NatsConnection } from 'nats';
import { Consumers, Streams } from '@refresher/contracts';

const ACK_WAIT_MS = 30_000;
/** With the back-off of settle.ts this rides out about 25 minutes of database trouble. */
export const MAX_DELIVER = 50;
const MAX_ACK_PENDING = 2_000;

/**
 * The durable consumer of the events stream. It has no filter: the stream holds exactly the three
 * outcome subjects and `tokens.invalidated.>`, all of them for persistence (and nats-server 2.9
 * knows no multi-subject filters).
 */
export const PERSISTENCE_CONSUMER: Partial<ConsumerConfig> = {
  durable_name: Consumers.persistence,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  ack_wait: nanos(ACK_WAIT_MS),
  max_deliver: MAX_DELIVER,
  max_ack_pending: MAX_ACK_PENDING,
};

/** Creates the consumer, or brings an existing one's limits up to date. */
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
