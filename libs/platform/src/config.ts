import { z } from 'zod';
import { zodIssueLines } from './zod-errors.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Parses a service's environment once, reports every problem together, and freezes the result.
 * Tests pass a literal `env` instead of touching `process.env`.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(zodIssueLines(parsed.error, '(env)'));
  }
  return Object.freeze(parsed.data);
}

/** Building blocks for service schemas. */
export const env = {
  natsUrl: z.string().min(1).default('nats://127.0.0.1:4222'),
  /** Optional NATS credentials: user/password, token, or a creds file. */
  natsUser: z.string().min(1).optional(),
  natsPassword: z.string().min(1).optional(),
  natsToken: z.string().min(1).optional(),
  natsCredsFile: z.string().min(1).optional(),
  /** Own reply-subject prefix (e.g. `_INBOX_gateway`), so NATS permissions can keep each identity's replies to itself. */
  natsInboxPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'NATS_INBOX_PREFIX must be subject tokens')
    .optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  nonNegativeInt: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
};

/** The NATS part every service shares, under the same variable names. */
export const natsEnvSchema = z.object({
  NATS_URL: env.natsUrl,
  NATS_USER: env.natsUser,
  NATS_PASSWORD: env.natsPassword,
  NATS_TOKEN: env.natsToken,
  NATS_CREDS_FILE: env.natsCredsFile,
  NATS_INBOX_PREFIX: env.natsInboxPrefix,
  LOG_LEVEL: env.logLevel,
  /**
   * Copies of every stream, durable consumer and KV bucket the services create (1 on a single
   * server, 3 in a three-node cluster); an existing stream is brought to this count at start.
   */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
});
export type NatsEnv = z.infer<typeof natsEnvSchema>;
