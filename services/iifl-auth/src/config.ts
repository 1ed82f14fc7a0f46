import { z } from 'zod';
import { env, natsEnvSchema } from '@refresher/platform';

export const iiflAuthConfigSchema = natsEnvSchema.extend({
  HEALTH_PORT: env.port(8084),
  /** Logins in flight at once in one replica. */
  AUTH_CONCURRENCY: env.positiveInt(32),
  AUTH_RETRY_MAX_ATTEMPTS: env.positiveInt(4),
  AUTH_RETRY_BASE_MS: env.positiveInt(500),
  AUTH_RETRY_MAX_DELAY_MS: env.positiveInt(8_000),
  AUTH_RETRY_DEADLINE_MS: env.positiveInt(90_000),
  AUTH_SHUTDOWN_GRACE_MS: env.nonNegativeInt(20_000),
  /** The durable consumer's ack wait; a request in flight reports progress well within it. */
  AUTH_ACK_WAIT_MS: z.coerce.number().int().min(5_000).default(60_000),
  AUTH_MAX_DELIVER: env.positiveInt(5),
  /** Redelivery delay for a request handed back because persistence could not be asked. */
  AUTH_NAK_DELAY_MS: env.nonNegativeInt(5_000),
  AUTH_CREDENTIALS_TIMEOUT_MS: env.positiveInt(5_000),
  /** How long one pull waits; a stop waits at most this long for the pull under way. */
  AUTH_FETCH_EXPIRES_MS: z.coerce.number().int().min(1_000).default(5_000),
});

export type IiflAuthConfig = z.infer<typeof iiflAuthConfigSchema>;
