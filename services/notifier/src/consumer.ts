import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JetStreamManager } from 'nats';
import { Streams } from '@refresher/contracts';
import { consumerName, type Webhook } from './webhooks.ts';

/** Unused this long (its webhook gone from WEBHOOK_URLS), a webhook's consumer is removed by the server. */
const INACTIVE_MS = 24 * 60 * 60 * 1000;

export interface ConsumerSettings {
  /** Notices of this webhook delivered at once (and waiting to be retried): the consumer's max ack pending. */
  maxInFlight: number;
  /** Long enough for one attempt. */
  ackWaitMs: number;
  /** A new consumer starts with the notices stored this long ago: those still within the give-up time. */
  startBackMs: number;
}

/**
 * The durable pull consumer of one webhook, created when missing (starting with the notices still
 * deliverable), its limits brought up to date otherwise. Never gives up on its own (no max deliver):
 * the notifier decides when a notice is dead.
 */
export async function ensureWebhookConsumer(jsm: JetStreamManager, webhook: Webhook, settings: ConsumerSettings): Promise<string> {
  const name = consumerName(webhook);
  const limits: Partial<ConsumerConfig> = {
    ack_wait: nanos(settings.ackWaitMs),
    max_ack_pending: settings.maxInFlight,
    inactive_threshold: nanos(INACTIVE_MS),
  };
  const existing = await jsm.consumers.info(Streams.notices.name, name).catch(() => null);
  if (existing) {
    await jsm.consumers.update(Streams.notices.name, name, limits);
    return name;
  }
  try {
    await jsm.consumers.add(Streams.notices.name, {
      ...limits,
      durable_name: name,
      description: `webhook ${webhook.id} (${webhook.format})`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(Date.now() - settings.startBackMs).toISOString(),
      max_deliver: -1,
    });
  } catch (err) {
    // Another replica created it in between.
    if (!(await jsm.consumers.info(Streams.notices.name, name).catch(() => null))) throw err;
  }
  return name;
}
