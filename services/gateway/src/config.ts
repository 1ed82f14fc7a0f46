import { z } from 'zod';
import { env, natsEnvSchema } from '@refresher/platform';

/** Keys shorter than this are accepted (the legacy key may be short) but warned about at start. */
export const RECOMMENDED_API_KEY_LENGTH = 16;

export const gatewayConfigSchema = natsEnvSchema.extend({
  PORT: env.port(3001),
  HOST: z.string().min(1).default('0.0.0.0'),
  INTEGRATION_API_KEY: z
    .string({ error: 'INTEGRATION_API_KEY is required' })
    .min(1, 'INTEGRATION_API_KEY must not be empty'),
  /** How long a refresh call waits for its run before answering 202 with the run id. */
  REFRESH_WAIT_MS: z.coerce.number().int().min(0).max(30 * 60_000).default(120_000),
  /** Largest JSON body accepted: bytes, or a size such as "16kb". */
  BODY_LIMIT: z
    .string()
    .regex(/^\d+\s*(b|kb|mb)?$/i, 'BODY_LIMIT must be a byte count such as 16384 or "16kb"')
    .default('16kb'),
  /** Timeout of each request to persistence; past it the caller gets 503. */
  PERSISTENCE_TIMEOUT_MS: env.positiveInt(10_000),
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
