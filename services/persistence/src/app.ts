import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { Buckets } from '@refresher/contracts';
import { connectNats, createLogger, ensureTopology, startHealthServer, type Logger } from '@refresher/platform';
import { createDb, migrateToLatest, type Database } from '@refresher/db';
import { startApi, type PersistenceApiService } from './api/service.ts';
import type { PersistenceConfig } from './config.ts';
import { startEventConsumer, type EventConsumer } from './events/consumer.ts';

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

/**
 * Migrates the database (when enabled), connects to NATS, ensures the streams and bucket, then
 * serves the request-reply API, consumes outcome events and answers health checks.
 */
export async function startPersistence(config: PersistenceConfig, options: { log?: Logger } = {}): Promise<Persistence> {
  const log = options.log ?? createLogger('persistence', config.LOG_LEVEL);
  const db = createDb(config.DATABASE_URL, { max: config.DB_POOL_MAX });
  let nc: NatsConnection | undefined;
  let api: PersistenceApiService | undefined;
  let consumer: EventConsumer | undefined;
  const timers: NodeJS.Timeout[] = [];

  const close = async () => {
    for (const timer of timers) clearInterval(timer);
    await api?.stop().catch((err: unknown) => log.warn({ err }, 'stopping the API failed'));
    await consumer?.stop().catch((err: unknown) => log.warn({ err }, 'stopping the consumer failed'));
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc?.close());
    await db.destroy();
  };

  try {
    if (config.MIGRATE_ON_START) {
      const applied = await migrateToLatest(db);
      for (const m of applied) log.info({ migration: m.migrationName, status: m.status }, 'migration applied');
    }
    let lastDbPing = 0;
    const ping = async () => {
      try {
        await sql`select 1`.execute(db);
        lastDbPing = Date.now();
      } catch (err) {
        log.warn({ err }, 'database ping failed');
      }
    };
    await ping();
    timers.push(setInterval(() => void ping(), DB_PING_INTERVAL_MS));
    timers.push(setInterval(() => void pruneProcessedEvents(db, log), PRUNE_INTERVAL_MS));
    void pruneProcessedEvents(db, log);

    nc = await connectNats(config, 'persistence', log);
    let natsConnected = true;
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') natsConnected = false;
        if (status.type === 'reconnect') natsConnected = true;
      }
    })();
    await ensureTopology(nc);
    const kv = await nc.jetstream().views.kv(Buckets.tokens);
    api = await startApi({ nc, db, kv, log });
    consumer = await startEventConsumer({ nc, db, kv, log, concurrency: config.EVENT_CONCURRENCY });

    const health = await startHealthServer(config.HEALTH_PORT, () => {
      const dbOk = Date.now() - lastDbPing < DB_PING_FRESH_MS;
      const natsOk = natsConnected && !nc!.isClosed();
      return { ok: dbOk && natsOk, details: { nats: natsOk, database: dbOk } };
    });
    log.info({ healthPort: health.port }, 'persistence started');

    return {
      healthPort: health.port,
      db,
      stop: async () => {
        await close();
        await health.close();
      },
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

async function pruneProcessedEvents(db: Kysely<Database>, log: Logger): Promise<void> {
  try {
    await db
      .deleteFrom('processed_events')
      .where('processed_at', '<', sql<Date>`now() - ${PROCESSED_EVENT_RETENTION}::interval`)
      .execute();
  } catch (err) {
    log.warn({ err }, 'pruning processed event ids failed');
  }
}
