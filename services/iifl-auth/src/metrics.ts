import type { JetStreamManager } from 'nats';
import { Consumers, isCredentialRejection, Streams, type FailureCode } from '@refresher/contracts';
import { IiflError, type HttpTransport } from '@refresher/iifl-client';
import {
  cachedSource,
  Counter,
  createMetricsRegistry,
  gaugeOnScrape,
  Histogram,
  METRIC_PREFIX,
  type Logger,
  type Registry,
} from '@refresher/platform';

/** One request as the handler settled it (see refresh-handler.ts `carryOut`). */
export interface SettledRequest {
  outcome: 'refreshed' | 'failed' | 'skipped' | 'handed-back';
  /** The failure code or skip reason; null for a refresh or a hand-back. */
  code: string | null;
  /** Login attempts made at IIFL while handling this delivery. */
  attempts: number;
  durationMs: number;
  /** The outcome of another request's login, which this one waited for. */
  joined: boolean;
}

export interface IiflAuthMetrics {
  registry: Registry;
  settled(request: SettledRequest): void;
  /** The transport, each IIFL call timed by endpoint and result (status class, or the error's code). */
  timed(transport: HttpTransport): HttpTransport;
  /** `refresher_work_queue_pending`: the request consumer's pending plus unacknowledged messages, read on scrape. */
  watchQueue(jsm: JetStreamManager, log: Logger): void;
}

const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The result label of one IIFL call. */
export function callResult(status: number | null, err?: unknown): string {
  if (status !== null) return `${Math.floor(status / 100)}xx`;
  return err instanceof IiflError ? err.code : 'error';
}

export function createIiflAuthMetrics(registry = createMetricsRegistry('iifl-auth')): IiflAuthMetrics {
  const registers = [registry];
  const logins = new Counter({
    name: `${METRIC_PREFIX}logins_total`,
    help: 'Refresh requests settled, by outcome (refreshed, failed, skipped, handed-back) and failure code or skip reason',
    labelNames: ['outcome', 'code'],
    registers,
  });
  const rejections = new Counter({
    name: `${METRIC_PREFIX}credential_rejections_total`,
    help: "Logins IIFL refused for the account's credentials (not retried; the user is marked rejected)",
    labelNames: ['code'],
    registers,
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}login_duration_seconds`,
    help: 'Time from taking a refresh request to its outcome, by outcome (logins of its own, not joined ones)',
    labelNames: ['outcome'],
    buckets: SECONDS,
    registers,
  });
  const retries = new Counter({
    name: `${METRIC_PREFIX}login_retries_total`,
    help: 'Login attempts beyond the first of a delivery',
    registers,
  });
  const calls = new Histogram({
    name: `${METRIC_PREFIX}iifl_call_duration_seconds`,
    help: 'IIFL HTTP calls by endpoint and result (2xx, 4xx, 5xx, or TIMEOUT / BROKER_UNAVAILABLE)',
    labelNames: ['endpoint', 'result'],
    buckets: SECONDS,
    registers,
  });
  return {
    registry,
    settled: (r) => {
      logins.inc({ outcome: r.outcome, code: r.code ?? 'none' });
      if (r.attempts > 1) retries.inc(r.attempts - 1);
      if (r.joined) return;
      if (r.outcome !== 'handed-back') duration.observe({ outcome: r.outcome }, r.durationMs / 1000);
      if (r.outcome === 'failed' && r.code !== null && isCredentialRejection(r.code as FailureCode)) rejections.inc({ code: r.code });
    },
    timed: (transport) => timedTransport(calls, transport),
    watchQueue: (jsm, log) => {
      const pending = cachedSource(async () => {
        const info = await jsm.consumers.info(Streams.requests.name, Consumers.iiflAuth);
        return info.num_pending + info.num_ack_pending;
      }, 2_000);
      gaugeOnScrape(
        registry,
        { name: `${METRIC_PREFIX}work_queue_pending`, help: 'Refresh requests waiting or in flight on the shared request consumer' },
        pending,
        (err) => log.warn({ err }, 'work queue size unavailable for metrics'),
      );
    },
  };
}

function timedTransport(calls: Histogram<'endpoint' | 'result'>, transport: HttpTransport): HttpTransport {
  return {
    close: () => transport.close(),
    request: async (call) => {
      const stop = calls.startTimer({ endpoint: call.endpoint });
      try {
        const answer = await transport.request(call);
        stop({ result: callResult(answer.status) });
        return answer;
      } catch (err) {
        stop({ result: callResult(null, err) });
        throw err;
      }
    },
  };
}
