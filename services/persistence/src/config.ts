import { z } from 'zod';
import { env, natsEnvSchema } from '@refresher/platform';

export const persistenceConfigSchema = natsEnvSchema.extend({
  DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/postgres'),
  HEALTH_PORT: env.port(8082),
  MIGRATE_ON_START: env.bool(true),
  DB_POOL_MAX: env.positiveInt(10),
  /** Outcome events taken but not yet acknowledged, at most; they are written in batches of up to 128. */
  EVENT_CONCURRENCY: env.positiveInt(256),
  /** What a failed login writes to the legacy `tradingStatus`: 'inactive' (as the existing system did) or nothing. */
  FAILED_LOGIN_TRADING_STATUS: z.enum(['inactive', 'unchanged']).default('inactive'),
  /** Runs (with their per-user outcomes) older than this many days are deleted hourly; 0 keeps them all. */
  RUN_RETENTION_DAYS: env.nonNegativeInt(90),
});
export type PersistenceConfig = z.infer<typeof persistenceConfigSchema>;
