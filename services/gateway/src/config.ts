import { z } from 'zod';
import { keyringFromEnv, type Keyring } from '@refresher/credential-crypto';
import { env, natsEnvSchema } from '@refresher/platform';
import { Scope, legacyApiKey, parseApiKeys, type ApiKey } from './auth.ts';

/** Keys shorter than this are accepted (the legacy key may be short) but warned about at start. */
export const RECOMMENDED_API_KEY_LENGTH = 16;

export const gatewayConfigSchema = natsEnvSchema
  .extend({
    PORT: env.port(3001),
    HOST: z.string().min(1).default('0.0.0.0'),
    /** The legacy key: scopes refresh, read and push-tokens (the legacy routes). */
    INTEGRATION_API_KEY: z.string().min(1, 'INTEGRATION_API_KEY must not be empty').optional(),
    /** Scoped keys by digest: `name:scope+scope:sha256hex`, comma or whitespace separated. */
    API_KEYS: z.string().optional(),
    /** How long a refresh call waits for its run before answering 202 with the run id. */
    REFRESH_WAIT_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(30 * 60_000)
      .default(120_000),
    /** Largest JSON body accepted: bytes, or a size such as "16kb". */
    BODY_LIMIT: z
      .string()
      .regex(/^\d+\s*(b|kb|mb)?$/i, 'BODY_LIMIT must be a byte count such as 16384 or "16kb"')
      .default('16kb'),
    /** Timeout of each request to persistence; past it the caller gets 503. */
    PERSISTENCE_TIMEOUT_MS: env.positiveInt(10_000),
    /** Timeout of each request to iifl-auth (login links, authCodes); a redeem takes up to 30 s there. */
    IIFL_AUTH_TIMEOUT_MS: env.positiveInt(40_000),
    /** Refresh calls per API key: a bucket of REFRESH_BURST, refilled at REFRESH_RATE_PER_MINUTE. */
    REFRESH_BURST: env.positiveInt(10),
    REFRESH_RATE_PER_MINUTE: env.positiveInt(30),
    /** Wrong keys from one client: this many are answered at once, later ones more and more slowly. */
    AUTH_FREE_FAILURES: env.nonNegativeInt(5),
    AUTH_FAILURE_DELAY_MS: env.nonNegativeInt(250),
    AUTH_FAILURE_MAX_DELAY_MS: env.nonNegativeInt(5_000),
    /** Express "trust proxy" (e.g. `1` or `loopback`) when the gateway sits behind a proxy; unset: not trusted. */
    TRUST_PROXY: z.string().min(1).optional(),
    /** Needed when a key has the manage-users scope: credentials are encrypted here, before persistence sees them. */
    CREDENTIALS_KEY: z.string().optional(),
    CREDENTIALS_KEY_ID: z.string().optional(),
    CREDENTIALS_OLD_KEYS: z.string().optional(),
  })
  // Runs even when other variables are invalid, so that every problem is reported at once.
  .superRefine(
    (config, ctx) => {
      const problems = securityProblems(config as Partial<typeof config>);
      for (const [path, message] of problems) ctx.addIssue({ code: 'custom', message, path: [path] });
    },
    { when: () => true },
  )
  .transform((config) => {
    const { INTEGRATION_API_KEY, API_KEYS, CREDENTIALS_KEY, CREDENTIALS_KEY_ID, CREDENTIALS_OLD_KEYS, ...rest } = config;
    const apiKeys = keysOf(INTEGRATION_API_KEY, API_KEYS);
    const needsKeyring = CREDENTIALS_KEY !== undefined || apiKeys.some((k) => k.scopes.has(Scope.ManageUsers));
    const keyring: Keyring | null = needsKeyring ? keyringFromEnv({ CREDENTIALS_KEY, CREDENTIALS_KEY_ID, CREDENTIALS_OLD_KEYS }) : null;
    return {
      ...rest,
      apiKeys,
      keyring,
      legacyKeyTooShort: INTEGRATION_API_KEY !== undefined && INTEGRATION_API_KEY.length < RECOMMENDED_API_KEY_LENGTH,
    };
  });
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

function keysOf(legacy: string | undefined, list: string | undefined): ApiKey[] {
  return [...(legacy ? [legacyApiKey(legacy)] : []), ...(list ? parseApiKeys(list) : [])];
}

/** The key variables' problems, as [variable, message] (messages never hold a key). */
function securityProblems(config: {
  INTEGRATION_API_KEY?: unknown;
  API_KEYS?: unknown;
  CREDENTIALS_KEY?: unknown;
  CREDENTIALS_KEY_ID?: unknown;
  CREDENTIALS_OLD_KEYS?: unknown;
}): [string, string][] {
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  let apiKeys: ApiKey[];
  try {
    apiKeys = keysOf(text(config.INTEGRATION_API_KEY), text(config.API_KEYS));
  } catch (err) {
    return [['API_KEYS', (err as Error).message]];
  }
  if (apiKeys.length === 0) return [['INTEGRATION_API_KEY', 'INTEGRATION_API_KEY or API_KEYS is required']];
  const managesUsers = apiKeys.some((k) => k.scopes.has(Scope.ManageUsers));
  if (!text(config.CREDENTIALS_KEY) && !managesUsers) return [];
  try {
    keyringFromEnv({
      CREDENTIALS_KEY: text(config.CREDENTIALS_KEY),
      CREDENTIALS_KEY_ID: text(config.CREDENTIALS_KEY_ID),
      CREDENTIALS_OLD_KEYS: text(config.CREDENTIALS_OLD_KEYS),
    });
    return [];
  } catch (err) {
    const why = managesUsers ? ' (a key has the manage-users scope, which encrypts credentials)' : '';
    return [['CREDENTIALS_KEY', `${(err as Error).message}${why}`]];
  }
}
