import { z } from 'zod';
import { EgressSetting, LOGIN_FLOWS } from '@refresher/contracts';
import { keyringFromEnv, type Keyring } from '@refresher/credential-crypto';
import { iiflClientEnvSchema } from '@refresher/iifl-client';
import { env, natsEnvSchema } from '@refresher/platform';
import { MAX_LINK_LIFETIME_MS, type LoginLinkSettings } from './login-links.ts';

export const iiflAuthConfigSchema = natsEnvSchema
  .extend(iiflClientEnvSchema.shape)
  .extend({
    HEALTH_PORT: env.port(8084),
    /** Two never-used key pairs ready: a lone refresh does not wait for a key generation. */
    IIFL_KEYPAIR_SPARES: z.coerce.number().int().min(0).max(64).default(2),
    /** Logins in flight at once in one replica. */
    AUTH_CONCURRENCY: env.positiveInt(48),
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
    /**
     * Requests in flight across every replica at once (the shared consumer's max_ack_pending):
     * the overall bound on concurrent logins. Set the same value on every replica.
     */
    AUTH_MAX_IN_FLIGHT: env.positiveInt(256),
    /** Lifetime of a per-account login lock that is no longer renewed (its holder died). */
    AUTH_LOGIN_LOCK_TTL_MS: z.coerce.number().int().min(1_000).default(30_000),
    /** How often a request waiting for another replica's login of the same account looks again. */
    AUTH_LOGIN_LOCK_POLL_MS: env.positiveInt(250),
    /**
     * The key ring that opens credentials encrypted at rest (libs/credential-crypto). Required: this
     * service reads credentials in the clear. Plain-text (legacy) values still pass until
     * `pnpm credentials encrypt` has run.
     */
    CREDENTIALS_KEY: z.string().optional(),
    CREDENTIALS_KEY_ID: z.string().optional(),
    CREDENTIALS_OLD_KEYS: z.string().optional(),
    /**
     * The login flow of users without one of their own: a headless variant, or `redirect` (every
     * such user is then sent a login link instead of being logged in).
     */
    IIFL_LOGIN_FLOW: z.enum(LOGIN_FLOWS).default('headless-v1'),
    /** JSON `{ "<appKey>": "<address or http(s) proxy URL>" }`: the egress of users without their own. */
    IIFL_EGRESS_MAP_FILE: z.string().min(1).optional(),
    /** The egress of logins with neither a user setting nor an app-key entry; unset: the OS picks. */
    IIFL_EGRESS_DEFAULT: EgressSetting.optional(),
    /** Signs login-link nonces (HMAC-SHA256). Without it (and IIFL_REDIRECT_URL) there are no links. */
    LOGIN_LINK_SECRET: z.string().min(32, 'LOGIN_LINK_SECRET must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
    /** The gateway's public callback, e.g. https://refresher.example.com/api/integration/iifl/callback. */
    IIFL_REDIRECT_URL: z.url({ protocol: /^https?$/, error: 'IIFL_REDIRECT_URL must be an http(s) URL' }).optional(),
    /**
     * How often each stored login token is checked at IIFL (`GET /profile`), spread over the
     * interval; 0 turns the watch off. At least a second when on.
     */
    TOKEN_CHECK_INTERVAL_MS: z.coerce
      .number()
      .int()
      .refine((ms) => ms === 0 || ms >= 1_000, 'TOKEN_CHECK_INTERVAL_MS must be 0 (off) or at least 1000')
      .default(15 * 60_000),
    /** How long a login link stays good (1 min to 24 h). */
    LOGIN_LINK_TTL_MS: z.coerce
      .number()
      .int()
      .min(60_000)
      .max(MAX_LINK_LIFETIME_MS)
      .default(15 * 60_000),
  })
  // Runs even when other variables are invalid, so that every problem is reported at once.
  .superRefine(
    (config, ctx) => {
      const problem = keyringProblem(config as Partial<typeof config>);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['CREDENTIALS_KEY'] });
      const { LOGIN_LINK_SECRET: secret, IIFL_REDIRECT_URL: redirect } = config as Partial<typeof config>;
      if (!secret !== !redirect) {
        const message = 'LOGIN_LINK_SECRET and IIFL_REDIRECT_URL go together: set both for login links, or neither';
        ctx.addIssue({ code: 'custom', message, path: [secret ? 'IIFL_REDIRECT_URL' : 'LOGIN_LINK_SECRET'] });
      }
    },
    { when: () => true },
  )
  .transform((config) => {
    const { CREDENTIALS_KEY, CREDENTIALS_KEY_ID, CREDENTIALS_OLD_KEYS, LOGIN_LINK_SECRET, ...rest } = config;
    const keyring: Keyring = keyringFromEnv({ CREDENTIALS_KEY, CREDENTIALS_KEY_ID, CREDENTIALS_OLD_KEYS });
    const loginLinks: LoginLinkSettings | null =
      LOGIN_LINK_SECRET && rest.IIFL_REDIRECT_URL
        ? {
            secret: LOGIN_LINK_SECRET,
            redirectUrl: rest.IIFL_REDIRECT_URL,
            loginUrl: rest.IIFL_LOGIN_URL,
            lifetimeMs: rest.LOGIN_LINK_TTL_MS,
          }
        : null;
    return { ...rest, CREDENTIALS_KEY_ID: keyring.current, keyring, loginLinks };
  });

function keyringProblem(env: { CREDENTIALS_KEY?: unknown; CREDENTIALS_KEY_ID?: unknown; CREDENTIALS_OLD_KEYS?: unknown }): string | null {
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  try {
    keyringFromEnv({
      CREDENTIALS_KEY: text(env.CREDENTIALS_KEY),
      CREDENTIALS_KEY_ID: text(env.CREDENTIALS_KEY_ID),
      CREDENTIALS_OLD_KEYS: text(env.CREDENTIALS_OLD_KEYS),
    });
    return null;
  } catch (err) {
    return `${(err as Error).message} (iifl-auth opens the broker credentials with it)`;
  }
}

export type IiflAuthConfig = z.infer<typeof iiflAuthConfigSchema>;
export type IiflAuthEnv = z.input<typeof iiflAuthConfigSchema>;
