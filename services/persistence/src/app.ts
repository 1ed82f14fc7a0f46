import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { Buckets } from '@refresher/contracts';
import {
  cachedReadiness,
  connectNats,
  createLogger,
  ensureTopology,
  startHealthServer,
  trackConnection,
  type Logger,
} from '@refresher/platform';
import { createDb, migrateToLatest, type Database } from '@refresher/db';
import { startApi, type PersistenceApiService } from './api/service.ts';
import type { PersistenceConfig } from './config.ts';
import { startEventConsumer, type EventConsumer } from './events/consumer.ts';
import { createPersistenceMetrics } from './metrics.ts';
import { getMorningStatus } from './runs/morning-status.ts';
import { pruneRuns } from './runs/prune-runs.ts';

const DB_PING_INTERVAL_MS = 5_000;
const DB_PING_FRESH_MS = 15_000;
/** Event ids are remembered a little longer than the events stream keeps events (7 days). */
const PROCESSED_EVENT_RETENTION = '8 days';
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

export interface Persistence {
  /** The port the health endpoint listens on (useful with HEALTH_PORT=0). */
  healthPort: number;
  db: Kysely<Database>;
  stop(): Promise<void>;
}

/** What is running, stopped in reverse order of starting. */
interface Running {
  db: Kysely<Database>;
  timers: NodeJS.Timeout[];
  nc?: NatsConnection;
  api?: PersistenceApiService;
  consumer?: EventConsumer;
}

/**
 * Migrates the database (when enabled), connects to NATS, ensures the streams and bucket, then
 * serves the request-reply API, consumes outcome events and answers health checks.
 */
export async function startPersistence(config: PersistenceConfig, options: { log?: Logger } = {}): Promise<Persistence> {
  const log = options.log ?? createLogger('persistence', config.LOG_LEVEL);
  const running: Running = { db: createDb(config.DATABASE_URL, { max: config.DB_POOL_MAX }), timers: [] };
  const { db } = running;
  try {
    if (config.MIGRATE_ON_START) {
      for (const m of await migrateToLatest(db)) log.info({ migration: m.migrationName, status: m.status }, 'migration applied');
    }
    const databaseUp = await watchDatabase(running, config.RUN_RETENTION_DAYS, log);
    const nc = (running.nc = await connectNats(config, 'persistence', log));
    const natsUp = trackConnection(nc);
    await ensureTopology(nc, config.STREAM_REPLICAS);
    const metrics = createPersistenceMetrics(nc, db, log);
    const kv = await nc.jetstream().views.kv(Buckets.tokens);
    running.api = await startApi({ nc, db, kv, log });
    running.consumer = await startEventConsumer({
      nc,
      db,
      kv,
      log,
      concurrency: config.EVENT_CONCURRENCY,
      outcomeOptions: { failedLoginTradingStatus: config.FAILED_LOGIN_TRADING_STATUS },
    });

    const health = await startHealthServer(
      config.HEALTH_PORT,
      () => {
        const details = { nats: natsUp(), database: databaseUp() };
        return { ok: details.nats && details.database, details };
      },
      { readiness: cachedReadiness(() => getMorningStatus(db), 'morning'), metrics: metrics.registry },
    );
    log.info({ healthPort: health.port }, 'persistence started');
    return {
      healthPort: health.port,
      db,
      stop: async () => {
        await stopRunning(running, log);
        await health.close();
      },
    };
  } catch (err) {
    await stopRunning(running, log).catch(() => {});
    throw err;
  }
}

/**
 * Pings the database every few seconds, and hourly prunes old event ids and the runs older than
 * `runRetentionDays` (0: none); tells whether a recent ping answered.
 */
async function watchDatabase(running: Running, runRetentionDays: number, log: Logger): Promise<() => boolean> {
  const { db } = running;
  let lastPing = 0;
  const ping = async () => {
    try {
      await sql`select 1`.execute(db);
      lastPing = Date.now();
    } catch (err) {
      log.warn({ err }, 'database ping failed');
    }
  };
  await ping();
  running.timers.push(setInterval(() => void ping(), DB_PING_INTERVAL_MS));
  const prune = () => void pruneHistory(db, runRetentionDays, log);
  running.timers.push(setInterval(prune, PRUNE_INTERVAL_MS));
  prune();
  return () => Date.now() - lastPing < DB_PING_FRESH_MS;
}

async function stopRunning(running: Running, log: Logger): Promise<void> {
  const { nc } = running;
  for (const timer of running.timers) clearInterval(timer);
  await running.api?.stop().catch((err: unknown) => log.warn({ err }, 'stopping the API failed'));
  await running.consumer?.stop().catch((err: unknown) => log.warn({ err }, 'stopping the consumer failed'));
  if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  await running.db.destroy();
}

async function pruneHistory(db: Kysely<Database>, runRetentionDays: number, log: Logger): Promise<void> {
  try {
    await db
      .deleteFrom('processed_events')
      .where('processed_at', '<', sql<Date>`now() - ${PROCESSED_EVENT_RETENTION}::interval`)
      .execute();
  } catch (err) {
    log.warn({ err }, 'pruning processed event ids failed');
  }
  if (runRetentionDays === 0) return;
  try {
    const runs = await pruneRuns(db, runRetentionDays);
    if (runs > 0) log.info({ runs, runRetentionDays }, 'old runs deleted');
  } catch (err) {
    log.warn({ err }, 'pruning old runs failed');
  }
}
