import { z } from 'zod';
import { LOGIN_FLOWS } from '@refresher/contracts';

const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const path = (fallback: string) => z.string().trim().startsWith('/', { message: 'must start with "/"' }).default(fallback);
const baseUrl = (fallback: string) =>
  z
    .url({ protocol: /^https?$/ })
    .default(fallback)
    .transform((url) => url.replace(/\/+$/, ''));

/**
 * `shared` (default): one RSA key pair for every login of the process, replaced when older than
 * IIFL_KEYPAIR_MAX_AGE_MS, as IIFL's own published code does (one pair per process, reused for
 * every call). `per-login`: a new pair for each login, as the existing system did.
 */
export const KEYPAIR_POLICIES = ['shared', 'per-login'] as const;
export type KeyPairPolicy = (typeof KEYPAIR_POLICIES)[number];

/**
 * `adaptive` (default): no wait after the key exchange until IIFL answers that the key is not
 * usable yet (EC062/EC057 on the step right after an exchange); then that step is tried once more
 * after IIFL_KEY_ASSOCIATION_DELAY_MS, and every later login to that host waits. `always`: the
 * existing system's unexplained 10 s wait before every password step.
 */
export const KEY_ASSOCIATION_WAITS = ['adaptive', 'always'] as const;
export type KeyAssociationWait = (typeof KEY_ASSOCIATION_WAITS)[number];

/** The headless variants a login can take (the redirect flow is not a headless login). */
export const HEADLESS_FLOWS = LOGIN_FLOWS.filter((f) => f !== 'redirect') as ['headless-v1', 'headless-v2'];

const timeOfDay = z
  .string()
  .trim()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM (24 h), e.g. 23:59');

const timeZone = z
  .string()
  .trim()
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return zone.length > 0;
    } catch {
      return false;
    }
  }, 'unknown time zone (use an IANA name such as "Asia/Kolkata")');

/** The IIFL client's part of the environment: merge its `.shape` into a service schema. */
export const iiflClientEnvSchema = z.object({
  IIFL_BASE_URL: baseUrl('https://api.iiflcapital.com/v1'),
  /** The second headless variant's auth host (spec, "A second headless variant"). */
  IIFL_IDAAS_URL: baseUrl('https://idaas.iiflsecurities.com/v2/access'),
  /** IIFL's browser login page (spec, "The documented flow"). */
  IIFL_LOGIN_URL: z.url({ protocol: /^https?$/ }).default('https://markets.iiflcapital.com/'),
  IIFL_PATH_ENCKEY: path('/get/enckey'),
  IIFL_PATH_VALIDATE_PASSWORD: path('/validatepassword'),
  IIFL_PATH_VALIDATE_TOTP: path('/validatetotp'),
  IIFL_PATH_USER_SESSION: path('/getusersession'),
  IIFL_PATH_PROFILE: path('/profile'),
  IIFL_PATH_LOGOUT: path('/profile/logout'),
  IIFL_PATH_VENDOR_DETAILS: path('/sso/vendor/details'),
  IIFL_PATH_VENDOR_AUTHORIZE: path('/sso/vendor/authorize'),
  IIFL_PATH_V2_ENCKEY: path('/get/encKey'),
  IIFL_PATH_V2_PASSWORD: path('/pwd/validate'),
  IIFL_PATH_V2_TOTP: path('/topt/verify'),
  /** Per HTTP call, from sending the request to the end of the body. */
  IIFL_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  IIFL_KEY_ASSOCIATION_WAIT: z.enum(KEY_ASSOCIATION_WAITS).default('adaptive'),
  IIFL_KEY_ASSOCIATION_DELAY_MS: ms(10_000),
  /** When the token's JWT has no `exp`: valid until this time of day in REFRESH_TIMEZONE. */
  IIFL_TOKEN_VALID_UNTIL: timeOfDay.default('23:59'),
  REFRESH_TIMEZONE: timeZone.default('Asia/Kolkata'),
  IIFL_KEYPAIR_POLICY: z.enum(KEYPAIR_POLICIES).default('shared'),
  /** The shared pair is replaced when older than this. */
  IIFL_KEYPAIR_MAX_AGE_MS: z.coerce.number().int().positive().default(3_600_000),
  /** per-login policy: never-used key pairs kept ready in the background (services set their own default). */
  IIFL_KEYPAIR_SPARES: z.coerce.number().int().min(0).max(64).default(0),
  /** The headless variant for users without a login flow of their own. */
  IIFL_LOGIN_FLOW: z.enum(HEADLESS_FLOWS).default('headless-v1'),
});
export type IiflClientEnv = z.infer<typeof iiflClientEnvSchema>;

export interface IiflPaths {
  encKey: string;
  validatePassword: string;
  validateTotp: string;
  userSession: string;
  profile: string;
  logout: string;
  vendorDetails: string;
  vendorAuthorize: string;
  v2EncKey: string;
  v2Password: string;
  v2Totp: string;
}

export interface IiflClientConfig {
  baseUrl: string;
  idaasUrl: string;
  loginUrl: string;
  paths: IiflPaths;
  timeoutMs: number;
  keyAssociationWait: KeyAssociationWait;
  keyAssociationDelayMs: number;
  tokenValidUntil: string;
  timeZone: string;
  keyPairPolicy: KeyPairPolicy;
  keyPairMaxAgeMs: number;
  keyPairSpares: number;
  loginFlow: (typeof HEADLESS_FLOWS)[number];
}

/** The typed client configuration from a parsed environment (a service's, or this schema's). */
export function iiflClientConfigFromEnv(env: IiflClientEnv): IiflClientConfig {
  return {
    baseUrl: env.IIFL_BASE_URL,
    idaasUrl: env.IIFL_IDAAS_URL,
    loginUrl: env.IIFL_LOGIN_URL,
    paths: {
      encKey: env.IIFL_PATH_ENCKEY,
      validatePassword: env.IIFL_PATH_VALIDATE_PASSWORD,
      validateTotp: env.IIFL_PATH_VALIDATE_TOTP,
      userSession: env.IIFL_PATH_USER_SESSION,
      profile: env.IIFL_PATH_PROFILE,
      logout: env.IIFL_PATH_LOGOUT,
      vendorDetails: env.IIFL_PATH_VENDOR_DETAILS,
      vendorAuthorize: env.IIFL_PATH_VENDOR_AUTHORIZE,
      v2EncKey: env.IIFL_PATH_V2_ENCKEY,
      v2Password: env.IIFL_PATH_V2_PASSWORD,
      v2Totp: env.IIFL_PATH_V2_TOTP,
    },
    timeoutMs: env.IIFL_TIMEOUT_MS,
    keyAssociationWait: env.IIFL_KEY_ASSOCIATION_WAIT,
    keyAssociationDelayMs: env.IIFL_KEY_ASSOCIATION_DELAY_MS,
    tokenValidUntil: env.IIFL_TOKEN_VALID_UNTIL,
    timeZone: env.REFRESH_TIMEZONE,
    keyPairPolicy: env.IIFL_KEYPAIR_POLICY,
    keyPairMaxAgeMs: env.IIFL_KEYPAIR_MAX_AGE_MS,
    keyPairSpares: env.IIFL_KEYPAIR_SPARES,
    loginFlow: env.IIFL_LOGIN_FLOW,
  };
}

/** Parses (throwing zod's error listing every problem) and converts, for tests and scripts. */
export function parseIiflClientConfig(env: Record<string, string | undefined>): IiflClientConfig {
  return Object.freeze(iiflClientConfigFromEnv(iiflClientEnvSchema.parse(env)));
}
