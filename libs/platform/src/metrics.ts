import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/** Every metric of the project starts with this. */
export const METRIC_PREFIX = 'refresher_';

/**
 * One registry per service instance: Node's default metrics (CPU, memory, event loop, GC) and a
 * `service` label on every series. A registry of its own, not prom-client's global one, so that
 * services started in one process (tests) do not collide.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

/** The `/metrics` answer: the registry in Prometheus text format, with its content type. */
export async function renderMetrics(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** What became of one webhook delivery attempt (the notifier). */
export type WebhookDeliveryOutcome =
  /** The receiver answered 2xx. */
  | 'delivered'
  /** It did not (an error answer, a timeout, no connection): the delivery is tried again later. */
  | 'retry'
  /** Given up: the delivery's time ran out without a 2xx. */
  | 'expired';

/** `refresher_webhook_deliveries_total{outcome}`: one count per attempt, by what became of it. */
export function webhookDeliveries(registry: Registry): Counter<'outcome'> {
  return new Counter({
    name: `${METRIC_PREFIX}webhook_deliveries_total`,
    help: 'Webhook delivery attempts by outcome (delivered, retry, expired)',
    labelNames: ['outcome'],
    registers: [registry],
  });
}

/**
 * `source` asked at most once per `cacheMs` however often it is called; a failed ask is not kept.
 * For values behind a query that every scrape would otherwise run.
 */
export function cachedSource<T>(source: () => Promise<T>, cacheMs = 5_000): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > cacheMs) cached = { at: Date.now(), value: source() };
    const { value } = cached;
    return value.catch((err: unknown) => {
      if (cached?.value === value) cached = undefined;
      throw err;
    });
  };
}

/**
 * A gauge read from `read` when scraped. When `read` fails the gauge keeps its last value and the
 * scrape still answers; `onError` hears why.
 */
export function gaugeOnScrape(
  registry: Registry,
  options: { name: string; help: string },
  read: () => Promise<number>,
  onError?: (err: unknown) => void,
): Gauge {
  return new Gauge({
    ...options,
    registers: [registry],
    async collect() {
      try {
        this.set(await read());
      } catch (err) {
        onError?.(err);
      }
    },
  });
}
