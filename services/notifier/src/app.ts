import {
  STREAM_CONFIGS,
  connectNats,
  createLogger,
  createMetricsRegistry,
  ensureStream,
  startHealthServer,
  trackConnection,
  webhookDeliveries,
  type Logger,
} from '@refresher/platform';
import type { NotifierConfig } from './config.ts';
import { startWebhookDelivery, type WebhookDelivery } from './delivery.ts';

export interface Notifier {
  healthPort: number;
  stop(): Promise<void>;
}

export interface NotifierOptions {
  log?: Logger;
}

/**
 * Connects to NATS, makes sure the notices and dead-letter streams exist, starts one delivery per
 * webhook (each with its own consumer) and answers health checks and /metrics.
 */
export async function startNotifier(config: NotifierConfig, options: NotifierOptions = {}): Promise<Notifier> {
  const log = options.log ?? createLogger('notifier', config.LOG_LEVEL);
  const nc = await connectNats(config, 'notifier', log);
  const deliveries: WebhookDelivery[] = [];
  const metrics = createMetricsRegistry('notifier');
  const attempts = webhookDeliveries(metrics);
  const stopAll = async () => {
    await Promise.allSettled(deliveries.map((d) => d.stop()));
    if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
  };
  try {
    const jsm = await nc.jetstreamManager();
    await ensureStream(jsm, STREAM_CONFIGS.notices, config.STREAM_REPLICAS);
    await ensureStream(jsm, STREAM_CONFIGS.deadLetters, config.STREAM_REPLICAS);
    const retry = { baseMs: config.WEBHOOK_RETRY_BASE_MS, maxDelayMs: config.WEBHOOK_RETRY_MAX_MS, giveUpMs: config.WEBHOOK_GIVE_UP_MS };
    for (const webhook of config.webhooks) {
      deliveries.push(
        await startWebhookDelivery({
          nc,
          webhook,
          secret: config.WEBHOOK_SECRET,
          retry,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          maxInFlight: config.WEBHOOK_MAX_IN_FLIGHT,
          log,
          onAttempt: (outcome) => attempts.inc({ outcome }),
        }),
      );
    }
    const up = trackConnection(nc);
    const health = await startHealthServer(config.HEALTH_PORT, () => ({ ok: up(), details: { webhooks: deliveries.length } }), { metrics });
    if (deliveries.length === 0)
      log.warn({ healthPort: health.port }, 'no WEBHOOK_URLS: notices are kept in TOKEN_NOTICES, delivered nowhere');
    else log.info({ healthPort: health.port, webhooks: deliveries.length }, 'notifier started');
    return {
      healthPort: health.port,
      stop: async () => {
        await stopAll();
        await health.close();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
