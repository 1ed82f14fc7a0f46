import { randomBytes } from 'node:crypto';
import type { SimAccount } from '@refresher/iifl-sim';
import type { TestUser } from '@refresher/testkit';

/** A simulator account as a stored user (userID = IIFL client id), credentials in plain text. */
export function userOf(account: SimAccount): TestUser {
  const { clientId, password, appKey, appSecret, totpSecret } = account;
  return { userID: clientId, password, appKey, appSecret, totpSecret };
}

/**
 * What an iifl-auth started in the test process needs: the test's NATS and simulator, no wait after
 * the key exchange, short retry back-offs, a fresh credentials key. `extra` overrides any of it.
 */
export function inProcessAuthEnv(natsUrl: string, iiflBaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: natsUrl,
    HEALTH_PORT: '0',
    IIFL_BASE_URL: iiflBaseUrl,
    IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
    AUTH_RETRY_BASE_MS: '50',
    AUTH_RETRY_MAX_DELAY_MS: '200',
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    ...extra,
  };
}
