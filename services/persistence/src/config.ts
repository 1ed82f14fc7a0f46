import { z } from 'zod';
import { env, natsEnvSchema } from '@refresher/platform';

export const persistenceConfigSchema = natsEnvSchema.extend({
  DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/postgres'),
  HEALTH_PORT: env.port(8082),
  MIGRATE_ON_START: env.bool(true),
  DB_POOL_MAX: env.positiveInt(10),
  /** How many outcome events are processed at once (each in its own transaction). */
  EVENT_CONCURRENCY: env.positiveInt(32),
});
export type PersistenceConfig = z.infer<typeof persistenceConfigSchema>;
