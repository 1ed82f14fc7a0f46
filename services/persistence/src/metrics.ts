import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { Subjects, type MorningStatus } from '@refresher/contracts';
import type { Database } from '@refresher/db';
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
import { getMorningStatus } from './runs/morning-status.ts';

/** Values behind a query are read at most this often, however often Prometheus scrapes. */
const SCRAPE_CACHE_MS = 5_000;

export interface PersistenceMetrics {
  registry: Registry;
  /** A run's completion was announced: counted by trigger, its duration observed (read from its row). */
  runCompleted(runId: string): void;
}

/**
 * Persistence's metrics: tokens valid now and the latest morning's state (read when scraped, from
 * Postgres), runs completed and their durations (from the `runs.<runId>.completed` notices this
 * process announces, heard on its own connection).
 */
export function createPersistenceMetrics(nc: NatsConnection, db: Kysely<Database>, log: Logger): PersistenceMetrics {
  const registry = createMetricsRegistry('persistence');
  const onError = (err: unknown) => log.warn({ err }, 'a metric could not be read');
  gaugeOnScrape(
    registry,
    { name: `${METRIC_PREFIX}tokens_valid`, help: 'Users whose stored token is valid now (tokenValidity ahead)' },
    cachedSource(() => countValidTokens(db), SCRAPE_CACHE_MS),
    onError,
  );
  morningGauges(
    registry,
    cachedSource(() => getMorningStatus(db), SCRAPE_CACHE_MS),
    onError,
  );
  const runs = new Counter({
    name: `${METRIC_PREFIX}runs_completed_total`,
    help: 'Refresh runs completed, by trigger (schedule, api, cli, watch...)',
    labelNames: ['trigger'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: `${METRIC_PREFIX}run_duration_seconds`,
    help: 'Time from a run being registered to its last outcome, by trigger',
    labelNames: ['trigger'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });
  const metrics: PersistenceMetrics = {
    registry,
    runCompleted: (runId) => {
      runRow(db, runId).then((row) => {
        if (!row) return;
        runs.inc({ trigger: row.trigger });
        durations.observe({ trigger: row.trigger }, row.seconds);
      }, onError);
    },
  };
  // A queue group: each completion is counted by one replica, so the sum over replicas is right.
  nc.subscribe(Subjects.runCompletedAll, {
    queue: 'persistence-metrics',
    callback: (err, msg) => {
      const runId = msg?.subject.split('.')[1];
      if (!err && runId) metrics.runCompleted(runId);
    },
  });
  return metrics;
}

async function countValidTokens(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from "IIFLUser"
    where token is not null and "tokenValidity" > (now() at time zone 'UTC')`.execute(db);
  return rows[0]?.n ?? 0;
}

async function runRow(db: Kysely<Database>, runId: string): Promise<{ trigger: string; seconds: number } | undefined> {
  const { rows } = await sql<{ trigger: string; seconds: number }>`
    select trigger, extract(epoch from coalesce(completed_at, now()) - requested_at)::float8 as seconds
    from refresh_runs where run_id = ${runId}`.execute(db);
  return rows[0];
}

/** The latest morning (persistence.runs.morning) as gauges, for the alert on a morning not complete by its deadline. */
function morningGauges(registry: Registry, morning: () => Promise<MorningStatus>, onError: (err: unknown) => void): void {
  const gauge = (name: string, help: string, read: (m: MorningStatus) => number) =>
    gaugeOnScrape(registry, { name, help }, async () => read(await morning()), onError);
  gauge(
    `${METRIC_PREFIX}morning_needs_attention`,
    "Users of the latest morning's run (and its passes) without a fresh token",
    (m) => m.needsAttention,
  );
  gauge(`${METRIC_PREFIX}morning_pending`, "Users of the latest morning's run still waiting for an outcome", (m) => m.pending);
  gauge(`${METRIC_PREFIX}morning_users`, "Users the latest morning's run counted", (m) => m.users);
  gauge(`${METRIC_PREFIX}morning_refreshed`, "Users the latest morning's run refreshed", (m) => m.refreshed);
  gauge(`${METRIC_PREFIX}morning_requested_timestamp_seconds`, "When the latest morning's run started (0: none yet)", (m) =>
    m.requestedAt ? Date.parse(m.requestedAt) / 1000 : 0,
  );
}
