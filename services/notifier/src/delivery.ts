import type { JsMsg, NatsConnection } from 'nats';
import { Notice, Streams } from '@refresher/contracts';
import { decodeJson, describeZodError, publishDeadLetter, type Logger, type WebhookDeliveryOutcome } from '@refresher/platform';
import { ensureWebhookConsumer } from './consumer.ts';
import { renderBody } from './render.ts';
import { afterFailedAttempt, type RetryPolicy } from './retry.ts';
import { postDelivery } from './send.ts';
import { deliveryHeaders } from './signing.ts';
import type { Webhook } from './webhooks.ts';

export interface DeliveryDeps {
  nc: NatsConnection;
  webhook: Webhook;
  secret: string;
  retry: RetryPolicy;
  timeoutMs: number;
  maxInFlight: number;
  log: Logger;
  /** Told what became of every attempt (the deliveries counter of /metrics). */
  onAttempt?: (outcome: WebhookDeliveryOutcome) => void;
}

/** What one delivery needs besides its message: its logger and the signal that ends it on stop. */
type Context = DeliveryDeps & { signal: AbortSignal };

export interface WebhookDelivery {
  stop(): Promise<void>;
}

/**
 * Delivers every notice of TOKEN_NOTICES to one webhook through the webhook's own durable consumer:
 * a webhook that is down holds back its own backlog only. Each notice is posted signed; a 2xx acks
 * it, a failure hands it back to JetStream with the back-off's delay (nak), and once the give-up
 * time has passed it is dead-lettered and terminated.
 */
export async function startWebhookDelivery(deps: DeliveryDeps): Promise<WebhookDelivery> {
  const log = deps.log.child({ webhook: deps.webhook.id, host: deps.webhook.host });
  const name = await ensureWebhookConsumer(await deps.nc.jetstreamManager(), deps.webhook, {
    maxInFlight: deps.maxInFlight,
    ackWaitMs: deps.timeoutMs + 30_000,
    startBackMs: deps.retry.giveUpMs,
  });
  const consumer = await deps.nc.jetstream().consumers.get(Streams.notices.name, name);
  const messages = await consumer.consume({ max_messages: deps.maxInFlight });
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  const loop = (async () => {
    for await (const msg of messages) {
      const task: Promise<void> = deliver({ ...deps, log, signal: abort.signal }, msg)
        .catch((err: unknown) => log.error({ err }, 'delivery failed unexpectedly; the notice will be redelivered'))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
  })();
  log.info({ consumer: name, format: deps.webhook.format }, 'delivering notices to a webhook');
  return {
    stop: async () => {
      // Attempts under way are cut short and handed back (nak) for another replica or the next start.
      await messages.close();
      abort.abort();
      await loop.catch(() => {});
      await Promise.allSettled([...inFlight]);
    },
  };
}

async function deliver(deps: Context, msg: JsMsg): Promise<void> {
  const attempt = msg.info.redeliveryCount;
  const parsed = Notice.safeParse(decodeJson(msg.data));
  if (!parsed.success) {
    return deadLetter(deps, msg, `not a notice: ${describeZodError(parsed.error)}`);
  }
  const notice = parsed.data;
  const body = renderBody(notice, deps.webhook.format);
  const headers = deliveryHeaders(deps.secret, notice, body, attempt);
  const result = await postDelivery(deps.webhook.url, body, headers, deps.timeoutMs, deps.signal);
  const context = { notice: notice.id, type: notice.type, attempt };
  if (deps.signal.aborted && !result.ok) {
    msg.nak();
    return;
  }
  if (result.ok) {
    msg.ack();
    deps.onAttempt?.('delivered');
    deps.log.info({ ...context, status: result.status }, 'notice delivered');
    return;
  }
  const ageMs = Date.now() - Math.floor(msg.info.timestampNanos / 1e6);
  const next = afterFailedAttempt(deps.retry, attempt, ageMs, result.retryAfterMs);
  if (next.do === 'retry') {
    msg.nak(next.delayMs);
    deps.onAttempt?.('retry');
    deps.log.warn({ ...context, reason: result.reason, retryInMs: next.delayMs }, 'notice not delivered; it will be tried again');
    return;
  }
  const minutes = Math.round(ageMs / 60_000);
  deps.onAttempt?.('expired');
  await deadLetter(
    deps,
    msg,
    `webhook ${deps.webhook.id}: not delivered after ${attempt} attempts in ${minutes} min, last ${result.reason}`,
  );
}

async function deadLetter(deps: Context, msg: JsMsg, reason: string): Promise<void> {
  const deliveries = msg.info.redeliveryCount;
  try {
    await publishDeadLetter(deps.nc.jetstream(), 'notifier', { subject: msg.subject, reason, deliveries, data: msg.data });
  } catch (err) {
    deps.log.error({ err, subject: msg.subject }, 'could not dead-letter a notice; it will be tried again');
    msg.nak(deps.retry.maxDelayMs);
    return;
  }
  msg.term();
  deps.log.error({ subject: msg.subject, reason }, 'notice dead-lettered');
}
